"""The norm of a fill over every dim but one: a weight norm's magnitude g = ‖v‖ (torch's
``norm_except_dim(v, 2, dim)``), computed from v's values regenerated from v's spec and key.

One definition for every path that writes g (``sow.torch``'s weight norm, checkpoints, and
``sow.checkpoint.verify``), so they give the same bits: v is filled in its own dtype (only the
slices the wanted entries of g need); each entry is the square root of the sum of squares of its
slice of v, summed in float64 along one contiguous row (NumPy's pairwise sum, whose order depends
on the row length only, not on which rows a shard holds); the float64 norm is rounded to float32
once, and float16/bfloat16 g is that float32 rounded (stream-format section 6), float64 g the
float64 norm itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._dtypes import numpy_dtype

__all__ = ["norm_of_fill", "norm_shape"]


def norm_shape(v_shape: Sequence[int], dim: int) -> tuple[int, ...]:
    """g's shape: ``v_shape[dim]`` at ``dim`` and 1 elsewhere; () for ``dim=-1`` (the whole)."""
    if dim == -1:
        return ()
    return tuple(int(n) if d == dim else 1 for d, n in enumerate(v_shape))


def norm_of_fill(seed: int, spec: Any, key: Any, v_shape: Sequence[int], v_dtype: str, dim: int,
                 dtype: str, picked: Sequence[int] | range | None = None) -> np.ndarray:
    """‖v‖ over every dim but ``dim`` (-1: all), v the fill of ``spec`` under ``(seed, key)`` of
    global shape ``v_shape`` in ``v_dtype``; only entries ``picked`` along ``dim`` (None: all),
    as an array of g's (local) shape in ``dtype`` (a sow dtype name)."""
    from ._fill_part import fill_part

    v_shape = tuple(int(n) for n in v_shape)
    v_sets: list[Sequence[int] | range] = [range(n) for n in v_shape]
    rows = 1
    if dim != -1:
        v_sets[dim] = range(v_shape[dim]) if picked is None else picked
        rows = len(v_sets[dim])
    v = fill_part(seed, spec, key, v_shape, v_sets, v_dtype)
    x = v.reshape(1, -1) if dim == -1 else np.moveaxis(v, dim, 0).reshape(rows, -1)
    x = np.ascontiguousarray(x, dtype=np.float64)
    norms = np.sqrt(np.add.reduce(x * x, axis=1))
    out = norms if dtype == "float64" else norms.astype(np.float32)
    if dtype in ("float16", "bfloat16"):
        out = out.astype(numpy_dtype(dtype))
    if dim == -1:
        return out.reshape(())
    shape = [1] * len(v_shape)
    shape[dim] = rows
    return out.reshape(shape)
