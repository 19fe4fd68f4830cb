"""CUDA-related behaviour that runs everywhere (no GPU needed): the device= argument without a
device, init_batch on the CPU, torch CPU tensors and DLPack exporters filled in place, and
read-only exports refused. GPU bit-identity tests live in tests/gpu/test_cuda.py."""

from __future__ import annotations

import numpy as np
import pytest

import sow
from sow import _core

needs_no_gpu = pytest.mark.skipif(sow.cuda_available(), reason="checks the no-device errors")


def test_core_reports_cuda_build():
    assert isinstance(_core.has_cuda, bool)
    assert _core.cuda_device_count() >= 0
    assert isinstance(_core.cuda_unavailable_reason(), str)


@needs_no_gpu
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "gpu"])
@pytest.mark.parametrize("fn", ["normal", "xavier_uniform", "zeros", "eye", "sparse"])
def test_device_without_gpu_is_a_clear_runtime_error(fn, device):
    args = {"sparse": (0.5,)}.get(fn, ())
    kw = {} if fn in ("zeros", "eye") else {"seed": 0}
    with pytest.raises(RuntimeError, match="no CUDA device"):
        getattr(sow, fn)((4, 4), *args, device=device, **kw)


@needs_no_gpu
def test_init_batch_device_without_gpu():
    with pytest.raises(RuntimeError, match="no CUDA device"):
        sow.init_batch([((3,), "zeros", 0)], seed=0, device="cuda")


@pytest.mark.parametrize("device", ["cuda:x", "tpu", "cuda:-1", -1, 1.5])
def test_bad_device_values(device):
    with pytest.raises(ValueError, match="device"):
        sow.normal((3,), seed=0, device=device)


@pytest.mark.parametrize("device", [None, "cpu"])
def test_cpu_device_is_numpy(device):
    a = sow.normal((5, 3), seed=1, device=device)
    assert isinstance(a, np.ndarray)
    np.testing.assert_array_equal(a, sow.normal((5, 3), seed=1))


def test_stream_with_host_output_is_refused():
    with pytest.raises(ValueError, match="stream"):
        sow.normal_(np.empty(3, np.float32), seed=0, stream=0)


# ---------------------------------------------------------------------------------------------
# init_batch on the CPU == one in-place call per item


SPECS = [
    ("uniform", {"a": -2.0, "b": 3.0}),
    ("normal", {"mean": 1.0, "std": 0.5}),
    ("trunc_normal", {"std": 2.0, "a": -1.0, "b": 3.0}),
    ("xavier_uniform", {"gain": 1.5}),
    ("xavier_normal", {}),
    ("kaiming_uniform", {"a": 5 ** 0.5}),
    ("kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("lecun_uniform", {}),
    ("lecun_normal", {"layout": "jax"}),
    ("variance_scaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}),
    ("variance_scaling", {}),
    ("constant", {"val": 0.3}),
    ("zeros", {}),
    ("ones", {}),
    ("eye", {}),
    ("dirac", {}),
    ("sparse", {"sparsity": 0.25}),
]


def _shape_for(name: str, i: int) -> tuple[int, ...]:
    if name == "dirac":
        return (4, 3, 3)
    if name in ("eye", "sparse"):
        return (7, 5)
    return [(1, 1), (3, 1), (7, 5), (733, 3), (16, 3, 3), (2, 9)][i % 6]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_init_batch_cpu_equals_individual_calls(dtype):
    items, expect = [], []
    for i, (name, params) in enumerate(SPECS):
        shape = _shape_for(name, i)
        key = f"layer.{i}"
        ref = np.empty(shape, dtype=sow.zeros((1,), dtype=dtype).dtype)
        fn = getattr(sow, name + "_")
        if name in ("constant", "zeros", "ones", "eye", "dirac"):
            fn(ref, **params)
        else:
            fn(ref, **params, seed=11, key=key)
        expect.append(ref)
        spec = sow.Spec(name, **params) if i % 2 else (name, params)
        items.append((np.full(shape, np.nan, dtype=ref.dtype), spec, key))
    out = sow.init_batch(items, seed=11)
    assert len(out) == len(items)
    for (arr, _, _), got, ref in zip(items, out, expect):
        assert got is arr
        np.testing.assert_array_equal(got.view(np.uint8), ref.view(np.uint8))


def test_init_batch_allocates_shapes():
    out = sow.init_batch([((4, 3), "xavier_uniform", "w"), (5, ("normal", {"std": 2.0}), 7)],
                         seed=3, dtype="float64")
    np.testing.assert_array_equal(out[0], sow.xavier_uniform((4, 3), seed=3, key="w",
                                                             dtype="float64"))
    np.testing.assert_array_equal(out[1], sow.normal((5,), std=2.0, seed=3, key=7,
                                                     dtype="float64"))


def test_init_batch_strided_and_sharded_items():
    base = np.zeros((8, 6), np.float32)
    view = base[:, ::2]
    shard = np.empty((2, 6), np.float32)
    sow.init_batch([(view, "kaiming_uniform", 1),
                    (shard, ("normal", {"global_shape": (8, 6), "shard": (slice(2, 4),)}), 2)],
                   seed=5)
    np.testing.assert_array_equal(view, sow.kaiming_uniform((8, 3), seed=5, key=1))
    np.testing.assert_array_equal(shard, sow.normal((8, 6), seed=5, key=2)[2:4])


def test_init_batch_errors():
    a = np.empty(3, np.float32)
    with pytest.raises(ValueError, match="unknown initializer"):
        sow.init_batch([(a, "nope", 0)], seed=0)
    with pytest.raises(TypeError, match=r"items\[0\]"):
        sow.init_batch([(a, ("normal", {"sigma": 1.0}), 0)], seed=0)
    with pytest.raises(TypeError, match="triple"):
        sow.init_batch([(a, "normal")], seed=0)
    with pytest.raises(TypeError, match="spec"):
        sow.init_batch([(a, 3, 0)], seed=0)
    # Validation of the elementwise items happens before anything is written.
    b = np.zeros(3, np.float32)
    with pytest.raises(ValueError):
        sow.init_batch([(b, "normal", 0), (a, ("uniform", {"a": 1.0, "b": 0.0}), 1)], seed=0)
    assert not b.any()
    assert sow.init_batch([], seed=0) == []


# ---------------------------------------------------------------------------------------------
# torch CPU tensors and DLPack exporters, filled in place by the CPU engine


def _torch():
    return pytest.importorskip("torch")


def _bits(x):
    return np.ascontiguousarray(x).view(np.uint8)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("fn,args", [("normal", ()), ("uniform", (-1.0, 1.0)),
                                     ("trunc_normal", (0.0, 1.0, -2.0, 2.0)),
                                     ("kaiming_uniform", ()), ("xavier_normal", ())])
def test_torch_cpu_in_place_equals_numpy(fn, args, dtype):
    torch = _torch()
    t = torch.full((33, 17), float("nan"), dtype=getattr(torch, dtype))
    got = getattr(sow, fn + "_")(t, *args, seed=9, key="p")
    assert got is t
    ref = getattr(sow, fn)((33, 17), *args, seed=9, key="p", dtype=dtype)
    raw = {2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    np.testing.assert_array_equal(t.view(raw).numpy().view(np.uint8), _bits(ref))


def test_torch_cpu_strided_transposed_and_deterministic():
    torch = _torch()
    t = torch.zeros(12, 10)[::2, 1::3].t()  # non-contiguous, transposed
    sow.normal_(t, seed=1, key=2)
    np.testing.assert_array_equal(t.numpy(), sow.normal(tuple(t.shape), seed=1, key=2))
    e = torch.empty(4, 6, dtype=torch.bfloat16)
    sow.eye_(e)
    assert torch.equal(e, torch.eye(4, 6, dtype=torch.bfloat16))
    c = torch.empty(5, dtype=torch.float16)
    sow.constant_(c, 0.1)
    np.testing.assert_array_equal(c.numpy(), np.full(5, 0.1, np.float16))
    s = torch.empty(20, 9)
    sow.sparse_(s, 0.3, seed=4)
    np.testing.assert_array_equal(s.numpy(), sow.sparse((20, 9), 0.3, seed=4))
    sh = torch.empty(3, 9)
    sow.xavier_uniform_(sh, seed=4, global_shape=(9, 9), shard=(slice(3, 6),))
    np.testing.assert_array_equal(sh.numpy(), sow.xavier_uniform((9, 9), seed=4)[3:6])


def test_torch_errors():
    torch = _torch()
    with pytest.raises(TypeError, match="dtype"):
        sow.normal_(torch.empty(3, dtype=torch.int32), seed=0)
    with pytest.raises(TypeError, match="dtype"):
        sow.normal_(torch.empty(3, dtype=torch.complex64), seed=0)
    with pytest.raises(ValueError, match="zero stride"):
        sow.normal_(torch.empty(1).expand(4), seed=0)
    with pytest.raises(ValueError, match="stream"):
        sow.normal_(torch.empty(3), seed=0, stream=0)


class _Exporter:
    """A minimal DLPack exporter around a NumPy array (not a NumPy array itself)."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, **kw):
        return self.a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_dlpack_exporter_in_place(dtype):
    a = np.full((6, 5), np.nan, dtype=dtype)[:, ::2]
    sow.trunc_normal_(_Exporter(a), seed=2, key=1)
    np.testing.assert_array_equal(a, sow.trunc_normal((6, 3), seed=2, key=1, dtype=dtype))


def test_read_only_dlpack_export_is_refused():
    a = np.zeros((4, 4), np.float32)
    a.flags.writeable = False
    try:
        a.__dlpack__(max_version=(1, 0))
    except (TypeError, BufferError):
        pytest.skip("this NumPy exports no versioned (flagged) DLPack capsules")
    with pytest.raises(ValueError, match="read-only"):
        sow.normal_(_Exporter(a), seed=0)
    assert not a.any()


def test_jax_arrays_are_refused_with_a_pointer_to_the_allocating_form():
    Fake = type("Array", (), {"__module__": "jaxlib.xla_extension",
                              "__dlpack__": lambda self, **k: None,
                              "__dlpack_device__": lambda self: (1, 0)})
    with pytest.raises(TypeError, match="jax.dlpack.from_dlpack"):
        sow.normal_(Fake(), seed=0)


def test_unknown_objects_are_refused():
    with pytest.raises(TypeError, match="out must be"):
        sow.normal_([1.0, 2.0], seed=0)
