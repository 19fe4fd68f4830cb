"""Values never depend on how they are computed: thread count, SIMD instruction set, shard
tiling, output strides, allocating vs in-place. Every comparison here is bit for bit."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import sow
import sow_ref as ref
from sow import _core
from sow_ref import DTYPES, NP_DTYPES

ISAS = list(_core.available_isas())
BIG = (1 << 20) + 1  # > 2^20 elements: split between threads and SIMD chunks, odd tail
ODD_SIZES = [1, 3, 7, 733, BIG]

# (name, callable(shape, **kw), in-place callable(out, **kw)) for the stream-using distributions.
DISTS = {
    "uniform": (lambda s, **k: sow.uniform(s, -1.5, 2.0, **k), lambda o, **k: sow.uniform_(o, -1.5, 2.0, **k)),
    "normal": (lambda s, **k: sow.normal(s, 0.25, 3.0, **k), lambda o, **k: sow.normal_(o, 0.25, 3.0, **k)),
    "trunc_normal": (
        lambda s, **k: sow.trunc_normal(s, 0.0, 0.02, -0.04, 0.04, **k),
        lambda o, **k: sow.trunc_normal_(o, 0.0, 0.02, -0.04, 0.04, **k),
    ),
    "trunc_normal_tail": (
        lambda s, **k: sow.trunc_normal(s, 0.0, 1.0, 3.0, 4.0, **k),
        lambda o, **k: sow.trunc_normal_(o, 0.0, 1.0, 3.0, 4.0, **k),
    ),
    "trunc_normal_deep": (  # float32 path switches to float64 formulas (Phi(beta) < 2^-100)
        lambda s, **k: sow.trunc_normal(s, 0.0, 1.0, -21.0, -20.0, **k),
        lambda o, **k: sow.trunc_normal_(o, 0.0, 1.0, -21.0, -20.0, **k),
    ),
}

# Every initializer, allocating and in-place, for shapes of 2 or more dimensions.
INITS = {
    "uniform": (lambda s, **k: sow.uniform(s, -1.0, 1.0, **k), lambda o, **k: sow.uniform_(o, -1.0, 1.0, **k)),
    "normal": (lambda s, **k: sow.normal(s, 0.0, 2.0, **k), lambda o, **k: sow.normal_(o, 0.0, 2.0, **k)),
    "trunc_normal": (
        lambda s, **k: sow.trunc_normal(s, 0.1, 0.5, -0.2, 0.9, **k),
        lambda o, **k: sow.trunc_normal_(o, 0.1, 0.5, -0.2, 0.9, **k),
    ),
    "xavier_uniform": (lambda s, **k: sow.xavier_uniform(s, 1.5, **k), lambda o, **k: sow.xavier_uniform_(o, 1.5, **k)),
    "xavier_normal": (lambda s, **k: sow.xavier_normal(s, **k), lambda o, **k: sow.xavier_normal_(o, **k)),
    "kaiming_uniform": (
        lambda s, **k: sow.kaiming_uniform(s, math.sqrt(5), **k),
        lambda o, **k: sow.kaiming_uniform_(o, math.sqrt(5), **k),
    ),
    "kaiming_normal": (
        lambda s, **k: sow.kaiming_normal(s, mode="fan_out", nonlinearity="relu", **k),
        lambda o, **k: sow.kaiming_normal_(o, mode="fan_out", nonlinearity="relu", **k),
    ),
    "lecun_uniform": (lambda s, **k: sow.lecun_uniform(s, **k), lambda o, **k: sow.lecun_uniform_(o, **k)),
    "lecun_normal": (lambda s, **k: sow.lecun_normal(s, layout="jax", **k), lambda o, **k: sow.lecun_normal_(o, layout="jax", **k)),
    "variance_scaling": (
        lambda s, **k: sow.variance_scaling(s, 2.0, "fan_avg", "uniform", **k),
        lambda o, **k: sow.variance_scaling_(o, 2.0, "fan_avg", "uniform", **k),
    ),
}
# 2-D only.
INITS_2D = {
    "sparse": (lambda s, **k: sow.sparse(s, 0.3, 0.05, **k), lambda o, **k: sow.sparse_(o, 0.3, 0.05, **k)),
}
# No stream: no seed/key/threads.
FIXED = {
    "constant": (lambda s, **k: sow.constant(s, 0.3, **k), lambda o, **k: sow.constant_(o, 0.3, **k)),
    "ones": (lambda s, **k: sow.ones(s, **k), lambda o, **k: sow.ones_(o, **k)),
    "zeros": (lambda s, **k: sow.zeros(s, **k), lambda o, **k: sow.zeros_(o, **k)),
}
FIXED_2D = {"eye": (lambda s, **k: sow.eye(s, **k), lambda o, **k: sow.eye_(o, **k))}
FIXED_3D = {"dirac": (lambda s, **k: sow.dirac(s, 2, **k), lambda o, **k: sow.dirac_(o, 2, **k))}


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(ref.bits_of(np.ascontiguousarray(a)), ref.bits_of(np.ascontiguousarray(b)))


def rng_kw(name, **extra):
    return dict(seed=0xC0FFEE, key=name, **extra)


def all_inits(ndim):
    """(name, alloc, inplace, random?) for every initializer that accepts `ndim` dimensions."""
    out = [(n, f, g, True) for n, (f, g) in INITS.items()]
    out += [(n, f, g, False) for n, (f, g) in FIXED.items()]
    if ndim == 2:
        out += [(n, f, g, True) for n, (f, g) in INITS_2D.items()]
        out += [(n, f, g, False) for n, (f, g) in FIXED_2D.items()]
    if 3 <= ndim <= 5:
        out += [(n, f, g, False) for n, (f, g) in FIXED_3D.items()]
    return out


# ----------------------------------------------------------------------------------------------
# Threads
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dist", list(DISTS))
def test_threads_invariance(dist, dtype):
    f = DISTS[dist][0]
    ref1 = f((BIG,), **rng_kw(dist), dtype=dtype, threads=1)
    for threads in (2, 3, 7, None):
        same_bits(f((BIG,), **rng_kw(dist), dtype=dtype, threads=threads), ref1)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_threads_invariance_2d_and_sharded(dtype):
    shape = (1031, 1019)  # ~2^20 elements, prime sizes
    shard = (slice(3, 1030), slice(1, 1018))
    full = sow.normal(shape, **rng_kw("t2d"), dtype=dtype, threads=1)
    for threads in (2, 3, 7):
        same_bits(sow.normal(shape, **rng_kw("t2d"), dtype=dtype, threads=threads), full)
        same_bits(sow.normal(shape, **rng_kw("t2d"), dtype=dtype, threads=threads, shard=shard), full[3:1030, 1:1018])


def test_threads_invariance_sparse():
    shape = (1024, 1025)
    base = sow.sparse(shape, 0.4, **rng_kw("sp"), threads=1)
    for threads in (2, 3, 7):
        same_bits(sow.sparse(shape, 0.4, **rng_kw("sp"), threads=threads), base)


# ----------------------------------------------------------------------------------------------
# ISAs (every ISA this CPU runs); also the SOW_ISA environment override
# ----------------------------------------------------------------------------------------------
def test_available_isas_sane():
    assert ISAS[-1] == "scalar"  # best first; the portable fallback is always there, last
    assert len(set(ISAS)) == len(ISAS)
    assert _core.isa() in ISAS
    if "SOW_ISA" not in os.environ:
        assert _core.isa() == ISAS[0]  # the best one is chosen by default
    known = ["avx512bf16", "avx512", "avx2", "scalar"]
    assert ISAS == [i for i in known if i in ISAS]
    assert _core.hardware_threads() >= 1


@pytest.mark.parametrize("isa", ISAS)
def test_set_isa_switches(isa, restore_isa):
    _core.set_isa(isa)
    assert _core.isa() == isa


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dist", list(DISTS))
def test_isa_invariance(dist, dtype, restore_isa):
    f = DISTS[dist][0]
    _core.set_isa("scalar")
    expected = {n: f((n,), **rng_kw(dist), dtype=dtype) for n in ODD_SIZES}
    # A shard starting at an odd offset: the SIMD head/tail handling sees unaligned indices.
    expected_shard = f((BIG,), **rng_kw(dist), dtype=dtype, shard=(slice(5, BIG - 2),))
    for isa in ISAS:
        _core.set_isa(isa)
        for n in ODD_SIZES:
            got = f((n,), **rng_kw(dist), dtype=dtype, threads=3)
            same_bits(got, expected[n])
            # Prefix property: the parameters do not depend on the shape, so element g is the same
            # in every length.
            same_bits(got, expected[BIG][:n])
        same_bits(f((BIG,), **rng_kw(dist), dtype=dtype, shard=(slice(5, BIG - 2),)), expected_shard)
        same_bits(expected_shard, expected[BIG][5 : BIG - 2])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_isa_uniform_matches_derivation(dtype, restore_isa):
    # On every ISA, uniform equals the NumPy re-derivation of stream-format §3-5 bit for bit.
    seed, key = 2**63 + 11, 2**64 - 3
    words = _core.bits(seed, key, 0, 0, (2 if dtype == "float64" else 1) * BIG)
    expected = ref.uniform_from_words(words, -1.5, 2.0, dtype)
    for isa in ISAS:
        _core.set_isa(isa)
        same_bits(sow.uniform((BIG,), -1.5, 2.0, seed=seed, key=key, dtype=dtype), expected)


def test_isa_bits_invariance(restore_isa):
    # Raw words (used by sparse's zero pattern) are the same on every ISA and equal the reference.
    start, count = 4 * (2**32 - 3) + 1, 100003
    expected = ref.stream_words(12, 2**64 - 1, 1, start, count)
    for isa in ISAS:
        _core.set_isa(isa)
        np.testing.assert_array_equal(_core.bits(12, 2**64 - 1, 1, start, count), expected)


@pytest.mark.parametrize("isa", ISAS)
def test_isa_invariance_shape_dependent(isa, restore_isa):
    shape = (257, 1031)
    _core.set_isa("scalar")
    expected = {n: f(shape, **rng_kw(n)) for n, f, _, r in all_inits(2) if r}
    _core.set_isa(isa)
    for n, f, _, r in all_inits(2):
        if r:
            same_bits(f(shape, **rng_kw(n), threads=2), expected[n])


@pytest.mark.parametrize("isa", ISAS)
def test_sow_isa_env_var(isa):
    # SOW_ISA forces the ISA at load; the values are those of the in-process scalar path.
    code = (
        "import sys, numpy as np, sow; from sow import _core; "
        "x = sow.normal((4099,), seed=5, key='env', dtype='float32'); "
        "sys.stdout.write(_core.isa() + ' ' + x.view(np.uint32).tobytes().hex())"
    )
    env = dict(os.environ, SOW_ISA=isa)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got_isa, hexbits = res.stdout.split()
    assert got_isa == isa
    expected = sow.normal((4099,), seed=5, key="env", dtype="float32")
    assert hexbits == expected.view(np.uint32).tobytes().hex()


# ----------------------------------------------------------------------------------------------
# Shards
# ----------------------------------------------------------------------------------------------
def tiles(shape, cuts):
    """All blocks of the grid given by per-dimension cut points (including 0 and the size)."""
    ranges = [list(zip(c[:-1], c[1:])) for c in cuts]
    for block in itertools.product(*ranges):
        yield tuple(slice(a, b) for a, b in block)


SHAPE_2D = (37, 53)
SHAPE_3D = (6, 7, 11)
TILINGS_2D = {
    "row_blocks": [[0, 10, 20, 37], [0, 53]],
    "col_blocks": [[0, 37], [0, 1, 26, 53]],
    "irregular": [[0, 5, 6, 30, 37], [0, 1, 17, 52, 53]],
    "one_element": [list(range(38)), list(range(54))],
}
TILINGS_3D = {
    "dim0": [[0, 2, 6], [0, 7], [0, 11]],
    "dim2": [[0, 6], [0, 7], [0, 3, 4, 11]],
    "irregular": [[0, 1, 6], [0, 3, 7], [0, 6, 10, 11]],
    "one_element": [list(range(7)), list(range(8)), list(range(12))],
}


def test_shard_unit_trailing_dimension_minimal():
    # Regression (found by this file): a shard whose trailing dimension(s) have size 1 while the
    # global ones do not was filled with consecutive global indices along its innermost non-unit
    # dimension (e.g. column shard (37, 1) of a (37, 53) tensor got row 0's values).
    full = sow.uniform((4, 3), seed=1)
    np.testing.assert_array_equal(sow.uniform((4, 3), seed=1, shard=(slice(0, 4), slice(1, 2))), full[:, 1:2])
    out = np.empty((2, 1, 1), dtype=np.float32)
    sow.normal_(out, seed=2, global_shape=(5, 3, 2), shard=((1, 2, 1), (2, 1, 1)))
    np.testing.assert_array_equal(out, sow.normal((5, 3, 2), seed=2)[1:3, 2:3, 1:2])


def check_tiling(shape, cuts, alloc, inplace, is_random, dtype):
    kw = rng_kw("tile") if is_random else {}
    full = alloc(shape, **kw, dtype=dtype)
    assembled_a = np.full(shape, np.nan, dtype=full.dtype)
    assembled_b = np.full(shape, np.nan, dtype=full.dtype)
    for k, sl in enumerate(tiles(shape, cuts)):
        offsets = tuple(s.start for s in sl)
        sizes = tuple(s.stop - s.start for s in sl)
        # Alternate the two shard spellings.
        shard = sl if k % 2 == 0 else (offsets, sizes)
        part = alloc(shape, **kw, dtype=dtype, shard=shard)
        assert part.shape == sizes
        assembled_a[sl] = part
        out = np.empty(sizes, dtype=full.dtype)
        inplace(out, **kw, global_shape=shape, shard=shard)
        assembled_b[sl] = out
    same_bits(assembled_a, full)
    same_bits(assembled_b, full)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64"])
@pytest.mark.parametrize("tiling", list(TILINGS_2D))
@pytest.mark.parametrize("name,alloc,inplace,is_random", all_inits(2), ids=[i[0] for i in all_inits(2)])
def test_shard_tiling_2d(name, alloc, inplace, is_random, tiling, dtype):
    if tiling == "one_element" and dtype != "float32":
        shape, cuts = (7, 9), [list(range(8)), list(range(10))]
    elif tiling == "one_element":
        shape, cuts = (13, 11), [list(range(14)), list(range(12))]
    else:
        shape, cuts = SHAPE_2D, TILINGS_2D[tiling]
    check_tiling(shape, cuts, alloc, inplace, is_random, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("tiling", list(TILINGS_3D))
@pytest.mark.parametrize("name,alloc,inplace,is_random", all_inits(3), ids=[i[0] for i in all_inits(3)])
def test_shard_tiling_3d(name, alloc, inplace, is_random, tiling, dtype):
    check_tiling(SHAPE_3D, TILINGS_3D[tiling], alloc, inplace, is_random, dtype)


def test_shard_slices_with_none_and_missing_dims():
    full = sow.normal((6, 8, 4), seed=1, key=2)
    same_bits(sow.normal((6, 8, 4), seed=1, key=2, shard=(slice(None, 3),)), full[:3])
    same_bits(sow.normal((6, 8, 4), seed=1, key=2, shard=(slice(2, None), slice(None, None), slice(1, 3))), full[2:, :, 1:3])
    same_bits(sow.normal((6, 8, 4), seed=1, key=2, shard=((1, 2, 0), (0, 6, 4))), full[1:1, 2:8, :])


def test_large_shard_matches_full():
    # A shard of a big tensor, filled with several threads, against the full fill.
    shape = (1300, 900)
    full = sow.trunc_normal(shape, 0.0, 0.02, -0.04, 0.04, seed=9, key="big", threads=1)
    part = sow.trunc_normal(shape, 0.0, 0.02, -0.04, 0.04, seed=9, key="big", threads=3, shard=(slice(101, 1299), slice(7, 888)))
    same_bits(part, full[101:1299, 7:888])


# ----------------------------------------------------------------------------------------------
# Strided outputs
# ----------------------------------------------------------------------------------------------
def strided_views(shape, dtype):
    """(name, view, base, untouched-mask-fn) of strided outputs with the given logical shape."""
    m, n = shape
    nd = NP_DTYPES[dtype]
    sentinel = np.array(-7.0, dtype=nd)
    views = []
    base = np.full((n, m), sentinel, dtype=nd)
    views.append(("transposed", base.T, base, None))
    base = np.full((m, 2 * n), sentinel, dtype=nd)
    views.append(("every_other_column", base[:, ::2], base, (slice(None), slice(1, None, 2))))
    base = np.full((2 * m, n), sentinel, dtype=nd)
    views.append(("every_other_row", base[1::2], base, (slice(0, None, 2),)))
    base = np.full((m, n), sentinel, dtype=nd)
    views.append(("reversed_rows", base[::-1], base, None))
    base = np.full((m, n), sentinel, dtype=nd)
    views.append(("reversed_both", base[::-1, ::-1], base, None))
    base = np.full((m, 3 * n), sentinel, dtype=nd)
    views.append(("reversed_cols_step3", base[:, ::-3], base, (slice(None), np.setdiff1d(np.arange(3 * n), np.arange(3 * n)[::-3]))))
    base = np.full((n, 2 * m), sentinel, dtype=nd)
    views.append(("transposed_negative", base[::-1, ::2].T, base, (slice(None), slice(1, None, 2))))
    return views, sentinel


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,alloc,inplace,is_random", all_inits(2), ids=[i[0] for i in all_inits(2)])
def test_strided_out(name, alloc, inplace, is_random, dtype):
    shape = (23, 37)
    kw = rng_kw("strided") if is_random else {}
    expected = alloc(shape, **kw, dtype=dtype)
    views, sentinel = strided_views(shape, dtype)
    for vname, view, base, untouched in views:
        assert view.shape == shape and not view.flags.c_contiguous, vname
        ret = inplace(view, **kw)
        same_bits(view, expected)
        if ret is not None:
            assert ret is view
        if untouched is not None:
            rest = base[untouched]
            assert np.all(ref.bits_of(np.ascontiguousarray(rest)) == ref.bits_of(np.asarray(sentinel))), vname


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_strided_out_3d_permuted_big(dtype):
    # Big enough to be split between threads, with a permuted-axes output.
    shape = (17, 129, 513)
    expected = sow.normal(shape, seed=4, key="perm", dtype=dtype, threads=1)
    base = np.empty((shape[2], shape[0], shape[1]), dtype=NP_DTYPES[dtype])
    view = base.transpose(1, 2, 0)
    assert view.shape == shape
    sow.normal_(view, seed=4, key="perm", threads=3)
    same_bits(view, expected)


def test_strided_sharded_threaded():
    # Strided view + shard + threads together.
    shape = (1024, 1537)
    full = sow.uniform(shape, -2.0, 2.0, seed=8, key="sst", threads=1)
    base = np.zeros((1000, 2 * 1500), dtype=np.float32)
    view = base[::-1, ::2]
    sow.uniform_(view, -2.0, 2.0, seed=8, key="sst", global_shape=shape, shard=(slice(20, 1020), slice(30, 1530)), threads=3)
    same_bits(view, full[20:1020, 30:1530])
    assert not np.any(base[:, 1::2])


# ----------------------------------------------------------------------------------------------
# Allocating vs in-place
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (6, 5, 3), (4, 4, 3, 3), (2, 6, 3, 3, 3)], ids=["2d", "3d", "4d", "5d"])
def test_allocating_equals_inplace(shape, dtype):
    for name, alloc, inplace, is_random in all_inits(len(shape)):
        kw = rng_kw(name) if is_random else {}
        a = alloc(shape, **kw, dtype=dtype)
        assert a.shape == shape and a.dtype == NP_DTYPES[dtype], name
        assert a.flags.c_contiguous and a.flags.writeable
        out = np.full(shape, 99, dtype=NP_DTYPES[dtype])
        ret = inplace(out, **kw)
        same_bits(out, a)
        assert ret is out, name


@pytest.mark.parametrize("dtype", DTYPES)
def test_allocating_equals_inplace_1d(dtype):
    for name, (alloc, inplace) in DISTS.items():
        for n in ODD_SIZES[:4]:
            a = alloc((n,), **rng_kw(name), dtype=dtype)
            out = np.zeros(n, dtype=NP_DTYPES[dtype])
            inplace(out, **rng_kw(name))
            same_bits(out, a)


def test_generator_methods_match_functions():
    shape = (20, 30)
    g = sow.Generator(77)
    same_bits(g.trunc_normal(shape, 0.0, 0.02, -0.04, 0.04), sow.trunc_normal(shape, 0.0, 0.02, -0.04, 0.04, seed=77, key=0))
    same_bits(g.kaiming_uniform(shape, math.sqrt(5)), sow.kaiming_uniform(shape, math.sqrt(5), seed=77, key=1))
    same_bits(g.lecun_normal(shape), sow.lecun_normal(shape, seed=77, key=2))
    same_bits(g.variance_scaling(shape, 2.0, "fan_out", "normal"), sow.variance_scaling(shape, 2.0, "fan_out", "normal", seed=77, key=3))
    same_bits(g.sparse(shape, 0.5), sow.sparse(shape, 0.5, seed=77, key=4))
    out = np.empty(shape, dtype=np.float32)
    g.xavier_normal_(out)
    same_bits(out, sow.xavier_normal(shape, seed=77, key=5))
    same_bits(g.normal(shape, key="named"), sow.normal(shape, seed=77, key="named"))
    same_bits(g.uniform(shape), sow.uniform(shape, seed=77, key=6))  # named key did not advance


def test_zero_size_outputs():
    for shape in [(0,), (0, 5), (5, 0), (3, 0, 2)]:
        a = sow.normal(shape, seed=1)
        assert a.shape == shape and a.dtype == np.float32
        out = np.empty(shape, dtype=np.float32)
        assert sow.uniform_(out, seed=1) is out
    # A zero-size shard of a non-empty tensor.
    assert sow.normal((4, 5), seed=1, shard=((2, 0), (0, 5))).shape == (0, 5)
