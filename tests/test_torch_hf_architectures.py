"""recipe="hf" on Hugging Face architectures beyond Llama and GPT-2 (encoders, encoder-decoders,
mixtures of experts, MLA, speech, vision): for each, a model built on meta and one built on the
CPU get the same bits; every tensor whose last whole-tensor init op in transformers' own
``from_config`` is a normal, uniform or constant gets exactly that spec from sow; tensors
transformers leaves constant are equal; buffers equal ``from_config``'s. Init code that draws
from torch's RNG (Mamba's time-step bias) is refused by name, and what it computes without the RNG
(Mamba's ``A_log``) is recorded exactly."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import sow.torch as st  # noqa: E402
from test_torch_layers import _Capture, sow_op  # noqa: E402

_COMMON = dict(vocab_size=96, pad_token_id=1, bos_token_id=1, eos_token_id=2)
_DECODER = dict(_COMMON, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2)

#: name -> (Auto class, AutoConfig.for_model keyword arguments)
ARCHS = {
    "bert": ("AutoModelForMaskedLM", dict(_COMMON, model_type="bert", hidden_size=32,
                                          num_hidden_layers=2, num_attention_heads=4,
                                          intermediate_size=48, max_position_embeddings=32)),
    "roberta": ("AutoModelForMaskedLM", dict(_COMMON, model_type="roberta", hidden_size=32,
                                             num_hidden_layers=2, num_attention_heads=4,
                                             intermediate_size=48, max_position_embeddings=40)),
    "t5": ("AutoModelForSeq2SeqLM", dict(_COMMON, model_type="t5", d_model=32, d_kv=8, d_ff=48,
                                         num_layers=2, num_decoder_layers=2, num_heads=4,
                                         decoder_start_token_id=1)),
    "bart": ("AutoModelForSeq2SeqLM", dict(_COMMON, model_type="bart", d_model=32,
                                           encoder_layers=2, decoder_layers=2,
                                           encoder_attention_heads=4, decoder_attention_heads=4,
                                           encoder_ffn_dim=48, decoder_ffn_dim=48,
                                           max_position_embeddings=32,
                                           decoder_start_token_id=2)),
    "gemma2": ("AutoModelForCausalLM", dict(_DECODER, model_type="gemma2", head_dim=8)),
    "mixtral": ("AutoModelForCausalLM", dict(_DECODER, model_type="mixtral", num_local_experts=4,
                                             num_experts_per_tok=2)),
    "qwen2_moe": ("AutoModelForCausalLM", dict(_DECODER, model_type="qwen2_moe", num_experts=4,
                                               num_experts_per_tok=2, moe_intermediate_size=16,
                                               shared_expert_intermediate_size=24)),
    "deepseek_v3": ("AutoModelForCausalLM", dict(_DECODER, model_type="deepseek_v3",
                                                 n_routed_experts=4, num_experts_per_tok=2,
                                                 moe_intermediate_size=16, n_group=1,
                                                 topk_group=1, first_k_dense_replace=1,
                                                 kv_lora_rank=16, q_lora_rank=16,
                                                 qk_rope_head_dim=8, qk_nope_head_dim=8,
                                                 v_head_dim=8)),
    "gpt_neox": ("AutoModelForCausalLM", dict(_COMMON, model_type="gpt_neox", hidden_size=32,
                                              intermediate_size=48, num_hidden_layers=2,
                                              num_attention_heads=4)),
    "opt": ("AutoModelForCausalLM", dict(_COMMON, model_type="opt", hidden_size=32, ffn_dim=48,
                                         num_hidden_layers=2, num_attention_heads=4,
                                         word_embed_proj_dim=32, max_position_embeddings=32)),
    "whisper": ("AutoModelForSpeechSeq2Seq", dict(_COMMON, model_type="whisper", d_model=32,
                                                  encoder_layers=1, decoder_layers=1,
                                                  encoder_attention_heads=4,
                                                  decoder_attention_heads=4,
                                                  encoder_ffn_dim=48, decoder_ffn_dim=48,
                                                  num_mel_bins=8, max_source_positions=16,
                                                  max_target_positions=16,
                                                  decoder_start_token_id=1)),
    "vit": ("AutoModel", dict(model_type="vit", hidden_size=32, num_hidden_layers=2,
                              num_attention_heads=4, intermediate_size=48, image_size=16,
                              patch_size=4)),
}


def _build(name, device=None):
    auto, kw = ARCHS[name]
    cfg = transformers.AutoConfig.for_model(**kw)
    cls = getattr(transformers, auto)
    if device is None:
        return cls.from_config(cfg)
    with torch.device(device):
        return cls.from_config(cfg)


def _from_config_ops(name):
    """transformers' from_config on the CPU and the last whole-tensor init op of each tensor."""
    torch.manual_seed(0)
    with torch.no_grad(), _Capture() as cap:
        model = _build(name)
    ops = {}
    for fqn, t in list(model.named_parameters()) + list(model.named_buffers()):
        op = cap.ops.get(t.untyped_storage()._cdata)
        if op is not None:
            ops[fqn] = op
    return model, ops


@pytest.mark.parametrize("name", list(ARCHS))
def test_hf_recipe_on_architecture(name):
    theirs, ops = _from_config_ops(name)
    meta = _build(name, "meta")
    report = st.init_module_(meta, seed=5, recipe="hf", device="cpu")
    cpu = _build(name)
    st.init_module_(cpu, seed=5, recipe="hf")
    a, b = meta.state_dict(), cpu.state_dict()
    assert a.keys() == b.keys() == theirs.state_dict().keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k

    specs = {t.fqn: t.spec for t in report.tensors}
    compared = 0
    for fqn, p in theirs.named_parameters():
        if fqn not in specs:
            continue  # a tied name: its source's spec is checked
        mine = specs[fqn].split(" + ")[0]
        if fqn in ops and mine.split("(")[0] in ("normal", "uniform", "constant"):
            got = sow_op(mine)
            want = ops[fqn]
            assert got[0] == want[0] and got[1:] == pytest.approx(want[1:], rel=1e-12, abs=0), \
                (fqn, mine, want)
            compared += 1
        v = p.detach()
        if v.numel() and torch.all(v == v.flatten()[0]):
            assert torch.equal(cpu.get_parameter(fqn).detach(), v), fqn  # ones, zeros
    assert compared >= 5, specs
    ours = dict(cpu.named_buffers())
    for fqn, buf in theirs.named_buffers():
        assert torch.equal(ours[fqn], buf), fqn


def test_hf_mamba_time_step_bias_rng_is_refused_and_a_log_is_exact():
    cfg = transformers.AutoConfig.for_model("mamba", vocab_size=96, hidden_size=32,
                                            num_hidden_layers=2, state_size=4, pad_token_id=1)
    with torch.device("meta"):
        m = transformers.AutoModelForCausalLM.from_config(cfg)
    with pytest.raises(ValueError, match=r"torch's RNG \(aten\.rand\.default\) used by init code "
                                         r"\(init code of backbone\.layers\.0\.mixer\)"):
        st.init_module_(m, seed=0, recipe="hf", device="cpu")
    assert all(p.device.type == "meta" for p in m.parameters())  # nothing materialized
    r = st.init_module_(m, seed=0, recipe="hf", device="cpu", strict=False)
    assert any(u.startswith("backbone.layers.0.mixer.dt_proj.bias: Tensor.copy_ from a meta")
               for u in r.unrouted), r.unrouted  # listed, its last routed write (zeros) kept
    assert not any("A_log" in u for u in r.unrouted)
    a = torch.arange(1, 5, dtype=torch.float32).expand(m.backbone.layers[0].mixer.A_log.shape[0], 4)
    for layer in m.backbone.layers:
        assert torch.equal(layer.mixer.A_log, torch.log(a))
        assert torch.equal(layer.mixer.D, torch.ones_like(layer.mixer.D))
    assert math.isclose(float(m.backbone.layers[1].mixer.A_log.detach()[0, 3]), math.log(4.0), rel_tol=1e-7)
