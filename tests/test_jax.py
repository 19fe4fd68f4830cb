"""sow.jax.make_array and sow.jax.initializers on a real 8-device CPU mesh (conftest.py sets
XLA_FLAGS=--xla_force_host_platform_device_count=8 before jax is imported).

Properties: the gathered array (and every addressable shard) equals the NumPy full fill bit for
bit for every mesh, PartitionSpec and dtype; layout="torch" is torch's weight with its axes
moved; shapes JAX refuses raise ValueError naming the dimension before any device array is made;
the initializer callables give the same values eagerly and under jit, follow the documented key
rule, and have JAX's distributions (fixed-seed statistics)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import sow  # noqa: E402
import sow.jax  # noqa: E402
from sow.jax import initializers as si  # noqa: E402

DTYPES = ["float32", "float64", "float16", "bfloat16"]
AXES = {(8,): ("x",), (2, 4): ("x", "y"), (4, 2): ("x", "y")}
CASES = [((8,), P("x")), ((8,), P(None, "x")), ((8,), P()),
         ((2, 4), P("x")), ((2, 4), P("x", "y")), ((2, 4), P(None, "y")), ((2, 4), P()),
         ((2, 4), P(("x", "y"))),
         ((4, 2), P("x")), ((4, 2), P("x", "y")), ((4, 2), P(None, "y")), ((4, 2), P())]
# (spec, the allocating call that gives its full fill); scaled specs with JAX fans.
SPECS = [
    (sow.Spec("normal", std=0.5), lambda s, **k: sow.normal(s, 0.0, 0.5, **k)),
    ("xavier_uniform", lambda s, **k: sow.xavier_uniform(s, layout="jax", **k)),
    (("trunc_normal", {"std": 0.02, "a": -0.04, "b": 0.04}),
     lambda s, **k: sow.trunc_normal(s, 0.0, 0.02, -0.04, 0.04, **k)),
    (sow.Spec("kaiming_normal", mode="fan_out"),
     lambda s, **k: sow.kaiming_normal(s, mode="fan_out", layout="jax", **k)),
    ("eye", lambda s, **k: sow.eye(s, dtype=k["dtype"])),
]
SHAPE = (16, 24)


def test_eight_cpu_devices():
    assert len(jax.devices()) == 8 and jax.devices()[0].platform == "cpu"


def mesh_of(shape):
    return jax.make_mesh(shape, AXES[shape])


def bits(a) -> bytes:
    return np.ascontiguousarray(np.asarray(a)).tobytes()


def x64(dtype):
    return jax.enable_x64(dtype == "float64")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mshape,pspec", CASES, ids=[f"{m}-{p}" for m, p in CASES])
def test_make_array_equals_the_full_fill(mshape, pspec, dtype):
    sharding = NamedSharding(mesh_of(mshape), pspec)
    with x64(dtype):
        for spec, full_fill in SPECS:
            arr = sow.jax.make_array(spec, SHAPE, sharding, seed=7, key="w", dtype=dtype)
            full = full_fill(SHAPE, seed=7, key="w", dtype=dtype)
            assert arr.shape == SHAPE and arr.sharding == sharding
            assert np.asarray(arr).dtype == full.dtype
            assert bits(arr) == bits(full), (spec, pspec)
            assert len(arr.addressable_shards) == 8
            for sh in arr.addressable_shards:
                assert bits(sh.data) == bits(full[sh.index]), (spec, sh.index)


def test_make_array_single_device_and_default():
    full = sow.normal((5, 3), seed=1, key=9)
    for where in (None, jax.devices()[3]):
        a = sow.jax.make_array("normal", (5, 3), where, seed=1, key=9)
        assert bits(a) == bits(full)
    assert next(iter(a.devices())) == jax.devices()[3]


def test_threads_never_change_the_values():
    sh = NamedSharding(mesh_of((4, 2)), P("x", "y"))
    a = sow.jax.make_array("trunc_normal", (64, 48), sh, seed=3, key="t", threads=1)
    b = sow.jax.make_array("trunc_normal", (64, 48), sh, seed=3, key="t", threads=2)
    assert bits(a) == bits(b) == bits(sow.trunc_normal((64, 48), seed=3, key="t"))


def test_make_array_keys_and_seeds_change_values():
    sh = NamedSharding(mesh_of((2, 4)), P("x", "y"))
    a = bits(sow.jax.make_array("normal", SHAPE, sh, seed=0, key="a"))
    assert a != bits(sow.jax.make_array("normal", SHAPE, sh, seed=0, key="b"))
    assert a != bits(sow.jax.make_array("normal", SHAPE, sh, seed=1, key="a"))
    assert a == bits(sow.jax.make_array("normal", SHAPE, sh, seed=0, key=sow.key_hash("a")))


def test_layout_torch_is_the_torch_weight_with_axes_moved():
    mesh = mesh_of((2, 4))
    # Dense kernel (in, out) = torch Linear weight (out, in) transposed.
    k = sow.jax.make_array("kaiming_uniform", (16, 24), NamedSharding(mesh, P("x", "y")),
                           seed=3, key="fc.weight", layout="torch")
    w = sow.kaiming_uniform((24, 16), seed=3, key="fc.weight")  # torch layout and fans
    assert bits(k) == bits(w.T)
    # Conv kernel (kh, kw, in, out) = torch Conv2d weight (out, in, kh, kw), axes moved.
    k = sow.jax.make_array(sow.Spec("xavier_normal", gain=2.0), (3, 5, 4, 8),
                           NamedSharding(mesh, P(None, None, "x", "y")), seed=3, key="conv",
                           layout="torch")
    w = sow.xavier_normal((8, 4, 3, 5), gain=2.0, seed=3, key="conv")
    assert bits(k) == bits(np.transpose(w, (2, 3, 1, 0)))
    # a 1-D leaf is the same either way
    b = sow.jax.make_array("normal", (24,), NamedSharding(mesh, P("y")), seed=3, key="b",
                           layout="torch")
    assert bits(b) == bits(sow.normal(24, seed=3, key="b"))


def test_fans_come_from_the_global_shape():
    # 8 shards of (2, 24): a per-shard fan would give another bound.
    a = np.asarray(sow.jax.make_array("xavier_uniform", (16, 24),
                                      NamedSharding(mesh_of((8,)), P("x")), seed=0, key=0))
    bound = np.sqrt(6.0 / (16 + 24))
    assert a.max() <= bound and a.max() > 0.9 * bound


def test_orthogonal_sharded_equals_full():
    sh = NamedSharding(mesh_of((2, 4)), P("x", "y"))
    a = sow.jax.make_array("orthogonal", SHAPE, sh, seed=2, key="q")
    assert bits(a) == bits(sow.orthogonal(SHAPE, seed=2, key="q"))


MESH_SPECS = [((8,), P("x")), ((8,), P(None, "x")), ((2, 4), P("x", "y")), ((2, 4), P("y", "x")),
              ((4, 2), P(None, ("x", "y"))), ((2, 4), P(("y", "x"), None)), ((4, 2), P())]


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 24), cols=st.integers(1, 24), case=st.sampled_from(MESH_SPECS))
def test_any_shape_is_the_full_fill_or_a_named_refusal(rows, cols, case):
    """Hypothesis: every (shape, mesh, spec) either gathers to the full fill or raises ValueError
    naming the first dimension whose size the spec's mesh axes do not divide."""
    mshape, pspec = case
    mesh = mesh_of(mshape)
    sizes = dict(mesh.shape)
    shape = (rows, cols)
    bad = [d for d, e in enumerate(tuple(pspec)) if e is not None
           and shape[d] % int(np.prod([sizes[a] for a in (e if isinstance(e, tuple) else (e,))]))]
    sh = NamedSharding(mesh, pspec)
    if bad:
        with pytest.raises(ValueError, match=rf"dimension {bad[0]} of shape"):
            sow.jax.make_array("uniform", shape, sh, seed=1, key="h")
    else:
        a = sow.jax.make_array("uniform", shape, sh, seed=1, key="h")
        assert bits(a) == bits(sow.uniform(shape, seed=1, key="h"))


@pytest.fixture
def spy(monkeypatch):
    calls = []
    real = jax.make_array_from_callback

    def recording(*a, **k):
        calls.append(a)
        return real(*a, **k)

    monkeypatch.setattr(jax, "make_array_from_callback", recording)
    return calls


@pytest.mark.parametrize("mshape,pspec,shape,dim", [
    ((8,), P("x"), (10, 24), 0),
    ((2, 4), P(None, "y"), (16, 10), 1),
    ((2, 4), P(("x", "y")), (12, 3), 0),
])
def test_uneven_shapes_name_the_dimension(spy, mshape, pspec, shape, dim):
    sh = NamedSharding(mesh_of(mshape), pspec)
    with pytest.raises(ValueError, match=rf"dimension {dim} of shape .* has size {shape[dim]}"):
        sow.jax.make_array("normal", shape, sh, seed=0, key="w")
    assert not spy


def test_errors_before_any_array(spy):
    sh = NamedSharding(mesh_of((2, 4)), P("x", "y"))
    with pytest.raises(ValueError, match="PartitionSpec .* has 2 entries but the shape"):
        sow.jax.make_array("normal", (16,), sh, seed=0, key="w")
    with pytest.raises(ValueError, match="std"):
        sow.jax.make_array(("normal", {"std": -1.0}), SHAPE, sh, seed=0, key="w")
    with pytest.raises(ValueError, match="unknown initializer 'nope'"):
        sow.jax.make_array("nope", SHAPE, sh, seed=0, key="w")
    with pytest.raises(TypeError, match="no parameter 'gain'"):
        sow.jax.make_array(("normal", {"gain": 1.0}), SHAPE, sh, seed=0, key="w")
    with pytest.raises(TypeError, match="dtype"):
        sow.jax.make_array("normal", SHAPE, sh, seed=0, key="w", dtype="int32")
    with pytest.raises(TypeError, match="float64 needs 64-bit JAX"):
        with jax.enable_x64(False):
            sow.jax.make_array("normal", SHAPE, sh, seed=0, key="w", dtype="float64")
    with pytest.raises(ValueError, match="layout"):
        sow.jax.make_array("normal", SHAPE, sh, seed=0, key="w", layout="keras")
    with pytest.raises(TypeError, match="sharding must be"):
        sow.jax.make_array("normal", SHAPE, "x", seed=0, key="w")
    with pytest.raises(ValueError, match="seed"):
        sow.jax.make_array("normal", SHAPE, sh, seed=-1, key="w")
    with pytest.raises(ValueError, match="Fan in and fan out"):
        sow.jax.make_array("xavier_uniform", (16,), NamedSharding(mesh_of((8,)), P("x")),
                           seed=0, key="w")
    assert not spy


# ----------------------------------------------------------------------------------------------
# initializers


def test_initializer_with_a_sow_key_ignores_the_jax_key():
    init = si.glorot_uniform(seed=5, key="enc.kernel")
    want = sow.variance_scaling((32, 48), 1.0, "fan_avg", "uniform", seed=5, key="enc.kernel",
                                layout="jax")
    for k in (jax.random.key(0), jax.random.key(1), jax.random.PRNGKey(2)):
        assert bits(init(k, (32, 48), np.float32)) == bits(want)
    jitted = jax.jit(lambda k: init(k, (32, 48), np.float32))(jax.random.key(3))
    assert bits(jitted) == bits(want)


def test_initializer_without_a_sow_key_uses_the_jax_key_data():
    init = si.he_normal(seed=5)
    k = jax.random.key(123)
    w = np.asarray(jax.random.key_data(k), dtype=np.uint32)
    sow_key = int(w[0]) | (int(w[1]) << 32)
    assert si.key_of(k) == sow_key == si.key_of(jax.random.PRNGKey(123))
    want = sow.variance_scaling((3, 3, 8, 16), 2.0, "fan_in", "truncated_normal", seed=5,
                                key=sow_key, layout="jax", dtype="bfloat16")
    got = init(k, (3, 3, 8, 16), jax.numpy.bfloat16)
    assert bits(got) == bits(want)
    assert bits(jax.jit(lambda k: init(k, (3, 3, 8, 16), jax.numpy.bfloat16))(k)) == bits(want)
    assert bits(init(jax.random.key(124), (3, 3, 8, 16), jax.numpy.bfloat16)) != bits(want)


def test_initializer_out_sharding():
    sh = NamedSharding(mesh_of((2, 4)), P("x", "y"))
    a = si.normal(0.1, seed=1, key="n")(jax.random.key(0), SHAPE, np.float32, out_sharding=sh)
    assert a.sharding == sh and bits(a) == bits(sow.normal(SHAPE, 0.0, 0.1, seed=1, key="n"))


def test_initializers_in_flax_layers():
    nnx = pytest.importorskip("flax.nnx")
    layer = nnx.Linear(24, 40, rngs=nnx.Rngs(0),
                       kernel_init=si.lecun_normal(seed=0, key="proj.kernel"),
                       bias_init=si.truncated_normal(0.1, seed=0, key="proj.bias"))
    assert bits(layer.kernel[...]) == bits(sow.lecun_normal((24, 40), seed=0, key="proj.kernel",
                                                            layout="jax"))
    assert bits(layer.bias[...]) == bits(sow.trunc_normal(40, 0.0, 0.1, -0.2, 0.2, seed=0,
                                                          key="proj.bias"))
    jitted = nnx.jit(lambda: nnx.Linear(24, 40, rngs=nnx.Rngs(0),
                                        kernel_init=si.lecun_normal(seed=0, key="proj.kernel")))()
    assert bits(jitted.kernel[...]) == bits(layer.kernel[...])


# JAX's distributions: fixed seed, 256 x 512 samples (fans 256, 512); thresholds: std within 3%
# of the target (sampling error of a std over N = 131072 samples is ~0.2-0.4%), |mean| below 5
# standard errors (5 sigma / sqrt(N): p ~ 6e-7 per sample), support exactly JAX's.
STAT_CASES = [
    (si.glorot_uniform, 2 / (256 + 512), "uniform"),
    (si.glorot_normal, 2 / (256 + 512), "trunc"),
    (si.lecun_uniform, 1 / 256, "uniform"),
    (si.lecun_normal, 1 / 256, "trunc"),
    (si.he_uniform, 2 / 256, "uniform"),
    (si.he_normal, 2 / 256, "trunc"),
]


@pytest.mark.parametrize("factory,var,kind", STAT_CASES, ids=[c[0].__name__ for c in STAT_CASES])
def test_initializer_distributions_are_jax_s(factory, var, kind):
    x = np.asarray(factory(seed=11, key="s")(None, (256, 512), np.float32), dtype=np.float64)
    ref = np.asarray(getattr(jax.nn.initializers, factory.__name__)()(
        jax.random.key(0), (256, 512), np.float32), dtype=np.float64)
    for sample in (x, ref):
        assert abs(sample.std() / np.sqrt(var) - 1) < 0.03
        assert abs(sample.mean()) < 5 * np.sqrt(var / sample.size)
    if kind == "uniform":
        bound = np.sqrt(3 * var)
        assert x.max() < bound and x.min() >= -bound and x.max() > 0.999 * bound
    else:  # cut at 2 pre-truncation sigmas, sigma = sqrt(var) / 0.8796...
        cut = 2 * np.sqrt(var) / 0.87962566103423978
        assert np.abs(x).max() <= cut * (1 + 1e-6) and np.abs(ref).max() <= cut * (1 + 1e-6)


def test_jax_uniform_normal_truncated_normal_parameters():
    u = np.asarray(si.uniform(0.5, seed=0, key=1)(None, (4096,)))
    assert u.min() >= 0 and u.max() < 0.5 and u.max() > 0.49
    t = np.asarray(si.truncated_normal(0.1, -1.0, 3.0, seed=0, key=1)(None, (4096,)))
    assert t.min() >= -0.1 and t.max() <= 0.3 and t.min() < -0.099
    c = np.asarray(si.constant(0.25)(None, (3,)))
    assert (c == 0.25).all() and (np.asarray(si.zeros()(None, (2,))) == 0).all()


def test_initializer_errors():
    with pytest.raises(TypeError, match="needs a JAX key"):
        si.normal(seed=0)(None, (4,))
    with pytest.raises(ValueError, match="scale"):
        si.variance_scaling(-1.0, "fan_in", "uniform", seed=0, key=0)(None, (4, 4))
    with pytest.raises(ValueError, match="scale"):
        jax.jit(lambda k: si.variance_scaling(-1.0, "fan_in", "uniform", seed=0)(k, (4, 4)))(
            jax.random.key(0))
    with pytest.raises(ValueError, match="seed"):
        si.normal(seed=2 ** 64)


def test_device_fill_path_equals_the_host_fill(monkeypatch):
    """The GPU path's logic, on the CPU mesh: one buffer per device (replicas included), each a
    plan item of its own shard, assembled with make_array_from_single_device_arrays. The CUDA
    allocation and DLPack hand-over are replaced by host ones; the shards and their order are
    what is tested (tests/gpu and the skipped test below run the real thing)."""
    from sow.jax import _array

    made = []

    def fake_empty(sizes, dtype, device):
        made.append(device)
        return np.empty(sizes, dtype=np.dtype(dtype))

    monkeypatch.setattr(_array, "_cuda_fill", lambda where, dtype: True)
    monkeypatch.setattr("sow._device.cuda_empty", fake_empty)
    monkeypatch.setattr(_array, "_to_jax", lambda buf, dev: jax.device_put(buf, dev))
    mesh = mesh_of((2, 4))
    for spec, layout in ((P("x", "y"), "jax"), (P(None, "y"), "torch"), (P(), "jax")):
        made.clear()
        a = sow.jax.make_array("kaiming_normal", (8, 12), NamedSharding(mesh, spec), seed=4,
                               key="w", layout=layout)
        assert len(made) == 8  # one buffer per device, replicated shards too
        want = sow.kaiming_normal((12, 8), seed=4, key="w", layout="torch").T \
            if layout == "torch" else sow.kaiming_normal((8, 12), seed=4, key="w", layout="jax")
        assert bits(a) == bits(np.ascontiguousarray(want)), (spec, layout)
    assert sow.jax.make_array("orthogonal", (8, 8), NamedSharding(mesh, P("x")), seed=0, key=1) \
        is not None and not made[8:]  # whole-matrix specs keep the host path


def _jax_gpus() -> list:
    try:
        return jax.devices("gpu")
    except RuntimeError:  # no GPU backend in this jaxlib, or no device
        return []


@pytest.mark.gpu
@pytest.mark.skipif(not _jax_gpus(), reason="needs a JAX GPU backend and device")
def test_make_array_on_gpu_equals_the_host_fill():  # pragma: no cover - no GPU here
    gpus = jax.devices("gpu")
    mesh = jax.sharding.Mesh(np.array(gpus), ("x",))
    a = sow.jax.make_array("normal", (len(gpus) * 4, 8), NamedSharding(mesh, P("x")), seed=0,
                           key="g")
    assert bits(a) == bits(sow.normal((len(gpus) * 4, 8), seed=0, key="g"))
