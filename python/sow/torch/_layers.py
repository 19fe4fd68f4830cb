"""The "torch" recipe: per layer, the distribution of torch's own ``reset_parameters`` (torch
2.x ``torch/nn/modules``), with fans from the global shape.

| layer | parameter | spec |
|---|---|---|
| Linear | weight | kaiming_uniform(a=sqrt(5)), i.e. U(+-1/sqrt(in_features)) |
| Linear | bias | U(+-1/sqrt(fan_in)), fan_in = weight.shape[1] (zeros if 0) |
| Bilinear | weight, bias | U(+-1/sqrt(in1_features)) |
| Conv1/2/3d, ConvTranspose1/2/3d | weight | kaiming_uniform(a=sqrt(5)) (fan_in = weight.shape[1] * kernel: out/groups * k for the transposed ones) |
| same | bias | U(+-1/sqrt(fan_in)) |
| Embedding, EmbeddingBag | weight | normal(0, 1); row ``padding_idx`` zero |
| LayerNorm, RMSNorm, GroupNorm, BatchNorm*, InstanceNorm* | weight / bias | ones / zeros |
| BatchNorm*, InstanceNorm* (tracking stats) | running_mean / running_var / num_batches_tracked | zeros / ones / zeros |
| MultiheadAttention | in_proj_weight, q/k/v_proj_weight | xavier_uniform |
| same | in_proj_bias, out_proj.bias | zeros |
| same | bias_k, bias_v | xavier_normal |
| RNN/LSTM/GRU, RNNCell/LSTMCell/GRUCell | every weight and bias | U(+-1/sqrt(hidden_size)) |
| PReLU | weight | constant(init) |
| Transformer (the full model) | every parameter of 2+ dims below it | xavier_uniform |
| any of these under weight norm | v (``original1``, ``weight_v``) / g (``original0``, ``weight_g``) | the layer's weight spec / ‖v‖ over all dims but ``dim`` |

TransformerEncoderLayer/DecoderLayer hold only MultiheadAttention, Linear and LayerNorm, so their
parameters are those layers'. (torch's TransformerEncoder/Decoder deep-copy one layer, so in torch
every layer starts identical; here each layer gets its own values, keyed by its name.)
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

import sow

from ._recipe import Action, Target
from ._weight_norm import weight_norm_role, weight_shape

__all__ = ["torch_default", "hf_constructor_default", "buffer_default"]


def _uniform_bound(bound: float) -> Any:
    return sow.Spec("uniform", a=-bound, b=bound) if bound > 0 else sow.Spec("zeros")


def _fan_in(shape: tuple[int, ...]) -> int:
    rf = 1
    for s in shape[2:]:
        rf *= s
    return shape[1] * rf if len(shape) >= 2 else 0


def _under_transformer(t: Target) -> bool:
    root, parts = t.root, t.module_fqn.split(".") if t.module_fqn else []
    if root is None:
        return False
    mod = root
    if isinstance(mod, nn.Transformer):
        return True
    for p in parts:
        mod = getattr(mod, p, None)
        if mod is None:
            return False
        if isinstance(mod, nn.Transformer) and mod is not t.module:
            return True
    return False


def _weight_shape(m: Any) -> tuple[int, ...]:
    shape = weight_shape(m, "weight")
    if shape is None:  # pragma: no cover - these layers always have a weight
        raise ValueError(f"{type(m).__name__} has no weight")
    return shape


def torch_default(t: Target) -> Any:
    """torch's construction-time distribution for parameter ``t`` (None: not a torch layer).
    A weight norm's v is its layer's weight; its g, the norm of v's fill (sow.torch._weight_norm)."""
    role = weight_norm_role(t)
    if role is not None:
        kind, layer, g = role
        return torch_default(layer) if kind == "v" else g
    m, name = t.module, t.name
    if len(t.shape) > 1 and _under_transformer(t):
        return sow.Spec("xavier_uniform")
    if isinstance(m, nn.MultiheadAttention):
        if name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            return sow.Spec("xavier_uniform")
        if name == "in_proj_bias":
            return sow.Spec("zeros")
        if name in ("bias_k", "bias_v"):
            return sow.Spec("xavier_normal")
        return None
    if isinstance(m, nn.Linear):
        if name == "weight":
            return sow.Spec("kaiming_uniform", a=math.sqrt(5))
        if name == "bias":
            if type(m).__name__ == "NonDynamicallyQuantizableLinear":  # MultiheadAttention.out_proj
                return sow.Spec("zeros")
            fan_in = _weight_shape(m)[1]
            return _uniform_bound(1 / math.sqrt(fan_in) if fan_in > 0 else 0.0)
        return None
    if isinstance(m, nn.Bilinear):
        if name in ("weight", "bias"):
            return _uniform_bound(1 / math.sqrt(_weight_shape(m)[1]))
        return None
    if isinstance(m, nn.modules.conv._ConvNd):
        if name == "weight":
            return sow.Spec("kaiming_uniform", a=math.sqrt(5))
        if name == "bias":
            fan_in = _fan_in(_weight_shape(m))
            return _uniform_bound(1 / math.sqrt(fan_in) if fan_in != 0 else 0.0)
        return None
    if isinstance(m, (nn.Embedding, nn.EmbeddingBag)):
        if name != "weight":
            return None
        pad = getattr(m, "padding_idx", None)
        if pad is None:
            return sow.Spec("normal")
        return Action(sow.Spec("normal"), (((int(pad),), 0.0),))
    if isinstance(m, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)):
        return {"weight": sow.Spec("ones"), "bias": sow.Spec("zeros")}.get(name)
    if isinstance(m, (nn.RNNBase, nn.RNNCellBase)):
        h = int(m.hidden_size)
        return _uniform_bound(1 / math.sqrt(h) if h > 0 else 0.0)
    if isinstance(m, nn.PReLU):
        return sow.Spec("constant", val=float(m.init)) if name == "weight" else None
    if type(m).__name__ == "Conv1D" and type(m).__module__ == "transformers.pytorch_utils":
        # transformers' GPT-2-style linear layer initializes itself in its constructor
        # (transformers 5.24: normal_(weight, std=0.02), bias zeros); models whose _init_weights
        # leave it alone (OpenAI GPT) keep that.
        return {"weight": sow.Spec("normal", mean=0.0, std=0.02), "bias": sow.Spec("zeros")}.get(name)
    return None


def hf_constructor_default(t: Target) -> Any:
    """The construction-time value of a transformers parameter that some models' _init_weights
    leave alone (transformers 5.24), or None: CLIP-style ``logit_scale``, made in the constructor
    as ``nn.Parameter(torch.tensor(config.logit_scale_init_value))`` (CLIP, Chinese-CLIP, AltCLIP,
    CLIPSeg, BLIP, ... set it nowhere else); the audio models' ``masked_spec_embed``, U(0, 1)."""
    if t.name == "logit_scale" and math.prod(t.shape) == 1:
        v = getattr(getattr(t.root, "config", None), "logit_scale_init_value", None)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return sow.Spec("constant", val=float(v))
    if t.name == "masked_spec_embed" and len(t.shape) == 1:
        # Wav2Vec2-style audio models: nn.Parameter(torch.Tensor(hidden_size).uniform_()) in the
        # constructor; SEW-D's _init_weights is the one that leaves it there.
        return sow.Spec("uniform", a=0.0, b=1.0)
    return None


def buffer_default(t: Target) -> Any:
    """The reset value of a standard buffer (BatchNorm/InstanceNorm running statistics), or
    None."""
    if isinstance(t.module, nn.modules.batchnorm._NormBase):
        return {"running_mean": sow.Spec("zeros"), "running_var": sow.Spec("ones"),
                "num_batches_tracked": sow.Spec("zeros")}.get(t.name)
    return None
