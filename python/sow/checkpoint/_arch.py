"""Architectures without torch: a Hugging Face ``config.json`` -> the model's tensors.

For each supported ``model_type`` this module lists what ``save_pretrained`` stores: the
parameters with transformers' exact names, shapes and order (``state_dict`` order, tied
``lm_head.weight`` left out when ``tie_word_embeddings``), and the layer each one belongs to, from
which a recipe gives its spec (:mod:`sow.checkpoint._recipes`).

* ``llama``, ``mistral``, ``qwen2``, ``qwen3`` (``LlamaForCausalLM`` family, dense):
  ``model.embed_tokens.weight (vocab, hidden)``; per layer ``self_attn.{q,k,v,o}_proj``
  (``q: (heads * head_dim, hidden)``, ``k, v: (kv_heads * head_dim, hidden)``,
  ``o: (hidden, heads * head_dim)``; biases: qwen2 on q/k/v always, llama/qwen3
  ``attention_bias`` on all four), qwen3's ``self_attn.q_norm``/``k_norm (head_dim,)``,
  ``mlp.{gate,up,down}_proj`` (llama ``mlp_bias``), ``input_layernorm``,
  ``post_attention_layernorm``; ``model.norm.weight``; ``lm_head.weight (vocab, hidden)``.
* ``gpt2`` (``GPT2LMHeadModel``): ``transformer.wte (vocab, n_embd)``, ``wpe (n_positions,
  n_embd)``; per block ``ln_1``, ``attn.c_attn (n_embd, 3 n_embd)``, ``attn.c_proj (n_embd,
  n_embd)``, ``ln_2``, ``mlp.c_fc (n_embd, n_inner)``, ``mlp.c_proj (n_inner, n_embd)`` -- Conv1D
  weights are ``(in, out)`` -- each with its bias; ``transformer.ln_f``; ``lm_head.weight``.

Missing config fields take the transformers config class's defaults (listed in ``_DEFAULTS``,
checked against transformers in the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Layer", "ArchTensor", "architecture", "MODEL_TYPES", "ARCHITECTURES"]

#: model_type -> the transformers class name save_pretrained writes in ``architectures``.
ARCHITECTURES: Final = {
    "llama": "LlamaForCausalLM",
    "mistral": "MistralForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "gpt2": "GPT2LMHeadModel",
}
MODEL_TYPES: Final = tuple(ARCHITECTURES)

_LLAMA_FAMILY: Final = ("llama", "mistral", "qwen2", "qwen3")

# The config classes' defaults (transformers 5.x), for the fields read here.
_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "llama": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=None, head_dim=None,
                  initializer_range=0.02, tie_word_embeddings=False, attention_bias=False,
                  mlp_bias=False, pad_token_id=None),
    "mistral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                    num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                    head_dim=None, initializer_range=0.02, tie_word_embeddings=False,
                    pad_token_id=None),
    "qwen2": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                  head_dim=None, initializer_range=0.02, tie_word_embeddings=False,
                  pad_token_id=None),
    "qwen3": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                  head_dim=128, initializer_range=0.02, tie_word_embeddings=False,
                  attention_bias=False, pad_token_id=None),
    "gpt2": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                 n_inner=None, initializer_range=0.02, tie_word_embeddings=True,
                 add_cross_attention=False),
}

# GPT-2's config.json may use the generic names (GPT2Config.attribute_map).
_GPT2_ALIASES: Final = {"hidden_size": "n_embd", "num_hidden_layers": "n_layer",
                        "num_attention_heads": "n_head", "max_position_embeddings": "n_positions"}


@dataclass(frozen=True)
class Layer:
    """The module a tensor belongs to, as a recipe sees it: ``kind`` is ``"linear"``,
    ``"conv1d"`` (transformers' GPT-2 Conv1D, weight ``(in, out)``), ``"embedding"`` or
    ``"norm"``; ``role`` is ``"weight"`` or ``"bias"``; ``fan_in`` the layer's input features;
    ``scaled`` marks GPT-2's residual projections (``c_proj``) that ``_init_weights`` draws
    with ``initializer_range / sqrt(2 * n_layer)``; ``padding_idx`` the Embedding's padding row."""

    kind: str
    role: str
    fan_in: int = 0
    scaled: bool = False
    padding_idx: int | None = None


@dataclass(frozen=True)
class ArchTensor:
    """One stored tensor: its name, shape and layer."""

    name: str
    shape: tuple[int, ...]
    layer: Layer


def _int_field(cfg: Mapping[str, Any], name: str, *, minimum: int = 1) -> int:
    v = cfg[name]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"config field {name!r} must be an int, got {v!r}")
    if v < minimum:
        raise ValueError(f"config field {name!r} must be >= {minimum}, got {v}")
    return v


def _bool_field(cfg: Mapping[str, Any], name: str) -> bool:
    v = cfg[name]
    if not isinstance(v, bool):
        raise ValueError(f"config field {name!r} must be true or false, got {v!r}")
    return v


def _std_field(cfg: Mapping[str, Any]) -> float:
    v = cfg["initializer_range"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v == v or v < 0 \
            or v == float("inf"):
        raise ValueError(f"config field 'initializer_range' must be a finite number >= 0, got {v!r}")
    return float(v)


def model_type(cfg: Mapping[str, Any]) -> str:
    """The config's ``model_type`` (or, without one, the one its ``architectures`` name)."""
    mt = cfg.get("model_type")
    if mt is None:
        archs = cfg.get("architectures") or []
        by_class = {v: k for k, v in ARCHITECTURES.items()}
        for a in archs if isinstance(archs, list) else []:
            if a in by_class:
                return by_class[a]
        raise ValueError("config has no 'model_type' (one of " + ", ".join(MODEL_TYPES) + ")")
    if mt not in ARCHITECTURES:
        raise ValueError(f"config field 'model_type' = {mt!r} is not supported without torch "
                         f"(supported: {', '.join(MODEL_TYPES)}; other models: pass a torch "
                         f"nn.Module built on meta)")
    return str(mt)


def resolved(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The fields read here, with the config class defaults filled in and checked."""
    mt = model_type(cfg)
    src = dict(cfg)
    if mt == "gpt2":
        for generic, own in _GPT2_ALIASES.items():
            if generic in src and own not in src:
                src[own] = src[generic]
    out = dict(_DEFAULTS[mt])
    out.update({k: src[k] for k in out if k in src})
    out["model_type"] = mt
    if mt == "gpt2":
        for f in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            _int_field(out, f)
        if out["n_inner"] is not None:
            _int_field(out, "n_inner")
        if _bool_field(out, "add_cross_attention"):
            raise ValueError("config field 'add_cross_attention' = true is not supported "
                             "(GPT2LMHeadModel without cross-attention only)")
        if out["n_embd"] % out["n_head"]:
            raise ValueError(f"config field 'n_embd' ({out['n_embd']}) must be a multiple of "
                             f"'n_head' ({out['n_head']})")
    else:
        for f in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                  "num_attention_heads"):
            _int_field(out, f)
        if out["num_key_value_heads"] is None:
            out["num_key_value_heads"] = out["num_attention_heads"]
        _int_field(out, "num_key_value_heads")
        if out["num_attention_heads"] % out["num_key_value_heads"]:
            raise ValueError(f"config field 'num_attention_heads' ({out['num_attention_heads']}) "
                             f"must be a multiple of 'num_key_value_heads' "
                             f"({out['num_key_value_heads']})")
        if out["head_dim"] is None:
            out["head_dim"] = out["hidden_size"] // out["num_attention_heads"]
        _int_field(out, "head_dim")
        for f in ("attention_bias", "mlp_bias"):
            if f in out:
                _bool_field(out, f)
        pad = out["pad_token_id"]
        if pad is not None:
            if isinstance(pad, bool) or not isinstance(pad, int) or not 0 <= pad < out["vocab_size"]:
                raise ValueError(f"config field 'pad_token_id' must be null or an int in "
                                 f"[0, vocab_size={out['vocab_size']}), got {pad!r}")
    _bool_field(out, "tie_word_embeddings")
    out["initializer_range"] = _std_field(out)
    # PreTrainedModel._init_weights: std = config.initializer_range or 0.02 (GPT-2's Conv1D and
    # c_proj branches use config.initializer_range as it is)
    out["std"] = out["initializer_range"] or 0.02
    return out


def _llama(c: dict[str, Any]) -> list[ArchTensor]:
    mt = c["model_type"]
    h, inter, hd = c["hidden_size"], c["intermediate_size"], c["head_dim"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    qkv_bias = mt == "qwen2" or bool(c.get("attention_bias", False))
    o_bias = mt != "qwen2" and bool(c.get("attention_bias", False))
    mlp_bias = bool(c.get("mlp_bias", False))
    out: list[ArchTensor] = []

    def linear(name: str, n_out: int, n_in: int, bias: bool) -> None:
        out.append(ArchTensor(f"{name}.weight", (n_out, n_in), Layer("linear", "weight", n_in)))
        if bias:
            out.append(ArchTensor(f"{name}.bias", (n_out,), Layer("linear", "bias", n_in)))

    def norm(name: str, n: int) -> None:
        out.append(ArchTensor(f"{name}.weight", (n,), Layer("norm", "weight")))

    out.append(ArchTensor("model.embed_tokens.weight", (c["vocab_size"], h),
                          Layer("embedding", "weight", padding_idx=c["pad_token_id"])))
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}"
        linear(f"{p}.self_attn.q_proj", q, h, qkv_bias)
        linear(f"{p}.self_attn.k_proj", kv, h, qkv_bias)
        linear(f"{p}.self_attn.v_proj", kv, h, qkv_bias)
        linear(f"{p}.self_attn.o_proj", h, q, o_bias)
        if mt == "qwen3":
            norm(f"{p}.self_attn.q_norm", hd)
            norm(f"{p}.self_attn.k_norm", hd)
        linear(f"{p}.mlp.gate_proj", inter, h, mlp_bias)
        linear(f"{p}.mlp.up_proj", inter, h, mlp_bias)
        linear(f"{p}.mlp.down_proj", h, inter, mlp_bias)
        norm(f"{p}.input_layernorm", h)
        norm(f"{p}.post_attention_layernorm", h)
    norm("model.norm", h)
    if not c["tie_word_embeddings"]:
        linear("lm_head", c["vocab_size"], h, False)
    return out


def _gpt2(c: dict[str, Any]) -> list[ArchTensor]:
    e = c["n_embd"]
    inner = c["n_inner"] if c["n_inner"] is not None else 4 * e
    out: list[ArchTensor] = [
        ArchTensor("transformer.wte.weight", (c["vocab_size"], e), Layer("embedding", "weight")),
        ArchTensor("transformer.wpe.weight", (c["n_positions"], e), Layer("embedding", "weight")),
    ]

    def conv1d(name: str, n_in: int, n_out: int, scaled: bool = False) -> None:
        out.append(ArchTensor(f"{name}.weight", (n_in, n_out),
                              Layer("conv1d", "weight", n_in, scaled=scaled)))
        out.append(ArchTensor(f"{name}.bias", (n_out,), Layer("conv1d", "bias", n_in)))

    def layer_norm(name: str) -> None:
        out.append(ArchTensor(f"{name}.weight", (e,), Layer("norm", "weight")))
        out.append(ArchTensor(f"{name}.bias", (e,), Layer("norm", "bias")))

    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}"
        layer_norm(f"{p}.ln_1")
        conv1d(f"{p}.attn.c_attn", e, 3 * e)
        conv1d(f"{p}.attn.c_proj", e, e, scaled=True)
        layer_norm(f"{p}.ln_2")
        conv1d(f"{p}.mlp.c_fc", e, inner)
        conv1d(f"{p}.mlp.c_proj", inner, e, scaled=True)
    layer_norm("transformer.ln_f")
    if not c["tie_word_embeddings"]:
        out.append(ArchTensor("lm_head.weight", (c["vocab_size"], e), Layer("linear", "weight", e)))
    return out


def architecture(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], list[ArchTensor]]:
    """``(resolved config fields, stored tensors in state_dict order)`` of a config dict."""
    if not isinstance(cfg, Mapping):
        raise TypeError(f"config must be a dict, got {type(cfg).__name__}")
    c = resolved(cfg)
    return c, (_gpt2(c) if c["model_type"] == "gpt2" else _llama(c))


def n_layers(c: Mapping[str, Any]) -> int:
    return int(c["n_layer"] if c["model_type"] == "gpt2" else c["num_hidden_layers"])
