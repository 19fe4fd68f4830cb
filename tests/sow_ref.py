"""Plain re-derivations of sow's stream format (docs/stream-format.md) used by the tests.

Written from the definitions, not from sow's source: Philox4x32 from Random123's round/bump
definition, FNV-1a 64 from its definition, and the integer-to-float maps of stream-format §3-4 in
NumPy.  Nothing here imports sow, so a test comparing sow against these functions compares two
independent implementations.
"""

from __future__ import annotations

import math
import pathlib

import ml_dtypes
import numpy as np

DTYPES = ["float32", "float64", "float16", "bfloat16"]
NP_DTYPES = {
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}

KAT_DIR = pathlib.Path(__file__).resolve().parent / "kat"

M0 = 0xD2511F53
M1 = 0xCD9E8D57
W0 = 0x9E3779B9
W1 = 0xBB67AE85
MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1


# --------------------------------------------------------------------------------------------
# Philox4x32-R, scalar (pure Python ints)
# --------------------------------------------------------------------------------------------
def philox4x32(ctr, key, rounds=10):
    """Random123 philox4x32_R: round, then (R-1) x {bump key; round}."""
    c0, c1, c2, c3 = (int(v) & MASK32 for v in ctr)
    k0, k1 = (int(v) & MASK32 for v in key)
    for r in range(rounds):
        if r:
            k0 = (k0 + W0) & MASK32
            k1 = (k1 + W1) & MASK32
        p0 = M0 * c0
        p1 = M1 * c2
        hi0, lo0 = p0 >> 32, p0 & MASK32
        hi1, lo1 = p1 >> 32, p1 & MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return (c0, c1, c2, c3)


def stream_counter(block, key, domain):
    """Counter words of block `block` of stream (key, domain), stream-format §2."""
    key = int(key) & MASK64
    return (
        block & MASK32,
        ((block >> 32) | (domain << 24)) & MASK32,
        key & MASK32,
        key >> 32,
    )


def stream_key(seed):
    seed = int(seed)
    return (seed & MASK32, seed >> 32)


def stream_words_py(seed, key, domain, start, count):
    """Stream words [start, start+count) computed one Philox call at a time (slow, exact)."""
    out = []
    w = start
    end = start + count
    while w < end:
        b = w // 4
        blk = philox4x32(stream_counter(b, key, domain), stream_key(seed))
        j = w % 4
        take = min(4 - j, end - w)
        out.extend(blk[j : j + take])
        w += take
    return out


# --------------------------------------------------------------------------------------------
# Philox4x32-10, vectorised over blocks with NumPy uint64 arithmetic
# --------------------------------------------------------------------------------------------
def philox4x32_np(c0, c1, c2, c3, k0, k1, rounds=10):
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & np.uint64(MASK32) for c in (c0, c1, c2, c3))
    k0 = np.uint64(int(k0) & MASK32)
    k1 = np.uint64(int(k1) & MASK32)
    m32 = np.uint64(MASK32)
    s32 = np.uint64(32)
    for r in range(rounds):
        if r:
            k0 = np.uint64((int(k0) + W0) & MASK32)
            k1 = np.uint64((int(k1) + W1) & MASK32)
        p0 = np.uint64(M0) * c0
        p1 = np.uint64(M1) * c2
        hi0, lo0 = p0 >> s32, p0 & m32
        hi1, lo1 = p1 >> s32, p1 & m32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def stream_words(seed, key, domain, start, count):
    """Stream words [start, start+count) as uint32, vectorised (stream-format §2)."""
    if count == 0:
        return np.zeros(0, dtype=np.uint32)
    b0 = start // 4
    b1 = (start + count - 1) // 4 + 1
    blocks = np.arange(b0, b1, dtype=np.uint64)
    key = int(key) & MASK64
    c0 = blocks & np.uint64(MASK32)
    c1 = (blocks >> np.uint64(32)) | np.uint64(domain << 24)
    c2 = np.full_like(blocks, key & MASK32)
    c3 = np.full_like(blocks, key >> 32)
    k0, k1 = stream_key(seed)
    o = philox4x32_np(c0, c1, c2, c3, k0, k1)
    words = np.stack(o, axis=1).reshape(-1).astype(np.uint32)
    off = start - 4 * b0
    return words[off : off + count]


# --------------------------------------------------------------------------------------------
# FNV-1a 64 (stream-format §1)
# --------------------------------------------------------------------------------------------
def fnv1a64(s: str) -> int:
    h = 0xCBF29CE484222325
    for c in s.encode("utf-8"):
        h ^= c
        h = (h * 0x100000001B3) & MASK64
    return h


# --------------------------------------------------------------------------------------------
# Integer -> float maps (stream-format §3-4) from raw words
# --------------------------------------------------------------------------------------------
def words64(words32):
    """Element g of a float64 tensor uses X = word(2g) + 2^32 word(2g+1)."""
    w = np.asarray(words32, dtype=np.uint64)
    return w[0::2] | (w[1::2] << np.uint64(32))


def sym_uniform_f32(x):
    m = (np.asarray(x, dtype=np.uint32) >> np.uint32(8)).astype(np.int64)
    return (2 * m + 1 - (1 << 24)).astype(np.float32) * np.float32(2.0**-24)


def sym_uniform_f64(X):
    m = (np.asarray(X, dtype=np.uint64) >> np.uint64(11)).astype(np.int64)
    return (2 * m + 1 - (1 << 53)).astype(np.float64) * 2.0**-53


def open_uniform_f32(x):
    m = (np.asarray(x, dtype=np.uint32) >> np.uint32(9)).astype(np.int64)
    return (2 * m + 1).astype(np.float32) * np.float32(2.0**-24)


def open_uniform_f64(X):
    m = (np.asarray(X, dtype=np.uint64) >> np.uint64(12)).astype(np.int64)
    return (2 * m + 1).astype(np.float64) * 2.0**-53


def normal_input_f32(x):
    """(p, sign) of stream-format §4, float32 path: p in (0, 1/2] exactly as float32 (words with
    the sign bit use the complement of their low 31 bits)."""
    x = np.asarray(x, dtype=np.uint32)
    sign = (x >> np.uint32(31)).astype(bool)
    y = np.where(sign, ~x, x) & np.uint32(0x7FFFFFFF)
    t = y.astype(np.int64).astype(np.float32) * np.float32(2.0**-31) + np.float32(2.0**-32)
    p = t * np.float32(0.5)
    return p, sign


# --------------------------------------------------------------------------------------------
# The float32 inverse normal CDF of stream-format §5, re-derived from the document's text and
# its coefficient table (parsed from docs/stream-format.md itself), in NumPy float32
# arithmetic: every operation below is one IEEE float32 operation, as the format prescribes.
# --------------------------------------------------------------------------------------------
DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "stream-format.md"


def inv_phi32_table():
    """c[j][q] from the table of stream-format §5 (rows '| q | segment | c0 | ... | c7 |')."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 10 and cells[0].isdigit() and cells[2].startswith(("0x", "-0x")):
            rows[int(cells[0])] = [float.fromhex(c) for c in cells[2:]]
    assert sorted(rows) == list(range(32)), "stream-format.md: the inverse CDF table has 32 rows"
    c = np.array([rows[q] for q in range(32)], dtype=np.float64)
    assert np.all(c.astype(np.float32).astype(np.float64) == c), "table values must be float32"
    return c.T.astype(np.float32)  # (8, 32)


def fma32(a, b, c):
    """a * b + c rounded once to float32 (ties to even), elementwise, exactly as IEEE fma: the
    product of two float32 is exact in float64; the sum's float64 rounding error is recovered
    (TwoSum), and the one case where rounding float64 to float32 could differ from rounding the
    exact value (the float64 sum on a float32 midpoint with a nonzero error) is decided by the
    error's sign. Normal-range values only, as the format's evaluation has."""
    a, b, c = (np.asarray(v, dtype=np.float32).astype(np.float64) for v in (a, b, c))
    p = a * b
    s = p + c
    bb = s - p
    err = (p - (s - bb)) + (c - bb)
    f = s.astype(np.float32)
    toward = np.where(s > f.astype(np.float64), np.float32(np.inf), np.float32(-np.inf)).astype(np.float32)
    other = np.nextafter(f, toward)
    mid = (f.astype(np.float64) + other.astype(np.float64)) / 2
    tie = (s == mid) & (err != 0)
    up = np.maximum(f, other)
    down = np.minimum(f, other)
    return np.where(tie, np.where(err > 0, up, down), f).astype(np.float32)


def _f32(v):
    return np.float32(v)


def log_sow_f32(x):
    """stream-format §5's log_s for normal float32 x > 0."""
    x = np.asarray(x, dtype=np.float32)
    i = x.view(np.int32) - np.int32(0x3F3504F3)
    k = i >> np.int32(23)
    m = ((i & np.int32(0x7FFFFF)) + np.int32(0x3F3504F3)).view(np.float32)
    f = m - _f32(1)
    s = f / (_f32(2) + f)
    z = s * s
    R = z * (_f32(2 / 3) + z * (_f32(2 / 5) + z * (_f32(2 / 7) + z * _f32(2 / 9))))
    h = (_f32(0.5) * f) * f
    dk = k.astype(np.float32)
    return dk * _f32(float.fromhex("0x1.62e4p-1")) - ((h - (s * (h + R) + dk * _f32(1.4286068203094173e-06))) - f)


def _horner32(x, coefs):
    acc = np.zeros_like(x) + _f32(coefs[-1])
    for c in coefs[-2::-1]:
        acc = (_f32(c) + x * acc) if np.ndim(c) == 0 else (c + x * acc)
    return acc


def inv_phi_lower_t_f32(t):
    """Phi^-1(t/2) for float32 t in (0, 1], exactly as stream-format §5 (format 3) defines it."""
    t = np.asarray(t, dtype=np.float32)
    c = inv_phi32_table()
    t16 = (t * _f32(2.0**16)).astype(np.float32)  # exact
    up = t16.view(np.int32) + np.int32(0x400000)
    q = (up >> np.int32(23)) - np.int32(112)
    e = ((up & np.int32(0x7F800000)) | np.int32(0x400000)).view(np.float32)
    e = np.where(e < _f32(2.0**16), e, _f32(2.0**16)).astype(np.float32)
    r = (e - t16).astype(np.float32)
    qq = q & 31
    a = c[7][qq]
    for j in range(6, -1, -1):
        a = fma32(r, a, c[j][qq])
    z = -a
    tail = t16 < _f32(float.fromhex("0x1.8p-16"))
    if np.any(tail):
        tt = t[tail]
        rt = np.sqrt(-log_sow_f32(tt * _f32(0.5)))
        near = rt <= _f32(5)
        x = np.where(near, rt - _f32(1.6), rt - _f32(5)).astype(np.float32)
        num = np.where(near, _horner32(x, [1.4234372777, 2.7568153900, 1.3067284816, 1.7023821103e-1]),
                       _horner32(x, [6.6579051150, 3.0812263860, 4.2868294337e-1, 1.7337203997e-2]))
        den = np.where(near, _horner32(x, [1.0, 7.3700164250e-1, 1.2021132975e-1, 0.0]),
                       _horner32(x, [1.0, 2.4197894225e-1, 1.2258202635e-2, 0.0]))
        z = z.copy()
        z[tail] = -(num / den)
    return z


def normal_f32_from_words(words32, mean=0.0, std=1.0):
    """The exact float32 normal(mean, std) values of stream-format §4-5 from raw words."""
    p, sign = normal_input_f32(words32)
    t = np.asarray(p, dtype=np.float32) * _f32(2)  # t = 2p exactly (p = t/2 was exact)
    z = inv_phi_lower_t_f32(t)
    z = np.where(sign, -z, z).astype(np.float32)
    return _f32(mean) + _f32(std) * z


def normal_input_f64(X):
    X = np.asarray(X, dtype=np.uint64)
    sign = (X >> np.uint64(63)).astype(bool)
    y = ((X >> np.uint64(11)) & np.uint64((1 << 52) - 1)).astype(np.int64)
    p = (2 * y + 1).astype(np.float64) * 2.0**-54
    return p, sign


def uniform_from_words(words32, low, high, dtype):
    """Exact uniform(low, high) values (stream-format §5) for float32 or float64."""
    mid = low / 2.0 + high / 2.0  # float64, halves first (no overflow for finite bounds)
    half = high / 2.0 - low / 2.0
    if np.dtype(dtype) == np.float64:
        s = sym_uniform_f64(words64(words32))
        return np.float64(mid) + np.float64(half) * s
    s = sym_uniform_f32(words32)
    return np.float32(mid) + np.float32(half) * s


def normal_z_reference(words32, dtype):
    """Phi^-1 of the §4 inputs, in float64 (scipy's ndtri), sign applied: the exact z of §5."""
    from scipy.special import ndtri

    if np.dtype(dtype) == np.float64:
        p, sign = normal_input_f64(words64(words32))
        z = ndtri(p)
    else:
        p, sign = normal_input_f32(words32)
        z = ndtri(p.astype(np.float64))
    return np.where(sign, -z, z)


def trunc_normal_reference(words32, mean, std, a, b, dtype):
    """The exact inverse-CDF value of stream-format §5 trunc_normal, evaluated in float64 with
    scipy's ndtr/ndtri (accurate in the lower tail), from the §4 open uniform u. Returned before the
    final rounding to the output precision (and unclamped)."""
    from scipy.special import ndtr, ndtri

    if np.dtype(dtype) == np.float64:
        u = open_uniform_f64(words64(words32))
    else:
        u = open_uniform_f32(words32).astype(np.float64)
    alpha = (a - mean) / std
    beta = (b - mean) / std
    flip = alpha + beta > 0
    if flip:
        alpha, beta = -beta, -alpha
    pa = ndtr(alpha)
    qb = ndtr(-beta)
    delta = ndtr(beta) - ndtr(alpha) if beta <= 0 else 1.0 - pa - qb
    p = pa + u * delta
    with np.errstate(all="ignore"):
        z_lo = ndtri(p)
        z_hi = -ndtri(qb + (1.0 - u) * delta)
    z = np.where(p < 0.5, z_lo, z_hi)
    if flip:
        z = -z
    return mean + std * z


# --------------------------------------------------------------------------------------------
# Distributions used by the statistics tests
# --------------------------------------------------------------------------------------------
def trunc_normal_cdf(x, mean, std, a, b):
    """CDF of N(mean, std^2) truncated to [a, b], accurate when [a, b] is deep in either tail."""
    from scipy.special import ndtr

    x = (np.asarray(x, dtype=np.float64) - mean) / std
    alpha = (a - mean) / std
    beta = (b - mean) / std
    x = np.clip(x, alpha, beta)
    if alpha + beta > 0:  # upper tail: work with survival functions
        qa, qb = ndtr(-alpha), ndtr(-beta)
        return (qa - ndtr(-x)) / (qa - qb)
    pa, pb = ndtr(alpha), ndtr(beta)
    return (ndtr(x) - pa) / (pb - pa)


def trunc_normal_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std^2) truncated to [a, b] (float64, via mpmath so
    deep-tail intervals are exact enough)."""
    import mpmath as mp

    mp.mp.dps = 60
    al = mp.mpf(a - mean) / std
    be = mp.mpf(b - mean) / std
    phi = lambda t: mp.exp(-t * t / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
    # Z = P(al < X < be), computed in whichever tail keeps it away from 1 - 1.
    Z = mp.ncdf(-al) - mp.ncdf(-be) if al + be > 0 else mp.ncdf(be) - mp.ncdf(al)
    m1 = (phi(al) - phi(be)) / Z
    var = 1 + (al * phi(al) - be * phi(be)) / Z - m1 * m1
    return float(mean + std * m1), float(std * mp.sqrt(var))


# --------------------------------------------------------------------------------------------
# 16-bit rounding helpers
# --------------------------------------------------------------------------------------------
def bits_of(a):
    a = np.asarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def next_up(v, dtype):
    """The next representable value above each (finite) v of a 16-bit dtype, as float64."""
    v = np.asarray(v, dtype=dtype)
    b = v.view(np.uint16).astype(np.int64)
    neg = (b & 0x8000) != 0
    is_zero = (b & 0x7FFF) == 0
    nb = np.where(neg, b - 1, b + 1)
    nb = np.where(is_zero, 1, nb)  # +-0 -> smallest positive subnormal
    nb = np.where(neg & is_zero, 1, nb)
    return nb.astype(np.uint16).view(dtype).astype(np.float64)


def next_down(v, dtype):
    return -next_up(-np.asarray(v, dtype=dtype), dtype)


def ks_statistic_rounded(values, cdf, dtype):
    """Kolmogorov-Smirnov distance between the sample `values` (of a 16-bit `dtype`) and the law of
    round_to_dtype(X) with X ~ cdf.  The law is discrete: P(value <= v) = cdf(midpoint(v, next_up v)).
    Comparing at the jump points only, the statistic is stochastically no larger than the continuous
    one, so p-values from the continuous KS distribution are conservative."""
    v = np.sort(np.asarray(values, dtype=dtype).astype(np.float64))
    n = v.size
    uniq, first = np.unique(v, return_index=True)
    last = np.append(first[1:], n)  # ECDF(u) = last/n ; ECDF(u-) = first/n
    up = (uniq + next_up(uniq, dtype)) / 2.0
    down = (uniq + next_down(uniq, dtype)) / 2.0
    d_plus = np.max(np.abs(last / n - cdf(up)))
    d_minus = np.max(np.abs(first / n - cdf(down)))
    return float(max(d_plus, d_minus)), n


def ks_pvalue(d, n):
    from scipy.stats import kstwo

    return float(kstwo.sf(d, n))


def as_f64(a):
    return np.asarray(a).astype(np.float64)


def fans_torch(shape):
    if len(shape) < 2:
        raise ValueError("fewer than 2 dims")
    rf = math.prod(shape[2:])
    return shape[1] * rf, shape[0] * rf


def fans_jax(shape):
    if len(shape) < 2:
        raise ValueError("fewer than 2 dims")
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf
