"""recipe="hf" on Hugging Face architectures beyond Llama and GPT-2 (encoders, encoder-decoders,
mixtures of experts, MLA, speech, vision): for each, a model built on meta and one built on the
CPU get the same bits; every tensor whose last whole-tensor init op in transformers' own
``from_config`` is a normal, uniform or constant gets exactly that spec from sow; tensors
transformers leaves constant are equal; buffers equal ``from_config``'s. Init code that computes
values elementwise from a draw (Mamba's time-step bias from torch.rand, Kimi-Linear's and
Qwen3-Next's ``A_log`` = log of a uniform) gets exactly its formula of sow's draw."""

from __future__ import annotations

import math

import pytest

import sow

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import sow.torch as st  # noqa: E402
from test_torch_layers import sow_op, torch_specs  # noqa: E402

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
    # Its LM head's bias is one tensor with decoder.bias from construction, and only the
    # decoder's (Linear) init sets it.
    "data2vec_text": ("AutoModelForMaskedLM", dict(_COMMON, model_type="data2vec-text",
                                                   hidden_size=32, num_hidden_layers=2,
                                                   num_attention_heads=4, intermediate_size=48,
                                                   max_position_embeddings=40)),
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
    "mamba": ("AutoModelForCausalLM", dict(_COMMON, model_type="mamba", hidden_size=32,
                                           num_hidden_layers=2, state_size=4)),
    "kimi_linear": ("AutoModelForCausalLM", dict(_DECODER, model_type="kimi_linear")),
    "qwen3_next": ("AutoModelForCausalLM", dict(_DECODER, model_type="qwen3_next", head_dim=8,
                                                num_experts=4, num_experts_per_tok=2,
                                                moe_intermediate_size=16,
                                                shared_expert_intermediate_size=24,
                                                linear_num_value_heads=4, linear_num_key_heads=2,
                                                linear_key_head_dim=8, linear_value_head_dim=8)),
    # transformers' Conv1D layers, which its _init_weights leaves to their constructor.
    "openai_gpt": ("AutoModelForCausalLM", dict(model_type="openai-gpt", vocab_size=96, n_embd=32,
                                                n_layer=2, n_head=4, n_positions=32)),
    # Values from torch.tensor(python list, device=p.device); orthogonal weights.
    "rwkv": ("AutoModelForCausalLM", dict(model_type="rwkv", vocab_size=96, hidden_size=32,
                                          num_hidden_layers=2, attention_hidden_size=32,
                                          intermediate_size=48, context_length=16)),
    # logit_scale is set in CLIPModel's constructor only, from the config.
    "clip": ("AutoModel", dict(model_type="clip", projection_dim=16, logit_scale_init_value=2.5,
                               text_config=dict(vocab_size=96, hidden_size=32,
                                                intermediate_size=48, num_hidden_layers=1,
                                                num_attention_heads=4,
                                                max_position_embeddings=16),
                               vision_config=dict(hidden_size=32, intermediate_size=48,
                                                  num_hidden_layers=1, num_attention_heads=4,
                                                  image_size=16, patch_size=8))),
    # Weight-normed positional convolution (over dim 2), masked_spec_embed.
    "wav2vec2": ("AutoModel", dict(model_type="wav2vec2", hidden_size=32, num_hidden_layers=1,
                                   num_attention_heads=4, intermediate_size=48,
                                   conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3),
                                   num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4)),
    # Weight-normed convolutions over dim 0 throughout.
    "encodec": ("AutoModel", dict(model_type="encodec", hidden_size=16, num_filters=4,
                                  codebook_size=16, codebook_dim=16, upsampling_ratios=[2, 2])),
    # masked_spec_embed is set in the constructor only (U(0, 1)); DeBERTa-style attention.
    "sew_d": ("AutoModel", dict(model_type="sew-d", hidden_size=32, num_hidden_layers=1,
                                num_attention_heads=4, intermediate_size=48, squeeze_factor=2,
                                conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3),
                                num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4,
                                max_position_embeddings=64, position_buckets=16)),
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
    return torch_specs(lambda: _build(name))


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
        if fqn in ops and ops[fqn][0] != "copy" and \
                mine.split("(")[0] in ("normal", "uniform", "constant"):
            got = sow_op(mine)
            want = ops[fqn]
            assert got[0] == want[0] and got[1:] == pytest.approx(want[1:], rel=1e-12, abs=0), \
                (fqn, mine, want)
            compared += 1
        v = p.detach()
        if v.numel() > 1 and torch.all(v == v.flatten()[0]):
            assert torch.equal(cpu.get_parameter(fqn).detach(), v), fqn  # ones, zeros
    assert compared >= 5, specs
    ours = dict(cpu.named_buffers())
    for fqn, buf in theirs.named_buffers():
        assert torch.equal(ours[fqn], buf), fqn


def test_hf_mamba_values_are_its_formulas_of_sow_draws():
    """Mamba's own init code, routed: A_log = log(arange), D = 1, and the time-step bias the
    inverse softplus of exp(u · (log max − log min) + log min) clamped, u a sow uniform(0, 1)
    draw keyed by the bias's name (transformers draws u with torch.rand)."""
    model = _build("mamba", "meta")
    r = st.init_module_(model, seed=9, recipe="hf", device="cpu")
    cfg = model.config
    for i, layer in enumerate(model.backbone.layers):
        mixer = layer.mixer
        fqn = f"backbone.layers.{i}.mixer.dt_proj.bias"
        assert r[fqn].spec == "uniform(a=0, b=1) + 1 writes"
        u = torch.from_numpy(sow.uniform(mixer.dt_proj.bias.shape, a=0.0, b=1.0, seed=9, key=fqn))
        dt = torch.exp(u * (math.log(cfg.time_step_max) - math.log(cfg.time_step_min))
                       + math.log(cfg.time_step_min)).clamp(min=cfg.time_step_floor)
        assert torch.equal(mixer.dt_proj.bias.detach(), dt + torch.log(-torch.expm1(-dt)))
        a = torch.arange(1, cfg.state_size + 1, dtype=torch.float32)
        assert torch.equal(mixer.A_log.detach(), torch.log(a).expand(mixer.A_log.shape))
        assert torch.equal(mixer.D.detach(), torch.ones_like(mixer.D))


def test_hf_kimi_linear_a_log_is_the_log_of_its_own_uniform():
    model = _build("kimi_linear", "meta")
    r = st.init_module_(model, seed=2, recipe="hf", device="cpu")
    for fqn, p in model.named_parameters():
        if fqn.endswith("forget_gate.A_log"):
            assert r[fqn].spec == "uniform(a=1, b=16) + 1 writes"
            u = sow.uniform(tuple(p.shape), a=1.0, b=16.0, seed=2, key=fqn)
            assert torch.equal(p.detach(), torch.from_numpy(u).to(p.dtype).log())


def test_hf_weight_norm_g_is_the_norm_of_v_as_from_config():
    """Wav2Vec2's positional convolution is weight-normed over dim 2: from_config keeps the
    construction-time values (its _init_weights writes only into the computed weight, which
    torch discards): v the Conv1d's kaiming_uniform(a=√5), g = ‖v‖ over dims 0 and 1."""
    model = _build("wav2vec2", "meta")
    r = st.init_module_(model, seed=3, recipe="hf", device="cpu")
    conv = model.encoder.pos_conv_embed.conv
    pre = "encoder.pos_conv_embed.conv.parametrizations.weight."
    assert r[pre + "original0"].spec == f"norm of {pre}original1 over all dims but 2"
    v, g = (p.detach() for p in (conv.parametrizations.weight.original1,
                                 conv.parametrizations.weight.original0))
    fan_in = v.shape[1] * v.shape[2]
    assert torch.equal(v, torch.from_numpy(sow.uniform(tuple(v.shape), a=-fan_in ** -0.5,
                                                       b=fan_in ** -0.5, seed=3,
                                                       key=pre + "original1")))
    want = torch.norm_except_dim(v.double(), 2, 2).float()  # sow sums in float64, rounds once
    torch.testing.assert_close(g, want, rtol=2 ** -23, atol=0)
    torch.testing.assert_close(conv.weight.detach(), v)
    theirs = _build("wav2vec2").encoder.pos_conv_embed.conv.parametrizations.weight
    torch.testing.assert_close(theirs.original0.detach(),  # the same relation in transformers
                               torch.norm_except_dim(theirs.original1.detach(), 2, 2))


def test_hf_parameters_left_to_their_constructor_are_named_and_take_a_rule():
    """Apertus' xIELU activation sets alpha_p/alpha_n (and buffers beta/eps) in its constructor
    only; its _init_weights leaves them. On meta nothing can recover those values: refused by
    name, before anything is materialized; a rule before HF_INIT (and skip= for the buffers of a
    CPU-built model) completes the recipe."""
    kw = dict(_DECODER, model_type="apertus", num_hidden_layers=1)
    cfg = transformers.AutoConfig.for_model(**kw)
    with torch.device("meta"):
        m = transformers.AutoModelForCausalLM.from_config(cfg)
    with pytest.raises(ValueError, match=r"parameters the model's _init_weights leaves to their "
                                         r"module's constructor \(not a torch layer sow knows\): "
                                         r"model\.layers\.0\.mlp\.act_fn\.alpha_p, "
                                         r"model\.layers\.0\.mlp\.act_fn\.alpha_n \(give them a rule"):
        st.init_module_(m, seed=0, recipe="hf", device="cpu")
    assert all(p.is_meta for p in m.parameters())
    cpu = transformers.AutoModelForCausalLM.from_config(cfg)
    act = cpu.model.layers[0].mlp.act_fn
    beta = act.beta.clone()
    recipe = sow.Recipe([("*.act_fn.alpha_*", ("constant", {"val": 0.25})), ("*", st.HF_INIT)])
    st.init_module_(cpu, seed=0, recipe=recipe, skip=lambda t: t.name in ("beta", "eps"))
    assert torch.equal(act.alpha_p.detach(), torch.full_like(act.alpha_p, 0.25))
    assert torch.equal(act.beta, beta)


def test_hf_module_flags_as_one_initialize_weights_pass_sees_them():
    """transformers marks each module ``_is_hf_initialized`` after its ``_init_weights``, and
    ViT-MAE's embeddings skip their own init (sin-cos positions, an xavier projection, the CLS
    token) when their projection is already marked, which in from_config it always is: the
    projection keeps the generic normal(0.02) and the CLS token and positions the constructor's
    zeros. sow runs the same pass: those two are left to the constructor (named; a rule gives
    them), the projection is normal(0, 0.02) as in from_config, and the flags are as before."""
    cfg = transformers.AutoConfig.for_model(
        "vit_mae", hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
        intermediate_size=48, image_size=16, patch_size=4, decoder_hidden_size=32,
        decoder_num_hidden_layers=1, decoder_num_attention_heads=4, decoder_intermediate_size=48)
    theirs, ops = torch_specs(lambda: transformers.AutoModel.from_config(cfg))
    assert not theirs.embeddings.cls_token.any() and not theirs.embeddings.position_embeddings.any()
    with torch.device("meta"):
        meta = transformers.AutoModel.from_config(cfg)
    with pytest.raises(ValueError, match=r"leaves to their module's constructor \(not a torch "
                                         r"layer sow knows\): embeddings\.cls_token, "
                                         r"embeddings\.position_embeddings \(give them a rule"):
        st.init_module_(meta, seed=1, recipe="hf", device="cpu")
    recipe = sow.Recipe([("embeddings.cls_token", "zeros"),
                         ("embeddings.position_embeddings", "zeros"), ("*", st.HF_INIT)])
    r = st.init_module_(meta, seed=1, recipe=recipe, device="cpu")
    proj = "embeddings.patch_embeddings.projection.weight"
    assert sow_op(r[proj].spec) == ops[proj] == ("normal", 0.0, 0.02)
    assert not any("_is_hf_initialized" in m.__dict__ for m in meta.modules())
    st.init_module_(theirs, seed=1, recipe=recipe)
    assert all(m.__dict__.get("_is_hf_initialized") is True for m in theirs.modules())
