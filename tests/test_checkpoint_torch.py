"""sow.checkpoint with a torch source (test-only: torch, transformers, safetensors): a model built
on meta, a transformers class with its config, or a PretrainedConfig gives the same bytes as the
config.json source of the same model; a custom nn.Module's checkpoint equals
sow.torch.init_module_ of the same module bit for bit; nothing is materialized while the specs are
captured; tensors a checkpoint cannot hold are refused by name before anything is written."""

from __future__ import annotations

import json
import logging
import resource

import pytest

import sow.checkpoint as ck

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
safetensors = pytest.importorskip("safetensors")
from torch import nn  # noqa: E402

import sow.torch as st  # noqa: E402

logging.getLogger("transformers").setLevel(logging.ERROR)

from tiny_hf_configs import CONFIGS as _ALL  # noqa: E402

CONFIGS = {k: _ALL[k] for k in ("llama", "llama-bias-tied-pad", "qwen3", "gpt2", "gpt2-untied")}


def _conf(cfg):
    return transformers.AutoConfig.for_model(**cfg)


def _meta_model(cfg):
    with torch.device("meta"):
        return transformers.AutoModelForCausalLM.from_config(_conf(cfg))


def _files(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.name.endswith(
        (".safetensors", ".index.json"))}


def _all_meta(model):
    return all(t.is_meta for t in list(model.parameters()) + list(model.buffers()))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_hf_model_sources_equal_the_config_source(name, tmp_path):
    cfg = CONFIGS[name]
    ck.write(cfg, tmp_path / "json", seed=5, progress=False, max_shard_size="20KB")
    want = _files(tmp_path / "json")
    assert len(want) > 2  # sharded: the index is compared too
    model = _meta_model(cfg)
    cls = type(model)
    named = _conf(cfg)
    named.architectures = [cls.__name__]
    sources = {"module": (model, None), "pair": ((cls, _conf(cfg)), None),
               "config=": (cls, _conf(cfg)), "dict config": (cls, dict(cfg)),
               "PretrainedConfig": (named, None), "auto": (_conf(cfg), None)}
    for label, (src, conf) in sources.items():
        assert [(t.name, t.shape, t.spec, t.zero_rows) for t in ck.tensors(src, config=conf)] == [
            (t.name, t.shape, t.spec, t.zero_rows) for t in ck.tensors(cfg)], label
        out = tmp_path / label.replace(" ", "_")
        ck.write(src, out, seed=5, progress=False, max_shard_size="20KB", config=conf)
        assert _files(out) == want, label
    assert _all_meta(model)


def test_hf_model_source_loads_with_from_pretrained(tmp_path):
    cfg = CONFIGS["llama-bias-tied-pad"]
    ck.write(_meta_model(cfg), tmp_path, seed=2, progress=False)
    loaded, info = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path),
                                                                      output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    assert type(loaded).__name__ == "LlamaForCausalLM" and loaded.dtype == torch.bfloat16
    assert loaded.lm_head.weight is loaded.model.embed_tokens.weight
    ours = _meta_model(cfg).to(torch.bfloat16)
    st.init_module_(ours, seed=2, recipe="hf", device="cpu")
    for n, p in ours.named_parameters():
        assert torch.equal(p.view(torch.int16), loaded.get_parameter(n).view(torch.int16)), n
    assert not loaded.model.embed_tokens.weight[3].any()
    assert ck.verify(tmp_path, seed=2).ok


class Block(nn.Module):
    """A module type sow.torch has no rule for: its own reset_parameters runs, routed."""

    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(torch.empty(n))
        self.shift = nn.Parameter(torch.empty(n))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.scale, 1.0, 0.1)
        nn.init.zeros_(self.shift)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(40, 16, padding_idx=7)
        self.norm = nn.LayerNorm(16)
        self.up = nn.Linear(16, 48)
        self.down = nn.Linear(48, 16)
        self.block = Block(16)
        self.head = nn.Linear(16, 40, bias=False)
        self.head.weight = self.embed.weight
        self.register_buffer("mask", torch.ones(4), persistent=False)


def test_custom_module_checkpoint_equals_init_module(tmp_path):
    from safetensors import safe_open

    with torch.device("meta"):
        src = MLP()
    rep = ck.write(src, tmp_path, seed=9, recipe="torch", dtype="float32", progress=False)
    assert _all_meta(src) and sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]
    names = ["embed.weight", "norm.weight", "norm.bias", "up.weight", "up.bias", "down.weight",
             "down.bias", "block.scale", "block.shift"]  # state_dict order, tie and mask left out
    assert [t.name for t in ck.tensors(src, recipe="torch")] == names and rep.tensors == len(names)
    with torch.device("meta"):
        ref = MLP()
    st.init_module_(ref, seed=9, recipe="torch", device="cpu", skip="mask")
    sd = ref.state_dict()
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        assert list(f.keys()) == sorted(names)
        for n in names:
            assert torch.equal(f.get_tensor(n).view(torch.int32), sd[n].view(torch.int32)), n
        assert not f.get_tensor("embed.weight")[7].any()
    assert ck.verify(tmp_path, seed=9).ok


def _weight_normed():
    wn = nn.utils.parametrizations.weight_norm
    return nn.Sequential(wn(nn.Conv1d(4, 6, 3), dim=2), wn(nn.Linear(50, 70)),
                         wn(nn.Linear(3, 3), dim=None))


def test_weight_norm_checkpoint_equals_init_module_across_files(tmp_path):
    """A weight norm's g is stored as ("norm_of", {tensor: v, dim}) and its values computed
    from v's spec (sow._norm_of, shared with sow.torch): equal to init_module_'s bit for bit, also
    when g and v land in different files; verify recomputes g and finds a corrupted byte."""
    from safetensors import safe_open

    with torch.device("meta"):
        src = _weight_normed()
    ck.write(src, tmp_path, seed=3, recipe="torch", progress=False, max_shard_size=3000)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())["weight_map"]
    g, v = "1.parametrizations.weight.original0", "1.parametrizations.weight.original1"
    assert index[g] != index[v]
    recs = {t.name: t for t in ck.tensors(src, recipe="torch")}
    assert recs["0.parametrizations.weight.original0"].spec == \
        ("norm_of", {"tensor": "0.parametrizations.weight.original1", "dim": 2})
    ref = _weight_normed().to(torch.bfloat16)
    st.init_module_(ref, seed=3)
    for n, want in ref.state_dict().items():
        with safe_open(str(tmp_path / index[n]), "pt") as f:
            assert torch.equal(f.get_tensor(n).view(torch.int16), want.view(torch.int16)), n
    assert ck.verify(tmp_path, seed=3).ok
    path = tmp_path / index[g]
    raw = bytearray(path.read_bytes())
    begin = 8 + int.from_bytes(raw[:8], "little")
    hdr = json.loads(raw[8:begin])
    raw[begin + hdr[g]["data_offsets"][0] + 1] ^= 0x40
    path.write_bytes(bytes(raw))
    rep = ck.verify(tmp_path, seed=3)
    assert not rep.ok and any(g in m for m in rep.mismatches), rep.mismatches


def test_norm_of_tensors_are_checked_before_anything_is_written(tmp_path):
    v = ck.Tensor("v", (4, 3), None, ("normal", {}))
    bad = {"no such tensor": (ck.Tensor("g", (4, 1), None, ("norm_of", {"tensor": "w", "dim": 0})),
                              r"norm_of: no tensor named 'w'"),
           "shape": (ck.Tensor("g", (1, 3), None, ("norm_of", {"tensor": "v", "dim": 0})),
                     r"has shape \(4, 1\), not \(1, 3\)"),
           "dim": (ck.Tensor("g", (4, 1), None, ("norm_of", {"tensor": "v", "dim": 2})),
                   r"dim must be an int in \[-1, 2\)"),
           "params": (ck.Tensor("g", (4, 1), None, ("norm_of", {"tensor": "v"})),
                      r"norm_of takes tensor= \(a name\) and dim="),
           "int": (ck.Tensor("g", (4, 1), "int64", ("norm_of", {"tensor": "v", "dim": 0})),
                   r"norm_of makes floating-point values, not int64")}
    for what, (g, msg) in bad.items():
        with pytest.raises(ValueError, match=msg):
            ck.write([v, g], tmp_path / "x", seed=0, progress=False)
        assert not (tmp_path / "x").exists(), what
    with pytest.raises(ValueError, match=r"v must be a floating tensor with a spec of its own"):
        ck.write([ck.Tensor("v", (4, 3), None, "normal", zero_rows=(1,)),
                  ck.Tensor("g", (4, 1), None, ("norm_of", {"tensor": "v", "dim": 0}))],
                 tmp_path / "x", seed=0, progress=False)


def test_hf_weight_norm_checkpoint_loads_with_from_pretrained(tmp_path):
    """Wav2Vec2's weight-normed positional convolution: the checkpoint loads into
    transformers with no missing key and equals init_module_ (recipe "hf") bit for bit."""
    cfg = transformers.Wav2Vec2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                                      intermediate_size=48, conv_dim=(16, 16), conv_stride=(5, 2),
                                      conv_kernel=(10, 3), num_conv_pos_embeddings=8,
                                      num_conv_pos_embedding_groups=4)
    ck.write(transformers.Wav2Vec2Model, tmp_path, config=cfg, seed=4, recipe="hf",
             dtype="float32", progress=False)
    loaded, info = transformers.Wav2Vec2Model.from_pretrained(str(tmp_path),
                                                              output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    with torch.device("meta"):
        ours = transformers.Wav2Vec2Model(cfg)
    st.init_module_(ours, seed=4, recipe="hf", device="cpu")
    for n, p in ours.named_parameters():
        assert torch.equal(p, loaded.get_parameter(n)), n
    assert ck.verify(tmp_path, seed=4).ok


def test_capture_materializes_nothing(monkeypatch):
    """A ~0.7 B-parameter Llama on meta (2.7 GB in float32): the specs come from its init code
    with every tensor still on meta, no to_empty/_apply, and the peak RSS grows by < 256 MiB."""
    cfg = dict(CONFIGS["llama"], vocab_size=32000, hidden_size=4096, intermediate_size=11008,
               num_attention_heads=32, num_key_value_heads=8)
    model = _meta_model(cfg)
    params = {n: p for n, p in model.named_parameters()}

    def refuse(*a, **k):
        raise AssertionError("the model was materialized")

    monkeypatch.setattr(nn.Module, "to_empty", refuse)
    monkeypatch.setattr(nn.Module, "_apply", refuse)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ts = ck.tensors(model)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    monkeypatch.undo()
    assert sum(t.numel for t in ts) > 600_000_000
    assert grown < 256 << 20, grown
    assert all(p is params[n] and p.is_meta for n, p in model.named_parameters())
    assert _all_meta(model)
    assert [t.name for t in ts] == [t.name for t in ck.tensors(cfg)]


class Stats(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.bn = nn.BatchNorm1d(4)


class Table(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.register_buffer("table", torch.arange(4.0))

    def reset_parameters(self):
        self.table = torch.arange(4.0) * 2  # a computed value: a copy, which no Plan item holds


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.register_buffer("steps", torch.zeros(3, dtype=torch.int64))

    def reset_parameters(self):
        self.steps.copy_(torch.arange(3))  # an integer value that is not a constant


def test_integer_buffers_are_constants_and_equal_init_module(tmp_path):
    """BatchNorm's int64 num_batches_tracked keeps its dtype (I64, laid out where
    safetensors.numpy.save puts it), next to float32 running statistics; the file equals
    init_module_'s state_dict bit for bit, loads with safe_open and verifies."""
    from safetensors import safe_open

    with torch.device("meta"):
        src = Stats()
    ck.write(src, tmp_path, seed=3, recipe="torch", dtype="float32", progress=False)
    with torch.device("meta"):
        ref = Stats()
    st.init_module_(ref, seed=3, recipe="torch", device="cpu")
    sd = ref.state_dict()
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        assert sorted(f.keys()) == sorted(sd)
        for n, want in sd.items():
            got = f.get_tensor(n)
            assert got.dtype == want.dtype and torch.equal(got, want), n
    assert ck.verify(tmp_path, seed=3).ok


def test_tensors_a_checkpoint_cannot_hold_are_refused_by_name(tmp_path):
    with torch.device("meta"):
        counter, table = Counter(), Table()
    with pytest.raises(ValueError, match=r"steps \(int64: a checkpoint holds integer and bool "
                                         r"tensors as constants only"):
        ck.write(counter, tmp_path / "a", seed=0, recipe="torch", progress=False)
    with pytest.raises(ValueError, match=r"table \(a copied value"):
        ck.write(table, tmp_path / "b", seed=0, recipe="torch", progress=False)
    mamba = transformers.MambaConfig(vocab_size=37, hidden_size=16, num_hidden_layers=1,
                                     state_size=4, pad_token_id=0)
    with pytest.raises(ValueError, match=r"backbone\.layers\.0\.mixer\.dt_proj\.bias \(an "
                                         r"elementwise function of its fill"):
        ck.write(transformers.MambaForCausalLM, tmp_path / "c", config=mamba, seed=0, recipe="hf",
                 progress=False)
    assert not any((tmp_path / d).exists() for d in "abc")


def test_source_argument_errors(tmp_path):
    cls = transformers.LlamaForCausalLM
    with pytest.raises(TypeError, match="needs a config"):
        ck.tensors(cls)
    with pytest.raises(TypeError, match="config= goes with a model class"):
        ck.tensors("llama-tiny", config=_conf(CONFIGS["llama"]))
    with pytest.raises(TypeError, match="give the config once"):
        ck.tensors((cls, _conf(CONFIGS["llama"])), config=_conf(CONFIGS["llama"]))
    bad = _conf(CONFIGS["llama"])
    bad.architectures = ["NoSuchModel"]
    with pytest.raises(ValueError, match="NoSuchModel"):
        ck.tensors(bad)
    with pytest.raises(ValueError, match="parameters no rule of recipe 'custom'"):
        ck.tensors(_meta_model(CONFIGS["llama"]), recipe=st.Recipe([("*.bias", "zeros")]))
    assert not list(tmp_path.iterdir())
