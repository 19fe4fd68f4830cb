"""A checkpoint's tensors: :class:`Tensor` and the embedded recipes for the built-in architectures.

The embedded recipes give exactly the specs transformers' init gives (``recipe="hf"``), written
out per layer kind so that neither torch nor transformers is needed:

* ``"hf"`` (``PreTrainedModel._init_weights``, GPT-2's override): Linear and Embedding weights
  normal(0, std) with std = ``initializer_range or 0.02``; the Embedding's ``padding_idx`` row
  (``pad_token_id`` on the Llama family) zero; biases zeros; norm weights ones, biases zeros;
  GPT-2's Conv1D weights normal(0, ``initializer_range``), its ``c_proj`` weights normal(0,
  ``initializer_range / sqrt(2 * n_layer)``) (the model's "scaled residual" init).
* ``"torch"`` (Llama family; each layer's own ``reset_parameters``): Linear weights
  kaiming_uniform(a=sqrt(5)) (U(+-1/sqrt(in_features))), biases U(+-1/sqrt(in_features));
  Embedding normal(0, 1) with the padding row zero; norms ones/zeros.
* ``"gpt2"``: GPT-2 only, equal to ``"hf"`` there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .._spec import Spec
from ._arch import ArchTensor, Layer, n_layers

__all__ = ["Tensor", "EMBEDDED_RECIPES", "arch_tensors"]

EMBEDDED_RECIPES: Final = ("hf", "torch", "gpt2")


@dataclass(frozen=True)
class Tensor:
    """One tensor of a checkpoint: ``name`` (also its key unless ``key`` is given), ``shape``,
    ``dtype`` (None: the checkpoint's dtype; an integer or bool dtype such as ``"int64"`` holds
    a constant only: zeros, ones or constant(val)), ``spec`` (a ``sow.Spec``, ``(name, {params})`` or a
    bare name; elementwise, eye and dirac initializers; or ``("norm_of", {"tensor": other,
    "dim": d})``: the norm of tensor ``other``'s values over every dim but ``d``, -1 for all, as a
    weight norm's g = ‖v‖, shape ``other.shape[d]`` at ``d`` and 1 elsewhere, () for -1) and
    ``zero_rows``: rows of dim 0 set to zero after the spec (an Embedding's ``padding_idx``)."""

    name: str
    shape: tuple[int, ...]
    dtype: str | None
    spec: Any
    key: Any = None
    zero_rows: tuple[int, ...] = ()

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def _hf(t: ArchTensor, c: Mapping[str, Any]) -> Any:
    lay = t.layer
    if lay.role == "bias":
        return Spec("zeros")
    if lay.kind == "norm":
        return Spec("ones")
    if lay.kind == "conv1d":
        r = c["initializer_range"]
        std = r / math.sqrt(2 * n_layers(c)) if lay.scaled else r
        return Spec("normal", mean=0.0, std=std)
    return Spec("normal", mean=0.0, std=c["std"])


def _torch(t: ArchTensor, c: Mapping[str, Any]) -> Any:
    lay = t.layer
    if lay.kind == "norm":
        return Spec("ones" if lay.role == "weight" else "zeros")
    if lay.kind == "embedding":
        return Spec("normal", mean=0.0, std=1.0)
    if lay.kind == "linear":
        if lay.role == "weight":
            return Spec("kaiming_uniform", a=math.sqrt(5))
        bound = 1 / math.sqrt(lay.fan_in)
        return Spec("uniform", a=-bound, b=bound)
    raise ValueError(f"recipe 'torch' has no embedded rule for {t.name} (GPT-2's Conv1D): use "
                     f"recipe 'hf', or pass the torch model")  # pragma: no cover - checked earlier


def arch_tensors(c: Mapping[str, Any], tensors: list[ArchTensor], recipe: str) -> list[Tensor]:
    """The checkpoint tensors of a built-in architecture under an embedded recipe."""
    if recipe not in EMBEDDED_RECIPES:
        raise ValueError(f"recipe {recipe!r} is not embedded for the built-in architectures "
                         f"(embedded: {', '.join(EMBEDDED_RECIPES)}); other recipes need torch: "
                         f"pass a model built on meta")
    gpt2 = c["model_type"] == "gpt2"
    if recipe == "torch" and gpt2:
        raise ValueError("recipe 'torch' is not embedded for gpt2 (its Conv1D layers have no "
                         "torch default): use recipe 'hf' or 'gpt2'")
    if recipe == "gpt2" and not gpt2:
        raise ValueError(f"recipe 'gpt2' is GPT-2's; {c['model_type']} takes 'hf' or 'torch'")
    rule = _torch if recipe == "torch" else _hf
    out = []
    for t in tensors:
        lay: Layer = t.layer
        zero = (lay.padding_idx,) if lay.kind == "embedding" and lay.padding_idx is not None else ()
        out.append(Tensor(t.name, t.shape, None, rule(t, c), zero_rows=zero))
    return out
