"""Distribution checks at fixed seeds.

Threshold rationale: every test here uses fixed seeds, so its outcome is deterministic; the
thresholds are chosen so that a *correct* generator would fail them with negligible probability
(had the seed been drawn at random), while real defects (wrong scale, wrong CDF, correlated
streams, rounding pile-ups) exceed them by orders of magnitude:
  * goodness of fit: Kolmogorov-Smirnov p-value > 1e-4 (false-failure rate 1e-4 per test);
  * moments / correlations: |deviation| < 5 standard errors (false-failure rate ~6e-7);
  * counts of rare events: |count - expected| < 5 sqrt(variance) + 1.
Sizes are 2^16..2^20 so the whole module runs in a few seconds on 2 cores.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr

import sow
import sow_ref as ref
from sow_ref import NP_DTYPES

KS_P_MIN = 1e-4
N = 1 << 20
N16 = 1 << 18


def ks_p(sample, cdf):
    return stats.kstest(np.asarray(sample, dtype=np.float64), cdf).pvalue


def uniform_cdf(low, high):
    return lambda x: np.clip((np.asarray(x) - low) / (high - low), 0.0, 1.0)


def normal_cdf(mean, std):
    return lambda x: ndtr((np.asarray(x) - mean) / std)


def trunc_cdf(mean, std, a, b):
    return lambda x: ref.trunc_normal_cdf(x, mean, std, a, b)


# ----------------------------------------------------------------------------------------------
# Goodness of fit against the exact CDF
# ----------------------------------------------------------------------------------------------
TRUNC_CASES = [
    # mean, std, a, b, id
    (0.0, 1.0, -2.0, 2.0, "std1_pm2"),
    (0.0, 0.02, -2.0, 2.0, "std0.02_pm2abs"),  # bounds are +-100 sigma: plain normal
    (0.0, 0.02, -0.04, 0.04, "std0.02_pm2sigma"),
    (0.0, 1.0, 3.0, 4.0, "tight_3_4"),
    (0.0, 1.0, -4.0, -3.0, "tight_m4_m3"),
    (0.5, 2.0, -1e6, 0.0, "one_sided_upper"),
    (0.0, 1.0, -1.0, 1e6, "one_sided_lower"),
    (0.0, 1.0, 10.0, 11.0, "deep_10_11"),
    (0.0, 1.0, -11.0, -10.0, "deep_m11_m10"),
    (0.0, 1.0, 20.0, 21.0, "f64path_20_21"),  # float32 output computed by the float64 formulas
    (0.0, 1.0, 11.6, 12.5, "f64path_11.6_12.5"),  # just past that switch (Phi(-11.6) < 2^-100)
    (0.0, 1.0, -0.01, 0.01, "narrow_mode"),
]
TRUNC_IDS = [c[-1] for c in TRUNC_CASES]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-3.0, 5.0), (-1e-3, 1e-3)])
def test_uniform_ks(low, high, dtype):
    x = sow.uniform((N,), low, high, seed=1, key="ks", dtype=dtype)
    assert x.min() >= low and x.max() <= high
    assert ks_p(x, uniform_cdf(low, high)) > KS_P_MIN


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (3.0, 0.02), (-1.0, 50.0)])
def test_normal_ks(mean, std, dtype):
    x = sow.normal((N,), mean, std, seed=2, key="ks", dtype=dtype)
    assert ks_p(x, normal_cdf(mean, std)) > KS_P_MIN


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mean,std,a,b", [c[:4] for c in TRUNC_CASES], ids=TRUNC_IDS)
def test_trunc_normal_ks(mean, std, a, b, dtype):
    x = sow.trunc_normal((N,), mean, std, a, b, seed=3, key="ks", dtype=dtype)
    ft = NP_DTYPES[dtype].type
    assert x.min() >= ft(a) and x.max() <= ft(b)
    assert ks_p(x, trunc_cdf(mean, std, a, b)) > KS_P_MIN


def test_normal_tails_float32():
    # Beyond 4 sigma the float32 path must still follow the normal tail: count |z| > 4 and > 5 in
    # 2^22 samples against the exact probabilities (2 * Phi(-4) = 6.3e-5, 2 * Phi(-5) = 5.7e-7).
    n = 1 << 22
    z = np.abs(sow.normal((n,), seed=11, key="tail").astype(np.float64))
    for t in (3.0, 4.0, 5.0):
        p = 2 * ndtr(-t)
        cnt = np.count_nonzero(z > t)
        assert abs(cnt - n * p) < 5 * math.sqrt(n * p) + 1, (t, cnt, n * p)


# ----------------------------------------------------------------------------------------------
# 16-bit dtypes: KS against the law of the rounded variable
# ----------------------------------------------------------------------------------------------
def ks16(x, cdf, dtype):
    d, n = ref.ks_statistic_rounded(x, cdf, NP_DTYPES[dtype])
    return ref.ks_pvalue(d, n)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_uniform_ks_16bit(dtype):
    x = sow.uniform((N16,), -1.0, 1.0, seed=4, key="u16", dtype=dtype)
    assert ks16(x, uniform_cdf(-1.0, 1.0), dtype) > KS_P_MIN


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (0.0, 0.02)])
def test_normal_ks_16bit(mean, std, dtype):
    x = sow.normal((N16,), mean, std, seed=5, key="n16", dtype=dtype)
    assert ks16(x, normal_cdf(mean, std), dtype) > KS_P_MIN


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("mean,std,a,b", [c[:4] for c in TRUNC_CASES], ids=TRUNC_IDS)
def test_trunc_normal_ks_16bit(mean, std, a, b, dtype):
    x = sow.trunc_normal((N16,), mean, std, a, b, seed=6, key="t16", dtype=dtype)
    assert ks16(x, trunc_cdf(mean, std, a, b), dtype) > KS_P_MIN


def test_ks16_helper_detects_a_wrong_law():
    # The rounding-aware KS used above must reject a law that is off by 3% in scale.
    x = sow.normal((N16,), 0.0, 1.03, seed=5, key="n16", dtype="bfloat16")
    assert ks16(x, normal_cdf(0.0, 1.0), "bfloat16") < 1e-6


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_trunc_normal_16bit_no_pileup_at_bounds(dtype):
    # torch <= 2.11 produced ~1e-2 of bf16 trunc_normal(std=0.02, +-0.04) values stuck at a bound.
    # Here a value equals the rounded bound only when the float32 value rounds to it, whose
    # probability follows from the exact CDF.
    mean, std, a, b = 0.0, 0.02, -0.04, 0.04
    n = N
    dt = NP_DTYPES[dtype]
    x = sow.trunc_normal((n,), mean, std, a, b, seed=7, key="pile", dtype=dtype).astype(np.float64)
    cdf = trunc_cdf(mean, std, a, b)
    hi = float(np.float32(b).astype(dt))  # the bound as it appears in the output dtype
    lo = float(np.float32(a).astype(dt))
    p_hi = 1.0 - cdf((hi + float(ref.next_down(hi, dt)[()])) / 2)
    p_lo = cdf((lo + float(ref.next_up(lo, dt)[()])) / 2)
    for bound, p in ((hi, p_hi), (lo, p_lo)):
        cnt = np.count_nonzero(x == bound)
        assert abs(cnt - n * p) < 5 * math.sqrt(n * p) + 1, (dtype, bound, cnt, n * p)
        assert cnt < 1e-3 * n
    assert np.all(x >= lo) and np.all(x <= hi)
    m, s = ref.trunc_normal_moments(mean, std, a, b)
    assert abs(x.std() - s) < 0.01 * s


# ----------------------------------------------------------------------------------------------
# Moments
# ----------------------------------------------------------------------------------------------
def check_moments(x, mean, std, kurt=None):
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    se = std / math.sqrt(n)
    assert abs(x.mean() - mean) < 5 * se, (x.mean(), mean)
    # SE of the sample std ~ std * sqrt((kurtosis - 1) / (4n)); kurtosis <= 3 here -> < std/sqrt(2n)
    assert abs(x.std() - std) < 5 * std / math.sqrt(2 * n), (x.std(), std)
    if kurt is not None:
        z = (x - x.mean()) / x.std()
        assert abs(np.mean(z**3)) < 5 * math.sqrt(6 / n)
        assert abs(np.mean(z**4) - kurt) < 5 * math.sqrt(24 / n)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_moments_uniform(dtype):
    low, high = -2.0, 6.0
    x = sow.uniform((N,), low, high, seed=8, key="m", dtype=dtype)
    check_moments(x, (low + high) / 2, (high - low) / math.sqrt(12), kurt=1.8 if dtype in ("float32", "float64") else None)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_moments_normal(dtype):
    x = sow.normal((N,), 0.5, 2.0, seed=9, key="m", dtype=dtype)
    check_moments(x, 0.5, 2.0, kurt=3.0 if dtype in ("float32", "float64") else None)


# bfloat16 moments are checked only where its rounding (spacing^2/12 added variance, and a bias from
# the density's slope within a rounding bin) is far below 5 standard errors; the deep-tail
# intervals span only a few bfloat16 values there and are covered by the rounding-aware KS test.
MOMENT_CASES = [pytest.param(*c[:4], d, id=f"{c[-1]}-{d}") for c in TRUNC_CASES for d in ("float32", "float64")]
MOMENT_CASES += [
    pytest.param(*c[:4], "bfloat16", id=f"{c[-1]}-bfloat16")
    for c in TRUNC_CASES
    if c[-1] not in ("deep_10_11", "deep_m11_m10", "f64path_20_21", "f64path_11.6_12.5")
]


@pytest.mark.parametrize("mean,std,a,b,dtype", MOMENT_CASES)
def test_moments_trunc_normal(mean, std, a, b, dtype):
    x = sow.trunc_normal((N,), mean, std, a, b, seed=10, key="m", dtype=dtype)
    m, s = ref.trunc_normal_moments(mean, std, a, b)
    check_moments(x, m, s)


# ----------------------------------------------------------------------------------------------
# Independence: serial correlation and cross-stream correlation
# ----------------------------------------------------------------------------------------------
def corr(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean()
    b = b - b.mean()
    return float(np.dot(a, b) / math.sqrt(np.dot(a, a) * np.dot(b, b)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("dist", ["uniform", "normal"])
def test_serial_correlation(dist, dtype):
    # Lags 1-3 (words of one Philox block), 4 and 8 (neighbouring blocks).
    x = getattr(sow, dist)((N,), seed=12, key="lag", dtype=dtype).astype(np.float64)
    for lag in (1, 2, 3, 4, 8):
        r = corr(x[:-lag], x[lag:])
        assert abs(r) < 5 / math.sqrt(N - lag), (lag, r)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_serial_correlation_2d_columns(dtype):
    # Neighbouring rows of a matrix (lag = number of columns).
    x = sow.normal((1024, 1023), seed=13, key="rows", dtype=dtype).astype(np.float64)
    r = corr(x[:-1].ravel(), x[1:].ravel())
    assert abs(r) < 5 / math.sqrt(x[1:].size)


PAIRS = [
    ((0, 0), (0, 1), "keys_0_1"),
    ((0, 0), (1, 0), "seeds_0_1"),
    ((5, 7), (5 + 2**32, 7), "seeds_differ_in_high_word"),
    ((5, 7), (5, 7 + 2**32), "keys_differ_in_high_word"),
    ((5, "a"), (5, "b"), "string_keys"),
    ((2**64 - 1, 2**64 - 1), (2**64 - 2, 2**64 - 1), "max_seeds"),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("s1,s2", [p[:2] for p in PAIRS], ids=[p[2] for p in PAIRS])
def test_cross_stream_correlation(s1, s2, dtype):
    a = sow.normal((N,), seed=s1[0], key=s1[1], dtype=dtype)
    b = sow.normal((N,), seed=s2[0], key=s2[1], dtype=dtype)
    assert np.count_nonzero(a == b) < 4  # identical values: essentially impossible for floats
    for lag in (0, 1, 4):
        r = corr(a[: N - lag], b[lag:])
        assert abs(r) < 5 / math.sqrt(N), (lag, r)


def test_cross_stream_sign_agreement():
    # Uniform streams of keys 0/1: P(both > 1/2) must be 1/4 (a coarser, nonlinear dependence check).
    a = sow.uniform((N,), seed=21, key=0) > 0.5
    b = sow.uniform((N,), seed=21, key=1) > 0.5
    cnt = np.count_nonzero(a & b)
    assert abs(cnt - N / 4) < 5 * math.sqrt(N * 3 / 16)


# ----------------------------------------------------------------------------------------------
# sparse
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,sparsity", [((100, 300), 0.1), ((7, 1000), 0.5), ((1000, 17), 0.9), ((256, 64), 0.0), ((3, 5), 0.999)])
def test_sparse_zero_count_per_column_exact(shape, sparsity, dtype):
    x = sow.sparse(shape, sparsity, seed=14, key="sp", dtype=dtype)
    nz = math.ceil(sparsity * shape[0])
    np.testing.assert_array_equal(np.count_nonzero(x == 0, axis=0), np.full(shape[1], nz))
    nonzero = x[x != 0].astype(np.float64)
    if nonzero.size > 1000:
        assert ks_p(nonzero, normal_cdf(0.0, 0.01)) > KS_P_MIN


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sparse_zero_count_16bit(dtype):
    shape, sparsity = (100, 300), 0.3
    x = sow.sparse(shape, sparsity, 0.01, seed=14, key="sp", dtype=dtype)
    x32 = sow.sparse(shape, sparsity, 0.01, seed=14, key="sp", dtype="float32")
    nz = math.ceil(sparsity * shape[0])
    assert np.all(x[x32 == 0] == 0)
    counts = np.count_nonzero(x == 0, axis=0)
    # A normal(0, 0.01) value underflows float16 only for |z| < 3e-6 (p ~ 2e-6): at most 1 here.
    assert np.all(counts >= nz) and np.all(counts <= nz + 1)


def test_sparse_mask_is_uniform_over_rows():
    # Each row of a (10, 20000) matrix with 3 zeros per column is zero in ~30% of columns.
    rows, cols = 10, 20000
    x = sow.sparse((rows, cols), 0.3, seed=15, key="mask")
    per_row = np.count_nonzero(x == 0, axis=1)
    assert per_row.sum() == 3 * cols
    chi2 = stats.chisquare(per_row)
    assert chi2.pvalue > KS_P_MIN


def test_sparse_patterns_differ_between_keys_and_seeds():
    shape = (64, 64)
    m = [sow.sparse(shape, 0.5, seed=s, key=k) == 0 for s, k in ((1, 0), (1, 1), (2, 0))]
    for i in range(3):
        for j in range(i):
            agree = np.count_nonzero(m[i] == m[j]) / m[i].size
            assert abs(agree - 0.5) < 0.05  # independent patterns agree on ~1/2 of entries


# ----------------------------------------------------------------------------------------------
# Generator
# ----------------------------------------------------------------------------------------------
def test_generator_calls_use_successive_keys():
    g = sow.Generator(99)
    a = g.uniform((1000,))
    b = g.normal((1000,), 0.0, 2.0)
    c = g.xavier_uniform((40, 25))
    np.testing.assert_array_equal(a, sow.uniform((1000,), seed=99, key=0))
    np.testing.assert_array_equal(b, sow.normal((1000,), 0.0, 2.0, seed=99, key=1))
    np.testing.assert_array_equal(c, sow.xavier_uniform((40, 25), seed=99, key=2))


def test_generator_explicit_key():
    g = sow.Generator(5)
    np.testing.assert_array_equal(g.normal((100,), key="w"), sow.normal((100,), seed=5, key="w"))


def test_generator_streams_differ_and_are_reproducible():
    g1, g2, g3 = sow.Generator(7), sow.Generator(7), sow.Generator(8)
    s1 = [g1.normal((N // 4,)) for _ in range(4)]
    s2 = [g2.normal((N // 4,)) for _ in range(4)]
    s3 = [g3.normal((N // 4,)) for _ in range(4)]
    for a, b in zip(s1, s2):
        np.testing.assert_array_equal(a, b)
    for i in range(4):
        assert abs(corr(s1[i], s3[i])) < 5 / math.sqrt(N // 4)
        for j in range(i):
            assert abs(corr(s1[i], s1[j])) < 5 / math.sqrt(N // 4)


def test_generator_inplace_methods():
    g = sow.Generator(3)
    out = np.empty((50, 20), dtype=np.float32)
    g.kaiming_normal_(out)
    np.testing.assert_array_equal(out, sow.kaiming_normal((50, 20), seed=3, key=0))
