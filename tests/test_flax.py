"""sow.jax.init_tree and sow.flax.init_nnx on real Flax NNX/Linen models and an 8-device CPU mesh.

Properties: a sharded init on a (2, 4) mesh equals the unsharded one bit for bit, with the
annotated shardings; keys are path names, so renaming or adding a layer changes no other
parameter; the same model described in torch and in Flax gets the same values at the same
logical positions (torch Linear weight (out, in) = Flax kernel (in, out) transposed, Conv2d
weight (out, in, kh, kw) = Flax kernel (kh, kw, in, out) with axes moved) given
``layout="torch", names=sow.jax.torch_names``; every refusal happens before anything is made."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
nnx = pytest.importorskip("flax.nnx")
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import sow  # noqa: E402
import sow.flax  # noqa: E402
import sow.jax  # noqa: E402

RECIPE = sow.Recipe([
    ("*.bias", ("uniform", {"a": -0.1, "b": 0.1})),
    ("*norm*.scale", sow.Spec("normal", mean=1.0, std=0.1)),
    ("*embedding", sow.Spec("normal", std=0.02)),
    ("*", "xavier_uniform"),
], name="test")


def md(annotate: bool, *axes):
    """Sharding metadata (only when annotated: Flax refuses out_sharding without a mesh)."""
    return {"out_sharding": axes} if annotate else {}


class Block(nnx.Module):
    def __init__(self, d: int, rngs: nnx.Rngs, annotate: bool) -> None:
        self.norm = nnx.LayerNorm(d, rngs=rngs)
        self.qkv = nnx.Linear(d, 3 * d, rngs=rngs, kernel_metadata=md(annotate, None, "y"))
        self.out = nnx.Linear(d, d, rngs=rngs, kernel_metadata=md(annotate, "y", None))
        self.up = nnx.Linear(d, 4 * d, rngs=rngs, kernel_metadata=md(annotate, "x", "y"),
                             bias_metadata=md(annotate, "y"))


class Model(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, n: int = 2, extra: bool = False, rename: bool = False,
                 d: int = 16, annotate: bool = True) -> None:
        self.embed = nnx.Embed(32, d, rngs=rngs, embedding_metadata=md(annotate, "x", None))
        self.layers = nnx.List([Block(d, rngs, annotate) for _ in range(n)])
        if rename:
            self.head2 = nnx.Linear(d, 8, rngs=rngs)
        else:
            self.head = nnx.Linear(d, 8, rngs=rngs)
        if extra:
            self.extra = nnx.Linear(d, d, rngs=rngs)
        self.drop = nnx.Dropout(0.1, rngs=rngs)


def plain(**kw):
    """The model without sharding annotations (for mesh=None)."""
    return lambda: Model(nnx.Rngs(0), annotate=False, **kw)


def mesh24():
    return jax.make_mesh((2, 4), ("x", "y"))


def params_of(model) -> dict[str, np.ndarray]:
    state = nnx.state(model, nnx.Param)
    flat = jax.tree_util.tree_flatten_with_path(state, is_leaf=lambda v: isinstance(v, nnx.Variable))[0]
    return {sow.jax.path_name(p): np.asarray(v[...]) for p, v in flat}


def bits(a) -> bytes:
    return np.ascontiguousarray(np.asarray(a)).tobytes()


def test_sharded_init_equals_unsharded():
    sharded = sow.flax.init_nnx(lambda: Model(nnx.Rngs(0)), mesh24(), seed=4, recipe=RECIPE)
    unsharded = sow.flax.init_nnx(plain(), seed=4, recipe=RECIPE)
    a, b = params_of(sharded), params_of(unsharded)
    assert set(a) == set(b) and "layers.1.up.kernel" in a and "embed.embedding" in a
    for name in a:
        assert bits(a[name]) == bits(b[name]), name
    assert sharded.layers[0].up.kernel[...].sharding.spec == P("x", "y")
    assert sharded.layers[1].qkv.kernel[...].sharding.spec == P(None, "y")
    assert sharded.embed.embedding[...].sharding.spec == P("x", None)
    assert len(sharded.layers[0].up.kernel[...].addressable_shards) == 8
    # The values are sow's, keyed by path: each leaf is the single call with that key.
    assert bits(a["layers.1.up.kernel"]) == bits(
        sow.xavier_uniform((16, 64), seed=4, key="layers.1.up.kernel", layout="jax"))
    assert bits(a["layers.0.norm.scale"]) == bits(
        sow.normal(16, 1.0, 0.1, seed=4, key="layers.0.norm.scale"))
    # The model works and its Dropout RNG state came from its own code.
    assert sharded.head(jax.numpy.ones((2, 16))).shape == (2, 8)
    eager = Model(nnx.Rngs(0), annotate=False)  # Flax's own construction
    for m in (sharded, unsharded):
        assert (np.asarray(jax.random.key_data(m.drop.rngs.key[...]))
                == np.asarray(jax.random.key_data(eager.drop.rngs.key[...]))).all()
        assert int(m.drop.rngs.count[...]) == int(eager.drop.rngs.count[...])


def test_init_tree_of_abstract_state_on_a_mesh():
    gdef, abstract = nnx.get_abstract_model(lambda: Model(nnx.Rngs(0), n=1), mesh24())
    params, _ = nnx.split_state(abstract, nnx.Param, ...)
    filled = sow.jax.init_tree(params, seed=4, recipe=RECIPE)
    flat = jax.tree_util.tree_flatten_with_path(filled, is_leaf=lambda v: isinstance(v, nnx.Variable))[0]
    got = {sow.jax.path_name(p): v for p, v in flat}
    assert isinstance(got["layers.0.up.kernel"], nnx.Param)
    k = got["layers.0.up.kernel"][...]
    assert k.sharding.spec == P("x", "y")
    assert bits(k) == bits(sow.xavier_uniform((16, 64), seed=4, key="layers.0.up.kernel",
                                              layout="jax"))
    # The same tree without shardings: plain ShapeDtypeStructs on the default device.
    plain = jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype), params)
    again = sow.jax.init_tree(plain, seed=4, recipe=RECIPE)
    assert bits(nnx.state(again)["layers"][0]["up"]["kernel"][...]) == bits(k)


def test_renaming_or_adding_a_layer_changes_nothing_else():
    base = params_of(sow.flax.init_nnx(plain(), seed=1, recipe="flax"))
    more = params_of(sow.flax.init_nnx(lambda: Model(nnx.Rngs(0), n=3, extra=True), mesh24(),
                                       seed=1, recipe="flax"))
    renamed = params_of(sow.flax.init_nnx(plain(rename=True), seed=1, recipe="flax"))
    assert set(more) - set(base) and "head2.kernel" in renamed
    for name, v in base.items():
        assert bits(more[name]) == bits(v), name
        if not name.startswith("head."):
            assert bits(renamed[name]) == bits(v), name
    # the renamed layer has the values of its new key, not of the old one
    assert bits(renamed["head2.kernel"]) != bits(base["head.kernel"])


def test_flax_recipe_has_flax_s_distributions():
    m = sow.flax.init_nnx(plain(d=64), seed=0, recipe="flax")
    p = params_of(m)
    assert (p["layers.0.norm.scale"] == 1).all() and (p["layers.0.up.bias"] == 0).all()
    k = p["layers.0.up.kernel"].astype(np.float64)  # lecun_normal, fan_in 64
    assert abs(k.std() * 8 - 1) < 0.05 and np.abs(k).max() <= 2 / 8 / 0.87962566103423978 + 1e-6
    e = p["embed.embedding"].astype(np.float64)  # N(0, 1/features)
    assert abs(e.std() * 8 - 1) < 0.05
    ref = nnx.Embed(32, 64, rngs=nnx.Rngs(0)).embedding[...]  # Flax's own, same std
    assert abs(float(np.std(ref)) * 8 - 1) < 0.05


def test_linen_tree_from_eval_shape():
    linen = pytest.importorskip("flax.linen")

    class MLP(linen.Module):
        @linen.compact
        def __call__(self, x):
            return linen.Dense(8)(linen.relu(linen.Dense(32)(x)))

    abstract = jax.eval_shape(MLP().init, jax.random.key(0), jax.numpy.ones((1, 16)))
    params = sow.jax.init_tree(abstract, seed=2, recipe="flax")
    k = params["params"]["Dense_1"]["kernel"]  # Linen numbers Dense(32), made second, _1
    assert k.shape == (16, 32)
    assert bits(k) == bits(sow.variance_scaling((16, 32), seed=2, key="params.Dense_1.kernel",
                                                layout="jax"))
    assert MLP().apply(params, jax.numpy.ones((1, 16))).shape == (1, 8)


def test_torch_and_flax_get_the_same_values():
    pytest.importorskip("torch")
    import sow.torch
    from torch import nn

    class TorchNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(32, 16)
            self.conv = nn.Conv2d(4, 8, (3, 5))
            self.layers = nn.ModuleList([nn.Linear(16, 24), nn.Linear(24, 16)])
            self.norm = nn.LayerNorm(16)

    class FlaxNet(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.embed = nnx.Embed(32, 16, rngs=rngs)
            self.conv = nnx.Conv(4, 8, (3, 5), rngs=rngs,
                                 kernel_metadata={"out_sharding": (None, None, "x", "y")})
            self.layers = nnx.List([nnx.Linear(16, 24, rngs=rngs,
                                               kernel_metadata={"out_sharding": ("x", "y")}),
                                    nnx.Linear(24, 16, rngs=rngs)])
            self.norm = nnx.LayerNorm(16, rngs=rngs)

    # One recipe on torch's names, with fans (kaiming/xavier) and random biases and norms.
    recipe = sow.Recipe([
        ("*.bias", ("uniform", {"a": -0.5, "b": 0.5})),
        ("norm.weight", sow.Spec("normal", mean=1.0, std=0.1)),
        ("embed.weight", "normal"),
        ("conv.weight", sow.Spec("xavier_normal", gain=2.0)),
        ("*", sow.Spec("kaiming_uniform", a=5 ** 0.5)),
    ], name="shared")
    tmodel = TorchNet()
    sow.torch.init_module_(tmodel, seed=9, recipe=recipe)
    fmodel = sow.flax.init_nnx(lambda: FlaxNet(nnx.Rngs(0)), mesh24(), seed=9, recipe=recipe,
                               layout="torch", names=sow.jax.torch_names)
    t = {k: v.detach().numpy() for k, v in tmodel.state_dict().items()}
    f = params_of(fmodel)
    assert len(t) == len(f) == 9
    for fname, v in f.items():
        tname = sow.jax.torch_names(fname)
        w = t[tname]
        if fname.endswith("kernel"):
            w = np.transpose(w, (2, 3, 1, 0)) if w.ndim == 4 else w.T
        assert bits(v) == bits(w), (fname, tname)


def test_torch_names_rule():
    tn = sow.jax.torch_names
    assert tn("layers.0.kernel") == "layers.0.weight"
    assert tn("params.Dense_0.bias") == "Dense_0.bias"
    assert tn("norm.scale") == "norm.weight" and tn("embed.embedding") == "embed.weight"
    assert tn("kernel") == "weight" and tn("a.b.c") == "a.b.c"


def test_refusals_write_nothing(monkeypatch):
    calls = []
    real = jax.make_array_from_callback
    monkeypatch.setattr(jax, "make_array_from_callback",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    partial = sow.Recipe([("*.kernel", "xavier_uniform")], name="kernels-only")
    with pytest.raises(ValueError, match=r"no rule of recipe 'kernels-only' matches .*embed\.embedding"):
        sow.flax.init_nnx(lambda: Model(nnx.Rngs(0)), mesh24(), seed=0, recipe=partial)
    bad = sow.Recipe([("*", ("normal", {"std": float("nan")}))], name="nan")
    with pytest.raises(ValueError, match=r"items\[0\] \(embed\.embedding\).*std"):
        sow.flax.init_nnx(plain(), seed=0, recipe=bad)
    with pytest.raises(ValueError, match="unknown recipe"):
        sow.flax.init_nnx(plain(), seed=0, recipe="hf")
    with pytest.raises(TypeError, match="only sow.torch runs"):
        sow.jax.init_tree({"w": jax.ShapeDtypeStruct((2, 2), np.float32)}, seed=0,
                          recipe=sow.Recipe([("*", sow.torch.MODULE_CODE)]))
    tree = {"w": jax.ShapeDtypeStruct((4, 4), np.float32),
            "step": jax.ShapeDtypeStruct((), np.int32)}
    with pytest.raises(TypeError, match="step: dtype"):
        sow.jax.init_tree(tree, seed=0, recipe="flax")
    two = {"a": {"kernel": jax.ShapeDtypeStruct((4, 4), np.float32)},
           "b": {"kernel": jax.ShapeDtypeStruct((4, 4), np.float32)}}
    with pytest.raises(ValueError, match="both have the key 'k'"):
        sow.jax.init_tree(two, seed=0, recipe="flax", names=lambda n: "k")
    mesh = mesh24()
    uneven = {"w": jax.ShapeDtypeStruct((6, 8), np.float32, sharding=NamedSharding(mesh, P("y")))}
    with pytest.raises(ValueError, match=r"^w: dimension 0 of shape \(6, 8\) has size 6"):
        sow.jax.init_tree(uneven, seed=0, recipe=sow.Recipe([("*", "normal")]))
    with pytest.raises(TypeError, match="mesh must be"):
        sow.flax.init_nnx(lambda: Model(nnx.Rngs(0)), "mesh", seed=0, recipe="flax")
    assert not calls

