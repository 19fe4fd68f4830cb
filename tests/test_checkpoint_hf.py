"""sow.checkpoint against transformers (test-only: torch, transformers, safetensors): the built-in
architectures have transformers' exact names, shapes and order, the checkpoints load with
``from_pretrained`` with no missing or unexpected key, ``save_pretrained`` of the loaded model
lays the files out the same way, and the values equal ``sow.torch.init_module_(recipe="hf")``
bit for bit (when sow.torch is present)."""

from __future__ import annotations

import json
import logging

import pytest

import sow.checkpoint as ck
from sow.checkpoint import _arch

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")

logging.getLogger("transformers").setLevel(logging.ERROR)

from tiny_hf_configs import CONFIGS  # noqa: E402


def _meta_model(cfg):
    conf = transformers.AutoConfig.for_model(**cfg)
    with torch.device("meta"):
        return transformers.AutoModelForCausalLM.from_config(conf)


def _stored(model):
    """What save_pretrained stores: state_dict order, tied copies dropped."""
    sd = model.state_dict()
    first = {}
    for k, v in sd.items():
        first.setdefault(id(v), k)
    names = dict(model.named_parameters())
    return [(k, tuple(v.shape)) for k, v in sd.items()
            if k in names and first[id(sd[k])] == k]


@pytest.mark.parametrize("name", list(CONFIGS) + ["llama-tiny", "gpt2-tiny", "qwen3-tiny"])
def test_names_shapes_order_are_transformers(name):
    cfg = CONFIGS.get(name) or ck.PRESETS[name]
    got = [(t.name, t.shape) for t in ck.tensors(cfg)]
    assert got == _stored(_meta_model(cfg))


def test_defaults_are_the_config_classes():
    for mt, defaults in _arch._DEFAULTS.items():
        conf = transformers.AutoConfig.for_model(mt)
        for k, v in defaults.items():
            if k in ("num_key_value_heads", "head_dim") and v is None:
                continue  # derived in __post_init__; resolved() derives them the same way
            assert getattr(conf, k) == v, (mt, k)
        c = _arch.resolved({"model_type": mt})
        for k in ("num_key_value_heads", "head_dim"):
            if k in c and hasattr(conf, k):  # Qwen2Config has no head_dim: hidden // heads
                assert getattr(conf, k) == c[k], (mt, k)


def _hf_specs_ok(model, ts):
    """Each tensor's spec is what _init_weights asks for, read off transformers' own code:
    run initialize_weights on a CPU model with torch.nn.init's normal_/zeros_/ones_ recorded."""
    rec = {}
    by_id = {id(p): n for n, p in model.named_parameters()}
    import transformers.initialization as tinit

    real = dict(tinit.TORCH_INIT_FUNCTIONS)

    def recorder(kind):
        def f(tensor, *a, **kw):
            n = by_id.get(id(tensor))
            if n is not None:
                rec[n] = (kind, a, kw)
            return real[kind](tensor, *a, **kw)
        return f

    for k in ("normal_", "zeros_", "ones_"):
        tinit.TORCH_INIT_FUNCTIONS[k] = recorder(k)
    try:
        for m in model.modules():
            m._is_hf_initialized = False
        model.initialize_weights()
    finally:
        tinit.TORCH_INIT_FUNCTIONS.update(real)
    for t in ts:
        kind, a, kw = rec[t.name]
        if kind == "normal_":
            assert t.spec.name == "normal" and t.spec.params == {"mean": kw["mean"], "std": kw["std"]}, t
        else:
            assert t.spec.name == kind[:-1], t


@pytest.mark.parametrize("name", list(CONFIGS))
def test_specs_are_init_weights(name):
    cfg = CONFIGS[name]
    model = transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(**cfg))
    _hf_specs_ok(model, ck.tensors(cfg))


@pytest.mark.parametrize("name", ["llama-tiny", "gpt2-tiny"])
def test_from_pretrained_loads_every_key(name, tmp_path):
    d = tmp_path / "c"
    ck.write(name, d, seed=11, progress=False, max_shard_size="100KB")
    model, info = transformers.AutoModelForCausalLM.from_pretrained(str(d), output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    assert info["mismatched_keys"] == set() and not info["error_msgs"]
    assert model.dtype == torch.bfloat16
    from safetensors import safe_open

    idx = json.loads((d / "model.safetensors.index.json").read_text())
    for t in ck.tensors(name):
        with safe_open(str(d / idx["weight_map"][t.name]), "pt") as f:
            assert torch.equal(model.get_parameter(t.name), f.get_tensor(t.name)), t.name
    # save_pretrained of a model built from the config holding these values: the same file names,
    # index and per-file layout. (A model from from_pretrained would save in the order it loaded.)
    conf = transformers.AutoConfig.from_pretrained(str(d))
    fresh = transformers.AutoModelForCausalLM.from_config(conf, dtype=torch.bfloat16)
    fresh.load_state_dict(model.state_dict())
    fresh.save_pretrained(str(tmp_path / "hf"), max_shard_size="100KB")
    hf_idx = json.loads((tmp_path / "hf" / "model.safetensors.index.json").read_text())
    assert hf_idx["weight_map"] == idx["weight_map"]
    assert hf_idx["metadata"] == idx["metadata"]
    for fname in set(idx["weight_map"].values()):
        ours, theirs = _header(d / fname), _header(tmp_path / "hf" / fname)
        ours.pop("__metadata__")
        assert list(ours.items()) == [(k, v) for k, v in theirs.items() if k != "__metadata__"]
        assert (d / fname).read_bytes()[-64:] == (tmp_path / "hf" / fname).read_bytes()[-64:]


def _header(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n])


SOW_TORCH = [("llama-tiny", "hf"), ("gpt2-tiny", "hf"), ("llama-bias-tied-pad", "hf"),
             ("qwen3", "hf"), ("qwen2", "hf"), ("gpt2-untied", "hf"), ("gpt2-tiny", "gpt2"),
             ("llama-bias-tied-pad", "torch"), ("qwen3", "torch")]


@pytest.mark.parametrize("name,recipe", SOW_TORCH, ids=[f"{n}-{r}" for n, r in SOW_TORCH])
def test_equals_sow_torch_init_module(name, recipe, tmp_path):
    """The embedded recipes are sow.torch's on the transformers model, bit for bit."""
    st = pytest.importorskip("sow.torch")
    cfg = CONFIGS.get(name) or ck.PRESETS[name]
    ck.write(cfg, tmp_path, seed=7, progress=False, recipe=recipe)
    loaded = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path))
    conf = transformers.AutoConfig.from_pretrained(str(tmp_path))
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(conf, dtype=torch.bfloat16)
    st.init_module_(model, recipe=recipe, seed=7, device="cpu")
    names = [n for n, _ in model.named_parameters()]
    assert names == [t.name for t in ck.tensors(cfg)] or sorted(names) == sorted(
        t.name for t in ck.tensors(cfg))
    for n, p in model.named_parameters():
        q = loaded.get_parameter(n)
        assert p.dtype == q.dtype
        # tied embeddings with pad_token_id included: both zero the padding row, as transformers
        assert torch.equal(p.view(torch.int16), q.view(torch.int16)), n
    pad = cfg.get("pad_token_id")
    if pad is not None:
        assert not model.get_parameter("model.embed_tokens.weight")[pad].any()


def test_padding_row_with_tied_embeddings_is_transformers():
    """What transformers itself does (from_config on the CPU): the pad row is zero, tied or not."""
    for tie in (False, True):
        cfg = dict(CONFIGS["llama-bias-tied-pad"], tie_word_embeddings=tie)
        m = transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(**cfg))
        assert not m.model.embed_tokens.weight[3].any()
        assert ck.tensors(cfg)[0].zero_rows == (3,)
