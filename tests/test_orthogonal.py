"""Orthogonal initialization: orthogonality, the documented stream definition, Haar statistics,
16-bit dtypes, determinism, blocks, delta_orthogonal, and every error.

Statistical tests use fixed seeds and state their thresholds; with a correct implementation they
pass with large margins (the p-value thresholds are 1e-3 on deterministic inputs, so a pass is
reproducible, not a coin flip).
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

import sow

scipy_stats = pytest.importorskip("scipy.stats")


def ortho_error(q: np.ndarray) -> float:
    """max |QᵀQ − I| (QQᵀ when wide) of the matrix view (rows = shape[0]), in float64."""
    m = np.asarray(q, dtype=np.float64).reshape(q.shape[0], -1)
    r, c = m.shape
    g = m.T @ m if r >= c else m @ m.T
    g[np.diag_indices_from(g)] -= 1.0
    return float(np.abs(g).max())


# ----------------------------------------------------------------------------------------------
# Orthogonality


@pytest.mark.parametrize(
    "shape",
    [(1, 1), (1, 7), (7, 1), (5, 3), (3, 5), (64, 64), (257, 100), (100, 257), (300, 40, 3),
     (16, 8, 3, 3), (1024, 1024), (2048, 2048), (4096, 512), (512, 4096)],
)
def test_orthonormal_float32(shape):
    q = sow.orthogonal(shape, seed=11, key="w")
    assert q.shape == shape and q.dtype == np.float32
    assert ortho_error(q) <= 5e-6


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (3, 5), (257, 100), (100, 257), (1024, 1024), (40, 5, 5)])
def test_orthonormal_float64(shape):
    q = sow.orthogonal(shape, seed=11, key="w", dtype="float64")
    assert q.dtype == np.float64
    assert ortho_error(q) <= 1e-12


def test_gain_scales_exactly():
    q1 = sow.orthogonal((50, 30), seed=1)
    assert np.array_equal(sow.orthogonal((50, 30), 2.0, seed=1), q1 * np.float32(2))
    assert np.array_equal(sow.orthogonal((50, 30), -1.0, seed=1), -q1)
    assert not sow.orthogonal((50, 30), 0.0, seed=1).any()
    g = 1.7
    q = sow.orthogonal((50, 30), g, seed=1, dtype="float64")
    assert ortho_error(q / g) <= 1e-12


# ----------------------------------------------------------------------------------------------
# The stream definition (docs/stream-format.md, "Orthogonal"), re-derived in NumPy float64


def reference_orthogonal(shape, gain, seed, key, blocks=1):
    """Independent float64 implementation of the documented algorithm."""
    rows = shape[0]
    cols = math.prod(shape[1:])
    gauss = sow.normal((rows, cols), seed=seed, key=key, dtype="float64")
    r = rows // blocks
    out = np.empty((rows, cols))
    for b in range(blocks):
        g = gauss[b * r:(b + 1) * r]
        tall = g if r >= cols else g.T  # m x n, m >= n
        m, n = tall.shape
        q = np.eye(m)[:, :n]
        hs = []
        signs = np.empty(n)
        for k in range(n):
            x = tall[k:, k]
            alpha, xn2 = x[0], float(np.dot(x[1:], x[1:]))
            if xn2 == 0:
                hs.append((k, None, 0.0))
                signs[k] = 1.0 if alpha >= 0 else -1.0
                continue
            beta = -math.copysign(math.sqrt(alpha * alpha + xn2), 1.0 if alpha >= 0 else -1.0)
            v = np.concatenate([[1.0], x[1:] / (alpha - beta)])
            hs.append((k, v, (beta - alpha) / beta))
            signs[k] = 1.0 if beta >= 0 else -1.0
        for k, v, tau in reversed(hs):  # Q = H_1 ... H_n [I; 0]
            if v is not None:
                q[k:] -= tau * np.outer(v, v @ q[k:])
        q = q * signs
        out[b * r:(b + 1) * r] = q if r >= cols else q.T
    return (out * gain).reshape(shape)


@pytest.mark.parametrize(
    "shape,blocks", [((9, 9), 1), ((23, 7), 1), ((7, 23), 1), ((6, 2, 3), 1), ((12, 3), 4), ((8, 10), 2)]
)
def test_matches_documented_algorithm_float64(shape, blocks):
    want = reference_orthogonal(shape, 1.25, seed=5, key=9, blocks=blocks)
    got = sow.orthogonal(shape, 1.25, seed=5, key=9, dtype="float64", blocks=blocks)
    assert np.abs(got - want).max() <= 1e-13


def test_matches_documented_algorithm_float32():
    # float32 uses the float32 Gaussian stream (one word per element), so compare against the
    # reference fed with it: the Q agree to float32 rounding.
    shape = (40, 25)
    got = sow.orthogonal(shape, seed=3, key=4)
    gauss32 = sow.normal(shape, seed=3, key=4).astype(np.float64)
    # Same algorithm as reference_orthogonal, from the float32 Gaussian matrix.
    m, n = shape
    q = np.eye(m)[:, :n]
    signs = np.empty(n)
    hs = []
    for k in range(n):
        x = gauss32[k:, k]
        alpha, xn = x[0], np.linalg.norm(x[1:])
        beta = -math.copysign(math.hypot(alpha, xn), 1.0 if alpha >= 0 else -1.0)
        hs.append((k, np.concatenate([[1.0], x[1:] / (alpha - beta)]), (beta - alpha) / beta))
        signs[k] = np.sign(beta)
    for k, v, tau in reversed(hs):
        q[k:] -= tau * np.outer(v, v @ q[k:])
    assert np.abs(got - q * signs).max() <= 2e-6


def spec_reflectors(a):
    """Section 8's Householder vectors, tau and signs, in place on the Fortran-ordered tall
    matrix `a` (working dtype), with the documented summation order: Python/NumPy float64
    arithmetic is IEEE, so these are the bits sow's C++ (and CUDA) code computes."""
    m, n = a.shape
    tau, sign = np.zeros(n, a.dtype), np.zeros(n, a.dtype)
    for k in range(n):
        x = a[k:, k]
        rest = x[1:].astype(np.float64)
        sq = np.concatenate([rest * rest, np.zeros((-len(rest)) % 8)]).reshape(-1, 8)
        p = np.cumsum(sq, axis=0)[-1] if len(sq) else np.zeros(8)  # cumsum: sequential, in order
        s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
        alpha = float(x[0])
        beta = alpha
        if s != 0:
            norm = math.sqrt(alpha * alpha + s)
            beta = -norm if alpha >= 0 else norm
            tau[k] = (beta - alpha) / beta
            x[1:] = rest * (1.0 / (alpha - beta))
        sign[k] = 1.0 if beta >= 0 else -1.0
    return tau, sign


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(512, 512), (1024, 256), (256, 1024)])
def test_another_orgqr_agrees_to_rounding(shape, dtype):
    # The GPU forms Q with cuSOLVER's orgqr from the same reflectors; here LAPACK's (scipy's
    # OpenBLAS) stands in for it. Two orgqr implementations agree to about one ulp of 1 (measured:
    # 1.9e-7 float32, 3.3e-16 float64 at 512²), which calibrates tests/gpu's tolerance (64 eps).
    from scipy.linalg import lapack

    ref = sow.orthogonal(shape, seed=3, key="k", dtype=dtype)
    g = sow.normal(shape, seed=3, key="k", dtype=dtype)
    tall = shape[0] >= shape[1]
    a = np.array(g if tall else g.T, order="F")
    tau, sign = spec_reflectors(a)
    a[np.triu_indices(a.shape[1], 1)] = 0
    q, _, info = (lapack.dorgqr if dtype == "float64" else lapack.sorgqr)(a, tau)
    assert info == 0
    q = q * sign
    got = q if tall else q.T
    eps = float(np.finfo(dtype).eps)
    assert np.abs(got - ref).max() <= 8 * eps


# ----------------------------------------------------------------------------------------------
# Haar distribution


def test_entry_distribution_exact_beta():
    """Q_ij² of a Haar n×n matrix is Beta(1/2, (n−1)/2), and Q_ij is symmetric about 0. One entry
    per matrix, 3000 independent matrices (keys): KS p-value > 1e-3."""
    n = 8
    vals = np.array([sow.orthogonal((n, n), seed=2024, key=k, dtype="float64")[3, 5]
                     for k in range(3000)])
    p = scipy_stats.kstest(vals**2, scipy_stats.beta(0.5, (n - 1) / 2).cdf).pvalue
    assert p > 1e-3
    assert abs(np.mean(vals > 0) - 0.5) < 4 * 0.5 / math.sqrt(len(vals))


def test_scaled_entries_are_standard_normal():
    """√n·Q_ij ≈ N(0, 1) for a large Haar matrix: KS distance over all 1024² entries < 0.01."""
    n = 1024
    q = sow.orthogonal((n, n), seed=7, key="big", dtype="float64")
    d = scipy_stats.kstest(math.sqrt(n) * q.ravel(), "norm").statistic
    assert d < 0.01
    assert abs(float(np.mean(q)) * n) < 5  # mean of √n·Q_ij ~ N(0, 1/n²)·n: tiny


def test_tall_columns_and_wide_rows_uniform_on_sphere():
    """A column of a tall Haar matrix (a row of a wide one) is uniform on the sphere: its first
    coordinate squared is Beta(1/2, (m−1)/2)."""
    m = 12
    tall = np.array([sow.orthogonal((m, 5), seed=8, key=k, dtype="float64")[0, 2] for k in range(2000)])
    wide = np.array([sow.orthogonal((5, m), seed=8, key=k, dtype="float64")[2, 0] for k in range(2000)])
    dist = scipy_stats.beta(0.5, (m - 1) / 2).cdf
    assert scipy_stats.kstest(tall**2, dist).pvalue > 1e-3
    assert scipy_stats.kstest(wide**2, dist).pvalue > 1e-3


def test_eigenvalue_phases_uniform():
    """Eigenvalue phases of Haar O(n) matrices are uniform on [0, π] up to O(1/n): 8 matrices of
    n = 200, the phases in (0, π): KS p-value > 1e-3. (Householder QR without the sign fix
    concentrates them.)"""
    phases = []
    for k in range(8):
        ev = np.linalg.eigvals(sow.orthogonal((200, 200), seed=99, key=k, dtype="float64"))
        phases.extend(np.angle(ev[ev.imag > 1e-9]))
    phases = np.asarray(phases)
    assert scipy_stats.kstest(phases / math.pi, "uniform").pvalue > 1e-3


def test_no_sign_bias_on_the_diagonal():
    """For Haar O(n): E[tr Q] = 0, E[(tr Q)²] = 1, and each diagonal entry is symmetric. 3000
    matrices n = 16: |mean tr| < 4·σ/√N, |var − 1| < 0.15, positive fraction within 4σ of 1/2."""
    n, count = 16, 3000
    qs = [sow.orthogonal((n, n), seed=31, key=k, dtype="float64") for k in range(count)]
    tr = np.array([np.trace(q) for q in qs])
    diag = np.concatenate([np.diag(q) for q in qs])
    assert abs(tr.mean()) < 4 / math.sqrt(count)
    assert abs(np.mean(tr**2) - 1) < 0.15
    assert abs(np.mean(diag > 0) - 0.5) < 4 * 0.5 / math.sqrt(diag.size)


# ----------------------------------------------------------------------------------------------
# dtypes, determinism, in-place


@pytest.mark.parametrize("dt,npdt", [("float16", np.float16), ("bfloat16", ml_dtypes.bfloat16)])
@pytest.mark.parametrize("shape,gain", [((64, 48), 1.0), ((48, 64), 1.0), ((33, 3, 3), 0.7)])
def test_16bit_is_float32_rounded(dt, npdt, shape, gain):
    q16 = sow.orthogonal(shape, gain, seed=4, key="k", dtype=dt)
    q32 = sow.orthogonal(shape, gain, seed=4, key="k", dtype="float32")
    assert q16.dtype == np.dtype(npdt)
    assert np.array_equal(q16.view(np.uint16), q32.astype(npdt).view(np.uint16))


def test_deterministic_and_thread_independent():
    for shape in [(300, 200), (200, 300), (700, 700)]:
        for dt in ("float32", "float64"):
            ref = sow.orthogonal(shape, seed=3, key=4, dtype=dt, threads=1)
            assert np.array_equal(ref, sow.orthogonal(shape, seed=3, key=4, dtype=dt))
            for t in (2, 3, 5):
                assert np.array_equal(ref, sow.orthogonal(shape, seed=3, key=4, dtype=dt, threads=t))


def test_keys_and_seeds_differ():
    a = sow.orthogonal((20, 20), seed=1, key=0)
    assert not np.array_equal(a, sow.orthogonal((20, 20), seed=1, key=1))
    assert not np.array_equal(a, sow.orthogonal((20, 20), seed=2, key=0))
    assert np.array_equal(sow.orthogonal((20, 20), seed=1, key="w"),
                          sow.orthogonal((20, 20), seed=1, key=sow.key_hash("w")))


def test_uses_the_normal_stream():
    """The Gaussian matrix is sow.normal of the same shape: the first Householder vector is its
    first column (tall) / row (wide), so Q's first column/row is ±x/‖x‖ up to rounding."""
    g = sow.normal((30, 10), seed=6, key=2, dtype="float64")
    q = sow.orthogonal((30, 10), seed=6, key=2, dtype="float64")
    x = g[:, 0] / np.linalg.norm(g[:, 0])
    assert np.abs(q[:, 0] - x).max() < 1e-14  # R_00 > 0 after the sign fix
    gw = sow.normal((10, 30), seed=6, key=2, dtype="float64")
    qw = sow.orthogonal((10, 30), seed=6, key=2, dtype="float64")
    assert np.abs(qw[0] - gw[0] / np.linalg.norm(gw[0])).max() < 1e-14


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_in_place_any_strides(dt):
    shape = (24, 5, 3)
    want = sow.orthogonal(shape, 1.5, seed=9, key=1, dtype=dt)
    npdt = want.dtype
    out = np.empty(shape, dtype=npdt)
    assert sow.orthogonal_(out, 1.5, seed=9, key=1) is out
    assert np.array_equal(out.view(np.uint8), want.view(np.uint8))
    f = np.asfortranarray(np.empty(shape, dtype=npdt))
    sow.orthogonal_(f, 1.5, seed=9, key=1)
    assert np.array_equal(f, want)
    big = np.zeros((48, 5, 6), dtype=npdt)
    view = big[::-2, :, 1::2]
    sow.orthogonal_(view, 1.5, seed=9, key=1)
    assert np.array_equal(view, want)
    assert not big[::-2, :, 0::2].astype(np.float32).any() and not big[-2::-2].astype(np.float32).any()


def test_generator_methods():
    g = sow.Generator(77)
    a = g.orthogonal((6, 4))
    b = g.orthogonal((6, 4), blocks=2)
    c = g.delta_orthogonal((3, 3, 4, 6))
    assert np.array_equal(a, sow.orthogonal((6, 4), seed=77, key=0))
    assert np.array_equal(b, sow.orthogonal((6, 4), seed=77, key=1, blocks=2))
    assert np.array_equal(c, sow.delta_orthogonal((3, 3, 4, 6), seed=77, key=2))
    out = np.empty((5, 5))
    g.orthogonal_(out, key="named")
    assert np.array_equal(out, sow.orthogonal((5, 5), seed=77, key="named", dtype="float64"))
    assert g.position == 3


# ----------------------------------------------------------------------------------------------
# blocks


def test_lstm_blocks():
    h = 32
    w = sow.orthogonal((4 * h, h), seed=1, key="lstm", blocks=4)
    for b in range(4):
        blk = w[b * h:(b + 1) * h].astype(np.float64)
        assert np.abs(blk.T @ blk - np.eye(h)).max() <= 5e-6
        assert np.abs(blk @ blk.T - np.eye(h)).max() <= 5e-6
    # blocks are different (independent) and block 0 is the (h, h) matrix of the same stream
    assert not np.array_equal(w[:h], w[h:2 * h])
    assert np.array_equal(w[:h], sow.orthogonal((h, h), seed=1, key="lstm"))
    assert np.array_equal(sow.orthogonal((4 * h, h), seed=1, key="lstm", blocks=1),
                          sow.orthogonal((4 * h, h), seed=1, key="lstm"))


def test_wide_and_nd_blocks():
    w = sow.orthogonal((6, 4, 5), seed=2, blocks=3)  # blocks of (2, 20): orthonormal rows
    for b in range(3):
        blk = w[2 * b:2 * b + 2].reshape(2, 20).astype(np.float64)
        assert np.abs(blk @ blk.T - np.eye(2)).max() <= 5e-6


# ----------------------------------------------------------------------------------------------
# delta_orthogonal


@pytest.mark.parametrize("shape", [(3, 4, 8), (3, 3, 16, 16), (4, 2, 5, 6), (3, 3, 3, 2, 5), (1, 1, 1)])
@pytest.mark.parametrize("dt", ["float32", "float64", "bfloat16"])
def test_delta_orthogonal(shape, dt):
    w = sow.delta_orthogonal(shape, 1.3, seed=5, key="conv", dtype=dt)
    assert w.shape == shape
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    m = sow.orthogonal(shape[-2:], 1.3, seed=5, key="conv", dtype=dt)
    assert np.array_equal(w[centre], m)
    rest = np.asarray(w, dtype=np.float64).copy()
    rest[centre] = 0
    assert not rest.any()
    if dt == "float64":
        assert ortho_error(m / 1.3) <= 1e-12
    out = np.full(shape, 7, dtype=w.dtype)
    assert sow.delta_orthogonal_(out, 1.3, seed=5, key="conv") is out
    assert np.array_equal(out.view(np.uint8), w.view(np.uint8))


def test_delta_orthogonal_errors():
    with pytest.raises(ValueError, match="3D, 4D or 5D"):
        sow.delta_orthogonal((4, 8), seed=0)
    with pytest.raises(ValueError, match="3D, 4D or 5D"):
        sow.delta_orthogonal((1, 1, 1, 1, 4, 8), seed=0)
    with pytest.raises(ValueError, match=r"shape\[-1\] >= shape\[-2\]"):
        sow.delta_orthogonal((3, 3, 8, 4), seed=0)
    with pytest.raises(ValueError, match="non-empty"):
        sow.delta_orthogonal((0, 3, 4, 4), seed=0)
    with pytest.raises(ValueError, match="scale"):
        sow.delta_orthogonal((3, 4, 4), float("nan"), seed=0)
    out = np.full((3, 8, 4), 5.0, dtype=np.float32)
    with pytest.raises(ValueError):
        sow.delta_orthogonal_(out, seed=0)
    assert (out == 5).all()
    # A scale only float64 can hold: refused before the zero fill, in every 16/32-bit dtype.
    for dt in (np.float32, np.float16, ml_dtypes.bfloat16):
        out = np.full((3, 3, 4, 5), 7.0, dtype=dt)
        with pytest.raises(ValueError, match="scale=.*too large for (float32|float16|bfloat16)"):
            sow.delta_orthogonal_(out, 1e39, seed=0)
        assert (out.astype(np.float32) == 7).all()
    assert np.isfinite(sow.delta_orthogonal((3, 4, 5), 1e39, seed=0, dtype="float64")).all()


# ----------------------------------------------------------------------------------------------
# Errors: raised before anything is written


@pytest.mark.parametrize(
    "shape,kwargs,exc,match",
    [
        ((5,), {}, ValueError, "2 or more dimensions"),
        ((), {}, ValueError, "2 or more dimensions"),
        (5, {}, ValueError, "2 or more dimensions"),
        ((0, 5), {}, ValueError, "non-empty"),
        ((5, 0), {}, ValueError, "non-empty"),
        ((5, 2, 0), {}, ValueError, "non-empty"),
        ((5, -1), {}, ValueError, "negative"),
        ((5, 2.0), {}, TypeError, "shape"),
        ((4, 4), {"gain": float("nan")}, ValueError, "gain"),
        ((4, 4), {"gain": float("inf")}, ValueError, "gain"),
        ((4, 4), {"gain": "1"}, TypeError, "gain"),
        ((4, 4), {"gain": True}, TypeError, "gain"),
        ((4, 4), {"gain": 1e39}, ValueError, "float32"),
        ((4, 4), {"seed": -1}, ValueError, "seed"),
        ((4, 4), {"seed": 2**64}, ValueError, "seed"),
        ((4, 4), {"seed": 1.0}, TypeError, "seed"),
        ((4, 4), {"seed": None}, TypeError, "seed"),
        ((4, 4), {"key": -1}, ValueError, "key"),
        ((4, 4), {"key": 2**64}, ValueError, "key"),
        ((4, 4), {"key": 1.5}, TypeError, "key"),
        ((4, 4), {"key": True}, TypeError, "key"),
        ((4, 4), {"dtype": "int32"}, TypeError, "dtype"),
        ((4, 4), {"dtype": np.complex64}, TypeError, "dtype"),
        ((4, 4), {"threads": 0}, ValueError, "threads"),
        ((4, 4), {"threads": 1.0}, TypeError, "threads"),
        ((4, 4), {"blocks": 0}, ValueError, "blocks"),
        ((4, 4), {"blocks": 3}, ValueError, "divide"),
        ((4, 4), {"blocks": True}, TypeError, "blocks"),
        ((4, 4), {"blocks": 2.0}, TypeError, "blocks"),
    ],
)
def test_errors(shape, kwargs, exc, match):
    kw = {"seed": 0, **kwargs}
    with pytest.raises(exc, match=match):
        sow.orthogonal(shape, **kw)
    # the in-place form raises the same and leaves out untouched (where out can exist)
    if "dtype" in kwargs or not isinstance(shape, tuple) or any(
        not isinstance(d, int) or d < 0 for d in shape
    ):
        return
    out = np.full(shape, 3.0, dtype=np.float32)
    with pytest.raises(exc, match=match):
        sow.orthogonal_(out, **kw)
    assert (out == 3).all()


def test_gain_above_float32_range_is_fine_for_float64():
    q = sow.orthogonal((4, 4), 1e39, seed=0, dtype="float64")
    assert ortho_error(q / 1e39) <= 1e-12


def test_out_errors():
    with pytest.raises(TypeError, match="out must be"):
        sow.orthogonal_([[0.0, 0.0], [0.0, 0.0]], seed=0)
    with pytest.raises(TypeError, match="dtype"):
        sow.orthogonal_(np.zeros((3, 3), dtype=np.int32), seed=0)
    ro = np.zeros((3, 3), dtype=np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        sow.orthogonal_(ro, seed=0)
    base = np.zeros(3, dtype=np.float32)
    overlapping = np.lib.stride_tricks.as_strided(base, shape=(3, 3), strides=(4, 0), writeable=True)
    with pytest.raises(ValueError, match="zero stride"):
        sow.orthogonal_(overlapping, seed=0)
    assert not base.any()
    torch = pytest.importorskip("torch")
    t = torch.zeros(6, 4)  # a CPU tensor is filled in place
    assert sow.orthogonal_(t, seed=3) is t
    assert np.array_equal(t.numpy(), sow.orthogonal((6, 4), seed=3))
    with pytest.raises(ValueError, match="2 or more dimensions"):
        sow.orthogonal_(np.zeros(4, dtype=np.float32), seed=0)
    with pytest.raises(ValueError, match="non-empty"):
        sow.orthogonal_(np.zeros((0, 4), dtype=np.float32), seed=0)
