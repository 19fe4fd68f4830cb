"""The built-in recipes, by name (``init_module_(..., recipe=name)``).

* ``"torch"``: torch's own ``reset_parameters`` distribution per layer (sow.torch._layers); a
  parameter of another module type gets its module's own init code (:data:`MODULE_CODE`).
* ``"hf"``: Hugging Face transformers' scheme (:data:`HF_INIT`): the model's own
  ``_init_weights`` run through sow (normal(0, ``initializer_range``), zero biases and padding
  rows, ones for norms, RoPE buffers as the model computes them, and each model's overrides such
  as GPT-2's scaled ``c_proj``).
* ``"torchtitan_llama3"``: :func:`torchtitan_llama3` with its defaults.
* ``"gpt2"``: :func:`gpt2` with its defaults.
"""

from __future__ import annotations

import math
import re
from typing import Any

from torch import nn

import sow

from ._layers import torch_default
from ._recipe import HF_INIT, MODULE_CODE, Recipe, Target

__all__ = ["RECIPES", "torchtitan_llama3", "gpt2", "layer_count", "layer_id"]

_LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks|layer)\.(\d+)\.")


def layer_id(fqn: str) -> int | None:
    """The block number in ``...layers.3...`` (also ``h.3``, ``blocks.3``, ``layer.3``)."""
    m = _LAYER.search(fqn)
    return int(m.group(1)) if m else None


_COUNTS: dict[int, int] = {}


def layer_count(root: Any) -> int:
    """Number of blocks of a model: ``config.n_layer``/``num_hidden_layers`` when it has a
    config, else 1 + the largest block number in its parameter names."""
    cfg = getattr(root, "config", None)
    for attr in ("n_layer", "num_hidden_layers", "n_layers"):
        v = getattr(cfg, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    key = id(root)
    if key not in _COUNTS:
        ids = [layer_id(n) for n, _ in root.named_parameters()] if root is not None else []
        _COUNTS[key] = max((i for i in ids if i is not None), default=0) + 1
    return _COUNTS[key]


def _is_norm(t: Target) -> bool:
    m = t.module
    return isinstance(m, (nn.LayerNorm, nn.RMSNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase)) \
        or "Norm" in type(m).__name__


def _norm_spec(t: Target) -> Any:
    return {"weight": "ones", "bias": "zeros"}.get(t.name)


def torchtitan_llama3(init_std: float = 0.02, depth_init: bool = True) -> Recipe:
    """torchtitan's Llama-3 init (torchtitan/models/llama3), on torchtitan's parameter names:

    * ``tok_embeddings.weight``: normal(0, 1);
    * ``*.attention.wq/wk/wv.weight`` (0.3's fused ``wqkv``), ``*.feed_forward.w1.weight`` and
      any other weight:
      trunc_normal(std=init_std) (torch's absolute bounds a=-2, b=2);
    * ``*.attention.wo.weight``, ``*.feed_forward.w2.weight``, ``*.feed_forward.w3.weight``:
      trunc_normal(std=init_std / sqrt(2 * (layer_id + 1))) with ``depth_init`` (layer_id from
      ``layers.<id>.``), else init_std / sqrt(2 * n_layers);
    * ``output.weight`` (``lm_head.weight`` in torchtitan 0.3): trunc_normal(std=dim**-0.5,
      a=-3 std, b=3 std), dim = its in features;
    * norms: ones; biases: zeros."""

    def depth(t: Target) -> Any:
        if depth_init:
            lid = layer_id(t.fqn)
            std = init_std / math.sqrt(2 * ((lid or 0) + 1))
        else:
            std = init_std / math.sqrt(2 * layer_count(t.root))
        return sow.Spec("trunc_normal", std=std)

    def output(t: Target) -> Any:
        s = t.shape[-1] ** -0.5
        return sow.Spec("trunc_normal", std=s, a=-3 * s, b=3 * s)

    return Recipe([
        ("*tok_embeddings.weight", sow.Spec("normal", std=1.0)),
        (_is_norm, _norm_spec),
        ("*.bias", "zeros"),
        ("*.attention.wo.weight", depth),
        ("*.feed_forward.w2.weight", depth),
        ("*.feed_forward.w3.weight", depth),
        (lambda t: any(t.fqn == n or t.fqn.endswith("." + n)
                       for n in ("output.weight", "lm_head.weight")), output),
        ("*", sow.Spec("trunc_normal", std=init_std)),
    ], name="torchtitan_llama3")


def gpt2(std: float | None = None, n_layer: int | None = None) -> Recipe:
    """GPT-2's init (the paper; nanoGPT; transformers' GPT2PreTrainedModel): every weight
    normal(0, std) (Linear/Conv1D weights and both embeddings); ``*c_proj.weight`` normal(0,
    std / sqrt(2 * n_layer)); biases zeros; LayerNorm ones/zeros. ``std``: given, else the
    model's ``config.initializer_range``, else 0.02; ``n_layer``: given, else the config's, else
    from the block names."""

    def base(t: Target) -> float:
        if std is not None:
            return std
        v = getattr(getattr(t.root, "config", None), "initializer_range", None)
        return float(v) if isinstance(v, (int, float)) and v > 0 else 0.02

    def scaled(t: Target) -> Any:
        n = n_layer if n_layer is not None else layer_count(t.root)
        return sow.Spec("normal", std=base(t) / math.sqrt(2 * n))

    return Recipe([
        (_is_norm, _norm_spec),
        ("*c_proj.weight", scaled),
        ("*.bias", "zeros"),
        ("*", lambda t: sow.Spec("normal", std=base(t))),
    ], name="gpt2")


def _torch_rule(t: Target) -> Any:
    spec = torch_default(t)
    return MODULE_CODE if spec is None else spec


RECIPES: dict[str, Recipe] = {
    "torch": Recipe([("*", _torch_rule)], name="torch"),
    "hf": Recipe([("*", HF_INIT)], name="hf"),
    "torchtitan_llama3": torchtitan_llama3(),
    "gpt2": gpt2(),
}
