"""A plan with CUDA items (sow/plan.hpp, device targets): every item equals its single host call,
bit for bit (orthogonal items to rounding: cuSOLVER's orgqr is not OpenBLAS's), the elementwise
items of a stream in one launch, the others after them on the same stream. Skipped without a
CUDA build, a device or CuPy."""

from __future__ import annotations

import numpy as np
import pytest

import sow

cp = pytest.importorskip("cupy") if sow.cuda_available() else None
pytestmark = pytest.mark.skipif(cp is None, reason="no CUDA device")

DTYPES = ["float32", "float64", "float16"]  # bfloat16 CUDA outputs need torch: test_cuda.py


def _host(a):
    return cp.asnumpy(a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mixed_plan_on_cuda_equals_host_calls(dtype):
    specs = [
        ((64, 48), ("kaiming_uniform", {"a": 5 ** 0.5}), None),
        ((33,), ("normal", {"std": 0.02}), None),
        ((9, 7), "eye", None),
        ((6, 4, 3, 3), ("dirac", {"groups": 2}), None),
        ((40, 12), ("sparse", {"sparsity": 0.3}), None),
        ((16, 16), "orthogonal", "close"),
        ((3, 3, 4, 6), "delta_orthogonal", "close"),
        ((5,), "ones", None),
        ((12, 10), ("trunc_normal", {"std": 0.02, "a": -0.04, "b": 0.04}), None),
    ]
    plan = sow.Plan(seed=11)
    outs = []
    for i, (shape, spec, _) in enumerate(specs):
        a = cp.full(shape, cp.nan, dtype=dtype)
        plan.add(a, spec, key=f"w{i}")
        outs.append(a)
    # a shard of a larger tensor and a strided view
    base = cp.full((10, 8), cp.nan, dtype=dtype)
    plan.add(base[:, ::2], "xavier_normal", key="s0")
    plan.add(base[:, 1::2], ("uniform", {"a": -1.0, "b": 1.0}), key="s1")
    shard = cp.full((4, 8), cp.nan, dtype=dtype)
    plan.add(shard, "xavier_uniform", key="sh", global_shape=(12, 8), shard=[slice(4, 8)])
    plan.execute()
    cp.cuda.Device().synchronize()
    for i, ((shape, spec, close), got) in enumerate(zip(specs, outs)):
        name, params = (spec, {}) if isinstance(spec, str) else spec
        ref = sow.Plan(seed=11)
        want = np.empty(shape, dtype)
        ref.add(want, (name, params), key=f"w{i}")
        ref.execute()
        if close:
            np.testing.assert_allclose(_host(got), want, atol=1e-5 if dtype != "float16" else 2e-3)
        else:
            np.testing.assert_array_equal(_host(got), want, err_msg=f"{name} {dtype}")
    np.testing.assert_array_equal(_host(base[:, ::2]), sow.xavier_normal((10, 4), seed=11, key="s0", dtype=dtype))
    np.testing.assert_array_equal(_host(base[:, 1::2]), sow.uniform((10, 4), -1.0, 1.0, seed=11, key="s1", dtype=dtype))
    np.testing.assert_array_equal(_host(shard), sow.xavier_uniform((12, 8), seed=11, key="sh", dtype=dtype)[4:8])


def test_bad_cuda_item_writes_nothing():
    a = cp.full((8, 8), cp.nan, dtype="float32")
    b = cp.full((8, 8), cp.nan, dtype="float32")
    plan = sow.Plan(seed=0)
    plan.add(a, "normal", key="a")
    plan.add(b, ("dirac", {"groups": 3}), key="b")  # 2-D: dirac refuses
    with pytest.raises(ValueError, match=r"items\[1\]"):
        plan.execute()
    cp.cuda.Device().synchronize()
    assert bool(cp.isnan(a).all()) and bool(cp.isnan(b).all())
