"""GPU tests: the device writes exactly the CPU's bits. Skipped cleanly without a CUDA build, a
device, or CuPy (torch CUDA tests also need torch with CUDA)."""

from __future__ import annotations

import numpy as np
import pytest

import sow
from sow import _core

cp = pytest.importorskip("cupy") if sow.cuda_available() else None

DTYPES = ["float32", "float64", "float16", "bfloat16"]
SIZES = [1, 3, 7, 733, 2 ** 20 + 1]

# (name, positional args, shape builder) for every random elementwise initializer
RANDOM = [
    ("uniform", (-2.0, 3.0)),
    ("normal", (0.5, 2.0)),
    ("trunc_normal", (0.0, 1.0, -2.0, 2.0)),
    ("trunc_normal", (0.0, 1.0, 20.0, 21.0)),  # deep tail: float32 via float64
    ("xavier_uniform", ()),
    ("xavier_normal", ()),
    ("kaiming_uniform", (5 ** 0.5,)),
    ("kaiming_normal", ()),
    ("lecun_uniform", ()),
    ("lecun_normal", ()),
    ("variance_scaling", ()),
]


def _bits(a) -> np.ndarray:
    """Host bytes of a NumPy/CuPy array or torch tensor."""
    if isinstance(a, np.ndarray):
        return np.ascontiguousarray(a).view(np.uint8).ravel()
    if type(a).__module__.startswith("cupy"):
        return np.ascontiguousarray(cp.asnumpy(a)).view(np.uint8).ravel()
    import torch

    raw = {2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
    return np.ascontiguousarray(a.detach().view(raw).cpu().numpy()).view(np.uint8).ravel()


def _cuda_array(shape, dtype):
    """An uninitialised CUDA array of any sow dtype (torch for bfloat16, CuPy otherwise)."""
    if dtype == "bfloat16":
        torch = pytest.importorskip("torch")
        if not torch.cuda.is_available():
            pytest.skip("bfloat16 on the GPU needs torch with CUDA (CuPy has no bfloat16)")
        return torch.full(shape, float("nan"), dtype=torch.bfloat16, device="cuda")
    return cp.full(shape, cp.nan, dtype=dtype)


def _shape(name, n):
    return (n,) if name in ("uniform", "normal", "trunc_normal") else (n, 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name,args", RANDOM)
def test_random_cpu_equals_gpu(name, args, n, dtype):
    shape = _shape(name, n)
    ref = getattr(sow, name)(shape, *args, seed=123, key="layer", dtype=dtype)
    out = _cuda_array(shape, dtype)
    getattr(sow, name + "_")(out, *args, seed=123, key="layer")
    cp.cuda.Device().synchronize()
    np.testing.assert_array_equal(_bits(out), _bits(ref))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("name,args", RANDOM[:3])
def test_allocating_form_returns_cupy(name, args, dtype):
    a = getattr(sow, name)((37, 5), *args, seed=1, key=2, dtype=dtype, device="cuda")
    assert isinstance(a, cp.ndarray) and a.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(cp.asnumpy(a), getattr(sow, name)((37, 5), *args, seed=1,
                                                                   key=2, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_deterministic_initializers(dtype):
    for name, shape, kw in [("zeros", (5, 7), {}), ("ones", (5, 7), {}),
                            ("constant", (5, 7), {"val": 0.1}), ("eye", (5, 7), {}),
                            ("eye", (9, 4), {}), ("dirac", (6, 4, 3, 3), {"groups": 2}),
                            ("dirac", (4, 4, 5), {})]:
        ref = getattr(sow, name)(shape, dtype=dtype, **kw)
        got = getattr(sow, name)(shape, dtype=dtype, device="cuda", **kw)
        np.testing.assert_array_equal(cp.asnumpy(got), ref, err_msg=f"{name}{shape}")
        out = cp.full(shape, cp.nan, dtype=dtype)
        getattr(sow, name + "_")(out, **kw)
        np.testing.assert_array_equal(cp.asnumpy(out), ref, err_msg=f"{name}_{shape}")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape,sparsity", [((20, 9), 0.3), ((257, 33), 0.9), ((1, 5), 0.5)])
def test_sparse(shape, sparsity, dtype):
    ref = sow.sparse(shape, sparsity, seed=4, key=1, dtype=dtype)
    got = sow.sparse(shape, sparsity, seed=4, key=1, dtype=dtype, device="cuda")
    np.testing.assert_array_equal(cp.asnumpy(got), ref)
    shard = cp.empty((shape[0] - shape[0] // 2, shape[1] // 2 + 1), dtype=dtype)
    sow.sparse_(shard, sparsity, seed=4, key=1, global_shape=shape,
                shard=(slice(shape[0] // 2, None), slice(0, shape[1] // 2 + 1)))
    np.testing.assert_array_equal(cp.asnumpy(shard), ref[shape[0] // 2:, :shape[1] // 2 + 1])


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_shards_and_strides(dtype):
    g = (13, 11, 7)
    full = sow.normal(g, seed=5, key="w", dtype=dtype)
    for shard in [(slice(2, 9),), (slice(0, 13), slice(3, 10)), (slice(4, 5), slice(0, 1)),
                  (slice(1, 12), slice(2, 9), slice(1, 6)), (slice(3, 4), slice(5, 6), slice(6, 7))]:
        sizes = tuple((s.stop - s.start) for s in shard) + g[len(shard):]
        out = cp.empty(sizes, dtype=dtype)
        sow.normal_(out, seed=5, key="w", global_shape=g, shard=shard)
        np.testing.assert_array_equal(cp.asnumpy(out), full[shard])
    # non-contiguous, transposed and negative-stride outputs
    base = cp.zeros((20, 30), dtype=dtype)
    for view in [base[::2, 1::3], base.T, base[::-1, ::-2], base[3:4, :]]:
        sow.uniform_(view, seed=1, key=3)
        np.testing.assert_array_equal(cp.asnumpy(view),
                                      sow.uniform(view.shape, seed=1, key=3, dtype=dtype))


@pytest.mark.parametrize("offset", [0, 1, 2, 3])
def test_unaligned_starts(offset):
    base = cp.zeros(1000, dtype=cp.float32)
    view = base[offset:offset + 733]
    sow.normal_(view, seed=0, key=1, global_shape=(900,), shard=(slice(offset, offset + 733),))
    np.testing.assert_array_equal(cp.asnumpy(view),
                                  sow.normal((900,), seed=0, key=1)[offset:offset + 733])


def test_stream_ordering_on_a_non_default_stream():
    n = 1 << 22
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        a = cp.empty(n, dtype=cp.float32)
        sow.normal_(a, seed=7)  # CuPy's current stream: s
        b = a * 2  # ordered after the fill on s
    s.synchronize()
    np.testing.assert_array_equal(cp.asnumpy(b), sow.normal((n,), seed=7) * 2)
    c = cp.empty(n, dtype=cp.float32)
    cp.cuda.Device().synchronize()
    s2 = cp.cuda.Stream(non_blocking=True)
    sow.uniform_(c, seed=8, stream=s2)  # explicit stream=
    s2.synchronize()
    np.testing.assert_array_equal(cp.asnumpy(c), sow.uniform((n,), seed=8))


def _torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    return torch


@pytest.mark.parametrize("name,args", RANDOM)
def test_torch_cuda_bfloat16_in_place(name, args):
    torch = _torch_cuda()
    t = torch.full((129, 33), float("nan"), dtype=torch.bfloat16, device="cuda")
    assert getattr(sow, name + "_")(t, *args, seed=3, key="b") is t
    ref = getattr(sow, name)((129, 33), *args, seed=3, key="b", dtype="bfloat16")
    np.testing.assert_array_equal(_bits(t), _bits(ref))


def test_torch_cuda_stream_and_dlpack_exporter():
    torch = _torch_cuda()
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        t = torch.empty(1 << 20, device="cuda")
        sow.kaiming_normal_(t.view(1024, 1024), seed=2)
        u = t + 0
    s.synchronize()
    np.testing.assert_array_equal(u.cpu().numpy().reshape(1024, 1024),
                                  sow.kaiming_normal((1024, 1024), seed=2))

    class Exporter:  # a generic DLPack exporter over CUDA memory
        def __init__(self, x):
            self.x = x

        def __dlpack__(self, **kw):
            return self.x.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.x.__dlpack_device__()

    x = cp.empty((17, 3), dtype=cp.float16)
    sow.lecun_normal_(Exporter(x), seed=1)
    cp.cuda.Device().synchronize()
    np.testing.assert_array_equal(cp.asnumpy(x), sow.lecun_normal((17, 3), seed=1,
                                                                  dtype="float16"))


def test_errors():
    n = _core.cuda_device_count()
    with pytest.raises(ValueError, match="does not exist"):
        sow.normal((3,), seed=0, device=f"cuda:{n}")
    with pytest.raises(TypeError, match="bfloat16"):
        sow.normal((3,), seed=0, dtype="bfloat16", device="cuda")
    with pytest.raises(TypeError, match="dtype"):
        sow.normal_(cp.empty(3, dtype=cp.int32), seed=0)
    with pytest.raises(TypeError, match="dtype"):
        sow.normal_(cp.empty(3, dtype=cp.complex64), seed=0)
    # Validation happens before anything is written, as on the CPU.
    a = cp.zeros(5, dtype=cp.float32)
    with pytest.raises(ValueError):
        sow.uniform_(a, 1.0, 0.0, seed=0)
    with pytest.raises(ValueError):
        _core.fill_cuda(a.data.ptr, "float32", (5,), (4,), (4,), (0,), "normal", (0.0, 1.0),
                        0, 0, 0, 0, 0)
    assert not cp.asnumpy(a).any()
    # Host memory handed to the device path is refused by the C++ pointer check.
    h = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="not CUDA device memory"):
        _core.fill_cuda(h.ctypes.data, "float32", (4,), (4,), (), (), "normal", (0.0, 1.0), 0, 0,
                        0, 0, 0)
    if n > 1:
        with cp.cuda.Device(1):
            b = cp.empty(4, dtype=cp.float32)
        with pytest.raises(ValueError, match="lives on cuda:1"):
            _core.fill_cuda(b.data.ptr, "float32", (4,), (4,), (), (), "normal", (0.0, 1.0), 0, 0,
                            0, 0, 0)
        with pytest.raises(ValueError, match="not on device"):
            sow.init_batch([(b, "zeros", 0)], seed=0, device="cuda:0")


def test_jax_read_only_export_is_refused():
    jax = pytest.importorskip("jax")
    x = jax.numpy.zeros((4,), dtype=jax.numpy.float32)
    with pytest.raises(TypeError, match="immutable"):
        sow.normal_(x, seed=0)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_batched_equals_individual(dtype):
    rng = np.random.default_rng(0)
    names = [r[0] for r in RANDOM] + ["zeros", "ones", "constant"]
    items, refs = [], []
    for i in range(300):
        name = names[i % len(names)]
        shape = tuple(int(v) for v in rng.integers(1, 40, size=1 + i % 3))
        if name not in ("uniform", "normal", "trunc_normal", "zeros", "ones", "constant"):
            shape = shape + (3,) if len(shape) == 1 else shape
        spec = (name, {"val": 0.25}) if name == "constant" else name
        key = f"p.{i}"
        items.append((cp.full(shape, cp.nan, dtype=dtype), spec, key))
        fn = getattr(sow, name)
        kw = {} if name in ("zeros", "ones", "constant") else {"seed": 99, "key": key}
        refs.append(fn(shape, *((0.25,) if name == "constant" else ()), dtype=dtype, **kw))
    out = sow.init_batch(items, seed=99)
    cp.cuda.Device().synchronize()
    for got, ref in zip(out, refs):
        np.testing.assert_array_equal(_bits(got), _bits(ref))
    # mixed: strided items take their own launches, same results
    base = cp.zeros((10, 8), dtype=dtype)
    sow.init_batch([(base[:, ::2], "xavier_uniform", 1), (base[:, 1::2], "normal", 2)], seed=3)
    np.testing.assert_array_equal(cp.asnumpy(base[:, ::2]),
                                  sow.xavier_uniform((10, 4), seed=3, key=1, dtype=dtype))
    np.testing.assert_array_equal(cp.asnumpy(base[:, 1::2]),
                                  sow.normal((10, 4), seed=3, key=2, dtype=dtype))
    # allocating batch on the device
    got = sow.init_batch([((5, 3), "kaiming_uniform", "k")], seed=1, device="cuda", dtype=dtype)
    np.testing.assert_array_equal(cp.asnumpy(got[0]),
                                  sow.kaiming_uniform((5, 3), seed=1, key="k", dtype=dtype))


def test_batched_torch_bfloat16():
    torch = _torch_cuda()
    ts = [torch.empty(n, dtype=torch.bfloat16, device="cuda") for n in (1, 3, 7, 733)]
    sow.init_batch([(t, "normal", i) for i, t in enumerate(ts)], seed=5)
    for i, t in enumerate(ts):
        np.testing.assert_array_equal(_bits(t), _bits(sow.normal((t.numel(),), seed=5, key=i,
                                                                 dtype="bfloat16")))
