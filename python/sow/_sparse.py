"""The zero pattern of ``sparse`` (stream-format.md §7).

For a global ``(rows, cols)`` weight and ``num_zeros = ceil(sparsity * rows)``: in column ``c``
the element of row ``r`` is zero when the pair ``(w, r)``, ``w`` = word ``r * cols + c`` of
domain 1, is among the ``num_zeros`` smallest pairs of that column. The pairs are compared as
the uint64 ``w << 32 | r``, so column ``c`` has a *threshold*, its ``num_zeros``-th smallest
pair, and an element is zero iff its pair is ``<=`` the threshold.

The implementation is the C++ one (``sow::sparse_``, ``sow::sparse_thresholds``,
cpp/src/init/sparse.cpp): the thresholds of a shard's columns come from one streaming pass over
those columns' words (all ``rows`` of them: the pattern of a column depends on the whole column),
keeping O(1) state per column plus the pairs of a narrow window of words around the expected
threshold (about ``16·sqrt(k·(rows-k)/rows) + 200`` pairs per column, for at most 256 columns
and 32 MiB at a time); a window that misses (probability < 1e-13 per column) costs at most
three more passes of an exact radix selection. Then the values are written, then the zeros: no
byte of ``out`` is written before every allocation has succeeded. A shard of ``nr x nc``
elements thus costs ``rows·nc`` words for the thresholds plus ``nr·nc`` for the pattern.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from . import _core

__all__ = ["MAX_ROWS", "num_zeros", "thresholds"]

#: Row indices must fit in the low 32 bits of a pair.
MAX_ROWS: Final = 1 << 32


def num_zeros(sparsity: float, rows: int) -> int:
    """``ceil(sparsity * rows)``, torch's count of zeros per column."""
    return int(math.ceil(sparsity * rows))


def thresholds(
    global_shape: tuple[int, int], c0: int, nc: int, sparsity: float, seed: int, key: int
) -> np.ndarray:
    """The thresholds (uint64) of columns ``[c0, c0 + nc)``: element ``(r, c)`` is zero iff
    ``word << 32 | r <= t[c - c0]``. Empty when ``num_zeros(sparsity, rows) == 0``."""
    return np.asarray(
        _core.sparse_thresholds(tuple(global_shape), c0, nc, float(sparsity), seed, key)
    )
