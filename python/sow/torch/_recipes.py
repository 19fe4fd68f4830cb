"""The built-in recipes, by name (``init_module_(..., recipe=name)``).

* ``"torch"``: torch's own ``reset_parameters`` distribution per layer (sow.torch._layers); a
  parameter of another module type gets its module's own init code (:data:`MODULE_CODE`).
* ``"hf"``: Hugging Face transformers' scheme (:data:`HF_INIT`): the model's own
  ``_init_weights`` run through sow (normal(0, ``initializer_range``), zero biases and padding
  rows, ones for norms, RoPE buffers as the model computes them, and each model's overrides such
  as GPT-2's scaled ``c_proj``).
* ``"torchtitan_llama3"``: :func:`torchtitan_llama3` with its defaults.
* ``"gpt2"``: :func:`gpt2` with its defaults.

:func:`recipe` returns any of them (or a :class:`Recipe`) with a chosen bias initialization:
``recipe("torch", bias="relu_positive", output="head", output_bias=sow.log_odds_bias(p))``.
"""

from __future__ import annotations

import fnmatch
import math
import numbers
import re
from typing import Any

import numpy as np

from torch import nn

import sow

from ._layers import torch_default
from ._recipe import HF_INIT, MODULE_CODE, Action, Recipe, Target

__all__ = ["RECIPES", "torchtitan_llama3", "gpt2", "layer_count", "layer_id", "recipe",
           "BIAS_CHOICES", "RELU_POSITIVE_BIAS"]

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


#: The constant of ``bias="relu_positive"``: small, so the layer's output barely moves, positive,
#: so ReLU units start on their active side.
RELU_POSITIVE_BIAS = 0.01
#: The named bias choices of :func:`recipe` (besides a number or any spec).
BIAS_CHOICES = ("zeros", "relu_positive")
#: Bias parameter names :func:`recipe` sets (norm layers' shifts are not biases here).
BIAS_NAMES = ("bias", "in_proj_bias")


def _bias_spec(value: Any, where: str) -> Any:
    """A bias choice as a spec: a name of BIAS_CHOICES, a finite number (constant), or a spec."""
    if isinstance(value, str) and value == "relu_positive":
        return sow.Spec("constant", val=RELU_POSITIVE_BIAS)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"{where} must be finite, got {value!r}")
        return sow.Spec("constant", val=v)
    from .._spec import as_spec

    try:
        return as_spec(value, where)
    except TypeError:
        raise TypeError(f"{where} must be one of {', '.join(BIAS_CHOICES)}, a number, or a spec "
                        f"(sow.Spec, name, (name, {{params}})), got {value!r}") from None


def _values(value: Any) -> np.ndarray | None:
    """``output_bias`` as explicit values (1-D float64), or None when it is a choice/spec."""
    if isinstance(value, (str, numbers.Real, sow.Spec)) or (
            isinstance(value, tuple) and value and isinstance(value[0], str)):
        return None  # a choice or a spec
    if type(value).__module__.split(".")[0] == "torch":
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"output_bias must be a bias choice, a spec, or an array of numbers, "
                        f"got {value!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"output_bias values must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("output_bias values must be finite")
    return arr


def _is_bias(t: Target) -> bool:
    return t.kind == "parameter" and t.name in BIAS_NAMES and not _is_norm(t)


def recipe(base: Any = "torch", *, bias: Any = None, output: Any = None,
           output_bias: Any = None) -> Recipe:
    """The recipe ``base`` (a name of :data:`RECIPES` or a :class:`Recipe`) with its biases
    chosen; every other tensor, weights included, gets exactly what ``base`` gives it.

    * ``bias``: every bias (parameters named ``bias`` or ``in_proj_bias``, except norm layers'
      shifts): ``"zeros"``; ``"relu_positive"`` (constant :data:`RELU_POSITIVE_BIAS` = 0.01, so
      ReLU units start active); a finite number (that constant); or any spec. ``None``
      (default): the base recipe's own biases.
    * ``output``: the output layer, a module name or glob (``"head"``, ``"lm_head"``,
      ``"*.classifier"``); its bias gets ``output_bias`` instead of ``bias``.
    * ``output_bias``: a choice or spec as for ``bias`` (default ``"zeros"``), or the values
      themselves, a 1-D array of the bias's length such as a prior from
      :func:`sow.log_odds_bias` (sigmoid: ``log(p / (1 - p))``; softmax: centred ``log p``; a
      regression target mean), written after the plan as deterministic values (float64 rounded
      to the parameter's dtype). A length mismatch is a ``ValueError`` naming ``output_bias``
      when the recipe meets the layer.

    ``sow.torch.init_module_(model, seed=0, recipe=sow.torch.recipe("torch", bias="zeros"))``.
    """
    if isinstance(base, str):
        if base not in RECIPES:
            raise ValueError(f"base: unknown recipe {base!r} (one of {', '.join(RECIPES)})")
        base_recipe = RECIPES[base]
    elif isinstance(base, Recipe):
        base_recipe = base
    else:
        raise TypeError(f"base must be a recipe name or a sow.Recipe, got {type(base).__name__}")
    if output is not None and not isinstance(output, str):
        raise TypeError(f"output must be a module name or glob (str), got {output!r}")
    if output is None and output_bias is not None:
        raise ValueError("output_bias needs output (the output layer's module name)")
    hidden = None if bias is None else _bias_spec(bias, "bias")
    rules: list[tuple[Any, Any]] = []
    parts = [base_recipe.name]
    if output is not None:
        values = _values(output_bias) if output_bias is not None else None
        if values is None:
            out_spec: Any = _bias_spec("zeros" if output_bias is None else output_bias,
                                       "output_bias")
        else:
            post = tuple(((i,), float(v)) for i, v in enumerate(values))

            def out_spec(t: Target) -> Any:
                if tuple(t.shape) != values.shape:
                    raise ValueError(f"output_bias has {values.size} values but {t.fqn} has "
                                     f"shape {tuple(t.shape)}")
                return Action(sow.Spec("zeros"), post)

        def is_output_bias(t: Target) -> bool:
            return _is_bias(t) and fnmatch.fnmatchcase(t.module_fqn, output)

        rules.append((is_output_bias, out_spec))
        parts.append(f"output_bias@{output}")
    if hidden is not None:
        rules.append((_is_bias, hidden))
        parts.append(f"bias={bias!r}" if isinstance(bias, str) else "bias")
    if not rules:
        return base_recipe
    return Recipe(rules, name="+".join(parts[1:])) + base_recipe  # the bias rules come first
