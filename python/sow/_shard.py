"""Shards: which block of the global tensor a call produces.

A shard is ``None`` (the whole tensor), a sequence of ``slice`` objects (one per leading
dimension; missing trailing dimensions are taken whole; step None or 1; start/stop None or ints
with 0 <= start <= stop <= size), or a pair ``(offsets, sizes)`` of int sequences of length ndim.
Values never depend on the shard: element ``j`` of a shard holds the value of global element
``offsets + j``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validate import is_int

__all__ = ["parse_shard"]


def _is_seq(x: object) -> bool:
    return isinstance(x, (Sequence, np.ndarray)) and not isinstance(x, (str, bytes))


def parse_shard(
    shard: Any, global_shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return ``(offsets, sizes)`` of ``shard`` within ``global_shape``.

    Raises ``TypeError`` for a malformed shard and ``ValueError`` for one that does not fit in
    the global shape; both name ``shard``.
    """
    ndim = len(global_shape)
    if shard is None:
        return (0,) * ndim, tuple(global_shape)
    if isinstance(shard, slice):
        shard = (shard,)
    if not _is_seq(shard):
        raise TypeError(
            f"shard must be None, a sequence of slices, or a pair (offsets, sizes), got {shard!r}"
        )
    items = tuple(shard)
    if all(isinstance(s, slice) for s in items):
        return _from_slices(items, global_shape)
    if len(items) == 2 and _is_seq(items[0]) and _is_seq(items[1]):
        return _from_pair(tuple(items[0]), tuple(items[1]), global_shape)
    raise TypeError(
        f"shard must be None, a sequence of slices, or a pair (offsets, sizes), got {shard!r}"
    )


def _from_slices(
    slices: tuple[slice, ...], global_shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ndim = len(global_shape)
    if len(slices) > ndim:
        raise ValueError(
            f"shard has {len(slices)} slices but the global shape {global_shape} has {ndim} "
            f"dimensions"
        )
    offsets: list[int] = []
    sizes: list[int] = []
    for d, n in enumerate(global_shape):
        if d >= len(slices):
            offsets.append(0)
            sizes.append(n)
            continue
        s = slices[d]
        for part in (s.start, s.stop, s.step):
            if part is not None and not is_int(part):
                raise TypeError(f"shard slice {s!r} (dim {d}) must have int or None bounds")
        if s.step is not None and int(s.step) != 1:
            raise ValueError(f"shard slice {s!r} (dim {d}) must have step None or 1")
        start = 0 if s.start is None else int(s.start)
        stop = n if s.stop is None else int(s.stop)
        if not 0 <= start <= stop <= n:
            raise ValueError(
                f"shard slice {s!r} (dim {d}) is outside the global shape {global_shape}: need "
                f"0 <= start <= stop <= {n}"
            )
        offsets.append(start)
        sizes.append(stop - start)
    return tuple(offsets), tuple(sizes)


def _from_pair(
    offs: tuple[Any, ...], sizes: tuple[Any, ...], global_shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ndim = len(global_shape)
    if len(offs) != ndim or len(sizes) != ndim:
        raise ValueError(
            f"shard (offsets, sizes) must both have length {ndim} for global shape "
            f"{global_shape}, got lengths {len(offs)} and {len(sizes)}"
        )
    for v in offs + sizes:
        if not is_int(v):
            raise TypeError(f"shard offsets and sizes must be ints, got {v!r}")
    o = tuple(int(v) for v in offs)
    s = tuple(int(v) for v in sizes)
    for d, (od, sd, n) in enumerate(zip(o, s, global_shape)):
        if od < 0 or sd < 0 or od + sd > n:
            raise ValueError(
                f"shard (offsets={o}, sizes={s}) is outside the global shape {global_shape} "
                f"at dim {d}"
            )
    return o, s
