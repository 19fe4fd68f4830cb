"""The zero pattern of ``sparse`` (stream-format.md §7).

For a global ``(rows, cols)`` weight and ``num_zeros = ceil(sparsity * rows)``: in column ``c``
the element of row ``r`` is zero when the pair ``(w, r)``, ``w`` = word ``r * cols + c`` of
domain 1, is among the ``num_zeros`` smallest pairs of that column. The pairs are compared as
the uint64 ``w << 32 | r``. A shard needs the *whole* columns of its column range; they are read
in row chunks (and, for very wide shards, column blocks) so memory stays bounded.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from ._fill import DOMAIN_SPARSE_MASK, bits

__all__ = ["MAX_ROWS", "num_zeros", "apply_zero_pattern"]

#: Row indices must fit in the low 32 bits of a pair.
MAX_ROWS: Final = 1 << 32
#: Working-set target in uint64 elements (256 MiB).
_BUDGET: Final = 1 << 25
#: Per-call overhead of a ``bits`` call, in words, for choosing how to read a block.
_CALL_COST: Final = 1024


def num_zeros(sparsity: float, rows: int) -> int:
    """``ceil(sparsity * rows)``, torch's count of zeros per column."""
    return int(math.ceil(sparsity * rows))


def _pairs(
    seed: int, key: int, cols: int, ra: int, rb: int, cb0: int, cb1: int
) -> np.ndarray:
    """uint64 ``word << 32 | r`` for global rows [ra, rb) and columns [cb0, cb1), laid out
    column-major as a C-contiguous ``(cb1 - cb0, rb - ra)`` array (one row per column)."""
    n, w = rb - ra, cb1 - cb0
    if n * cols <= n * (w + _CALL_COST):
        # One contiguous read of the rows' span, viewed as (n, w) with row stride `cols`.
        flat = bits(seed, key, DOMAIN_SPARSE_MASK, ra * cols + cb0, (n - 1) * cols + w)
        words = np.lib.stride_tricks.as_strided(
            flat, shape=(n, w), strides=(cols * flat.itemsize, flat.itemsize), writeable=False
        )
    else:
        words = np.empty((n, w), dtype=np.uint32)
        for i in range(n):
            words[i] = bits(seed, key, DOMAIN_SPARSE_MASK, (ra + i) * cols + cb0, w)
    pairs: np.ndarray = words.T.astype(np.uint64, order="C")
    pairs <<= np.uint64(32)
    pairs |= np.arange(ra, rb, dtype=np.uint64)
    return pairs


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
    rows, cols = global_shape
    r0, c0 = offsets
    nr, nc = out.shape
    k = num_zeros(sparsity, rows)
    if k == 0 or nr == 0 or nc == 0:
        return
    # The k-th smallest pair of a column is the (rows - k + 1)-th largest: keep whichever
    # extreme set is smaller.
    m = min(k, rows - k + 1)
    keep_smallest = k <= rows - k + 1
    block = max(1, min(nc, _BUDGET // (2 * m)))
    for cb0 in range(c0, c0 + nc, block):
        cb1 = min(c0 + nc, cb0 + block)
        w = cb1 - cb0
        chunk = max(1, (_BUDGET - m * w) // w)
        best: np.ndarray | None = None
        whole: np.ndarray | None = None  # all rows' pairs, when one chunk holds them
        for ra in range(0, rows, chunk):
            rb = min(rows, ra + chunk)
            cur = _pairs(seed, key, cols, ra, rb, cb0, cb1)
            if rb - ra == rows:
                whole = cur
            cat = cur if best is None else np.concatenate([best, cur], axis=1)
            if cat.shape[1] > m:
                if keep_smallest:
                    cat = np.partition(cat, m - 1, axis=1)[:, :m]
                else:
                    cat = np.partition(cat, cat.shape[1] - m, axis=1)[:, cat.shape[1] - m:]
            best = cat
        assert best is not None
        # Pair value of the k-th smallest per column: zero everything at or below it.
        threshold = (best.max(axis=1) if keep_smallest else best.min(axis=1))[:, None]
        for ra in range(r0, r0 + nr, chunk):
            rb = min(r0 + nr, ra + chunk)
            if whole is not None:
                pairs = whole[:, ra:rb]
            else:
                pairs = _pairs(seed, key, cols, ra, rb, cb0, cb1)
            mask = (pairs <= threshold).T
            view = out[ra - r0:rb - r0, cb0 - c0:cb1 - c0]
            view[mask] = 0
