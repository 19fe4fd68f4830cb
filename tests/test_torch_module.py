"""sow.torch.init_module_, fill_, recipes and patch_init on single-process models: keys are FQNs
(values equal the single calls; adding or reordering modules changes nothing else), meta and CPU
builds give identical values, tied tensors are filled once, the built-in recipes' specs, the
Hugging Face parity (exact std against transformers' own ``_init_weights``, KS against
``from_config``), autograd/inference/meta behaviour, and every refusal writes nothing."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import sow  # noqa: E402
import sow.torch as st  # noqa: E402

KS_P_MIN = 1e-4


def test_import_sow_does_not_import_torch():
    code = ("import sys, sow; assert 'torch' not in sys.modules; sow.Recipe; import sow.torch; "
            "assert 'torch' not in sys.modules; sow.torch.Recipe; sow.torch.MODULE_CODE; "
            "assert 'torch' not in sys.modules; sow.torch.init_module_; assert 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ----------------------------------------------------------------------------------------------
# fill_


def test_fill_equals_the_single_call():
    t = torch.empty(6, 5, dtype=torch.bfloat16)
    st.fill_(t, ("trunc_normal", {"std": 0.02}), seed=3, key="w")
    want = sow.trunc_normal((6, 5), std=0.02, seed=3, key="w", dtype="bfloat16")
    assert np.array_equal(t.float().numpy(), want.astype(np.float32))


def test_fill_meta_is_validated_not_written():
    t = torch.empty(4, 4, device="meta")
    assert st.fill_(t, "normal", seed=0, key="m") is t
    with pytest.raises(ValueError, match="std"):
        st.fill_(t, ("normal", {"std": -1}), seed=0, key="m")


def test_fill_bad_spec_is_a_type_error():
    with pytest.raises(TypeError, match="spec"):
        st.fill_(torch.empty(2), 3, seed=0, key="x")


# ----------------------------------------------------------------------------------------------
# Keys, meta, ties, invariance


class TwoLinear(nn.Module):
    def __init__(self, order="ab", extra=False):
        super().__init__()
        for name in order:
            setattr(self, name, nn.Linear(8, 4))
        if extra:
            self.c = nn.Linear(3, 3)


def test_keys_are_fqns_values_equal_single_calls():
    m = TwoLinear()
    st.init_module_(m, seed=7)
    want = sow.kaiming_uniform((4, 8), a=math.sqrt(5), seed=7, key="a.weight")
    assert np.array_equal(m.a.weight.detach().numpy(), want)
    want_b = sow.uniform((4,), a=-1 / math.sqrt(8), b=1 / math.sqrt(8), seed=7, key="b.bias")
    assert np.array_equal(m.b.bias.detach().numpy(), want_b)


def test_reordering_and_adding_modules_changes_nothing_else():
    a, b = TwoLinear("ab"), TwoLinear("ba", extra=True)
    st.init_module_(a, seed=1)
    st.init_module_(b, seed=1)
    for name, p in a.named_parameters():
        assert torch.equal(p, dict(b.named_parameters())[name]), name


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight


def test_tied_parameters_once_by_first_name_and_meta_equals_cpu():
    cpu = Tied()
    r = st.init_module_(cpu, seed=0)
    assert [t.fqn for t in r.tensors] == ["embed.weight"]
    assert np.array_equal(cpu.embed.weight.detach().numpy(), sow.normal((10, 4), seed=0, key="embed.weight"))
    with torch.device("meta"):
        meta = Tied()
    st.init_module_(meta, seed=0, device="cpu")
    assert meta.head.weight is meta.embed.weight
    assert torch.equal(meta.embed.weight, cpu.embed.weight)


def test_meta_needs_device_and_nothing_is_materialized():
    with torch.device("meta"):
        m = TwoLinear()
    with pytest.raises(ValueError, match=r"device: a\.weight, a\.bias, b\.weight and 1 more are on the meta"):
        st.init_module_(m, seed=0)
    assert m.a.weight.is_meta


def test_skip_and_zero_element():
    m = TwoLinear()
    before = m.b.weight.detach().clone()
    r = st.init_module_(m, seed=0, skip="b.*")
    assert torch.equal(m.b.weight, before) and r.skipped == ["b.weight", "b.bias"]
    with pytest.warns(UserWarning, match="zero-element"):
        z = nn.Linear(0, 3)  # torch's own init warns; sow has nothing to write in the weight
    st.init_module_(z, seed=0)
    assert torch.equal(z.bias, torch.zeros(3))


def test_skipped_tensors_keep_their_values_through_materialization():
    """Loaded weights next to meta tensors: materialization gives fresh memory to the meta ones
    only (to_empty would overwrite the loaded ones with garbage), and the rest equals the
    all-meta init bit for bit. The Parameter objects and requires_grad are kept."""
    with torch.device("meta"):
        m = TwoLinear()
    loaded = torch.arange(32, dtype=torch.float32).reshape(4, 8)
    m.a.weight = nn.Parameter(loaded.clone())
    r = st.init_module_(m, seed=3, device="cpu", skip="a.weight")
    assert r.skipped == ["a.weight"] and torch.equal(m.a.weight, loaded)
    assert all(not p.is_meta and p.requires_grad for p in m.parameters())
    with torch.device("meta"):
        ref = TwoLinear()
    st.init_module_(ref, seed=3, device="cpu")
    for name in ("a.bias", "b.weight", "b.bias"):
        assert torch.equal(m.get_parameter(name), ref.get_parameter(name)), name
    assert not torch.equal(ref.a.weight, loaded)


# ----------------------------------------------------------------------------------------------
# Autograd, inference, errors


def test_autograd_sees_the_write_and_parameters_stay_leaves():
    m = nn.Linear(4, 3)
    y = (m.weight * m.weight).sum()  # saves the weight for backward
    st.init_module_(m, seed=0)
    assert m.weight.is_leaf and m.weight.requires_grad and m.weight.grad_fn is None
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_inference_tensors_as_torch():
    with torch.inference_mode():
        m = nn.Linear(4, 3)
    with pytest.raises(sow.InferenceTensorError):
        st.init_module_(m, seed=0)
    with torch.inference_mode():
        st.init_module_(m, seed=0)
    assert np.array_equal(m.weight.detach().numpy(), sow.kaiming_uniform((3, 4), a=math.sqrt(5), seed=0, key="weight"))


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.scale = nn.Parameter(torch.ones(4))


class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.register_buffer("mask", torch.tril(torch.ones(4, 4)))


def test_unmatched_parameter_is_an_error_and_nothing_is_written():
    m = Custom()
    before = m.lin.weight.detach().clone()
    with pytest.raises(ValueError, match=r"parameters no rule of recipe 'torch' sets: scale"):
        st.init_module_(m, seed=0)
    assert torch.equal(m.lin.weight, before)
    r = st.init_module_(m, seed=0, strict=False)
    assert r.unset == ["scale"] and not torch.equal(m.lin.weight, before)


def test_unset_buffer_is_an_error_naming_it():
    m = WithBuffer()
    with pytest.raises(ValueError, match=r"buffers no rule and no module init code sets: mask"):
        st.init_module_(m, seed=0)
    st.init_module_(m, seed=0, skip="mask")
    assert torch.equal(m.mask, torch.tril(torch.ones(4, 4)))


class OwnInit(nn.Module):
    """A module of another type, with its own init code."""

    def __init__(self, rng=False):
        super().__init__()
        self.w = nn.Parameter(torch.empty(6, 5))
        self.g = nn.Parameter(torch.empty(5))
        self.register_buffer("freqs", torch.empty(3))
        self.rng = rng
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.trunc_normal_(self.w, std=0.1, a=-0.2, b=0.2)
        with torch.no_grad():
            self.g.fill_(0.5)
        self.freqs = 1.0 / (10000 ** (torch.arange(3, dtype=torch.float32) / 3))
        with torch.no_grad():
            if self.rng == "sorted":  # not elementwise in the draw
                self.w.copy_(torch.randn(6, 5).sort(dim=1).values)
            elif self.rng == "randint":  # a draw sow does not route
                self.w.copy_(torch.randint(0, 3, (6, 5)).float())
            elif self.rng == "slice":  # a draw into part of the tensor
                self.w[:2].copy_(torch.randn(2, 5))
            elif self.rng == "twice":  # one draw whole into one tensor, then into a row of another
                d = torch.rand(5)
                self.g.copy_(d)
                self.w[0].copy_(d)


def test_module_code_is_routed_through_sow():
    with torch.device("meta"):
        m = OwnInit()
    r = st.init_module_(m, seed=2, device="cpu")
    assert np.array_equal(m.w.detach().numpy(), sow.trunc_normal((6, 5), std=0.1, a=-0.2, b=0.2, seed=2, key="w"))
    assert torch.equal(m.g, torch.full((5,), 0.5))
    assert torch.equal(m.freqs, 1.0 / (10000 ** (torch.arange(3, dtype=torch.float32) / 3)))
    assert r["w"].spec.startswith("trunc_normal(")


@pytest.mark.parametrize("rng, what", [
    ("sorted", r"w: Tensor\.copy_ of a value computed from torch's RNG \(aten\.randn\.default\) "
               r"other than elementwise into this whole tensor"),
    ("randint", r"torch's RNG \(aten\.randint"),
    ("slice", r"w: Tensor\.copy_ of a value computed from torch's RNG \(aten\.randn"),
    ("twice", r"w: Tensor\.copy_ of a value computed from torch's RNG \(aten\.rand\.default\)"),
])
def test_torch_rng_in_init_code_is_refused(rng, what):
    _refused_writing_nothing(OwnInit(rng=rng), what)


def _refused_writing_nothing(m, what):
    before = {k: v.detach().clone() for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match=what):
        st.init_module_(m, seed=0)
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k


class Draws(nn.Module):
    """Init code that computes values elementwise from one draw: of torch's RNG into a fresh
    tensor (Mamba's time-step bias), into a temporary (Qwen3-Next's ``A_log``, with in-place
    ops), or of the tensor's own routed init (Kimi-Linear's ``A_log``, a rescale)."""

    def __init__(self):
        super().__init__()
        self.dt_bias = nn.Parameter(torch.empty(6))
        self.a_log = nn.Parameter(torch.empty(4))
        self.own = nn.Parameter(torch.empty(3, 5, dtype=torch.bfloat16))
        self.scaled = nn.Parameter(torch.empty(5, 2))
        self.shifted = nn.Parameter(torch.empty(2, 3))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            dt = torch.exp(torch.rand(6, device=self.dt_bias.device) * (math.log(0.1) - math.log(1e-3))
                           + math.log(1e-3)).clamp(min=1e-4)
            self.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))
            t = torch.empty(4, device=self.a_log.device).uniform_(0.5, 16)
            t.log_().mul_(2.0)
            self.a_log.copy_(t)
            self.own.copy_(nn.init.uniform_(self.own, a=1.0, b=16.0).log())
            nn.init.normal_(self.scaled, std=0.5)
            self.scaled.copy_(self.scaled / math.sqrt(3.0) + self.scaled * 0.0)
            self.shifted.copy_(torch.normal(0.5, 2.0, (2, 3)).abs())


def _draws_want(seed):
    u = torch.from_numpy(sow.uniform(6, a=0.0, b=1.0, seed=seed, key="dt_bias"))
    dt = torch.exp(u * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)).clamp(min=1e-4)
    a = torch.from_numpy(sow.uniform(4, a=0.5, b=16.0, seed=seed, key="a_log")).log() * 2.0
    own = torch.from_numpy(sow.uniform((3, 5), a=1.0, b=16.0, seed=seed, key="own").astype(
        np.float32)).to(torch.bfloat16)
    scaled = torch.from_numpy(sow.normal((5, 2), std=0.5, seed=seed, key="scaled")) / math.sqrt(3.0)
    shifted = torch.from_numpy(sow.normal((2, 3), mean=0.5, std=2.0, seed=seed, key="shifted"))
    return {"dt_bias": dt + torch.log(-torch.expm1(-dt)), "a_log": a, "own": own.log(),
            "scaled": scaled, "shifted": shifted.abs()}


def test_elementwise_functions_of_one_draw_are_routed():
    with torch.device("meta"):
        meta = Draws()
    r = st.init_module_(meta, seed=3, device="cpu")
    cpu = Draws()
    st.init_module_(cpu, seed=3)
    own = sow.uniform((3, 5), a=1.0, b=16.0, seed=3, key="own", dtype="bfloat16")
    want = _draws_want(3)
    want["own"] = torch.from_numpy(own.astype(np.float32)).to(torch.bfloat16).log()
    for m in (meta, cpu):
        for k, v in want.items():
            assert torch.equal(getattr(m, k).detach(), v.to(getattr(m, k).dtype)), k
    assert r["dt_bias"].spec == "uniform(a=0, b=1) + 1 writes"
    assert r["a_log"].spec == "uniform(a=0.5, b=16) + 1 writes"
    assert r["scaled"].spec == "normal(mean=0, std=0.5) + 1 writes"


class HalfDraws(nn.Module):
    """Mamba's time-step bias in a bfloat16 model: torch draws u in float32 (torch.rand), maps it
    in float32 and rounds once into the parameter."""

    def __init__(self):
        super().__init__()
        self.dt_bias = nn.Parameter(torch.empty(4, 16, dtype=torch.bfloat16))
        self.plain = nn.Parameter(torch.empty(3, dtype=torch.bfloat16))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            dt = torch.exp(torch.rand(4, 16, device=self.dt_bias.device) * 5.0 - 7.0)
            self.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))
            self.plain.copy_(torch.rand(3, device=self.plain.device))


def test_a_float32_draw_for_a_bfloat16_tensor_is_mapped_unrounded():
    """The draw is sow's float32 uniform under the tensor's key, the function is computed on it in
    float32 (not on its bfloat16 rounding) and rounded once; the same on meta and on the CPU, and
    a plain copy of the draw is its float32 values rounded once too."""
    with torch.device("meta"):
        meta = HalfDraws()
    r = st.init_module_(meta, seed=8, device="cpu")
    cpu = HalfDraws()
    st.init_module_(cpu, seed=8)
    u = torch.from_numpy(sow.uniform((4, 16), a=0.0, b=1.0, seed=8, key="dt_bias"))
    dt = torch.exp(u * 5.0 - 7.0)
    want = (dt + torch.log(-torch.expm1(-dt))).to(torch.bfloat16)
    coarse = torch.exp(u.to(torch.bfloat16).float() * 5.0 - 7.0)
    coarse = (coarse + torch.log(-torch.expm1(-coarse))).to(torch.bfloat16)
    assert not torch.equal(want, coarse)  # the bfloat16 rounding of u would show
    plain = torch.from_numpy(sow.uniform((3,), a=0.0, b=1.0, seed=8, key="plain"))
    for m in (meta, cpu):
        assert torch.equal(m.dt_bias.detach(), want)
        assert torch.equal(m.plain.detach(), plain.to(torch.bfloat16))
    assert r["dt_bias"].spec == "uniform(a=0, b=1) + 1 writes"


class DeviceValues(nn.Module):
    """Init code that makes its values "on the tensor's device", as Mamba's ``A_log`` does
    (``torch.arange(..., device=self.A_log.device)``): on meta stand-ins they are made on the CPU,
    so the copies are recorded; ``bad`` picks one that really depends on an uninitialized tensor."""

    def __init__(self, bad=None):
        super().__init__()
        self.bad = bad
        self.A_log = nn.Parameter(torch.empty(4, 3))
        self.D = nn.Parameter(torch.empty(4))
        self.v = nn.Parameter(torch.empty(3))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            dev = self.A_log.device
            a = torch.arange(1, 4, dtype=torch.float32, device=dev)[None, :].expand(4, -1)
            self.A_log.copy_(torch.log(a))
            self.D.copy_(torch.ones_like(self.D) * 0.5 + torch.linspace(0, 1, 4, device=dev))
            nn.init.normal_(self.v)
            if self.bad == "mixed":
                self.D.copy_(torch.arange(4, dtype=torch.float32, device=dev) * self.v[0])
            elif self.bad == "in_place":
                t = torch.zeros(3, device=dev)
                t.add_(self.v)
                self.D[:3].copy_(t)


class ClampBounds(nn.Module):
    """Buffers of clamp bounds set to ±inf by init code (Gemma 4's audio tower): deterministic
    writes, not sow specs (which refuse non-finite values)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(3, 2))
        self.register_buffer("lo", torch.empty(2))
        self.register_buffer("hi", torch.empty(()))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.zeros_(self.w)
        nn.init.constant_(self.lo, -float("inf"))
        with torch.no_grad():
            self.hi.fill_(float("inf"))


def test_non_finite_constants_in_init_code_are_written():
    with torch.device("meta"):
        m = ClampBounds()
    st.init_module_(m, seed=0, device="cpu")
    assert torch.equal(m.lo, torch.full((2,), -float("inf"))) and m.hi.item() == float("inf")
    assert torch.equal(m.w, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="val must be finite"):  # as a spec it stays refused
        st.fill_(torch.empty(2), ("constant", {"val": float("inf")}), seed=0, key="x")


def test_values_made_on_the_tensors_device_are_recorded():
    want_a = torch.log(torch.arange(1, 4, dtype=torch.float32)).expand(4, 3)
    want_d = 0.5 + torch.linspace(0, 1, 4)
    with torch.device("meta"):
        meta = DeviceValues()
    r = st.init_module_(meta, seed=1, device="cpu")
    cpu = DeviceValues()
    st.init_module_(cpu, seed=1)
    for m in (meta, cpu):
        assert torch.equal(m.A_log, want_a) and torch.equal(m.D, want_d)
        assert np.array_equal(m.v.detach().numpy(), sow.normal(3, seed=1, key="v"))
    assert r["A_log"].spec == "copy" and r["D"].spec == "copy"


@pytest.mark.parametrize("bad, what", [
    ("mixed", r"D: Tensor\.copy_ from a meta tensor \(a value computed from other uninitialized"),
    ("in_place", r"in-place aten\.add_\.Tensor on a value with an uninitialized tensor"),
])
def test_values_from_uninitialized_tensors_are_still_refused(bad, what):
    _refused_writing_nothing(DeviceValues(bad), what)


class ComplexCache(nn.Module):
    """A RoPE-style cache computed as complex values by the module's own code (torchtitan's
    ComplexRoPE) while the buffer was cast to a real dtype (``Module.to(torch.bfloat16)`` keeps
    only the real part)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(3, 2))
        self.register_buffer("cache", torch.empty(4, 2))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.w)
        self.cache = torch.polar(torch.ones(4, 2), torch.arange(8.0).reshape(4, 2))


def test_complex_values_into_a_real_buffer_are_refused():
    m = ComplexCache()
    m.cache = torch.zeros(4, 2)  # real, as after a cast to a real dtype
    with pytest.raises(ValueError, match=r"cache: assignment of a new buffer of complex values .* "
                                         r"would discard their imaginary part"):
        st.init_module_(m, seed=0)
    assert torch.equal(m.cache, torch.zeros(4, 2))
    r = st.init_module_(m, seed=0, strict=False)
    assert any(u.startswith("cache:") for u in r.unrouted)
    assert torch.equal(m.cache, torch.zeros(4, 2))  # left as it was, listed
    # A complex buffer takes the same values, bit for bit.
    m2 = ComplexCache()
    st.init_module_(m2, seed=0)
    assert torch.equal(m2.cache, torch.polar(torch.ones(4, 2), torch.arange(8.0).reshape(4, 2)))


def test_patch_init_context_manager():
    m = OwnInit()
    with st.patch_init(m, seed=5) as p:
        m.reset_parameters()
        assert m.w.is_meta  # a stand-in of the global shape inside the block
    assert not m.w.is_meta
    assert np.array_equal(m.w.detach().numpy(), sow.trunc_normal((6, 5), std=0.1, a=-0.2, b=0.2, seed=5, key="w"))
    assert {t.fqn for t in p.report.tensors} == {"w", "g", "freqs"}
    m2 = OwnInit(rng="randint")
    with pytest.raises(ValueError, match="torch's RNG"):
        with st.patch_init(m2, seed=5):
            m2.reset_parameters()


# ----------------------------------------------------------------------------------------------
# Recipes


def test_recipe_first_match_wins_and_errors():
    r = sow.Recipe([("*.bias", "zeros"), (lambda t: t.name == "weight", ("normal", {"std": 0.5})),
                    ("*", "ones")])
    m = TwoLinear()
    st.init_module_(m, seed=0, recipe=r)
    assert torch.equal(m.a.bias, torch.zeros(4))
    assert np.array_equal(m.a.weight.detach().numpy(), sow.normal((4, 8), std=0.5, seed=0, key="a.weight"))
    with pytest.raises(ValueError, match=r"parameters no rule of recipe 'custom' sets: a\.weight, b\.weight"):
        st.init_module_(m, seed=0, recipe=sow.Recipe([("*.bias", "zeros")]))
    with pytest.raises(ValueError, match="unknown recipe 'nope'"):
        st.init_module_(m, seed=0, recipe="nope")
    with pytest.raises(TypeError, match=r"rules\[0\]"):
        sow.Recipe([("*", 3)])
    with pytest.raises(TypeError, match="recipe must be"):
        st.init_module_(m, seed=0, recipe=3)


def _titan_like():
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    import torch_dist_cases

    return torch_dist_cases._llama_like(vocab=40, dim=16, ffn=24, layers=3)


def _param(spec, name):
    return float(spec.split(f"{name}=")[1].split(",")[0].rstrip(")"))


def test_torchtitan_llama3_recipe_specs():
    m = _titan_like()
    r = st.init_module_(m, seed=0, recipe="torchtitan_llama3", device="cpu")
    assert r["tok_embeddings.weight"].spec == "normal(mean=0, std=1)"
    assert r["layers.0.attention.wq.weight"].spec == "trunc_normal(mean=0, std=0.02, a=-2, b=2)"
    assert r["layers.2.feed_forward.w1.weight"].spec == "trunc_normal(mean=0, std=0.02, a=-2, b=2)"
    for lid in range(3):
        for name in ("attention.wo", "feed_forward.w2", "feed_forward.w3"):
            spec = r[f"layers.{lid}.{name}.weight"].spec
            assert _param(spec, "std") == pytest.approx(0.02 / math.sqrt(2 * (lid + 1)), rel=1e-15), spec
    out = r["output.weight"].spec
    assert (_param(out, "std"), _param(out, "a"), _param(out, "b")) == pytest.approx((0.25, -0.75, 0.75), rel=1e-15)
    assert r["norm.weight"].spec == "constant(val=1)"
    flat = st.torchtitan_llama3(depth_init=False)
    r2 = st.init_module_(_titan_like(), seed=0, recipe=flat, device="cpu")
    assert _param(r2["layers.2.attention.wo.weight"].spec, "std") == pytest.approx(0.02 / math.sqrt(6), rel=1e-15)


# ----------------------------------------------------------------------------------------------
# Hugging Face models (transformers is a test-only dependency)

transformers = pytest.importorskip("transformers")


def _llama_cfg(**kw):
    args = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, pad_token_id=0,
                tie_word_embeddings=False, initializer_range=0.05)
    args.update(kw)
    return transformers.LlamaConfig(**args)


def _gpt2_cfg(**kw):
    args = dict(n_embd=64, n_layer=3, n_head=4, vocab_size=256, n_positions=32, bos_token_id=0,
                eos_token_id=0, initializer_range=0.03)
    args.update(kw)
    return transformers.GPT2Config(**args)


def _hf_specs(model):
    """transformers' own _init_weights run over the model in initialize_weights' order (children
    first), captured: {fqn: op}."""
    from test_torch_layers import _Capture

    def walk(m):
        for c in m.children():
            walk(c)
        model._init_weights(m)

    with torch.no_grad(), _Capture() as cap:
        walk(model)
    return {f: cap.ops[t.untyped_storage()._cdata] for f, t in model.named_parameters()
            if t.untyped_storage()._cdata in cap.ops}


class _TitanModule(nn.Module):
    """torchtitan 0.3's per-module init protocol (torchtitan/protocols/module.py): the config's
    ``param_init`` table, bound at import as partials of torch.nn.init functions, and
    ``_init_self_buffers(buffer_device=...)`` that re-assigns the buffer it computes."""

    _param_init = None

    def _init_self_parameters(self):
        if self._param_init is not None:
            for name, p in self.named_parameters(recurse=False):
                self._param_init[name](p)

    def _init_self_buffers(self, *, buffer_device=None):
        pass


class _TitanLinear(nn.Linear, _TitanModule):
    pass


class _TitanRoPE(_TitanModule):
    def __init__(self):
        super().__init__()
        self.register_buffer("cache", torch.empty(6, 2, dtype=torch.complex64), persistent=False)

    def _init_self_buffers(self, *, buffer_device=None):
        with torch.device(buffer_device or self.cache.device):
            f = 1.0 / 10000.0 ** (torch.arange(0, 4, 2).float() / 4)
            self.cache = torch.polar(torch.ones(6, 2), torch.outer(torch.arange(6).float(), f))


class _TitanModel(nn.Module):
    def __init__(self, tied=False):
        super().__init__()
        import functools

        self.tok_embeddings = nn.Embedding(12, 8)
        self.wqkv = _TitanLinear(8, 24, bias=False)
        self.wqkv._param_init = {"weight": functools.partial(nn.init.trunc_normal_, std=0.02)}
        self.rope = _TitanRoPE()
        self.lm_head = _TitanLinear(8, 12, bias=False)
        s = 8 ** -0.5
        self.lm_head._param_init = {"weight": functools.partial(nn.init.trunc_normal_, std=s, a=-3 * s, b=3 * s)}
        if tied:
            self.tok_embeddings.weight = self.lm_head.weight


def test_torchtitan_module_protocol_param_init_and_buffers_through_sow():
    """torchtitan 0.3 models: buffers come from the module's own _init_self_buffers (computed
    on the CPU, equal to the eager value, complex included), ``lm_head.weight`` gets the output
    rule, and a param_init table of partials bound at import is routed through sow, not
    torch's RNG (routing only the module attribute would leave it to trunc_normal_'s torch
    ops on meta, which is refused)."""
    with torch.device("meta"):
        m = _TitanModel()
    r = st.init_module_(m, seed=5, recipe="torchtitan_llama3", device="cpu")
    want = _TitanRoPE()
    want._init_self_buffers(buffer_device="cpu")
    assert r["rope.cache"].spec == "copy" and torch.equal(m.rope.cache, want.cache)
    out = r["lm_head.weight"].spec
    s = 8 ** -0.5
    assert (_param(out, "std"), _param(out, "a"), _param(out, "b")) == pytest.approx((s, -3 * s, 3 * s), rel=1e-15)
    module_code = sow.Recipe([("tok_embeddings.*", ("normal", {"std": 1.0})), ("*", st.MODULE_CODE)])
    with torch.device("meta"):
        m2 = _TitanModel()
    r2 = st.init_module_(m2, seed=5, recipe=module_code, device="cpu")
    assert r2["wqkv.weight"].spec == "trunc_normal(mean=0, std=0.02, a=-2, b=2)"
    assert r2["lm_head.weight"].spec == out
    assert torch.equal(m2.lm_head.weight, m.lm_head.weight) and torch.equal(m2.wqkv.weight, m.wqkv.weight)


def test_non_hf_tie_keeps_torch_order_last_write_wins():
    """torchtitan's weight tying (tok_embeddings.weight is lm_head.weight, the embedding's own
    init skipped): its init_states runs children in order, so lm_head's init is the value.
    Under module code sow does the same, keyed by the first name."""
    module_code = sow.Recipe([("*", st.MODULE_CODE)])

    class Skip(nn.Embedding, _TitanModule):
        pass

    with torch.device("meta"):
        m = _TitanModel(tied=True)
        emb = Skip(12, 8)
    emb._param_init = {"weight": lambda p: None}  # torchtitan's skip_param_init
    emb.weight = m.lm_head.weight
    m.tok_embeddings = emb
    r = st.init_module_(m, seed=2, recipe=module_code, device="cpu")
    assert m.tok_embeddings.weight is m.lm_head.weight
    assert [t.fqn for t in r.tensors if "weight" in t.fqn and "wqkv" not in t.fqn] == ["tok_embeddings.weight"]
    s = 8 ** -0.5
    assert _param(r["tok_embeddings.weight"].spec, "std") == pytest.approx(s, rel=1e-15)
    assert np.array_equal(m.lm_head.weight.detach().numpy(),
                          sow.trunc_normal((12, 8), std=s, a=-3 * s, b=3 * s, seed=2, key="tok_embeddings.weight"))



@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_hf_meta_equals_cpu_and_spec_parity(arch):
    from test_torch_layers import sow_op

    cls, cfg = ((transformers.LlamaForCausalLM, _llama_cfg()) if arch == "llama"
                else (transformers.GPT2LMHeadModel, _gpt2_cfg()))
    cpu = cls(cfg)
    want = _hf_specs(cpu)
    r = st.init_module_(cpu, seed=0, recipe="hf")
    with torch.device("meta"):
        meta = cls(cfg)
    st.init_module_(meta, seed=0, recipe="hf", device="cpu")
    a, b = cpu.state_dict(), meta.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for fqn, op in want.items():
        mine = sow_op(r[fqn].spec.split(" + ")[0])
        assert mine[0] == op[0] and mine[1:] == pytest.approx(op[1:], rel=1e-12), (fqn, mine, op)
    if arch == "gpt2":
        assert sow_op(r["transformer.h.1.mlp.c_proj.weight"].spec)[2] == pytest.approx(0.03 / math.sqrt(6), rel=1e-12)
        gm = cls(cfg)
        st.init_module_(gm, seed=0, recipe="gpt2")  # the gpt2 recipe is HF's GPT-2 scheme exactly
        for k, v in gm.state_dict().items():
            assert torch.equal(v, a[k]), k
    else:
        assert torch.count_nonzero(cpu.model.embed_tokens.weight[0]) == 0  # padding row
        inv = cpu.model.rotary_emb.inv_freq
        ref = 1.0 / (cfg.rope_parameters["rope_theta"] ** (torch.arange(0, 16, 2, dtype=torch.float) / 16)) \
            if hasattr(cfg, "rope_parameters") else None
        if ref is not None:
            assert torch.allclose(inv, ref)


def test_hf_tied_embeddings_keep_the_padding_row_zero_as_from_config():
    """transformers initializes the model untied, then ties lm_head to the embedding (init_weights:
    initialize_weights, then tie_weights), so lm_head's own normal_ is dropped and the padding row
    stays zero; sow.torch gives the tied tensor what the embedding's _init_weights gives."""
    cfg = _llama_cfg(tie_word_embeddings=True, pad_token_id=5, num_hidden_layers=1)
    theirs = transformers.AutoModelForCausalLM.from_config(cfg)
    assert theirs.lm_head.weight is theirs.model.embed_tokens.weight
    assert not theirs.model.embed_tokens.weight[5].any()
    with torch.device("meta"):
        ours = transformers.AutoModelForCausalLM.from_config(cfg)
    r = st.init_module_(ours, seed=3, recipe="hf", device="cpu")
    w = ours.model.embed_tokens.weight
    assert ours.lm_head.weight is w and "lm_head.weight" not in [t.fqn for t in r.tensors]
    spec = r["model.embed_tokens.weight"].spec
    assert spec.startswith("normal(mean=0, ") and spec.endswith(") + 1 writes")
    assert _param(spec.split(" + ")[0], "std") == pytest.approx(0.05, rel=1e-15)
    assert torch.equal(w[5], torch.zeros(64)) and torch.count_nonzero(w) == w.numel() - 64
    want = sow.normal((256, 64), std=0.05, seed=3, key="model.embed_tokens.weight")
    want[5] = 0
    assert np.array_equal(w.detach().numpy(), want)
    untied = transformers.AutoModelForCausalLM.from_config(_llama_cfg(pad_token_id=5,
                                                                      num_hidden_layers=1))
    st.init_module_(untied, seed=3, recipe="hf")  # the embedding's values do not depend on the tie
    assert torch.equal(untied.model.embed_tokens.weight, w)
    plan = st.plan_module(ours, recipe="hf")
    emb = next(t for t in plan.records if t.fqn == "model.embed_tokens.weight")
    assert emb.names == ("model.embed_tokens.weight", "lm_head.weight")
    assert emb.stored_name == "model.embed_tokens.weight" and emb.zero_rows == (5,)


def test_hf_adding_a_layer_changes_no_other_parameter():
    two = transformers.LlamaForCausalLM(_llama_cfg())
    three = transformers.LlamaForCausalLM(_llama_cfg(num_hidden_layers=3))
    st.init_module_(two, seed=4, recipe="hf")
    st.init_module_(three, seed=4, recipe="hf")
    p3 = dict(three.named_parameters())
    for name, p in two.named_parameters():
        assert torch.equal(p, p3[name]), name


def test_hf_distribution_parity_with_from_config_ks():
    cfg = _llama_cfg()
    torch.manual_seed(0)
    theirs = transformers.AutoModelForCausalLM.from_config(cfg)
    with torch.device("meta"):
        ours = transformers.AutoModelForCausalLM.from_config(cfg)
    st.init_module_(ours, seed=0, recipe="hf", device="cpu")
    mine = dict(ours.named_parameters())
    tested = 0
    for fqn, p in theirs.named_parameters():
        a, b = p.detach().numpy().ravel(), mine[fqn].detach().numpy().ravel()
        if np.all(a == a[0]):
            assert np.array_equal(a, b), fqn
            continue
        assert stats_ks(a, b) > KS_P_MIN, fqn
        tested += 1
    assert tested >= 15


def stats_ks(a, b):
    from scipy import stats

    return stats.ks_2samp(a, b).pvalue


def test_torch_recipe_on_hf_model_uses_hf_code_for_its_own_modules():
    m = transformers.LlamaForCausalLM(_llama_cfg())
    r = st.init_module_(m, seed=0, recipe="torch")
    assert r["model.layers.0.input_layernorm.weight"].spec == "constant(val=1)"  # HF's RMSNorm
    assert r["model.layers.0.mlp.up_proj.weight"].spec.startswith("uniform(")  # torch's Linear
    assert r["model.rotary_emb.inv_freq"].spec == "copy"




class WeightNormed(nn.Module):
    """Weight norm in both of torch's forms and over several dims, float32 and bfloat16."""

    def __init__(self):
        super().__init__()
        wn = nn.utils.parametrizations.weight_norm
        self.conv = wn(nn.Conv1d(4, 6, 5, groups=2), dim=2)   # Wav2Vec2's positional conv
        self.lin = wn(nn.Linear(40, 24))                        # dim=0: EnCodec, DAC
        self.whole = wn(nn.Linear(8, 8, dtype=torch.bfloat16), dim=None)
        with pytest.warns(FutureWarning, match="deprecated"):
            self.old = nn.utils.weight_norm(nn.Conv2d(3, 4, 3), dim=1)  # weight_g / weight_v


def _weight_norms(m):
    """(v, g, dim) of each weight-normed layer of WeightNormed (dim -1: the whole tensor)."""
    out = []
    for layer in (m.conv, m.lin, m.whole):
        pl = layer.parametrizations.weight
        out.append((pl.original1, pl.original0, pl[0].dim))
    out.append((m.old.weight_v, m.old.weight_g, 1))
    return out


def test_weight_norm_v_is_the_layers_init_and_g_its_norm():
    """torch applies weight norm to an initialized layer: v = the weight, g = ‖v‖ over every dim
    but ``dim``, so the layer's weight is still its init. sow: v gets the layer's spec (keyed by
    v's name), g the norm of v's fill (summed in float64, rounded once): within one rounding of
    torch's own norm_except_dim, and the layer computes its weight back from them."""
    m = WeightNormed()
    r = st.init_module_(m, seed=4)
    plain = {"conv": nn.Conv1d(4, 6, 5, groups=2), "lin": nn.Linear(40, 24),
             "whole": nn.Linear(8, 8)}
    for name, layer in plain.items():
        want = st.init_module_(layer, seed=4)["weight"].spec
        assert r[f"{name}.parametrizations.weight.original1"].spec == want
    assert r["old.weight_v"].spec == st.init_module_(nn.Conv2d(3, 4, 3), seed=4)["weight"].spec
    assert r["conv.parametrizations.weight.original0"].spec == \
        "norm of conv.parametrizations.weight.original1 over all dims but 2"
    assert r["whole.parametrizations.weight.original0"].spec == \
        "norm of whole.parametrizations.weight.original1 over all dims"
    v = m.conv.parametrizations.weight.original1
    assert torch.equal(v.detach(), torch.from_numpy(sow.kaiming_uniform(
        (6, 2, 5), a=math.sqrt(5), seed=4, key="conv.parametrizations.weight.original1")))
    for v, g, dim in _weight_norms(m):
        want = torch.norm_except_dim(v.detach().double(), 2, dim).to(g.dtype)
        assert g.shape == want.shape and g.dtype == v.dtype
        torch.testing.assert_close(g.detach(), want, rtol=2 ** -23 if g.dtype == torch.float32
                                   else 2 ** -8, atol=0)
    torch.testing.assert_close(m.lin.weight, m.lin.parametrizations.weight.original1)
    assert not torch.equal(m.conv.weight[:, :, 0], m.conv.weight[:, :, 1])


def test_weight_norm_meta_equals_cpu_and_g_follows_a_rule_for_v():
    with torch.device("meta"):
        meta = WeightNormed()
    st.init_module_(meta, seed=11, device="cpu")
    cpu = WeightNormed()
    st.init_module_(cpu, seed=11)
    for k, v in cpu.state_dict().items():
        assert torch.equal(meta.state_dict()[k], v), k
    rule = sow.Recipe([("lin.parametrizations.weight.original1", ("normal", {"std": 3.0}))]) \
        + st.RECIPES["torch"]
    st.init_module_(cpu, seed=11, recipe=rule)
    v, g = cpu.lin.parametrizations.weight.original1, cpu.lin.parametrizations.weight.original0
    assert abs(float(v.detach().std()) - 3.0) < 0.3
    torch.testing.assert_close(g.detach(), torch.norm_except_dim(v.detach(), 2, 0))


def test_weight_norm_g_without_its_v_is_refused_and_nothing_is_written():
    m = WeightNormed()
    before = {k: v.detach().clone() for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match=r"weight-norm magnitudes g, the norm of their v's fill, "
                                         r"whose v is skipped, unset or more than one spec: "
                                         r"lin\.parametrizations\.weight\.original0 \(skip g too"):
        st.init_module_(m, seed=0, skip="lin.parametrizations.weight.original1")
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k
    g = "lin.parametrizations.weight.original0"
    r = st.init_module_(m, seed=0, skip="lin.parametrizations.weight.original1", strict=False)
    assert r.unset == [g] and torch.equal(m.state_dict()[g], before[g])
    r = st.init_module_(m, seed=0, skip="lin.parametrizations.weight.*")
    assert torch.equal(m.lin.parametrizations.weight.original0, before["lin.parametrizations.weight.original0"])
    assert len(r.skipped) == 2


class EmptyParam(nn.Module):
    """A zero-element parameter that nothing initializes (DINOv3's register tokens when there are
    none): nothing to write, so no rule is needed."""

    def __init__(self):
        super().__init__()
        self.tokens = nn.Parameter(torch.empty(1, 0, 8))
        self.lin = nn.Linear(2, 2)


def test_zero_element_parameter_needs_no_rule():
    r = st.init_module_(EmptyParam(), seed=0)
    assert "zeros" in r["tokens"].spec and r["tokens"].bytes == 0
    with pytest.raises(ValueError, match="no rule of recipe 'x' sets: lin.weight, lin.bias"):
        st.init_module_(EmptyParam(), seed=0, recipe=sow.Recipe([], name="x"))


class ViewInit(nn.Module):
    """Init through a view of a whole weight: vit_mae's xavier_uniform_(w.view(w.shape[0], -1))
    ("like nn.Linear"), a transposed view, and the refused ones."""

    def __init__(self, how):
        super().__init__()
        self.how = how
        self.proj = nn.Conv2d(3, 8, 4)

    def reset_parameters(self):
        w = self.proj.weight
        if self.how == "reshape":
            nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        elif self.how == "transpose":
            nn.init.kaiming_normal_(w.view(8, -1).t())
        elif self.how == "orthogonal":
            nn.init.orthogonal_(w.view(8, -1))
        elif self.how == "half":
            nn.init.normal_(w.view(8, -1)[:4])
        nn.init.zeros_(self.proj.bias)


@pytest.mark.parametrize("how,fans", [("reshape", (48, 8)), ("transpose", (8, 48))])
def test_init_through_a_view_of_the_whole_tensor_uses_the_views_fans(how, fans):
    m = ViewInit(how)
    with st.patch_init(m, seed=6) as p:
        m.reset_parameters()
    fn = sow.xavier_uniform if how == "reshape" else sow.kaiming_normal
    want = fn((8, 3, 4, 4), fan_in=fans[0], fan_out=fans[1], seed=6, key="proj.weight")
    assert torch.equal(m.proj.weight.detach(), torch.from_numpy(want))
    assert p.report["proj.weight"].spec.startswith("uniform" if how == "reshape" else "normal")


@pytest.mark.parametrize("how,what", [
    ("orthogonal", r"orthogonal_ on a view \[8, 48\] of it \(a structured init"),
    ("half", r"normal_ on a slice \[4, 48\] of it \(a random init of part")])
def test_structured_or_partial_init_through_a_view_is_refused(how, what):
    m = ViewInit(how)
    before = {k: v.detach().clone() for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match=what):
        with st.patch_init(m, seed=6):
            m.reset_parameters()
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k


class ReadsItsBuffers(nn.Module):
    """Init code that computes a buffer from another it has just set (MusicFlamingo's rotary
    angles from ``inv_freq``); ``bad`` reads a tensor whose values are a random fill."""

    def __init__(self, bad=False):
        super().__init__()
        self.bad = bad
        self.w = nn.Parameter(torch.empty(3, 4))
        self.register_buffer("inv_freq", torch.empty(4))
        self.register_buffer("angles", torch.empty(6, 4))
        self.register_buffer("twice", torch.empty(4, dtype=torch.float64))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            dev = self.inv_freq.device
            nn.init.normal_(self.w)
            self.inv_freq.copy_(1.0 / 10000 ** (torch.arange(0, 8, 2, device=dev) / 8))
            pos = torch.arange(6, device=dev, dtype=torch.float32)
            self.angles.copy_(pos[:, None] * self.inv_freq[None, :])
            self.twice.copy_(self.inv_freq.double() * 2)
            if self.bad:
                self.twice.copy_(self.w.sum(0))


def test_init_code_reads_the_values_it_has_set():
    torch_way = ReadsItsBuffers()  # torch ran the same code on the CPU
    with torch.device("meta"):
        meta = ReadsItsBuffers()
    st.init_module_(meta, seed=2, device="cpu")
    for k in ("inv_freq", "angles", "twice"):
        assert torch.equal(getattr(meta, k), getattr(torch_way, k)), k
    _refused_writing_nothing(ReadsItsBuffers(bad=True),
                             r"twice: Tensor\.copy_ from a meta tensor \(a value computed from "
                             r"other uninitialized tensors\)")
