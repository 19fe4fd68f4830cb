"""A shard costs what the shard needs, and nothing is written before every allocation succeeded.

* sparse: the per-column thresholds of the zero pattern (stream-format.md §7) are exact whichever
  selection path finds them (the streaming window, the exact radix passes, the row cut between
  rows sharing the threshold word), and a shard of a very tall matrix needs O(rows) streaming work
  with bounded memory (it used to hang near 2^24 zeros per column, then run out of memory);
* eye and dirac: a shard's work is O(shard), whatever the global shape and ``groups`` (dirac
  built every one of the global ones: 8 TiB of indices for ``groups = 2**40``);
* sparse_ and delta_orthogonal_: under an address-space limit, an allocation failure raises
  MemoryError with ``out`` byte-identical to its sentinel (they used to write values or zeros
  first).

The resource cases run in subprocesses with RLIMIT_AS and a bounded timeout; the child must exit
normally (never by a signal).
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import sow
import sow_ref as ref
from sow import _core
from child_prelude import VM_PRELUDE

ISAS = list(_core.available_isas())


def ref_thresholds(words: np.ndarray, k: int) -> np.ndarray:
    """k-th smallest pair ``word << 32 | row`` of each column of ``words`` (rows, nc), by sorting."""
    rows = words.shape[0]
    if k == 0:
        return np.empty(0, dtype=np.uint64)
    pairs = (words.astype(np.uint64) << np.uint64(32)) | np.arange(rows, dtype=np.uint64)[:, None]
    return np.sort(pairs, axis=0)[k - 1]


def domain1_words(shape: tuple[int, int], seed: int, key: int) -> np.ndarray:
    rows, cols = shape
    return ref.stream_words(seed, key, 1, 0, rows * cols).reshape(rows, cols)


# The default selection, a window that (almost always) misses (the exact passes: histograms, then
# collect), a window that keeps no pair (histograms down to one word, then the row cut), and one
# that keeps only 3.
SELECTIONS = [(8.0, -1), (0.0, -1), (0.0, 0), (8.0, 0), (0.5, 3)]


@pytest.mark.parametrize("sigmas,cap", SELECTIONS)
@pytest.mark.parametrize("shape,sparsity,c0,nc", [
    ((50, 7), 0.1, 0, 7), ((33, 20), 0.5, 3, 11), ((9, 4), 0.99, 0, 4), ((1, 5), 0.5, 1, 3),
    ((8, 3), 0.0, 0, 3), ((4096, 3), 0.5, 0, 3), ((100_000, 2), 0.3, 1, 1), ((300, 300), 0.7, 13, 280),
    ((70_000, 1), 0.001, 0, 1), ((70_000, 1), 0.9999, 0, 1), ((2, 600), 0.5, 0, 600),
])
def test_thresholds_match_sorting(shape, sparsity, c0, nc, sigmas, cap):
    seed, key = 3, 2**64 - 5
    words = domain1_words(shape, seed, key)[:, c0:c0 + nc]
    expected = ref_thresholds(words, math.ceil(sparsity * shape[0]))
    got = _core.sparse_thresholds(shape, c0, nc, sparsity, seed, key, sigmas, cap)
    np.testing.assert_array_equal(np.asarray(got), expected)


@pytest.mark.parametrize("second", [False, True])
@pytest.mark.parametrize("sigmas,cap", SELECTIONS)
def test_threshold_between_rows_sharing_a_word(second, sigmas, cap):
    # 2^18 words have ~8 repeated values: put the threshold on a repeated word, so that the
    # first of its rows is a zero and the second is not (or both are), whatever the path.
    rows, seed, key = 1 << 18, 1, 7
    w = ref.stream_words(seed, key, 1, 0, rows)
    order = np.lexsort((np.arange(rows), w))
    ties = np.nonzero(w[order][1:] == w[order][:-1])[0]
    assert len(ties) > 0
    k = int(ties[0]) + 1 + int(second)  # the k-th smallest pair is the first (second) tied row
    sparsity = (k - 0.5) / rows
    assert math.ceil(sparsity * rows) == k
    t = np.asarray(_core.sparse_thresholds((rows, 1), 0, 1, sparsity, seed, key, sigmas, cap))
    assert int(t[0]) == (int(w[order[k - 1]]) << 32) | int(order[k - 1])
    if (sigmas, cap) == SELECTIONS[0]:
        zeros = sow.sparse((rows, 1), sparsity, seed=seed, key=key)[:, 0] == 0
        np.testing.assert_array_equal(np.sort(np.nonzero(zeros)[0]), np.sort(order[:k]))
        first, other = order[ties[0]], order[ties[0] + 1]
        assert zeros[first] and zeros[other] == second


def test_thresholds_same_on_every_isa(restore_isa):
    shape = (5000, 37)
    expected = None
    for isa in ISAS:
        _core.set_isa(isa)
        t = np.asarray(_core.sparse_thresholds(shape, 2, 33, 0.4, 11, 12))
        if expected is None:
            expected = ref_thresholds(domain1_words(shape, 11, 12)[:, 2:35], math.ceil(0.4 * 5000))
        np.testing.assert_array_equal(t, expected, err_msg=isa)


@pytest.mark.parametrize("args,match", [
    (((4, 4, 4), 0, 1, 0.5), "2 dimensions"),
    (((4, 4), 3, 2, 0.5), "outside"),
    (((4, 4), -1, 1, 0.5), "outside"),
    (((4, 4), 0, -1, 0.5), "outside"),
    (((4, 4), 0, 1, 1.0), "sparsity"),
    (((4, 4), 0, 1, float("nan")), "sparsity"),
    ((((1 << 32) + 1, 1), 0, 1, 0.5), "2\\*\\*32 rows"),
])
def test_thresholds_refuse_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        _core.sparse_thresholds(*args, 0, 0)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("shape,sparsity", [((37, 29), 0.3), ((9, 4), 0.99), ((300, 70), 0.9)])
def test_sparse_shards_and_strides_tile(shape, sparsity, dtype):
    full = sow.sparse(shape, sparsity, 0.5, seed=6, key="s", dtype=dtype)
    assert np.all(np.count_nonzero(full.astype(np.float64) == 0, axis=0) == math.ceil(sparsity * shape[0]))
    rows, cols = shape
    for r0, r1, c0, c1 in [(0, rows, 0, 1), (rows // 3, rows, cols // 2, cols), (1, 2, 0, cols), (rows - 1, rows, cols - 1, cols)]:
        part = sow.sparse(shape, sparsity, 0.5, seed=6, key="s", dtype=dtype, shard=[slice(r0, r1), slice(c0, c1)])
        np.testing.assert_array_equal(ref.bits_of(part), ref.bits_of(full[r0:r1, c0:c1]))
    base = np.full((rows, 2 * cols), np.nan, dtype=full.dtype)
    view = base[::-1, ::2]  # negative row stride, gaps between columns
    sow.sparse_(view, sparsity, 0.5, seed=6, key="s")
    np.testing.assert_array_equal(ref.bits_of(view), ref.bits_of(full))
    assert np.isnan(base[:, 1::2].astype(np.float32)).all()


# ---------------------------------------------------------------------------------------------
# eye and dirac: O(shard), exactly torch's values

torch = pytest.importorskip("torch")


def _torch_dirac(shape, groups):
    w = torch.empty(shape)
    torch.nn.init.dirac_(w, groups)
    return w.numpy()


@pytest.mark.parametrize("shape,groups", [((6, 4, 3), 1), ((6, 4, 3, 3), 2), ((8, 3, 2, 5, 4), 4), ((5, 9, 4), 5), ((4, 4, 1, 1), 1)])
def test_dirac_shards_match_torch(shape, groups):
    full = _torch_dirac(shape, groups)
    np.testing.assert_array_equal(sow.dirac(shape, groups), full)
    rng = np.random.default_rng(0)
    for _ in range(40):
        lo = [int(rng.integers(0, n)) for n in shape]
        hi = [int(rng.integers(a + 1, n + 1)) for a, n in zip(lo, shape)]
        shard = [slice(a, b) for a, b in zip(lo, hi)]
        part = sow.dirac(shape, groups, shard=shard)
        np.testing.assert_array_equal(part, full[tuple(shard)], err_msg=str(shard))
        # The positions of the ones as the plan computes them for CUDA and buffer items
        # (plan.cpp's ones_in_box), checked against the host values through a buffer item.
        np.testing.assert_array_equal(_buffer_bytes(shape, shard, ("dirac", {"groups": groups})), part)


def _buffer_bytes(shape, shard, spec):
    """The shard of ``spec`` written as a plan's buffer item (C-contiguous float32 bytes)."""
    sizes = tuple(s.stop - s.start for s in shard) + tuple(shape[len(shard):])
    plan = sow.Plan(seed=0)
    plan.add_buffer(sizes, "float32", spec, global_shape=shape, shard=shard)
    out = np.full(sizes, 7.0, np.float32)
    plan.write_range(0, 0, out.nbytes, out)
    return out


@pytest.mark.parametrize("shape", [(5, 7), (9, 4), (1, 1), (6, 6)])
def test_eye_shards_match_torch(shape):
    full = torch.nn.init.eye_(torch.empty(shape)).numpy()
    np.testing.assert_array_equal(sow.eye(shape), full)
    for r0 in range(shape[0]):
        for c0 in range(shape[1]):
            shard = [slice(r0, shape[0]), slice(c0, min(shape[1], c0 + 3))]
            part = sow.eye(shape, shard=shard)
            np.testing.assert_array_equal(part, full[tuple(shard)])
            np.testing.assert_array_equal(_buffer_bytes(shape, shard, "eye"), part)


def test_dirac_eye_huge_global_shapes():
    # 2^40 groups of one row each: only the group of the shard's row is visited.
    np.testing.assert_array_equal(sow.dirac((1 << 40, 1, 1), groups=1 << 40, shard=[slice(0, 1)]), np.ones((1, 1, 1)))
    np.testing.assert_array_equal(sow.dirac((1 << 40, 1, 1), groups=1 << 40, shard=[slice(5, 9)]), np.ones((4, 1, 1)))
    part = sow.dirac((1 << 27, 1 << 27, 3), shard=[slice(5, 9), slice(4, 8), slice(1, 2)])
    expected = np.zeros((4, 4, 1), np.float32)
    for d in range(5, 8):
        expected[d - 5, d - 4, 0] = 1
    np.testing.assert_array_equal(part, expected)
    assert not sow.dirac((1 << 27, 1 << 27, 3), shard=[slice(5, 9), slice(4, 8), slice(0, 1)]).any()  # off-centre
    g = 1 << 20  # groups of 2^7 rows, 2^7 columns: ones at (gi * 128 + d, d) for every d < 128
    part = sow.dirac((1 << 27, 1 << 7, 1), groups=g, shard=[slice(130, 260), slice(0, 1 << 7)])
    r, c, _ = np.nonzero(part)
    np.testing.assert_array_equal(r + 130, (c % 128) + 128 * ((r + 130) // 128))
    assert len(r) == 130
    part = sow.eye((1 << 27, 1 << 27), shard=[slice(100, 103), slice(101, 105)])
    np.testing.assert_array_equal(part, np.eye(3, 4, -1, dtype=np.float32))


# ---------------------------------------------------------------------------------------------
# Subprocesses: bounded memory for huge global shapes, and allocation failures write nothing

_LIMIT = VM_PRELUDE + """
def limit(extra):
    resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + extra, resource.RLIM_INFINITY))

def unlimit():
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
"""

def _child(code: str, timeout: float = 300) -> str:
    """Runs _LIMIT's helpers, then ``code``, in a fresh interpreter; returns its stdout."""
    script = _LIMIT + textwrap.dedent(code)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"child exited with {r.returncode} (negative: killed by a signal)\n{r.stdout}\n{r.stderr[-3000:]}"
    return r.stdout


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")


@linux_only
def test_tall_sparse_shards_and_huge_diracs_in_bounded_memory():
    # The old selection hung on the first call (nth_element over 2^24 pairs for every row) and
    # needed 2^27 pairs (1 GiB) on the second; dirac built every global one (8 TiB of indices,
    # then GiBs for 2^27 groups' worth). Here: 1 GiB of address space, a bounded time.
    rows = 1 << 25
    lines = _child(f"""
    limit(1 << 30)
    a = sow.sparse(({rows}, 1), 0.5, seed=0, shard=[slice(0, 64)])
    b = sow.sparse((1 << 28, 3), 0.5, seed=0, key=1, shard=[slice(7, 9), slice(1, 2)])
    d = sow.dirac((1 << 40, 1, 1), groups=1 << 40, shard=[slice(0, 1)])
    e = sow.dirac((1 << 27, 1 << 27, 1), shard=[slice(0, 2), slice(0, 3)])
    unlimit()
    for x in (a, b, d, e):
        print(" ".join(x.ravel().astype(np.float32).view(np.uint32).astype(str)))
    """, timeout=120).splitlines()
    a, b, d, e = (np.array(line.split(), dtype=np.uint64).astype(np.uint32).view(np.float32) for line in lines)
    words = _core.bits(0, 0, 1, 0, rows).astype(np.uint64)
    pairs = (words << np.uint64(32)) | np.arange(rows, dtype=np.uint64)
    threshold = np.partition(pairs, rows // 2 - 1)[rows // 2 - 1]
    values = sow.normal((rows, 1), 0.0, 0.01, seed=0, shard=[slice(0, 64)]).ravel()
    np.testing.assert_array_equal(a, np.where(pairs[:64] <= threshold, np.float32(0), values))
    t = np.asarray(_core.sparse_thresholds((1 << 28, 3), 1, 1, 0.5, 0, 1))
    w = _core.bits(0, 1, 1, 7 * 3 + 1, 4)[[0, 3]].astype(np.uint64)
    zero = ((w << np.uint64(32)) | np.array([7, 8], dtype=np.uint64)) <= t[0]
    values = sow.normal((1 << 28, 3), 0.0, 0.01, seed=0, key=1, shard=[slice(7, 9), slice(1, 2)]).ravel()
    np.testing.assert_array_equal(b, np.where(zero, np.float32(0), values))
    np.testing.assert_array_equal(d, [1.0])
    np.testing.assert_array_equal(e, [1, 0, 0, 0, 1, 0])


@linux_only
def test_sparse_allocation_failure_writes_nothing():
    # The thresholds of 256 columns of 2^20 rows keep ~18 MiB of window pairs: refused by a 4 MiB
    # margin, before the values (the old code wrote them first) or any zero is written.
    out = _child("""
    out = np.full((8, 256), 7.0, np.float32)
    before = out.tobytes()
    limit(4 << 20)
    try:
        sow.sparse_(out, 0.5, seed=0, global_shape=(1 << 20, 256), shard=[slice(3, 11)], threads=1)
        print("no error")
    except MemoryError:
        print("MemoryError")
    unlimit()
    print("unchanged" if out.tobytes() == before else "changed")
    sow.sparse_(out, 0.5, seed=0, global_shape=(1 << 20, 256), shard=[slice(3, 11)], threads=1)
    print("changed after" if out.tobytes() != before else "unchanged after")
    """)
    assert out.split() == ["MemoryError", "unchanged", "changed", "after"]


@linux_only
@pytest.mark.skipif(not getattr(_core, "has_lapack", False), reason="needs LAPACK")
def test_delta_orthogonal_allocation_failure_writes_nothing():
    # orthogonal's 16 MiB scratch for the 2048 x 2048 tap cannot be allocated: MemoryError, and
    # the zeros (which the old code wrote first) are not written either.
    out = _child("""
    out = np.full((3, 1, 2048, 2048), 7.0, np.float32)
    before = out.tobytes()
    limit(4 << 20)
    try:
        sow.delta_orthogonal_(out, seed=0, threads=1)
        print("no error")
    except MemoryError:
        print("MemoryError")
    unlimit()
    print("unchanged" if out.tobytes() == before else "changed")
    """)
    assert out.split() == ["MemoryError", "unchanged"]
