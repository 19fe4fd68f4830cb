"""The bridge to the compiled engine: every random value sow writes goes through here.

``fill`` hands ``_core.fill`` a validated output (address of element 0, byte strides), its place
in the global tensor, and one of the four distributions of stream-format.md §5:
``"uniform" (low, high)``, ``"normal" (mean, std)``, ``"trunc_normal" (mean, std, a, b)`` with
absolute bounds, ``"constant" (value,)``. ``bits`` returns raw stream words.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from . import _core
from ._out import OutBuffer

__all__ = ["DISTS", "fill", "bits"]

DISTS: Final = {"uniform": 2, "normal": 2, "trunc_normal": 4, "constant": 1}

#: Domain of the value stream and of the sparse zero pattern (stream-format.md §1).
DOMAIN_VALUES: Final = 0
DOMAIN_SPARSE_MASK: Final = 1


def fill(
    out: OutBuffer,
    global_shape: tuple[int, ...],
    offsets: tuple[int, ...],
    dist: str,
    params: tuple[float, ...],
    seed: int,
    key: int,
    threads: int,
    domain: int = DOMAIN_VALUES,
) -> None:
    """Fill ``out`` (the block at ``offsets`` of ``global_shape``) with ``dist(params)``.

    All arguments are already validated. A zero-size output writes nothing, but its distribution
    is still checked as for any other (the engine's checks, ``_core.check_dist``), so whether a
    call is refused never depends on the shard's size.
    """
    assert len(params) == DISTS[dist] and len(out.shape) == len(global_shape) == len(offsets)
    if out.size == 0:
        _core.check_dist(out.dtype, dist, tuple(float(p) for p in params), domain)
        return
    if out.device is not None:  # CUDA memory: same semantics, on out's device and stream
        _core.fill_cuda(
            out.addr, out.dtype, out.shape, out.strides, tuple(global_shape), tuple(offsets),
            dist, tuple(float(p) for p in params), seed, key, domain, out.stream, out.device,
        )
        return
    _core.fill(
        out.addr, out.dtype, out.shape, out.strides, tuple(global_shape), tuple(offsets),
        dist, tuple(float(p) for p in params), seed, key, threads, domain,
    )


def bits(seed: int, key: int, domain: int, start: int, count: int) -> np.ndarray:
    """``count`` raw 32-bit words of stream (seed, key, domain) from word ``start`` (uint32)."""
    if count <= 0:
        return np.empty(0, dtype=np.uint32)
    words = np.asarray(_core.bits(seed, key, domain, start, count))
    if words.dtype != np.uint32 or words.shape != (count,):  # pragma: no cover - contract check
        raise RuntimeError("sow._core.bits returned an unexpected array")
    return words
