"""Orthogonal initialization on CUDA (cuda/orthogonal.cu + cuSOLVER): the GPU builds the CPU's
Householder vectors bit for bit and forms Q with cuSOLVER's orgqr instead of our OpenBLAS driver,
so Q agrees with the CPU's to rounding; 16-bit outputs are the GPU's float32 result rounded.
Skipped cleanly without a CUDA build, a device, CuPy, or cuSOLVER."""

from __future__ import annotations


import numpy as np
import pytest

import sow
from sow import _core, _cusolver

cp = pytest.importorskip("cupy") if sow.cuda_available() else None


@pytest.fixture(scope="module", autouse=True)
def _cusolver():
    try:
        return _cusolver.load_cusolver()
    except RuntimeError as e:
        pytest.skip(f"no cuSOLVER: {e}")


def _tol(dtype: str) -> float:
    """Two orgqr implementations from the same reflectors agree elementwise to about one ulp of
    1 (measured on the CPU, sow vs LAPACK sorgqr/dorgqr: 1.4e-7 / 2.9e-16 at 2048², see
    tests/test_orthogonal.py::test_another_orgqr_agrees_to_rounding); 64 eps leaves room for the
    GPU's summation orders. An indexing or sign error would be O(1/sqrt(n))."""
    return 64 * float(np.finfo(np.float64 if dtype == "float64" else np.float32).eps)


SHAPES = [((1, 1), None), ((1, 7), None), ((7, 1), None), ((3, 5), None), ((5, 3), None),
          ((64, 64), None), ((257, 129), None), ((129, 257), None), ((16, 4, 3, 3), None),
          ((512, 512), None), ((64, 16), 4), ((12, 3), 4), ((8, 40), 2)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,blocks", SHAPES)
def test_gpu_equals_cpu_to_rounding(shape, blocks, dtype):
    ref = sow.orthogonal(shape, 1.5, seed=11, key="w", dtype=dtype, blocks=blocks)
    got = sow.orthogonal(shape, 1.5, seed=11, key="w", dtype=dtype, blocks=blocks, device="cuda")
    assert isinstance(got, cp.ndarray) and got.dtype == np.dtype(dtype) and got.shape == shape
    diff = np.abs(cp.asnumpy(got) - ref).max()
    assert diff <= 1.5 * _tol(dtype), diff


def test_sixteen_bit_outputs_are_the_float32_result_rounded():
    import ml_dtypes

    shape = (96, 40)
    f32 = cp.asnumpy(sow.orthogonal(shape, seed=3, key=1, device="cuda"))
    h = sow.orthogonal(shape, seed=3, key=1, dtype="float16", device="cuda")
    np.testing.assert_array_equal(cp.asnumpy(h).view(np.uint16), f32.astype(np.float16).view(np.uint16))
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("bfloat16 on the GPU needs torch with CUDA")
    t = torch.full(shape, float("nan"), dtype=torch.bfloat16, device="cuda")
    sow.orthogonal_(t, seed=3, key=1)
    got = t.view(torch.int16).cpu().numpy().view(np.uint16)
    np.testing.assert_array_equal(got, f32.astype(ml_dtypes.bfloat16).view(np.uint16))


@pytest.mark.parametrize("n,dtype,limit", [(1024, "float32", 5e-6), (4096, "float32", 5e-6),
                                           (1024, "float64", 1e-12)])
def test_orthonormal(n, dtype, limit):
    q = sow.orthogonal((n, n), seed=0, dtype=dtype, device="cuda")
    qtq = q.T @ q if dtype == "float64" else q.astype(cp.float64).T @ q.astype(cp.float64)
    err = float(cp.abs(qtq - cp.eye(n)).max())
    assert err <= limit, err
    wide = sow.orthogonal((n // 4, n), 2.0, seed=1, dtype=dtype, device="cuda").astype(cp.float64)
    err = float(cp.abs(wide @ wide.T / 4.0 - cp.eye(n // 4)).max())
    assert err <= limit, err


def test_deterministic_and_any_strides():
    a = sow.orthogonal((300, 200), seed=5, key="x", device="cuda")
    b = sow.orthogonal((300, 200), seed=5, key="x", device="cuda")
    np.testing.assert_array_equal(cp.asnumpy(a), cp.asnumpy(b))
    base = cp.full((200, 300), cp.nan, dtype=cp.float32)
    sow.orthogonal_(base.T, seed=5, key="x")  # a transposed (column-major) output
    np.testing.assert_array_equal(cp.asnumpy(base.T), cp.asnumpy(a))
    big = cp.zeros((600, 401), dtype=cp.float32)
    view = big[::-2, 1::2]  # negative and non-unit strides
    sow.orthogonal_(view, seed=5, key="x")
    np.testing.assert_array_equal(cp.asnumpy(view), cp.asnumpy(a))
    assert not cp.asnumpy(big[:, 0::2]).any()  # nothing written outside the view


def test_torch_cuda_conv_weight_channels_last():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    w = torch.empty(64, 32, 3, 3, device="cuda").to(memory_format=torch.channels_last)
    assert sow.orthogonal_(w, 0.5, seed=9, key="conv") is w
    ref = sow.orthogonal((64, 32, 3, 3), 0.5, seed=9, key="conv")
    assert np.abs(w.cpu().numpy() - ref).max() <= _tol("float32")
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):  # the current torch stream orders the fill
        x = torch.empty(256, 256, device="cuda")
        sow.orthogonal_(x, seed=2)
        y = x @ x.T
    s.synchronize()
    assert (y - torch.eye(256, device="cuda")).abs().max().item() <= 5e-6


def test_stream_ordering_cupy():
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        q = sow.orthogonal((1024, 1024), seed=4, device="cuda")
        g = q.T @ q
    s.synchronize()
    assert float(cp.abs(g - cp.eye(1024)).max()) <= 5e-6


def test_delta_orthogonal():
    shape = (3, 3, 16, 32)
    ref = sow.delta_orthogonal(shape, 2.0, seed=1, key="c")
    got = cp.asnumpy(sow.delta_orthogonal(shape, 2.0, seed=1, key="c", device="cuda"))
    mask = np.zeros(shape, bool)
    mask[1, 1] = True
    assert not got[~mask].any()
    assert np.abs(got[1, 1] - ref[1, 1]).max() <= 2.0 * _tol("float32")
    out = cp.full(shape, cp.nan, dtype=cp.float32)
    sow.delta_orthogonal_(out, 2.0, seed=1, key="c")
    np.testing.assert_array_equal(cp.asnumpy(out), got)


def test_errors_write_nothing():
    a = cp.zeros((8, 8), dtype=cp.float32)
    with pytest.raises(ValueError, match="gain"):
        sow.orthogonal_(a, float("inf"), seed=0)
    with pytest.raises(ValueError, match="blocks"):
        sow.orthogonal_(a, seed=0, blocks=3)
    with pytest.raises(ValueError, match="non-empty"):
        sow.orthogonal_(cp.zeros((0, 8), dtype=cp.float32), seed=0)
    assert not cp.asnumpy(a).any()
    d = cp.full((3, 3, 4, 5), 7.0, dtype=cp.float32)
    with pytest.raises(ValueError, match="float32 range"):
        sow.delta_orthogonal_(d, 1e39, seed=0)
    assert bool((d == 7).all())
    with pytest.raises(TypeError, match="bfloat16"):
        sow.orthogonal((4, 4), seed=0, dtype="bfloat16", device="cuda")
    n = _core.cuda_device_count()
    with pytest.raises(ValueError, match="does not exist"):
        sow.orthogonal((4, 4), seed=0, device=f"cuda:{n}")
    # Host memory handed to the device entry point is refused by the C++ pointer check.
    h = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match="not CUDA device memory"):
        _core.orthogonal_cuda(h.ctypes.data, "float32", (4, 4), (16, 4), 1.0, 0, 0, 1, 0, 0)
    assert not h.any()
