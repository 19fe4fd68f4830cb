"""Stream format 3's float32 normal transform at scale (issue 15): goodness of fit at 10^7 samples
and tail frequencies at ~10^8, at fixed seeds.

Thresholds (as in test_statistics.py: a correct generator fails them with negligible probability
had the seed been drawn at random; a wrong transform fails them by orders of magnitude):
  * Kolmogorov-Smirnov and Anderson-Darling (fully specified law) p-values > 1e-4;
  * tail counts: |count - n q| <= 5 sqrt(n q (1 - q)) + 1 (binomial, q the exact tail mass).
At 10^7 samples KS resolves CDF errors of ~5e-4 and AD, which weights the tails, much smaller
ones: a table segment fitted to the wrong function, or a broken tail path, shows up here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_ndtr, ndtr

import sow
import sow_ref as ref

P_MIN = 1e-4
N = 10_000_000


def ad_pvalue(a2: float) -> float:
    """P(A^2 > a2) for the Anderson-Darling statistic of a fully specified continuous law, from
    Marsaglia & Marsaglia's (2004) asymptotic approximation (error < 1e-5 in the tail we use)."""
    z = a2
    if z < 2:
        cdf = math.exp(-1.2337141 / z) / math.sqrt(z) * (
            2.00012 + (.247105 - (.0649821 - (.0347962 - (.0116720 - .00168691 * z) * z) * z) * z) * z)
    else:
        cdf = math.exp(-math.exp(1.0776 - (2.30695 - (.43424 - (.082433 - (.008056 - .0003146 * z) * z) * z) * z) * z))
    return 1.0 - cdf


def ad_statistic(log_f: np.ndarray, log_s: np.ndarray) -> float:
    """A^2 = -n - (1/n) sum (2i - 1) (log F(x_(i)) + log S(x_(n+1-i))) over the sorted sample,
    from log F and log(1 - F) (so neither tail loses precision)."""
    n = log_f.size
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(-n - np.sum((2 * i - 1) * (log_f + log_s[::-1])) / n)


def test_ad_pvalue_matches_known_critical_values():
    # Published critical values of A^2 (case 0): 10% 1.933, 5% 2.492, 1% 3.857.
    for a2, p in ((1.933, 0.10), (2.492, 0.05), (3.857, 0.01)):
        assert abs(ad_pvalue(a2) - p) < 0.001 * 2
    # And the statistic rejects a slightly wrong law at this size: N(0, 1.005^2) as N(0, 1).
    x = np.sort(sow.normal((N,), 0.0, 1.005, seed=3, key=4).astype(np.float64))
    assert ad_pvalue(ad_statistic(log_ndtr(x), log_ndtr(-x))) < 1e-6


@pytest.mark.parametrize("seed,key", [(2026, 12), (1, "blk.0.attn.q")])
def test_normal_float32_ks_and_ad_1e7(seed, key):
    x = np.sort(sow.normal((N,), seed=seed, key=key, dtype="float32").astype(np.float64))
    p_ks = stats.kstest(x, ndtr, method="asymp").pvalue
    p_ad = ad_pvalue(ad_statistic(log_ndtr(x), log_ndtr(-x)))
    assert p_ks > P_MIN and p_ad > P_MIN, (p_ks, p_ad)
    assert abs(x.mean()) < 5 / math.sqrt(N) and abs(x.var() - 1) < 5 * math.sqrt(2 / N)


# (a, b) in standard deviations: the default ±2σ, a one-sided interval, two deep in the tail (the
# table's deepest segments; PPND7's path below t = 0.75 * 2^-31, |z| > 6.275, for every element),
# one straddling the table's edge, and ±100σ.
TRUNC = [(-2.0, 2.0), (0.5, 1.0), (3.0, 4.0), (-6.0, -4.5), (6.1, 6.5), (-8.0, -6.5), (-100.0, 100.0)]


@pytest.mark.parametrize("a,b", TRUNC)
def test_trunc_normal_float32_ks_and_ad_1e7(a, b):
    mean, std = 0.25, 2.0
    lo, hi = mean + std * a, mean + std * b
    v = sow.trunc_normal((N,), mean, std, lo, hi, seed=77, key=f"tn{a},{b}", dtype="float32")
    x = np.sort(v.astype(np.float64))
    assert x[0] >= np.float32(lo) and x[-1] <= np.float32(hi)
    f = ref.trunc_normal_cdf(x, mean, std, lo, hi)
    # log(1 - F) through the upper-tail form where F is near 1 (accurate in both tails).
    s = np.clip(1.0 - f, 0.0, 1.0)
    if a + b > 0:
        qa, qb = ndtr(-a), ndtr(-b)
        s = (ndtr(-(x - mean) / std) - qb) / (qa - qb)
    with np.errstate(divide="ignore"):
        log_f, log_s = np.log(np.maximum(f, 1e-300)), np.log(np.maximum(s, 1e-300))
    p_ks = stats.kstest(x, lambda y: ref.trunc_normal_cdf(y, mean, std, lo, hi), method="asymp").pvalue
    p_ad = ad_pvalue(ad_statistic(log_f, log_s))
    assert p_ks > P_MIN and p_ad > P_MIN, (p_ks, p_ad)


def test_normal_float32_tail_frequencies():
    # 2^27 samples (8 independent keys of 2^24): counts beyond 4σ, 4.34σ (where the table hands
    # over to PPND7), 5σ and 5.5σ against the exact two-sided tail masses.
    n_each, keys = 1 << 24, 8
    thresholds = [4.0, 4.3249, 5.0, 5.5]
    counts = np.zeros(len(thresholds), dtype=np.int64)
    for k in range(keys):
        a = np.abs(sow.normal((n_each,), seed=99, key=1000 + k, dtype="float32"))
        counts += np.array([np.count_nonzero(a > t) for t in thresholds])
    n = n_each * keys
    for t, c in zip(thresholds, counts):
        q = 2 * ndtr(-t)
        bound = 5 * math.sqrt(n * q * (1 - q)) + 1
        assert abs(c - n * q) <= bound, f"|z| > {t}: {c} vs expected {n * q:.1f} ± {bound:.1f}"
