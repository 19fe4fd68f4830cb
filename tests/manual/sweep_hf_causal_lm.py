"""By hand, not in CI (about 25 minutes): recipe="hf" on every causal-LM model type of the
installed transformers, each shrunk to a tiny config and built twice, in a subprocess of its own
(time- and memory-limited):

    python tests/manual/sweep_hf_causal_lm.py            # every type
    python tests/manual/sweep_hf_causal_lm.py mamba opt  # some
    python tests/manual/sweep_hf_causal_lm.py --base     # AutoModel's other types (vision, audio, ...)
    python tests/manual/sweep_hf_causal_lm.py --base wav2vec2 clip  # some of them

Per type one line: ``OK``; ``BAD`` (sow ran, but a tensor differs from ``from_config``: a
constant tensor not equal, a std or mean off by more than 10 % on tensors of >= 2000 elements, a
buffer that sow does not draw at random not equal); ``ERROR`` (sow refused or failed: the
message); ``SKIP`` (the tiny model could not be built by transformers itself: a config this
script cannot shrink)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

SMALL = dict(hidden_size=64, d_model=64, n_embd=64, dim=64, embed_dim=64, num_hidden_layers=2,
             n_layer=2, num_layers=2, n_layers=2, encoder_layers=2, decoder_layers=2,
             num_decoder_layers=2, num_attention_heads=4, n_head=4, n_heads=4,
             encoder_attention_heads=4, decoder_attention_heads=4, num_heads=4,
             num_key_value_heads=2, intermediate_size=96, ffn_dim=96, d_ff=96, n_inner=96,
             encoder_ffn_dim=96, decoder_ffn_dim=96, vocab_size=256, max_position_embeddings=64,
             n_positions=64, head_dim=16, d_kv=16, num_experts=4, num_local_experts=4,
             n_routed_experts=4, moe_intermediate_size=32, num_experts_per_tok=2,
             max_source_positions=64, max_target_positions=64, image_size=32, patch_size=8,
             kv_lora_rank=16, q_lora_rank=16, qk_rope_head_dim=8, qk_nope_head_dim=8,
             v_head_dim=16, shared_expert_intermediate_size=32, first_k_dense_replace=1,
             num_mel_bins=16)


def _small(cfg):
    kw = {k: v for k, v in SMALL.items()
          if hasattr(cfg, k) or k in getattr(cfg, "attribute_map", {})}
    for k in ("pad_token_id", "bos_token_id", "eos_token_id"):
        if getattr(cfg, k, None) is not None:
            kw[k] = 1
    layers = getattr(cfg, "num_hidden_layers", None)
    if "num_hidden_layers" in kw and isinstance(layers, int) and layers > 2:
        for k, v in cfg.to_dict().items():  # per-layer lists (layer_types, ...) cut to 2 layers
            if isinstance(v, list) and len(v) == layers and k not in kw:
                kw[k] = v[:2]
    return kw


def _config(transformers, mt):
    """The model type's default config with SMALL's sizes, its sub-configs (a multimodal
    model's text_config, vision_config, ...) shrunk the same way."""
    base = transformers.AutoConfig.for_model(mt)
    kw = _small(base)
    for name in getattr(base, "sub_configs", {}) or {}:
        sub = getattr(base, name, None)
        if isinstance(sub, transformers.PretrainedConfig):
            kw[name] = {**sub.to_dict(), **_small(sub)}
    return transformers.AutoConfig.for_model(mt, **kw)


def one(mt: str, auto: str = "AutoModelForCausalLM") -> str:
    import numpy as np
    import torch
    import transformers

    import sow.torch as st

    try:
        cfg = _config(transformers, mt)
        torch.manual_seed(0)
        cls = getattr(transformers, auto)
        theirs = cls.from_config(cfg)
        with torch.device("meta"):
            ours = cls.from_config(cfg)
    except Exception as e:  # noqa: BLE001 - transformers itself could not build it
        return f"SKIP   {type(e).__name__}: {str(e).splitlines()[0][:150]}"
    try:
        report = st.init_module_(ours, seed=0, recipe="hf", device="cpu")
    except Exception as e:  # noqa: BLE001
        return f"ERROR  {type(e).__name__}: {' '.join(str(e).split())[:400]}"
    mine, bad = dict(ours.named_parameters()), []
    for fqn, p in theirs.named_parameters():
        a = p.detach().float().numpy().ravel()
        b = mine[fqn].detach().float().numpy().ravel()
        if a.size > 1 and np.all(a == a[0]):
            if not np.array_equal(a, b):
                bad.append(f"{fqn}: constant {a[0]} in from_config")
        elif a.size >= 2000:
            sa, sb = a.std(), b.std()
            if abs(sa / sb - 1) > 0.1 or abs(a.mean() - b.mean()) > 0.1 * sa:
                bad.append(f"{fqn}: std {sa:.4g} vs {sb:.4g}, mean {a.mean():.3g} vs {b.mean():.3g}")
    ob = dict(ours.named_buffers())
    specs = {t.fqn: t.spec for t in report.tensors}
    for k, v in theirs.named_buffers():
        if specs.get(k, "").split("(")[0] in ("normal", "uniform", "trunc_normal"):
            continue  # a random buffer (SAM's positional embedding): its own draw
        if k not in ob or v.shape != ob[k].shape or not torch.equal(v, ob[k]):
            bad.append(f"buffer {k} differs")
    return "OK" if not bad else "BAD    " + "; ".join(bad[:4])


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        warnings.filterwarnings("ignore")
        import transformers

        transformers.logging.set_verbosity_error()
        print(one(argv[1], *argv[2:]))
        return 0
    auto = "AutoModelForCausalLM"
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_MAPPING_NAMES)
    if argv[:1] == ["--base"]:
        auto = "AutoModel"
        types = argv[1:] or [t for t in MODEL_MAPPING_NAMES
                             if t not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES]
    elif argv:
        types = argv
    else:
        types = list(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
    counts: dict[str, int] = {}
    for mt in types:
        try:
            p = subprocess.run([sys.executable, __file__, "--one", mt, auto], capture_output=True,
                               text=True, timeout=180,
                               preexec_fn=lambda: __import__("resource").setrlimit(
                                   __import__("resource").RLIMIT_AS, (12 << 30, 12 << 30)))
            lines = [ln for ln in p.stdout.splitlines() if ln.split()[:1] and
                     ln.split()[0] in ("OK", "BAD", "ERROR", "SKIP")]
            line = lines[-1] if lines else f"SKIP   the process failed: {p.stderr[-200:]!r}"
        except subprocess.TimeoutExpired:
            line = "SKIP   over 180 s"
        kind = line.split()[0]
        counts[kind] = counts.get(kind, 0) + 1
        print(f"{mt:28s} {line}", flush=True)
    print(" ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main(sys.argv[1:]))
