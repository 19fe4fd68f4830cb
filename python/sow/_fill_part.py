"""Part of a fill, made apart from the tensor it belongs to: the values that the fill of ``spec``
under ``(seed, key)`` over a tensor of global shape ``gshape`` has at given index sets, in a
fresh host array. For values derived from another tensor's fill or from a draw in another dtype
(a weight norm's g; a draw torch makes in float32 for a bfloat16 tensor), each rank makes just
the part it needs, with no collective."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._dtypes import numpy_dtype

__all__ = ["fill_part", "placement_args"]


def placement_args(gshape: Sequence[int], sets: Sequence[Sequence[int] | range] | None
                   ) -> dict[str, Any]:
    """:meth:`sow.Plan.add`'s placement arguments for the part of a tensor of global shape
    ``gshape`` at index sets ``sets`` (per dim a range or an increasing list of global indices;
    None: the whole tensor): a box as ``shard``, anything else as ``index``."""
    if sets is None:
        return {}
    gshape = tuple(int(n) for n in gshape)
    if all(isinstance(s, range) for s in sets):
        return {"global_shape": gshape,
                "shard": (tuple(s.start if len(s) else 0 for s in sets),
                          tuple(len(s) for s in sets))}
    return {"global_shape": gshape,
            "index": [None if isinstance(s, range) and len(s) == g else [int(i) for i in s]
                      for s, g in zip(sets, gshape)]}


def fill_part(seed: int, spec: Any, key: Any, gshape: Sequence[int],
              sets: Sequence[Sequence[int] | range] | None, dtype: str) -> np.ndarray:
    """The fill's values at ``sets`` (as :func:`placement_args`; None: everywhere) as an array
    of those sets' lengths in ``dtype`` (a sow dtype name)."""
    from .plan import Plan

    shape = [int(n) for n in gshape] if sets is None else [len(s) for s in sets]
    out = np.empty(shape, numpy_dtype(dtype))
    if out.size:
        plan = Plan(seed)
        plan.add(out, spec, key=key, name=key if isinstance(key, str) else None,
                 **placement_args(gshape, sets))
        plan.execute()
    return out
