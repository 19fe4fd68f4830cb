"""Bad inputs are refused with ValueError or TypeError whose message names the offending argument,
before anything is written: every in-place case fills `out` with a sentinel first and checks it is
unchanged afterwards. Also the command line (`python -m sow.cli`, the `sow` script)."""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shutil
import subprocess
import sys

import ml_dtypes
import numpy as np
import warnings

import pytest

import sow
from sow import _core

SENTINEL = -123.0
BAD = (ValueError, TypeError)

def sentinel(shape=(6, 5), dtype=np.float32):
    return np.full(shape, SENTINEL, dtype=dtype)


@contextlib.contextmanager
def refused(match, exc=BAD, out=None):
    """Expect `exc` with a message matching `match`; `out` (if given) must be left untouched."""
    before = None if out is None else out.copy()
    with pytest.raises(exc, match=match):
        yield
    if out is not None:
        # reshape(-1): a 0-d array cannot be viewed as bytes directly.
        np.testing.assert_array_equal(out.reshape(-1).view(np.uint8), before.reshape(-1).view(np.uint8))


# ----------------------------------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------------------------------
RANDOM_ALLOC = [
    ("uniform", lambda s, **k: sow.uniform(s, **k)),
    ("normal", lambda s, **k: sow.normal(s, **k)),
    ("trunc_normal", lambda s, **k: sow.trunc_normal(s, **k)),
    ("xavier_uniform", lambda s, **k: sow.xavier_uniform(s, **k)),
    ("kaiming_normal", lambda s, **k: sow.kaiming_normal(s, **k)),
    ("lecun_normal", lambda s, **k: sow.lecun_normal(s, **k)),
    ("variance_scaling", lambda s, **k: sow.variance_scaling(s, **k)),
    ("sparse", lambda s, **k: sow.sparse(s, 0.5, **k)),
]
FIXED_ALLOC = [
    ("constant", lambda s, **k: sow.constant(s, 1.0, **k)),
    ("ones", lambda s, **k: sow.ones(s, **k)),
    ("zeros", lambda s, **k: sow.zeros(s, **k)),
    ("eye", lambda s, **k: sow.eye(s, **k)),
    ("dirac", lambda s, **k: sow.dirac(s, **k)),
]
ALL_ALLOC = [(n, f, True) for n, f in RANDOM_ALLOC] + [(n, f, False) for n, f in FIXED_ALLOC]

BAD_SHAPES = [
    ((-1, 3), ValueError),
    ((3, -2), ValueError),
    ((2.5, 3), TypeError),
    ((3, 3.0), TypeError),
    (("3", 3), TypeError),
    ((True, 3), TypeError),
    ((None, 3), TypeError),
    ("33", TypeError),
    ((2**40, 2**40), ValueError),  # > 2^56 elements
    ((2**30, 2**30, 2**30), ValueError),
    ((2**64, 1), ValueError),
    ((2**57, 0), ValueError),  # a size beyond 2^56, even in a zero-element shape
]


@pytest.mark.parametrize("shape,exc", BAD_SHAPES, ids=[repr(s) for s, _ in BAD_SHAPES])
@pytest.mark.parametrize("name,fn,is_random", ALL_ALLOC, ids=[a[0] for a in ALL_ALLOC])
def test_bad_shape(name, fn, is_random, shape, exc):
    kw = {"seed": 1} if is_random else {}
    with refused(r"\bshape\b", exc):
        fn(shape, **kw)


@pytest.mark.parametrize("name,fn", [a for a in RANDOM_ALLOC if a[0] in ("xavier_uniform", "kaiming_normal", "lecun_normal", "variance_scaling")])
@pytest.mark.parametrize("shape", [(), (7,)])
def test_fans_need_two_dims(name, fn, shape):
    with refused(r"\bshape\b", ValueError):
        fn(shape, seed=1)
    out = sentinel(shape)
    inplace = getattr(sow, name + "_")
    with refused(r"\bout\b|\bshape\b", ValueError, out):
        inplace(out, seed=1)


RANK_CALLS = [
    lambda: sow.eye((3,)),
    lambda: sow.eye((3, 3, 3)),
    lambda: sow.dirac((3, 3)),
    lambda: sow.dirac((2, 2, 2, 2, 2, 2)),
    lambda: sow.sparse((3, 4, 5), 0.1, seed=1),
    lambda: sow.sparse((9,), 0.1, seed=1),
    lambda: sow.xavier_uniform((7,), seed=1),
    lambda: sow.kaiming_uniform((), seed=1),
    lambda: sow.lecun_normal((7,), seed=1),
    lambda: sow.variance_scaling((7,), seed=1),
    lambda: sow.calculate_fan_in_and_fan_out((4,)),
]


def test_rank_errors_raise_value_error():
    for call in RANK_CALLS:
        with pytest.raises(ValueError):
            call()
    out = sentinel((2, 3, 4, 5, 2, 2))
    for call in (sow.eye_, sow.dirac_, lambda o: sow.sparse_(o, 0.1, seed=1), lambda o: sow.xavier_normal_(o[0, 0, 0, 0, 0], seed=1)):
        with refused(None, ValueError, out):
            call(out)


def test_calculate_fans_need_two_dims():
    for shape in [(), (4,)]:
        with refused(r"\bshape\b", ValueError):
            sow.calculate_fan_in_and_fan_out(shape)


@pytest.mark.parametrize(
    "call",
    RANK_CALLS[:6],  # the eye, dirac and sparse calls
    ids=["eye1d", "eye3d", "dirac2d", "dirac6d", "sparse3d", "sparse1d"],
)
def test_wrong_rank(call):
    with refused(r"\bshape\b", ValueError):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda o: sow.eye_(o),
        lambda o: sow.dirac_(o),
        lambda o: sow.sparse_(o, 0.1, seed=1),
    ],
    ids=["eye", "dirac", "sparse"],
)
def test_wrong_rank_inplace(call):
    out = sentinel((2, 3, 4, 5, 2, 2))
    with refused(r"\bout\b|\bshape\b", ValueError, out):
        call(out)


ZERO_ELEMENT_CALLS = [
    (lambda o, **kw: sow.xavier_uniform_(o, seed=1, **kw), False),
    (lambda o, **kw: sow.xavier_normal_(o, seed=1, **kw), False),
    (lambda o, **kw: sow.kaiming_uniform_(o, seed=1, **kw), True),
    (lambda o, **kw: sow.kaiming_normal_(o, mode="fan_out", seed=1, **kw), True),
    (lambda o, **kw: sow.lecun_uniform_(o, seed=1, **kw), False),
    (lambda o, **kw: sow.variance_scaling_(o, mode="fan_avg", seed=1, **kw), False),
]


@pytest.mark.parametrize("call,warns", ZERO_ELEMENT_CALLS)
@pytest.mark.parametrize("shape", [(0, 0), (4, 0, 3), (0, 5), (1, 0)])
def test_zero_element_is_a_noop(call, warns, shape):
    """torch.nn.init: a zero-element tensor is a no-op even where its fans are 0; kaiming_*
    warn "Initializing zero-element tensors is a no-op", xavier_* do not."""
    out = sentinel(shape)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert call(out) is out
    messages = [str(w.message) for w in caught]
    assert messages == (["Initializing zero-element tensors is a no-op"] if warns else [])


@pytest.mark.parametrize("call,warns", ZERO_ELEMENT_CALLS)
def test_zero_element_still_checks_parameters(call, warns):
    with pytest.raises((TypeError, ValueError), match="layout"):
        call(sentinel((0, 3)), layout="tf")


@pytest.mark.parametrize("bad", [0, -3, 2.0, True])
@pytest.mark.parametrize("which", ["fan_in", "fan_out"])
def test_bad_fan_override(which, bad):
    out = sentinel()
    with refused(which, out=out):
        sow.xavier_uniform_(out, seed=1, **{which: bad})


# ----------------------------------------------------------------------------------------------
# Options
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("nonlinearity", ["gelu", "silu", "Relu", "", None, 3])
def test_unknown_nonlinearity(nonlinearity):
    with refused("nonlinearity"):
        sow.calculate_gain(nonlinearity)
    out = sentinel()
    with refused("nonlinearity", out=out):
        sow.kaiming_uniform_(out, nonlinearity=nonlinearity, seed=1)


@pytest.mark.parametrize("param", [True, "0.1", [0.1], float("nan"), float("inf")])
def test_bad_leaky_relu_slope(param):
    with refused(r"negative_slope|param", ValueError):
        sow.calculate_gain("leaky_relu", param)


@pytest.mark.parametrize("mode", ["fan_avg", "fanin", "", 3, None])
def test_kaiming_bad_mode(mode):
    out = sentinel()
    with refused(r"(?i)\bmode\b", out=out):
        sow.kaiming_normal_(out, mode=mode, seed=1)


@pytest.mark.parametrize("mode", ["fan_geo_avg", "FAN", 1])
def test_variance_scaling_bad_mode(mode):
    out = sentinel()
    with refused(r"\bmode\b", out=out):
        sow.variance_scaling_(out, mode=mode, seed=1)


@pytest.mark.parametrize("distribution", ["truncated", "gaussian", "", None])
def test_variance_scaling_bad_distribution(distribution):
    out = sentinel()
    with refused("distribution", out=out):
        sow.variance_scaling_(out, distribution=distribution, seed=1)


@pytest.mark.parametrize("layout", ["tf", "TORCH", None])
def test_bad_layout(layout):
    out = sentinel()
    with refused("layout", out=out):
        sow.xavier_uniform_(out, layout=layout, seed=1)
    with refused("layout"):
        sow.calculate_fan_in_and_fan_out((3, 4), layout=layout)


@pytest.mark.parametrize("dtype", ["int32", "float", "float128", "complex64", np.int32, np.complex64, None, "bf16"])
def test_bad_dtype(dtype):
    with refused("dtype"):
        sow.normal((3,), seed=1, dtype=dtype)
    with refused("dtype"):
        sow.zeros((3,), dtype=dtype)


def test_dtype_spellings_accepted():
    a = sow.normal((5,), seed=1, dtype="bfloat16")
    b = sow.normal((5,), seed=1, dtype=ml_dtypes.bfloat16)
    c = sow.normal((5,), seed=1, dtype=np.dtype(ml_dtypes.bfloat16))
    np.testing.assert_array_equal(a.view(np.uint16), b.view(np.uint16))
    np.testing.assert_array_equal(a.view(np.uint16), c.view(np.uint16))
    np.testing.assert_array_equal(sow.normal((5,), seed=1, dtype=np.float16), sow.normal((5,), seed=1, dtype="float16"))


# ----------------------------------------------------------------------------------------------
# Real-valued parameters
# ----------------------------------------------------------------------------------------------
NAN, INF = float("nan"), float("inf")

PARAM_CASES = [
    # (label, in-place call taking out, regex naming the argument)
    ("normal std<0", lambda o: sow.normal_(o, 0.0, -1.0, seed=1), r"\bstd\b"),
    ("normal std nan", lambda o: sow.normal_(o, 0.0, NAN, seed=1), r"\bstd\b"),
    ("normal std inf", lambda o: sow.normal_(o, 0.0, INF, seed=1), r"\bstd\b"),
    ("normal mean nan", lambda o: sow.normal_(o, NAN, 1.0, seed=1), r"\bmean\b"),
    ("normal mean -inf", lambda o: sow.normal_(o, -INF, 1.0, seed=1), r"\bmean\b"),
    ("normal std str", lambda o: sow.normal_(o, 0.0, "1", seed=1), r"\bstd\b"),
    ("normal std complex", lambda o: sow.normal_(o, 0.0, 1j, seed=1), r"\bstd\b"),
    ("uniform a>b", lambda o: sow.uniform_(o, 2.0, 1.0, seed=1), r"\ba\b.*\bb\b|\bb\b.*\ba\b"),
    ("uniform a==b", lambda o: sow.uniform_(o, 1.0, 1.0, seed=1), r"\ba\b.*\bb\b|\bb\b.*\ba\b"),
    ("uniform a nan", lambda o: sow.uniform_(o, NAN, 1.0, seed=1), r"\ba\b"),
    ("uniform b inf", lambda o: sow.uniform_(o, 0.0, INF, seed=1), r"\bb\b"),
    ("trunc a>b", lambda o: sow.trunc_normal_(o, 0.0, 1.0, 1.0, -1.0, seed=1), r"\ba\b.*\bb\b|\bb\b.*\ba\b"),
    ("trunc a==b", lambda o: sow.trunc_normal_(o, 0.0, 1.0, 0.5, 0.5, seed=1), r"\ba\b.*\bb\b|\bb\b.*\ba\b"),
    ("trunc std<0", lambda o: sow.trunc_normal_(o, 0.0, -0.02, seed=1), r"\bstd\b"),
    ("trunc std=0", lambda o: sow.trunc_normal_(o, 0.0, 0.0, seed=1), r"\bstd\b"),
    ("trunc std nan", lambda o: sow.trunc_normal_(o, 0.0, NAN, seed=1), r"\bstd\b"),
    ("trunc b nan", lambda o: sow.trunc_normal_(o, 0.0, 1.0, -1.0, NAN, seed=1), r"\bb\b"),
    ("trunc a -inf", lambda o: sow.trunc_normal_(o, 0.0, 1.0, -INF, 1.0, seed=1), r"\ba\b"),
    ("trunc mean inf", lambda o: sow.trunc_normal_(o, INF, 1.0, seed=1), r"\bmean\b"),
    ("trunc beyond 37 sigma", lambda o: sow.trunc_normal_(o, 0.0, 1.0, 40.0, 41.0, seed=1), r"\ba\b|\bb\b"),
    ("trunc beyond 37 sigma low", lambda o: sow.trunc_normal_(o, 0.0, 1.0, -41.0, -40.0, seed=1), r"\ba\b|\bb\b"),
    ("xavier gain<0", lambda o: sow.xavier_uniform_(o, -1.0, seed=1), r"\bgain\b"),
    ("xavier gain nan", lambda o: sow.xavier_uniform_(o, NAN, seed=1), r"\bgain\b"),
    ("xavier gain inf", lambda o: sow.xavier_normal_(o, INF, seed=1), r"\bgain\b"),
    ("xavier gain bool", lambda o: sow.xavier_normal_(o, True, seed=1), r"\bgain\b"),
    ("kaiming a nan", lambda o: sow.kaiming_uniform_(o, NAN, seed=1), r"\ba\b|negative_slope"),
    ("kaiming a inf", lambda o: sow.kaiming_normal_(o, INF, seed=1), r"\ba\b|negative_slope"),
    ("vs scale<0", lambda o: sow.variance_scaling_(o, -1.0, seed=1), r"\bscale\b"),
    ("vs scale=0", lambda o: sow.variance_scaling_(o, 0.0, seed=1), r"\bscale\b"),
    ("vs scale nan", lambda o: sow.variance_scaling_(o, NAN, seed=1), r"\bscale\b"),
    ("vs scale inf", lambda o: sow.variance_scaling_(o, INF, seed=1), r"\bscale\b"),
    ("sparse sparsity<0", lambda o: sow.sparse_(o, -0.1, seed=1), r"\bsparsity\b"),
    ("sparse sparsity=1", lambda o: sow.sparse_(o, 1.0, seed=1), r"\bsparsity\b"),
    ("sparse sparsity>1", lambda o: sow.sparse_(o, 1.5, seed=1), r"\bsparsity\b"),
    ("sparse sparsity nan", lambda o: sow.sparse_(o, NAN, seed=1), r"\bsparsity\b"),
    ("sparse sparsity str", lambda o: sow.sparse_(o, "0.5", seed=1), r"\bsparsity\b"),
    ("sparse std<0", lambda o: sow.sparse_(o, 0.5, -0.01, seed=1), r"\bstd\b"),
    ("sparse std nan", lambda o: sow.sparse_(o, 0.5, NAN, seed=1), r"\bstd\b"),
    ("constant nan", lambda o: sow.constant_(o, NAN), r"\bval\b"),
    ("constant inf", lambda o: sow.constant_(o, INF), r"\bval\b"),
    ("constant str", lambda o: sow.constant_(o, "1"), r"\bval\b"),
    ("dirac groups=0", lambda o: sow.dirac_(o.reshape(6, 5, 1), 0), r"\bgroups\b"),
    ("dirac groups not dividing", lambda o: sow.dirac_(o.reshape(6, 5, 1), 4), r"\bgroups\b"),
    ("dirac groups float", lambda o: sow.dirac_(o.reshape(6, 5, 1), 2.0), r"\bgroups\b"),
]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("label,call,match", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_bad_parameter(label, call, match, dtype):
    out = sentinel(dtype={"float32": np.float32, "bfloat16": ml_dtypes.bfloat16}[dtype])
    with refused(match, out=out):
        call(out)


def test_constant_overflowing_16bit():
    out = sentinel(dtype=np.float16)
    with refused(r"\bval\b", out=out):
        sow.constant_(out, 1e6)
    with refused(r"\bval\b"):
        sow.constant((3,), 1e6, dtype="float16")


def test_parameters_beyond_float32():
    # Parameters that would overflow the float32 arithmetic are refused for float32 outputs.
    out = sentinel()
    with refused(r"\bmean\b|\bstd\b|dtype|float32", out=out):
        sow.normal_(out, 1e39, 1.0, seed=1)
    with refused(r"\bmean\b|\bstd\b|dtype|float32", out=out):
        sow.uniform_(out, -1e39, 1e39, seed=1)
    assert np.all(np.isfinite(sow.normal((3,), 1e39, 1.0, seed=1, dtype="float64")))


# ----------------------------------------------------------------------------------------------
# seed, key, threads
# ----------------------------------------------------------------------------------------------
BAD_SEEDS = [(-1, ValueError), (2**64, ValueError), (2**70, ValueError), (1.0, TypeError), (True, TypeError),
             (None, TypeError), ("1", TypeError), (np.float64(3), TypeError)]


@pytest.mark.parametrize("seed,exc", BAD_SEEDS, ids=[repr(s) for s, _ in BAD_SEEDS])
def test_bad_seed(seed, exc):
    out = sentinel()
    with refused(r"\bseed\b", exc, out):
        sow.normal_(out, seed=seed)
    with refused(r"\bseed\b", exc):
        sow.xavier_uniform((3, 4), seed=seed)
    with refused(r"\bseed\b", exc):
        sow.Generator(seed)


def test_seed_required():
    out = sentinel()
    with refused(r"\bseed\b", TypeError, out):
        sow.normal_(out)
    with refused(r"\bseed\b", TypeError):
        sow.uniform((3,))
    with refused(r"\bseed\b", TypeError):
        sow.Generator()


def test_seed_extremes_accepted():
    for seed in (0, 2**64 - 1, np.uint64(2**64 - 1), np.int64(5)):
        assert sow.normal((3,), seed=seed).shape == (3,)
    np.testing.assert_array_equal(sow.normal((9,), seed=np.uint64(2**64 - 1)), sow.normal((9,), seed=2**64 - 1))


BAD_KEYS = [(1.5, TypeError), (b"w", TypeError), (None, TypeError), (True, TypeError), (("a",), TypeError),
            (-1, ValueError), (2**64, ValueError), ("\ud800", ValueError)]


@pytest.mark.parametrize("key,exc", BAD_KEYS, ids=[repr(k) for k, _ in BAD_KEYS])
def test_bad_key(key, exc):
    out = sentinel()
    with refused(r"\bkey\b", exc, out):
        sow.uniform_(out, key=key, seed=1)
    with refused(r"\bkey\b", exc):
        sow.sparse((4, 4), 0.5, key=key, seed=1)
    if key is not None:  # a Generator takes key=None as "the next counter key"
        g = sow.Generator(1)
        with refused(r"\bkey\b", exc, out):
            g.normal_(out, key=key)
        assert g.position == 0  # a refused call uses up no key


def test_key_hash_refuses_non_str():
    with refused(r"str|key", TypeError):
        sow.key_hash(5)


@pytest.mark.parametrize("threads,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)])
def test_bad_threads(threads, exc):
    out = sentinel()
    with refused(r"\bthreads\b", exc, out):
        sow.normal_(out, seed=1, threads=threads)


# ----------------------------------------------------------------------------------------------
# out
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: np.zeros((4, 4), dtype=np.int32),
        lambda: np.zeros((4, 4), dtype=np.int64),
        lambda: np.zeros((4, 4), dtype=np.uint16),
        lambda: np.zeros((4, 4), dtype=bool),
        lambda: np.zeros((4, 4), dtype=np.complex64),
        lambda: np.zeros((4, 4), dtype=np.complex128),
        lambda: np.zeros((4, 4), dtype=">f4"),  # non-native byte order
        lambda: np.zeros((4, 4), dtype=np.longdouble),
    ],
    ids=["int32", "int64", "uint16", "bool", "complex64", "complex128", "big-endian-f4", "longdouble"],
)
def test_bad_out_dtype(make):
    out = make()
    before = out.copy()
    for call in (
        lambda: sow.normal_(out, seed=1),
        lambda: sow.xavier_uniform_(out, seed=1),
        lambda: sow.sparse_(out, 0.5, seed=1),
        lambda: sow.ones_(out),
        lambda: sow.eye_(out),
    ):
        with refused(r"\bout\b", TypeError):
            call()
        np.testing.assert_array_equal(out, before)


def test_out_not_an_array():
    for out in ([0.0, 1.0], (0.0,), 3.0, None, memoryview(bytearray(16))):
        with refused(r"\bout\b", TypeError):
            sow.normal_(out, seed=1)


def test_out_read_only():
    out = sentinel()
    out.flags.writeable = False
    for call in (lambda: sow.normal_(out, seed=1), lambda: sow.zeros_(out), lambda: sow.kaiming_uniform_(out, seed=1)):
        with refused(r"\bout\b", ValueError, out):
            call()


def test_out_overlapping():
    base = np.full(5, SENTINEL, dtype=np.float32)
    out = np.lib.stride_tricks.as_strided(base, shape=(4, 5), strides=(0, 4))  # rows alias
    with refused(r"\bout\b", ValueError):
        sow.normal_(out, seed=1)
    assert np.all(base == SENTINEL)


# ----------------------------------------------------------------------------------------------
# shards
# ----------------------------------------------------------------------------------------------
G = (10, 8)
BAD_SHARDS = [
    ((slice(0, 11),), ValueError),
    ((slice(5, 3),), ValueError),
    ((slice(-1, 3),), ValueError),
    ((slice(0, 10), slice(0, 9)), ValueError),
    ((slice(0, 2), slice(0, 2), slice(0, 1)), ValueError),  # more slices than dimensions
    ((slice(0, 10, 2),), ValueError),  # steps are not shards
    ((slice(0.0, 2),), TypeError),
    (((0, 0), (11, 8)), ValueError),
    (((9, 0), (2, 8)), ValueError),
    (((-1, 0), (1, 8)), ValueError),
    (((0, 0), (1, -1)), ValueError),
    (((0,), (1,)), ValueError),  # wrong length
    (((0, 0, 0), (1, 1, 1)), ValueError),
    (((0, 0.5), (1, 1)), TypeError),
    ("rows", TypeError),
    (5, TypeError),
]


@pytest.mark.parametrize("shard,exc", BAD_SHARDS, ids=[repr(s) for s, _ in BAD_SHARDS])
def test_bad_shard(shard, exc):
    with refused(r"\bshard\b", exc):
        sow.normal(G, seed=1, shard=shard)
    with refused(r"\bshard\b", exc):
        sow.eye(G, shard=shard)
    out = sentinel((2, 2))
    with refused(r"\bshard\b", exc, out):
        sow.uniform_(out, seed=1, global_shape=G, shard=shard)


def test_inplace_shard_needs_global_shape():
    out = sentinel((2, 8))
    with refused(r"\bglobal_shape\b", ValueError, out):
        sow.normal_(out, seed=1, shard=(slice(0, 2),))


def test_inplace_shard_size_must_match_out():
    out = sentinel((3, 8))
    with refused(r"\bout\b|\bshard\b", ValueError, out):
        sow.normal_(out, seed=1, global_shape=G, shard=(slice(0, 2),))
    with refused(r"\bout\b|\bglobal_shape\b", ValueError, out):
        sow.normal_(out, seed=1, global_shape=G)  # no shard: out must be the whole tensor


@pytest.mark.parametrize("global_shape,exc", [((-1, 8), ValueError), ((2.0, 8), TypeError), ((2**40, 2**40), ValueError)])
def test_bad_global_shape(global_shape, exc):
    out = sentinel((2, 8))
    with refused(r"\bglobal_shape\b", exc, out):
        sow.normal_(out, seed=1, global_shape=global_shape, shard=(slice(0, 2),))


# ----------------------------------------------------------------------------------------------
# _core validates on its own, before writing (the Python layer is not its only caller)
# ----------------------------------------------------------------------------------------------
def core_fill(out, dist="normal", params=(0.0, 1.0), gshape=None, offsets=None, seed=1, key=0, threads=1, dtype="float32"):
    gshape = out.shape if gshape is None else gshape
    offsets = (0,) * out.ndim if offsets is None else offsets
    _core.fill(out.__array_interface__["data"][0], dtype, out.shape, out.strides, gshape, offsets, dist, params, seed, key, threads)


CORE_BAD = [
    ("std<0", dict(params=(0.0, -1.0)), r"\bstd\b"),
    ("std nan", dict(params=(0.0, float("nan"))), r"\bstd\b"),
    ("a==b", dict(dist="uniform", params=(1.0, 1.0)), r"\ba\b.*\bb\b"),
    ("b inf", dict(dist="uniform", params=(0.0, float("inf"))), r"\bb\b"),
    ("trunc a>b", dict(dist="trunc_normal", params=(0.0, 1.0, 1.0, -1.0)), r"\ba\b.*\bb\b"),
    ("trunc std=0", dict(dist="trunc_normal", params=(0.0, 0.0, -1.0, 1.0)), r"\bstd\b"),
    ("trunc 50 sigma", dict(dist="trunc_normal", params=(0.0, 1.0, 50.0, 51.0)), r"\ba\b|\bb\b"),
    ("constant nan", dict(dist="constant", params=(float("nan"),)), r"val|value|param"),
    ("dist", dict(dist="bogus"), r"dist"),
    ("params", dict(params=(0.0,)), r"param"),
    ("gshape", dict(gshape=(6, 4)), r"shard|global"),
    ("offsets", dict(gshape=(6, 5), offsets=(1, 0)), r"shard|offset"),
    ("too big", dict(gshape=(2**40, 2**40), offsets=(0, 0)), r"global"),
    ("dtype", dict(dtype="int32"), r"dtype"),
    ("threads", dict(threads=-1), r"threads"),
]


@pytest.mark.parametrize("kw,match", [c[1:] for c in CORE_BAD], ids=[c[0] for c in CORE_BAD])
def test_core_fill_refuses_before_writing(kw, match):
    out = sentinel()
    with refused(match, ValueError, out):
        core_fill(out, **kw)


def test_core_set_isa_unknown(restore_isa):
    with pytest.raises(ValueError):
        _core.set_isa("sse9")
    assert _core.isa() in _core.available_isas()


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def run_main(argv):
    from sow import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


CLI_BAD = [
    (["bogus_init", "--shape", "3", "--seed", "1"], "bogus_init"),
    (["normal", "--shape", "3", "4"], "seed"),
    (["normal", "--seed", "1"], "shape"),
    (["normal", "--shape", "3", "-4", "--seed", "1"], "shape"),
    (["normal", "--shape", "abc", "--seed", "1"], "shape"),
    (["normal", "--shape", "3", "--seed", "-1"], "seed"),
    (["normal", "--shape", "3", "--seed", "1", "--dtype", "int8"], "dtype"),
    (["normal", "--shape", "3", "--seed", "1", "--param", "std=-1"], "std"),
    (["normal", "--shape", "3", "--seed", "1", "--param", "nonsense=1"], "nonsense"),
    (["normal", "--shape", "3", "--seed", "1", "--param", "std"], "param"),
    (["kaiming_uniform", "--shape", "3", "4", "--seed", "1", "--param", "mode=fan_avg"], "(?i)mode"),
    (["xavier_uniform", "--shape", "5", "--seed", "1"], "shape|fan"),
    (["normal", "--shape", "3", "--seed", "1", "--threads", "0"], "threads"),
    (["ones", "--shape", "3", "--seed", "1"], "seed"),
    ([], "INIT|init"),
]


@pytest.mark.parametrize("argv,match", CLI_BAD, ids=[" ".join(a) or "empty" for a, _ in CLI_BAD])
def test_cli_bad_arguments_exit_2(argv, match, tmp_path):
    target = tmp_path / "x.npy"
    code, out, err = run_main(argv + ["-o", str(target)] if argv else argv)
    assert code == 2
    assert re.search(match, err), err
    assert not target.exists()


def test_cli_good_in_process(tmp_path):
    target = tmp_path / "w.npy"
    code, out, err = run_main(["kaiming_uniform", "--shape", "64", "32", "--seed", "7", "--key", "layers.0.w",
                               "--param", f"a={math.sqrt(5)!r}", "--dtype", "float64", "-o", str(target)])
    assert code == 0, err
    arr = np.load(target)
    expected = sow.kaiming_uniform((64, 32), math.sqrt(5), seed=7, key="layers.0.w", dtype="float64")
    np.testing.assert_array_equal(arr, expected)
    check_printed_stats(out, arr)


def test_cli_integer_key_and_fixed_init(tmp_path):
    target = tmp_path / "k.npy"
    code, out, err = run_main(["normal", "--shape", "100", "--seed", "3", "--key", "12", "-o", str(target)])
    assert code == 0, err
    np.testing.assert_array_equal(np.load(target), sow.normal((100,), seed=3, key=12))
    target = tmp_path / "e.npy"
    code, out, err = run_main(["eye", "--shape", "4", "6", "-o", str(target)])
    assert code == 0, err
    np.testing.assert_array_equal(np.load(target), sow.eye((4, 6)))


def check_printed_stats(stdout, arr):
    vals = {}
    for name in ("mean", "std"):
        m = re.search(rf"{name}\s*[:=]\s*([-+0-9.eEinfa]+)", stdout)
        assert m, f"{name} not printed:\n{stdout}"
        vals[name] = float(m.group(1))
    a = arr.astype(np.float64)
    assert vals["mean"] == pytest.approx(a.mean(), rel=1e-4, abs=1e-6 * a.std())
    assert vals["std"] == pytest.approx(a.std(), rel=1e-4)


def _cli_env():
    # Make the subprocess import this checkout's sow the same way the test process does.
    env = dict(os.environ)
    env.pop("SOW_ISA", None)
    return env


def test_cli_module_subprocess(tmp_path):
    target = tmp_path / "x.npy"
    good = subprocess.run(
        [sys.executable, "-m", "sow.cli", "xavier_uniform", "--shape", "40", "30", "--seed", "1", "--key", "w", "-o", str(target)],
        capture_output=True, text=True, timeout=120, env=_cli_env(),
    )
    assert good.returncode == 0, good.stderr
    arr = np.load(target)
    assert arr.shape == (40, 30) and arr.dtype == np.float32
    np.testing.assert_array_equal(arr, sow.xavier_uniform((40, 30), seed=1, key="w"))
    check_printed_stats(good.stdout, arr)
    bad = subprocess.run(
        [sys.executable, "-m", "sow.cli", "xavier_uniform", "--shape", "40", "30", "--seed", "-5"],
        capture_output=True, text=True, timeout=120, env=_cli_env(),
    )
    assert bad.returncode == 2
    assert "seed" in bad.stderr


def test_cli_console_script(tmp_path):
    exe = shutil.which("sow")
    if exe is None:
        pytest.skip("the `sow` console script is not on PATH (package not installed with its scripts)")
    target = tmp_path / "b.npy"
    good = subprocess.run([exe, "normal", "--shape", "257", "--seed", "4", "--dtype", "bfloat16", "-o", str(target)],
                          capture_output=True, text=True, timeout=120, env=_cli_env())
    assert good.returncode == 0, good.stderr
    arr = np.load(target)  # bfloat16 is stored as 2-byte records ("V2"): compare the bits
    assert arr.shape == (257,) and arr.dtype.itemsize == 2
    np.testing.assert_array_equal(arr.view(np.uint16), sow.normal((257,), seed=4, dtype="bfloat16").view(np.uint16))
    bad = subprocess.run([exe, "normal", "--shape", "3", "--seed", "1", "--dtype", "int8"], capture_output=True, text=True, timeout=120, env=_cli_env())
    assert bad.returncode == 2
    assert "dtype" in bad.stderr
