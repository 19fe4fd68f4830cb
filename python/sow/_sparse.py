"""The zero pattern of ``sparse`` (stream-format.md §7).

For a global ``(rows, cols)`` weight and ``num_zeros = ceil(sparsity * rows)``: in column ``c``
the element of row ``r`` is zero when the pair ``(w, r)``, ``w`` = word ``r * cols + c`` of
domain 1, is among the ``num_zeros`` smallest pairs of that column. The pairs are compared as
the uint64 ``w << 32 | r``. The CPU implementation is the C++ one
(``sow::apply_sparse_zero_pattern``, cpp/src/init.cpp), which reads whole columns in bounded
row chunks and column blocks.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from . import _core
from ._dtypes import dtype_name_of

__all__ = ["MAX_ROWS", "num_zeros", "apply_zero_pattern"]

#: Row indices must fit in the low 32 bits of a pair.
MAX_ROWS: Final = 1 << 32


def num_zeros(sparsity: float, rows: int) -> int:
    """``ceil(sparsity * rows)``, torch's count of zeros per column."""
    return int(math.ceil(sparsity * rows))


def apply_zero_pattern(
    out: np.ndarray,
    global_shape: tuple[int, int],
    offsets: tuple[int, int],
    sparsity: float,
    seed: int,
    key: int,
) -> None:
    """Zero the elements of ``out`` (the block at ``offsets`` of ``global_shape``) that the
    sparse pattern of (seed, key, global shape, sparsity) marks."""
    if out.size == 0:
        return
    name = dtype_name_of(out.dtype)
    if name is None:  # pragma: no cover - out comes from check_out
        raise TypeError(f"apply_zero_pattern: unsupported dtype {out.dtype}")
    _core.apply_sparse_zero_pattern(
        int(out.__array_interface__["data"][0]), name, tuple(out.shape), tuple(out.strides),
        tuple(global_shape), tuple(offsets), float(sparsity), seed, key,
    )
