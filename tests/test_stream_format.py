"""docs/stream-format.md, checked two ways.

1. Derived known answers (in the style of numpy/random/tests/test_direct.py): the raw words from
   _core.bits (themselves checked against a pure-Python Philox in test_philox_kat.py) are turned into
   values with NumPy following §3-§7, and sow's output must match bit for bit (uniform, constant,
   16-bit rounding, sparse pattern) or within a stated tolerance of an independent float64 inverse
   CDF (normal, trunc_normal).
2. Golden values: a few values per (initializer, dtype, seed, key), pinned below as hex bits. They
   were produced once from the implementation after the derived checks passed; any change to the
   stream makes them fail. Regenerate ONLY together with a new stream-format number:
   `python tests/test_stream_format.py` prints the table.
"""

from __future__ import annotations

import math
import sys

import ml_dtypes
import numpy as np
import pytest

import sow
import sow_ref as ref
from sow import _core
from sow_ref import NP_DTYPES

BF16 = np.dtype(ml_dtypes.bfloat16)


def words_for(seed, key, n, dtype, domain=0):
    """The stream words an n-element tensor of `dtype` consumes (§3)."""
    per = 2 if np.dtype(dtype) == np.float64 else 1
    return _core.bits(seed, key, domain, 0, per * n)


def int_key(key):
    return ref.fnv1a64(key) if isinstance(key, str) else key


# ----------------------------------------------------------------------------------------------
# §1 keys
# ----------------------------------------------------------------------------------------------
KEY_STRINGS = ["", "a", "layers.3.mlp.w1", "encoder.embed_tokens.weight", "ü→λ", "x" * 1000]


def test_stream_format_number():
    assert sow.STREAM_FORMAT == 1


@pytest.mark.parametrize("s", KEY_STRINGS)
def test_key_hash_is_fnv1a64(s):
    assert _core.key_hash(s) == ref.fnv1a64(s)
    assert sow.key_hash(s) == ref.fnv1a64(s)


def test_key_hash_known_values():
    # Published FNV-1a 64 test values (offset basis for the empty string).
    assert _core.key_hash("") == 0xCBF29CE484222325
    assert _core.key_hash("a") == 0xAF63DC4C8601EC8C
    assert _core.key_hash("foobar") == 0x85944171F73967E8


@pytest.mark.parametrize("s", ["layers.3.mlp.w1", "", "ü→λ"])
def test_string_key_equals_hashed_int_key(s):
    a = sow.normal((7, 5), seed=11, key=s)
    b = sow.normal((7, 5), seed=11, key=ref.fnv1a64(s))
    np.testing.assert_array_equal(ref.bits_of(a), ref.bits_of(b))


def test_integer_key_used_as_given():
    # Keys 0 and 1 (and two keys differing only in the high 32 bits) must give different streams.
    outs = [sow.uniform((64,), seed=3, key=k) for k in (0, 1, 2**32, 2**63)]
    for i in range(len(outs)):
        for j in range(i):
            assert not np.array_equal(outs[i], outs[j])


# ----------------------------------------------------------------------------------------------
# §3-5 uniform: exact
# ----------------------------------------------------------------------------------------------
UNIFORM_CASES = [
    # seed, key, low, high, shape
    (0, 0, 0.0, 1.0, (1,)),
    (1, 0, 0.0, 1.0, (4097,)),
    (2**64 - 1, 2**64 - 1, -1.0, 1.0, (3, 5, 7)),
    (12345, "layers.3.mlp.w1", -0.05, 0.05, (33, 65)),
    (7, 2**40 + 3, -3.25, 1e-3, (10, 10)),
    (99, 5, 1.0, 1.0 + 2**-20, (257,)),  # narrow interval: rounding at the ends
    (99, 6, -1e30, 1e30, (100,)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed,key,low,high,shape", UNIFORM_CASES)
def test_uniform_derived_exact(seed, key, low, high, shape, dtype):
    out = sow.uniform(shape, low, high, seed=seed, key=key, dtype=dtype)
    assert out.shape == shape
    assert out.dtype == NP_DTYPES[dtype]
    n = math.prod(shape)
    expected = ref.uniform_from_words(words_for(seed, int_key(key), n, dtype), low, high, dtype)
    np.testing.assert_array_equal(ref.bits_of(out.reshape(-1)), ref.bits_of(expected))
    assert np.all(out >= low) and np.all(out <= high)


def test_uniform_symmetric_extremes_float32():
    # x >> 8 == 0 gives s = -(1 - 2^-24); x >> 8 == 2^24 - 1 gives s = 1 - 2^-24: never +-1 exactly.
    s = ref.sym_uniform_f32(np.array([0, 255, 0xFFFFFF00, 0xFFFFFFFF], dtype=np.uint32))
    assert s.tolist() == [-(1 - 2**-24), -(1 - 2**-24), 1 - 2**-24, 1 - 2**-24]


def test_uniform_defaults_are_0_1():
    a = sow.uniform((100,), seed=5)
    b = sow.uniform((100,), 0.0, 1.0, seed=5, key=0, dtype="float32")
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32


def test_value_depends_on_global_index_only():
    # Same global row-major index -> same value whatever the shape's factorisation: a (6, 10)
    # uniform is the (60,) uniform reshaped (the parameters of uniform do not depend on shape).
    a = sow.uniform((6, 10), -2.0, 2.0, seed=8, key=9)
    b = sow.uniform((60,), -2.0, 2.0, seed=8, key=9)
    np.testing.assert_array_equal(a.reshape(-1), b)
    # ... and a prefix of a longer 1-D tensor.
    c = sow.normal((1000,), seed=8, key=9)
    d = sow.normal((37,), seed=8, key=9)
    np.testing.assert_array_equal(c[:37], d)


# ----------------------------------------------------------------------------------------------
# §4-5 normal: against scipy.special.ndtri of the exact p
# ----------------------------------------------------------------------------------------------
# Tolerances (from the brief): float32 path 2e-6 absolute on z (|z| <= 6.23, i.e. a few float32 ulp
# plus the AS241 PPND7 error); float64 path 1e-13 absolute (PPND16 is good to ~1e-16 relative).
Z_TOL = {"float32": 2e-6, "float64": 1e-13}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed,key", [(0, 0), (2024, "w"), (2**64 - 1, 2**63 + 17)])
def test_normal_derived(seed, key, dtype):
    n = 1 << 16
    out = sow.normal((n,), seed=seed, key=key, dtype=dtype)
    z_ref = ref.normal_z_reference(words_for(seed, int_key(key), n, dtype), dtype)
    err = np.abs(out.astype(np.float64) - z_ref)
    i = int(np.argmax(err))
    assert err[i] <= Z_TOL[dtype], f"index {i}: got {out[i]!r}, reference {z_ref[i]!r}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_derived_extreme_inputs(dtype):
    # The words that give the smallest p (deepest tail) and p = 1/2 must map to the documented
    # extremes. Search a long prefix of a stream for the most extreme word and compare that element.
    n = 1 << 20
    out = sow.normal((n,), seed=31337, key=1, dtype=dtype).astype(np.float64)
    z_ref = ref.normal_z_reference(words_for(31337, 1, n, dtype), dtype)
    for i in (int(np.argmax(np.abs(z_ref))), int(np.argmin(np.abs(z_ref)))):
        assert abs(out[i] - z_ref[i]) <= Z_TOL[dtype] * max(1.0, abs(z_ref[i]))
    # Documented reach of the two paths.
    lim = 6.23 if dtype == "float32" else 8.29
    assert np.all(np.abs(out) <= lim + 0.01)
    # Smallest float32 p: y = 0 -> p = 2^-33 -> |z| = 6.2316...; check the map itself.
    p, _ = ref.normal_input_f32(np.array([0, 0x80000000], dtype=np.uint32))
    assert p.tolist() == [2.0**-33, 2.0**-33]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_mean_std_applied_in_working_precision(dtype):
    n = 4096
    mean, std = 0.1, 0.7
    out = sow.normal((n,), mean, std, seed=4, key=5, dtype=dtype)
    z = sow.normal((n,), seed=4, key=5, dtype=dtype)
    ft = NP_DTYPES[dtype].type
    expected = ft(mean) + ft(std) * z  # v = mean + std * z, each operation rounded once
    np.testing.assert_array_equal(ref.bits_of(out), ref.bits_of(expected.astype(NP_DTYPES[dtype])))


# ----------------------------------------------------------------------------------------------
# §5 trunc_normal: against an independent float64 inverse CDF
# ----------------------------------------------------------------------------------------------
TRUNC_CASES = [
    # mean, std, a, b
    (0.0, 1.0, -2.0, 2.0),
    (0.0, 0.02, -0.04, 0.04),
    (0.0, 0.02, -2.0, 2.0),  # +-100 sigma: effectively untruncated
    (0.0, 1.0, 3.0, 4.0),  # upper tail (mirrored)
    (0.0, 1.0, -4.0, -3.0),  # lower tail
    (1.0, 2.0, -1e6, 1.5),  # one-sided
    (0.0, 1.0, 10.0, 11.0),  # deep tail
    (0.0, 1.0, -21.0, -20.0),  # beyond 15 sigma: float32 path uses the float64 formulas
    (0.0, 1.0, 0.0, 1e-3),  # tight interval at the mode
    (5.0, 0.5, 4.0, 7.0),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mean,std,a,b", TRUNC_CASES)
def test_trunc_normal_derived(mean, std, a, b, dtype):
    n = 1 << 15
    out = sow.trunc_normal((n,), mean, std, a, b, seed=77, key="t", dtype=dtype)
    ft = NP_DTYPES[dtype].type
    v_ref = ref.trunc_normal_reference(words_for(77, ref.fnv1a64("t"), n, dtype), mean, std, a, b, dtype)
    v_ref = np.clip(v_ref, float(ft(a)), float(ft(b)))
    got = out.astype(np.float64)
    assert np.all(got >= float(ft(a))) and np.all(got <= float(ft(b)))
    # z-scale tolerance: float32 ~ few ulp of the inputs/result plus PPND7 error, relative to |z| in
    # the tails (the tail form keeps relative precision there); float64 ~1e-12 relative.
    z = (v_ref - mean) / std
    if dtype == "float32":
        tol = std * 4e-6 * np.maximum(1.0, np.abs(z)) + np.abs(v_ref) * 2.0**-23
    else:
        tol = std * 1e-11 * np.maximum(1.0, np.abs(z)) + np.abs(v_ref) * 2.0**-51
    err = np.abs(got - v_ref)
    i = int(np.argmax(err - tol))
    assert err[i] <= tol[i], f"index {i}: got {got[i]!r}, reference {v_ref[i]!r}"


def test_trunc_normal_tight_interval_no_value_at_bound():
    # Tight, deep bounds keep full precision: with [3, 4] sigma no value may be stuck on a bound.
    out = sow.trunc_normal((1 << 16,), 0.0, 1.0, 3.0, 4.0, seed=1, key=2)
    assert np.count_nonzero(out == np.float32(3.0)) <= 2
    assert np.count_nonzero(out == np.float32(4.0)) <= 1
    assert out.min() >= 3.0 and out.max() <= 4.0


# ----------------------------------------------------------------------------------------------
# §5 constant
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("val", [0.1, -3.0, 1e-30, 65504.0, 1.0 / 3.0])
def test_constant_is_value_rounded(val, dtype):
    out = sow.constant((3, 4), val, dtype=dtype)
    assert out.dtype == NP_DTYPES[dtype]
    expected = np.full((3, 4), np.float32(val) if dtype in ("float16", "bfloat16") else val).astype(NP_DTYPES[dtype])
    if dtype in ("float16", "bfloat16"):
        # 16-bit values are the float32 value rounded (RNE); the direct rounding of the float64
        # value agrees except for double-rounding corner cases, which these values avoid.
        expected2 = np.full((3, 4), val).astype(NP_DTYPES[dtype])
        np.testing.assert_array_equal(ref.bits_of(expected), ref.bits_of(expected2))
    np.testing.assert_array_equal(ref.bits_of(out), ref.bits_of(expected))


# ----------------------------------------------------------------------------------------------
# §6 16-bit outputs are the float32 outputs rounded to nearest even
# ----------------------------------------------------------------------------------------------
SIXTEEN_CALLS = [
    ("uniform", lambda **k: sow.uniform((3001,), -1.0, 1.0, **k)),
    ("uniform_narrow", lambda **k: sow.uniform((3001,), 1.0, 1.0 + 1e-3, **k)),
    ("normal", lambda **k: sow.normal((3001,), 0.0, 1.0, **k)),
    ("normal_small", lambda **k: sow.normal((3001,), 0.0, 1e-6, **k)),  # float16 subnormals
    ("normal_large", lambda **k: sow.normal((3001,), 0.0, 3e4, **k)),  # float16 overflow to inf
    ("trunc_normal", lambda **k: sow.trunc_normal((3001,), 0.0, 0.02, -0.04, 0.04, **k)),
    ("xavier_uniform", lambda **k: sow.xavier_uniform((31, 97), **k)),
    ("kaiming_normal", lambda **k: sow.kaiming_normal((31, 97), **k)),
    ("lecun_normal", lambda **k: sow.lecun_normal((31, 97), **k)),
    ("sparse", lambda **k: sow.sparse((31, 97), 0.3, **k)),
]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name,call", SIXTEEN_CALLS, ids=[c[0] for c in SIXTEEN_CALLS])
def test_16bit_is_float32_rounded(name, call, dtype):
    with np.errstate(over="ignore"):
        f32 = call(seed=2718, key=name, dtype="float32")
        low = call(seed=2718, key=name, dtype=dtype)
        assert low.dtype == NP_DTYPES[dtype]
        expected = f32.astype(NP_DTYPES[dtype])  # ml_dtypes / NumPy casts round to nearest even
    np.testing.assert_array_equal(ref.bits_of(low), ref.bits_of(expected))


def test_bfloat16_rounding_rule_matches_doc():
    # §6 spells bfloat16 rounding as bit arithmetic; check the cast used above implements it.
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2**32, 1 << 16, dtype=np.uint64).astype(np.uint32)
    x = x[np.isfinite(x.view(np.float32))]
    bits = x.astype(np.uint64)
    doc = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    cast = x.view(np.float32).astype(BF16).view(np.uint16)
    np.testing.assert_array_equal(cast, doc)


# ----------------------------------------------------------------------------------------------
# §7 sparse
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,sparsity", [((50, 7), 0.1), ((33, 20), 0.5), ((8, 3), 0.0), ((9, 4), 0.99), ((1, 5), 0.5)])
def test_sparse_derived(shape, sparsity, dtype):
    rows, cols = shape
    seed, key, std = 4, "emb", 0.03
    out = sow.sparse(shape, sparsity, std, seed=seed, key=key, dtype=dtype)
    num_zeros = math.ceil(sparsity * rows)
    w = _core.bits(seed, ref.fnv1a64(key), 1, 0, rows * cols).reshape(rows, cols)
    mask = np.zeros(shape, dtype=bool)
    for c in range(cols):
        order = sorted(range(rows), key=lambda r: (int(w[r, c]), r))
        mask[order[:num_zeros], c] = True
    dense = sow.normal(shape, 0.0, std, seed=seed, key=key, dtype=dtype)
    expected = np.where(mask, 0.0, dense).astype(NP_DTYPES[dtype])
    np.testing.assert_array_equal(ref.bits_of(out), ref.bits_of(expected))
    assert np.all(np.count_nonzero(out == 0, axis=0) == num_zeros)


def test_sparse_pattern_independent_of_std_and_dtype():
    # The zero pattern is a function of (seed, key, global shape, sparsity) only.
    a = sow.sparse((64, 16), 0.25, 0.01, seed=1, key=2) == 0
    b = sow.sparse((64, 16), 0.25, 5.0, seed=1, key=2, dtype="float64") == 0
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------------
# §5 initializers are the transforms with shape-derived parameters
# ----------------------------------------------------------------------------------------------
def _close_bits(a, b, dtype):
    """Initializer parameters may be computed by an algebraically equal float64 expression; allow
    the results to differ by the rounding of that parameter (a couple of ulp of each value)."""
    a = np.asarray(a).astype(np.float64)
    b = np.asarray(b).astype(np.float64)
    eps = np.finfo(np.float32 if dtype == "float32" else np.float64).eps
    np.testing.assert_allclose(a, b, rtol=4 * eps, atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_initializers_are_documented_transforms(dtype):
    shape = (24, 12, 3, 3)
    fi, fo = ref.fans_torch(shape)
    kw = dict(seed=10, key="init", dtype=dtype)
    g = 1.7
    B = g * math.sqrt(6.0 / (fi + fo))
    _close_bits(sow.xavier_uniform(shape, g, **kw), sow.uniform(shape, -B, B, **kw), dtype)
    s = g * math.sqrt(2.0 / (fi + fo))
    _close_bits(sow.xavier_normal(shape, g, **kw), sow.normal(shape, 0.0, s, **kw), dtype)
    gain = math.sqrt(2.0 / (1 + 0.3**2))
    b = gain * math.sqrt(3.0 / fo)
    _close_bits(sow.kaiming_uniform(shape, 0.3, "fan_out", **kw), sow.uniform(shape, -b, b, **kw), dtype)
    s = math.sqrt(2.0) / math.sqrt(fi)
    _close_bits(sow.kaiming_normal(shape, nonlinearity="relu", **kw), sow.normal(shape, 0.0, s, **kw), dtype)
    b = math.sqrt(3.0 / fi)
    _close_bits(sow.lecun_uniform(shape, layout="torch", **kw), sow.uniform(shape, -b, b, **kw), dtype)
    s = math.sqrt(1.0 / fi) / 0.87962566103423978
    _close_bits(sow.lecun_normal(shape, layout="torch", **kw), sow.trunc_normal(shape, 0.0, s, -2 * s, 2 * s, **kw), dtype)
    n = (fi + fo) / 2
    s = math.sqrt(2.5 / n) / 0.87962566103423978
    _close_bits(
        sow.variance_scaling(shape, 2.5, "fan_avg", "truncated_normal", layout="torch", **kw),
        sow.trunc_normal(shape, 0.0, s, -2 * s, 2 * s, **kw),
        dtype,
    )
    s = math.sqrt(2.5 / fo)
    _close_bits(
        sow.variance_scaling(shape, 2.5, "fan_out", "normal", layout="torch", **kw),
        sow.normal(shape, 0.0, s, **kw),
        dtype,
    )
    b = math.sqrt(3 * 2.5 / fi)
    _close_bits(
        sow.variance_scaling(shape, 2.5, "fan_in", "uniform", layout="torch", **kw),
        sow.uniform(shape, -b, b, **kw),
        dtype,
    )


def test_jax_layout_fans():
    shape = (3, 3, 16, 32)  # HWIO
    fi, fo = ref.fans_jax(shape)
    kw = dict(seed=1, key=1, dtype="float64")
    b = math.sqrt(6.0 / (fi + fo))
    _close_bits(sow.xavier_uniform(shape, layout="jax", **kw), sow.uniform(shape, -b, b, **kw), "float64")
    s = math.sqrt(1.0 / fi) / 0.87962566103423978
    _close_bits(sow.lecun_normal(shape, layout="jax", **kw), sow.trunc_normal(shape, 0.0, s, -2 * s, 2 * s, **kw), "float64")


def test_explicit_fans_override_shape():
    kw = dict(seed=1, key=1, dtype="float64")
    b = math.sqrt(6.0 / (100 + 300))
    _close_bits(sow.xavier_uniform((10, 20), fan_in=100, fan_out=300, **kw), sow.uniform((10, 20), -b, b, **kw), "float64")


def test_fans_use_global_shape_when_sharded():
    # A shard of an initializer is the slice of the global tensor: fans come from the global shape.
    full = sow.kaiming_uniform((64, 48), seed=3, key="k")
    part = sow.kaiming_uniform((64, 48), seed=3, key="k", shard=(slice(8, 24), slice(0, 48)))
    np.testing.assert_array_equal(part, full[8:24])


# ----------------------------------------------------------------------------------------------
# Golden values
# ----------------------------------------------------------------------------------------------
GOLDEN_SHAPE = (33, 65)
GOLDEN_INDICES = (0, 1, 2, 3, 1000, 2144)  # flat indices; 2144 = last element
GOLDEN_KEYS = [(0, 0), (2**64 - 1, "layers.3.mlp.w1"), (1234567, 2**40 + 5)]
GOLDEN_INITS = {
    "uniform": lambda s, **k: sow.uniform(s, -0.5, 2.0, **k),
    "normal": lambda s, **k: sow.normal(s, 0.1, 0.7, **k),
    "trunc_normal": lambda s, **k: sow.trunc_normal(s, 0.0, 0.02, -0.04, 0.04, **k),
    "trunc_normal_tail": lambda s, **k: sow.trunc_normal(s, 0.0, 1.0, 3.0, 4.0, **k),
    "xavier_uniform": lambda s, **k: sow.xavier_uniform(s, **k),
    "xavier_normal": lambda s, **k: sow.xavier_normal(s, **k),
    "kaiming_uniform": lambda s, **k: sow.kaiming_uniform(s, a=math.sqrt(5), **k),
    "kaiming_normal": lambda s, **k: sow.kaiming_normal(s, mode="fan_out", nonlinearity="relu", **k),
    "lecun_normal": lambda s, **k: sow.lecun_normal(s, layout="jax", **k),
    "variance_scaling_uniform": lambda s, **k: sow.variance_scaling(s, 2.0, "fan_avg", "uniform", layout="torch", **k),
    "sparse": lambda s, **k: sow.sparse(s, 0.25, 0.01, **k),
}


def golden_cases():
    for name in GOLDEN_INITS:
        for dtype in ("float32", "float64", "float16", "bfloat16"):
            for seed, key in GOLDEN_KEYS:
                yield name, dtype, seed, key


def golden_id(name, dtype, seed, key):
    return f"{name}|{dtype}|{seed}|{key!r}"


def golden_compute(name, dtype, seed, key):
    out = GOLDEN_INITS[name](GOLDEN_SHAPE, seed=seed, key=key, dtype=dtype).reshape(-1)
    width = 2 * out.dtype.itemsize
    return " ".join(f"{int(v):0{width}x}" for v in ref.bits_of(out[list(GOLDEN_INDICES)]))


GOLDEN = {
    # filled in from the implementation once; see module docstring
}


@pytest.mark.parametrize("name,dtype,seed,key", [pytest.param(*c, id=golden_id(*c)) for c in golden_cases()])
def test_golden(name, dtype, seed, key):
    gid = golden_id(name, dtype, seed, key)
    assert gid in GOLDEN, f"no golden value pinned for {gid}"
    assert golden_compute(name, dtype, seed, key) == GOLDEN[gid], gid


if __name__ == "__main__":  # print the golden table (only with a new stream-format number!)
    sys.stdout.write("GOLDEN = {\n")
    for case in golden_cases():
        sys.stdout.write(f"    {golden_id(*case)!r}: {golden_compute(*case)!r},\n")
    sys.stdout.write("}\n")
