"""Parameter ranges (issue 9, defects 6 and 10): no call writes ±inf, refusals name the user's
parameter and come before any write, and the rule is exact: it refuses exactly the parameters
whose values at the extreme stream words overflow the output dtype (docs/stream-format.md §5,
"Value range"). ``_core.check_dist`` runs exactly the checks of ``_core.fill`` without memory;
``_core.values_of_words`` evaluates the scalar kernel's transform at chosen stream words, so the
extreme words, which no tensor of practical size draws, can be examined directly."""

from __future__ import annotations

import math
import pathlib

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sow
from sow import _core

ROOT = pathlib.Path(__file__).resolve().parents[1]
SENTINEL = -123.0
NP = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}
W32_ENDS = np.array([0, 0xFFFFFFFF], dtype=np.uint64)
W32_NORMAL_ENDS = np.array([0, 0xFFFFFFFF], dtype=np.uint64)  # stream format 2 on: z monotone in the word
W64_ENDS = np.array([0, 2**64 - 1], dtype=np.uint64)
W64_NORMAL_ENDS = np.array([0, 2**63], dtype=np.uint64)
#: |z| at the extreme words: float32 at t = 2**-32 (monotone over all 2**32 words:
#: tests/cpp/test_inv_phi32.cpp); float64 at p = 2**-54.
Z32_MAX = 6.33795834
Z64_MAX = 8.2923610758135951


def sentinel(shape=(64,), dtype="float32"):
    return np.full(shape, SENTINEL, dtype=NP[dtype])


def unchanged(out, before):
    return out.reshape(-1).view(np.uint8).tobytes() == before.reshape(-1).view(np.uint8).tobytes()


def stored(values, dtype):
    """Working-precision values as the output dtype stores them (round to nearest even)."""
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float64).astype(np.float32 if dtype != "float64" else np.float64) \
            .astype(NP[dtype]).astype(np.float64)


def accepted(dtype, dist, params):
    try:
        _core.check_dist(dtype, dist, tuple(float(p) for p in params))
    except ValueError:
        return False
    return True


def largest_accepted(dtype, dist, make_params, lo, hi):
    """The largest double x in [lo, hi) with make_params(x) accepted (lo accepted, hi refused)."""
    assert accepted(dtype, dist, make_params(lo)) and not accepted(dtype, dist, make_params(hi))
    while True:
        mid = lo / 2 + hi / 2
        if mid in (lo, hi):
            return lo
        if accepted(dtype, dist, make_params(mid)):
            lo = mid
        else:
            hi = mid


# ----------------------------------------------------------------------------------------------
# check_dist and values_of_words are the engine's own checks and arithmetic
# ----------------------------------------------------------------------------------------------
def _fill_error(dtype: str, dist: str, params: tuple[float, ...], domain: int = 0) -> str | None:
    out = np.full(8, 0x55, dtype=np.uint8).repeat(np.dtype(NP[dtype]).itemsize)
    before = out.copy()
    item = np.dtype(NP[dtype]).itemsize
    try:
        _core.fill(out.ctypes.data, dtype, (8,), (item,), (), (), dist, params, 0, 0, 1, domain)
    except ValueError as e:
        assert out.tobytes() == before.tobytes()
        return str(e)
    return None


CHECK_CASES = [
    ("float32", "normal", (0.0, 1.0), 0),
    ("float32", "trunc_normal", (0.0, 1.0, 50.0, 60.0), 0),
    ("float32", "normal", (0.0, 1e39), 0),
    ("float32", "normal", (0.0, 1.0), 256),
    ("float32", "uniform", (1.0, 1.0), 0),
    ("float16", "constant", (1e6,), 0),
    ("float16", "uniform", (0.0, 1e6), 0),
    ("float16", "normal", (0.0, 1e5), 0),
    ("bfloat16", "normal", (0.0, 1e38), 0),
    ("float64", "normal", (0.0, 1e308), 0),
    ("float16", "trunc_normal", (0.0, 1e5, -1e5, 1e5), 0),
    ("float16", "trunc_normal", (0.0, 1e5, -100.0, 100.0), 0),
    ("float32", "trunc_normal", (0.0, 1.0, -2.0, 1e39), 0),
]


@pytest.mark.parametrize("dtype,dist,params,domain", CHECK_CASES)
def test_check_dist_agrees_with_fill(dtype, dist, params, domain):
    expected = _fill_error(dtype, dist, params, domain)
    if expected is None:
        assert _core.check_dist(dtype, dist, params, domain) is None
    else:
        with pytest.raises(ValueError) as e:
            _core.check_dist(dtype, dist, params, domain)
        assert str(e.value) == expected


def test_check_dist_argument_errors():
    with pytest.raises(ValueError, match="dtype must be one of"):
        _core.check_dist("float33", "normal", (0.0, 1.0))
    with pytest.raises(ValueError, match="takes 2 parameters"):
        _core.check_dist("float32", "normal", (0.0,))
    with pytest.raises(ValueError, match="unknown distribution"):
        _core.check_dist("float32", "gamma", (1.0,))


WORD_CASES = [
    ("uniform", (-3.0, 5.0)),
    ("normal", (0.5, 2.0)),
    ("trunc_normal", (0.0, 1.0, -2.0, 2.0)),
    ("trunc_normal", (0.0, 1.0, 3.0, 4.0)),  # mirrored
    ("trunc_normal", (0.0, 1.0, -14.0, -13.0)),  # float32: the float64 path (Phi(beta) < 2^-100)
    ("constant", (0.25,)),
]


@pytest.mark.parametrize("dtype", list(NP))
@pytest.mark.parametrize("dist,params", WORD_CASES, ids=[f"{d}{p}" for d, p in WORD_CASES])
def test_values_of_words_is_what_fill_writes(dist, params, dtype):
    n = 4096
    words = _core.bits(7, 11, 0, 0, 2 * n)
    w = (words[0::2].astype(np.uint64) | (words[1::2].astype(np.uint64) << np.uint64(32))) \
        if dtype == "float64" else words[:n].astype(np.uint64)
    got = _core.values_of_words(dtype, dist, params, w)
    out = np.empty(n, dtype=NP[dtype])
    _core.fill(out.ctypes.data, dtype, (n,), (out.itemsize,), (), (), dist, params, 7, 11, 1, 0)
    np.testing.assert_array_equal(stored(got, dtype).astype(NP[dtype]).view(np.uint8), out.view(np.uint8))


# ----------------------------------------------------------------------------------------------
# The extreme words: where the smallest and largest values are (stream-format §5, "Value range")
# ----------------------------------------------------------------------------------------------
def _sweep32(k=1 << 16):
    y = np.concatenate([np.arange(k), np.arange((1 << 31) - k, 1 << 31)]).astype(np.uint64)
    return np.concatenate([y, y | np.uint64(1 << 31)])


def test_normal_float32_extremes_at_the_end_words():
    z_end = _core.values_of_words("float32", "normal", (0.0, 1.0), W32_NORMAL_ENDS)
    assert z_end[0] == -z_end[1] and -z_end[0] == np.float32(Z32_MAX)
    rng = np.random.default_rng(1)
    for w in (_sweep32(), rng.integers(0, 1 << 32, 1 << 20, dtype=np.uint64)):
        z = _core.values_of_words("float32", "normal", (0.0, 1.0), w)
        assert z.min() >= z_end[0] and z.max() <= z_end[1]
    # Words close to the ends move |z| by far more than an ulp: |z| strictly decreases there.
    z = _core.values_of_words("float32", "normal", (0.0, 1.0), np.arange(1 << 12, dtype=np.uint64))
    assert np.all(np.diff(z) > 0)


def test_normal_float64_extremes_at_the_end_words():
    z_end = _core.values_of_words("float64", "normal", (0.0, 1.0), W64_NORMAL_ENDS)
    assert z_end[0] == -z_end[1] == -Z64_MAX
    y = np.concatenate([np.arange(1 << 16), np.arange((1 << 52) - (1 << 16), 1 << 52)]).astype(np.uint64)
    x = y << np.uint64(11)
    rng = np.random.default_rng(2)
    for w in (np.concatenate([x, x | np.uint64(1 << 63)]), rng.integers(0, 2**64, 1 << 20, dtype=np.uint64)):
        z = _core.values_of_words("float64", "normal", (0.0, 1.0), w)
        assert z.min() >= z_end[0] and z.max() <= z_end[1]
    z = _core.values_of_words("float64", "normal", (0.0, 1.0), x[: 1 << 12])
    assert np.all(np.diff(z) > 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_extremes_at_the_end_words(dtype):
    ends = W64_ENDS if dtype == "float64" else W32_ENDS
    v_end = _core.values_of_words(dtype, "uniform", (-3.0, 5.0), ends)
    rng = np.random.default_rng(3)
    top = np.uint64(2**64 - 1 if dtype == "float64" else 2**32 - 1)
    w = rng.integers(0, int(top), 1 << 18, dtype=np.uint64, endpoint=True)
    v = _core.values_of_words(dtype, "uniform", (-3.0, 5.0), np.concatenate([w, w >> np.uint64(3), top - w]))
    assert v.min() >= v_end[0] and v.max() <= v_end[1]
    assert -3.0 <= v_end[0] < -3.0 + 1e-6 and 5.0 - 1e-6 < v_end[1] <= 5.0  # ends reachable by rounding


TRUNC_SWEEP = [
    (0.0, 1.0, -2.0, 2.0),
    (0.0, 1.0, 3.0, 4.0),
    (0.0, 1.0, -1e9, 1e9),
    (5.0, 1e4, 0.0, 1e30),
    (0.0, 1.0, 1.0, 1.0 + 1e-6),  # narrow: z moves less than an ulp per word near the ends
    (0.0, 1.0, -14.0, -13.0),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("params", TRUNC_SWEEP)
def test_trunc_normal_extremes_near_the_end_words(params, dtype):
    # Unclamped (bounds far out) or within 2^-20 relative of the end words' values: the margin
    # the rule keeps where a bound does not fit the dtype (value_range.hpp).
    ends = W64_ENDS if dtype == "float64" else W32_ENDS
    v_end = _core.values_of_words(dtype, "trunc_normal", params, ends)
    lo, hi = v_end.min(), v_end.max()
    k = 1 << 15
    if dtype == "float64":
        step = np.uint64(1 << 12)  # u takes the top 52 bits
        idx = np.arange(k, dtype=np.uint64) * step
        w = np.concatenate([idx, np.uint64(2**64 - 1) - idx])
    else:
        idx = np.arange(k, dtype=np.uint64) << np.uint64(9)
        w = np.concatenate([idx, np.uint64(0xFFFFFFFF) - idx])
    v = _core.values_of_words(dtype, "trunc_normal", params, w)
    margin = 2.0**-20
    assert v.min() >= lo - abs(lo) * margin and v.max() <= hi + abs(hi) * margin


# ----------------------------------------------------------------------------------------------
# The rule is exact: largest accepted parameter gives finite values everywhere, the next refused
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,limit", [("float16", 65520.0), ("bfloat16", 2.0**128 * (1 - 2.0**-9))])
def test_normal_16bit_boundary_std(dtype, limit):
    s = largest_accepted(dtype, "normal", lambda x: (0.0, x), 1.0, 1e39)
    z_end = _core.values_of_words("float32", "normal", (0.0, 1.0), W32_NORMAL_ENDS)
    # accepted: the values at the extreme words are finite once stored
    v = _core.values_of_words(dtype, "normal", (0.0, s), W32_NORMAL_ENDS)
    assert np.all(np.isfinite(stored(v, dtype)))
    # the next double up is refused, and it would overflow: the float32 product rounds to inf
    s_next = np.nextafter(s, np.inf)
    assert not accepted(dtype, "normal", (0.0, s_next))
    with np.errstate(over="ignore"):
        v_next = np.float32(s_next) * z_end.astype(np.float32)
    assert np.all(np.isinf(stored(v_next, dtype)))
    # exact, not conservative: the limit is |z| = 6.338 at the extreme words, not a round bound
    assert abs(s * Z32_MAX / limit - 1) < 2.0**-20


def test_normal_float16_boundary_std_writes_finite_values():
    s = largest_accepted("float16", "normal", lambda x: (0.0, x), 1.0, 1e39)
    v = sow.normal((1 << 20,), 0.0, s, seed=0, dtype="float16")
    assert np.all(np.isfinite(v)) and np.abs(v).max() > 30000
    with pytest.raises(ValueError, match=r"\bstd=" + repr(float(np.nextafter(s, np.inf))).replace(".", r"\.")):
        sow.normal((4,), 0.0, float(np.nextafter(s, np.inf)), seed=0, dtype="float16")
    # legitimate extremes keep working: std 1000 reaches ~6338
    w = sow.normal((1 << 16,), 0.0, 1000.0, seed=0, dtype="float16")
    assert np.all(np.isfinite(w)) and np.abs(w).max() > 3000


def test_normal_float64_boundary_std():
    s = largest_accepted("float64", "normal", lambda x: (0.0, x), 1.0, 1.7e308)
    v = _core.values_of_words("float64", "normal", (0.0, s), W64_NORMAL_ENDS)
    assert np.all(np.isfinite(v))
    with np.errstate(over="ignore"):
        assert np.all(np.isinf(np.nextafter(s, np.inf) * np.array([-Z64_MAX, Z64_MAX])))
    assert abs(s * Z64_MAX / np.finfo(np.float64).max - 1) < 1e-15
    assert np.all(np.isfinite(sow.normal((1000,), 0.0, s, seed=0, dtype="float64")))


def _uniform_fits(a, b, dtype):
    """Independent evaluation (tests/sow_ref.py's formula) at the extreme words."""
    half = b / 2.0 - a / 2.0
    mid = a / 2.0 + b / 2.0
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype == "float64":
            s = np.array([-(1 - 2.0**-53), 1 - 2.0**-53])
            v = np.float64(mid) + np.float64(half) * s
        else:
            if not (np.isfinite(np.float32(mid)) and np.isfinite(np.float32(half))):
                return False
            s = np.array([-(1 - 2.0**-24), 1 - 2.0**-24], dtype=np.float32)
            v = np.float32(mid) + np.float32(half) * s
    return bool(np.all(np.isfinite(stored(v, dtype))))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    dtype=st.sampled_from(["float16", "bfloat16", "float32"]),
    a=st.one_of(st.floats(-70000, 70000), st.floats(-3.5e38, 3.5e38), st.sampled_from([-65520.0, -65504.0, 0.0])),
    width=st.one_of(st.floats(1e-3, 2e5), st.floats(1e30, 7e38), st.sampled_from([65504.0, 65520.0, 131040.0])),
)
def test_uniform_accepted_exactly_when_the_extremes_fit(dtype, a, width):
    b = a + width
    if not (a < b and math.isfinite(b)):
        return
    assert accepted(dtype, "uniform", (a, b)) == _uniform_fits(a, b, dtype)


def test_uniform_float16_boundary_is_exact():
    b = largest_accepted("float16", "uniform", lambda x: (0.0, x), 1.0, 1e6)
    assert _uniform_fits(0.0, b, "float16") and not _uniform_fits(0.0, float(np.nextafter(b, np.inf)), "float16")
    assert 65519 < b < 65521


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    dtype=st.sampled_from(list(NP)),
    mean=st.one_of(st.just(0.0), st.floats(-1e5, 1e5), st.floats(-1e300, 1e300)),
    std=st.one_of(st.floats(0.0, 2e4), st.floats(0.0, 1e38), st.floats(0.0, 1e308)),
)
def test_normal_accepted_exactly_when_the_extremes_fit(dtype, mean, std):
    # Independent of the rule's code: z at the extreme words, then numpy's own arithmetic.
    f64 = dtype == "float64"
    z = _core.values_of_words("float64" if f64 else "float32", "normal", (0.0, 1.0),
                              W64_NORMAL_ENDS if f64 else W32_NORMAL_ENDS)
    with np.errstate(over="ignore", invalid="ignore"):
        if f64:
            v = mean + std * z
            ok = bool(np.all(np.isfinite(v)))
        else:
            m32, s32 = np.float32(mean), np.float32(std)
            ok = bool(np.isfinite(m32) and np.isfinite(s32))
            if ok:
                v = m32 + s32 * z.astype(np.float32)
                ok = bool(np.all(np.isfinite(stored(v, dtype))))
    if std == 0:
        return  # the initializers turn std 0 into a constant; the engine's normal still checks it
    assert accepted(dtype, "normal", (mean, std)) == ok
    out = sentinel((257,), dtype)
    before = out.copy()
    if ok:
        sow.normal_(out, mean, std, seed=5)
        assert np.all(np.isfinite(out.astype(np.float64)))
    else:
        with pytest.raises(ValueError, match=r"\bstd=|\bmean="):
            sow.normal_(out, mean, std, seed=5)
        assert unchanged(out, before)


# ----------------------------------------------------------------------------------------------
# trunc_normal: clamped to [a, b]; a bound beyond the dtype is fine while the values stay inside
# ----------------------------------------------------------------------------------------------
def test_trunc_normal_clamp_ranges():
    # huge std, bounds that fit: every value is within [-100, 100]
    v = sow.trunc_normal((4096,), 0.0, 1e5, -100.0, 100.0, seed=0, dtype="float16")
    assert np.all(np.isfinite(v)) and np.abs(v).max() <= 100
    # bounds far beyond float16 (and float32) with values near the mean: fine
    for dtype in ("float16", "bfloat16", "float32"):
        v = sow.trunc_normal((4096,), 0.0, 1.0, -1e30, 1e39, seed=0, dtype=dtype)
        assert np.all(np.isfinite(v.astype(np.float64))) and np.abs(v.astype(np.float64)).max() < 7
    # a bound beyond float16 that the values reach: refused, naming it
    with pytest.raises(ValueError, match=r"trunc_normal: b=100000\.0 with std=100000\.0 .*float16"):
        sow.trunc_normal((10,), 0.0, 1e5, -100.0, 1e5, seed=0, dtype="float16")
    # interval deep in the tail, computed in float64 for float32 outputs: its values fit
    v = sow.trunc_normal((1000,), 0.0, 1.0, 30.0, 31.0, seed=0, dtype="float16")
    assert np.all(np.isfinite(v)) and v.min() >= 30


# ----------------------------------------------------------------------------------------------
# The reproducers of defect 6: refused before any write, naming the user's parameter
# ----------------------------------------------------------------------------------------------
OVERFLOW_CASES = [
    ("uniform", lambda o: sow.uniform_(o, 0, 1e6, seed=0), "float16", r"uniform: b=1000000\.0 makes"),
    ("normal", lambda o: sow.normal_(o, 0, 1e5, seed=0), "float16", r"normal: std=100000\.0 makes"),
    ("trunc_normal", lambda o: sow.trunc_normal_(o, 0, 1e5, -1e5, 1e5, seed=0), "float16",
     r"trunc_normal: a=-100000\.0, b=100000\.0 with std=100000\.0"),
    ("xavier_normal", lambda o: sow.xavier_normal_(o.reshape(3, 5, 2, 3), 1e6, seed=0), "float16",
     r"xavier_normal: gain=1000000\.0 makes"),
    ("xavier_uniform", lambda o: sow.xavier_uniform_(o.reshape(3, 5, 2, 3), 1e6, seed=0), "float16",
     r"xavier_uniform: gain=1000000\.0 makes"),
    ("variance_scaling", lambda o: sow.variance_scaling_(o.reshape(9, 10), 1e12, distribution="normal", seed=0),
     "float16", r"variance_scaling: scale=1000000000000\.0 makes"),
    ("variance_scaling uniform", lambda o: sow.variance_scaling_(o.reshape(9, 10), 1e80, distribution="uniform",
                                                                  seed=0), "bfloat16", r"variance_scaling: scale=1e\+80"),
    ("orthogonal", lambda o: sow.orthogonal_(o.reshape(10, 9), gain=3e38, seed=0), "float16", r"gain=3e\+38 .*float16"),
    ("normal float64", lambda o: sow.normal_(o, 0.0, 1e308, seed=0), "float64", r"normal: std=1e\+308 makes"),
    ("sparse", lambda o: sow.sparse_(o.reshape(9, 10), 0.5, 1e5, seed=0), "float16", r"sparse: std=100000\.0 makes"),
    ("normal mean", lambda o: sow.normal_(o, 65519.0, 1.0, seed=0), "float16", r"normal: mean=65519\.0, std=1\.0 make"),
]


@pytest.mark.parametrize("label,call,dtype,match", OVERFLOW_CASES, ids=[c[0] for c in OVERFLOW_CASES])
def test_overflow_refused_before_writing(label, call, dtype, match):
    out = sentinel((90,), dtype)
    before = out.copy()
    with pytest.raises(ValueError, match=match):
        call(out)
    assert unchanged(out, before)


def test_overflow_refused_allocating_forms():
    with pytest.raises(ValueError, match=r"\bb=1000000\.0\b"):
        sow.uniform((1000,), 0, 1e6, seed=0, dtype="float16")
    with pytest.raises(ValueError, match=r"\bgain=1000000\.0\b"):
        sow.xavier_normal((3, 5, 2, 3), 1e6, dtype="float16", seed=0)
    with pytest.raises(ValueError, match=r"\bgain=3e\+38\b"):
        sow.orthogonal((10, 10), gain=3e38, dtype="float16", seed=0)
    with pytest.raises(ValueError, match=r"float16"):  # the orthogonal gain rule, reached as scale
        sow.delta_orthogonal((3, 3, 4, 4), 1e5, dtype="float16", seed=0)
    with pytest.raises(ValueError, match=r"\bstd=1e\+308\b"):
        sow.normal((1000,), 0.0, 1e308, dtype="float64", seed=0)
    # kaiming's and lecun's values are bounded by their formulas: no parameter overflows
    assert np.all(np.isfinite(sow.kaiming_uniform((4, 1), 0.0, dtype="float16", seed=0)))


def test_orthogonal_gain_rule():
    # |gain| (1 + 2^-16) must round to a finite value: float16 gains up to ~65519
    for gain in (65504.0, 65518.0, -65518.0):
        q = sow.orthogonal((6, 6), gain, seed=0, dtype="float16")
        assert np.all(np.isfinite(q))
    for gain in (65519.5, 65520.0, 70000.0, 1e39):
        with pytest.raises(ValueError, match="gain"):
            sow.orthogonal((6, 6), gain, seed=0, dtype="float16")
    _core.check_orthogonal_gain(3e38, "float32")
    assert np.all(np.isfinite(sow.orthogonal((6, 6), 3e38, seed=0)))
    with pytest.raises(ValueError, match=r"scale=3\.4028e\+38 is too large for float32"):
        _core.check_orthogonal_gain(3.4028e38, "float32", "scale")
    with pytest.raises(ValueError, match="scale must be finite"):
        _core.check_orthogonal_gain(math.inf, "float64", "scale")
    _core.check_orthogonal_gain(1e308, "float64")


# ----------------------------------------------------------------------------------------------
# Defect 10
# ----------------------------------------------------------------------------------------------
def test_empty_outputs_check_parameters():
    with pytest.raises(ValueError, match="trunc_normal"):
        sow.trunc_normal((0,), a=50.0, b=60.0, seed=0)
    with pytest.raises(ValueError, match=r"\bb=1000000\.0\b"):
        sow.uniform((0, 3), 0, 1e6, seed=0, dtype="float16")
    with pytest.raises(ValueError, match="trunc_normal"):
        sow.trunc_normal((4,), a=50.0, b=60.0, seed=0, shard=[slice(1, 1)])
    with pytest.raises(ValueError, match=r"\bstd=100000\.0\b"):
        sow.normal_(np.empty((0, 3), np.float16), 0.0, 1e5, seed=0)
    with pytest.raises(ValueError, match=r"\bval\b"):
        sow.constant((0,), 1e6, dtype="float16")
    # and the one-item plan every call runs (sow::run_item) checks an empty output's distribution
    from sow import _core

    a = np.empty(0, np.float32)
    with pytest.raises(ValueError, match="trunc_normal"):
        _core.run_item("host", a.ctypes.data, "float32", (0,), (4,), (), (), "trunc_normal",
                       {"a": 50.0, "b": 60.0}, 0, 0, 1, True)


def test_variance_scaling_tiny_scale_is_legal():
    # scale / n underflows to 0 for scale = 5e-324; the std is computed without that underflow
    for distribution in ("truncated_normal", "normal", "uniform"):
        v = sow.variance_scaling((4, 4), scale=5e-324, distribution=distribution, seed=0, dtype="float64")
        assert np.all(v != 0) and np.abs(v).max() < 1e-161
        # float32 outputs: values below float32's range round to 0 (they are ~1e-162)
        w = sow.variance_scaling((4, 4), scale=5e-324, distribution=distribution, seed=0)
        assert np.all(w == 0)
    # the exact std: sqrt(5e-324 / 4) / 0.8796... computed in exact rational arithmetic
    dist, (mean, std, a, b) = _core.init_dist("variance_scaling", (4, 4), (5e-324, "fan_in", "truncated_normal"))
    assert dist == "trunc_normal" and a == -2 * std and b == 2 * std
    assert abs(std / (math.sqrt(5e-324 * 2.0**200 / 4) * 2.0**-100 / _core.TRUNCATED_NORMAL_STD) - 1) < 1e-15
    # huge scales: 3 * scale / n no longer overflows on the way to a finite bound
    v = sow.variance_scaling((2, 2), 1.7e308, distribution="uniform", fan_in=1, seed=0, dtype="float64")
    assert np.all(np.isfinite(v)) and np.abs(v).max() > 1e153


@settings(max_examples=300, derandomize=True, deadline=None)
@given(scale=st.floats(2.0**-980, 1e300), fan_in=st.integers(1, 1 << 40),
       distribution=st.sampled_from(["truncated_normal", "normal", "uniform"]))
def test_variance_scaling_std_bits_unchanged_in_range(scale, fan_in, distribution):
    # Inside the normal double range the underflow-free root is sqrt(c * (scale / n)), bit for bit.
    _, params = _core.init_dist("variance_scaling", (2, 2), (scale, "fan_in", distribution), fan_in=fan_in)
    variance = scale / fan_in
    if distribution == "uniform":
        assert params[1] == math.sqrt(3.0 * variance)
    elif distribution == "normal":
        assert params[1] == math.sqrt(variance)
    else:
        assert params[1] == math.sqrt(variance) / _core.TRUNCATED_NORMAL_STD


def test_float32_range_errors_name_the_parameter():
    cases = [
        (lambda: sow.normal((4,), 0.0, 1e39, seed=0), r"normal: std=1e\+39 exceeds the float32 range"),
        (lambda: sow.normal((4,), 1e39, 1.0, seed=0), r"normal: mean=1e\+39 exceeds the float32 range"),
        (lambda: sow.uniform((4,), -1e300, 1e300, seed=0), r"uniform: a=-1e\+300, b=1e\+300 exceed the float32"),
        (lambda: sow.uniform((4,), 0.0, 1e39, seed=0, dtype="bfloat16"), r"uniform: b=1e\+39 exceeds .* bfloat16"),
        (lambda: sow.trunc_normal((4,), 0.0, 1e39, -1.0, 1.0, seed=0), r"trunc_normal: std=1e\+39 exceeds"),
        (lambda: sow.xavier_normal((4, 4), 1e39, seed=0), r"xavier_normal: gain=1e\+39 gives std=.*, which exceeds"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
    assert np.all(np.isfinite(sow.normal((3,), 1e39, 1.0, seed=1, dtype="float64")))


def test_tiny_parameters_round_like_any_other():
    # A std below float32's range rounds to 0 in the float32 arithmetic: the values are the mean,
    # which is what values that small round to in float32/float16/bfloat16 (accepted, as torch).
    for dtype in ("float32", "float16", "bfloat16"):
        v = sow.normal((1000,), 0.0, 1e-50, seed=0, dtype=dtype)
        assert np.all(v.astype(np.float64) == 0)
    v = sow.normal((1000,), 0.0, 1e-50, seed=0, dtype="float64")
    assert np.all(v != 0) and np.abs(v).max() < 1e-49


def test_trunc_normal_sigma_limit_is_exact_and_documented():
    c = _core.TRUNC_NORMAL_MAX_SIGMAS
    beyond = float(np.nextafter(c, np.inf))
    for dtype in ("float32", "float64"):
        # the nearer bound at exactly c standard deviations: accepted, on either side
        _core.check_dist(dtype, "trunc_normal", (0.0, 1.0, c, c + 1))
        _core.check_dist(dtype, "trunc_normal", (0.0, 1.0, -c - 1, -c))
        v = sow.trunc_normal((100,), 0.0, 1.0, c, c + 1, seed=0, dtype=dtype)
        assert np.all((v >= NP[dtype](c)) & (v <= NP[dtype](c + 1)))
        # one double further: refused, with the limit in the message
        for params in ((0.0, 1.0, beyond, beyond + 1), (0.0, 1.0, -beyond - 1, -beyond)):
            with pytest.raises(ValueError, match=repr(c).replace(".", r"\.")):
                _core.check_dist(dtype, "trunc_normal", params)
    with pytest.raises(ValueError, match=r"trunc_normal: a=50\.0, b=60\.0 .* at most 38\.485408335567335"):
        sow.trunc_normal((1,), a=50.0, b=60.0, seed=0)
    # the docs state the same limit
    short = f"{c:.4f}"  # 38.4854
    for doc in ("README.md", "docs/stream-format.md"):
        assert short in (ROOT / doc).read_text(), f"{doc} should state the {short} sigma limit"
