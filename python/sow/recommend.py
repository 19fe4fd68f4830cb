"""``sow.recommend``: which initializer fits a layer's activation, and why (``docs/choosing.md``).

The advice keeps the variance of the signal roughly constant through depth. ``activation`` is the
nonlinearity applied to the layer's output (torch's convention for ``calculate_gain``):

=================  =====================================  ===============================
activation         spec                                   source
=================  =====================================  ===============================
linear, identity   xavier_uniform, gain 1                 Glorot & Bengio 2010
sigmoid            xavier_uniform, gain 1                 Glorot & Bengio 2010
tanh               xavier_uniform, gain 5/3               Glorot & Bengio 2010
softmax            xavier_uniform, gain 1                 Glorot & Bengio 2010
relu               kaiming_normal, nonlinearity="relu"    He et al. 2015
leaky_relu         kaiming_normal, a=slope (0.01)         He et al. 2015
prelu              kaiming_normal, a=slope (0.25)         He et al. 2015
elu, gelu, silu,   kaiming_normal, nonlinearity="relu"    He et al. 2015 (ReLU-like)
swish, mish
selu               lecun_normal                           Klambauer et al. 2017
any, recurrent     orthogonal, gain 1                     Saxe et al. 2014
=================  =====================================  ===============================

``kind="conv"`` gives the dense advice (sow computes fans with the receptive field), and
``kind="output"`` the dense advice plus a pointer to :func:`sow.log_odds_bias` for the bias.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from ._fans import calculate_gain
from ._spec import Spec

__all__ = ["Recommendation", "recommend", "ACTIVATIONS", "KINDS"]

#: Layer kinds ``recommend`` accepts.
KINDS = ("dense", "conv", "recurrent", "output")

_ALIASES = {"identity": "linear", "swish": "silu"}
_GLOROT = ("linear", "sigmoid", "tanh", "softmax")
_HE_LIKE = ("elu", "gelu", "silu", "mish")
_SLOPED = {"leaky_relu": 0.01, "prelu": 0.25}  # torch's defaults (LeakyReLU, PReLU init)
#: Activations ``recommend`` knows (aliases included).
ACTIVATIONS = tuple(sorted((*_GLOROT, "relu", *_SLOPED, *_HE_LIKE, "selu", *_ALIASES)))


@dataclass(frozen=True)
class Recommendation:
    """An initializer for one layer: ``spec`` (usable in ``sow.Plan.add`` and ``sow.init_batch``),
    ``gain`` (the standard deviation factor it applies, ``sow.calculate_gain`` of the activation
    or 1), and a one-line ``reason``."""

    activation: str
    kind: str
    spec: Spec
    gain: float
    reason: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.spec.params)


def _slope(activation: str, param: Any) -> float:
    if param is None:
        return _SLOPED[activation]
    if isinstance(param, bool) or not isinstance(param, numbers.Real):
        raise TypeError(f"param (the negative slope of {activation}) must be a real number, "
                        f"got {type(param).__name__}")
    try:
        slope = float(param)
    except OverflowError:
        raise ValueError(f"param (the negative slope of {activation}) must be finite, "
                         f"got {param!r}") from None
    if not math.isfinite(slope):
        raise ValueError(f"param (the negative slope of {activation}) must be finite, got {param!r}")
    return slope


def recommend(activation: str, *, param: float | None = None, kind: str = "dense") -> Recommendation:
    """The recommended initializer for a layer followed by ``activation``.

    ``param``: the negative slope of ``leaky_relu`` (default 0.01) or ``prelu`` (default 0.25, the
    initial slope of torch's PReLU); refused for other activations. ``kind``: ``"dense"``
    (default), ``"conv"``, ``"recurrent"`` (hidden-to-hidden weights: ``orthogonal``, gain 1) or
    ``"output"``. An unknown ``activation`` or ``kind`` is a ``ValueError`` naming it, a
    non-string a ``TypeError``.

    >>> sow.recommend("tanh").spec
    sow.Spec('xavier_uniform', gain=1.6666666666666667)
    """
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a str, got {type(activation).__name__}")
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a str, got {type(kind).__name__}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    act = _ALIASES.get(activation.lower(), activation.lower())
    if act not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r} is not known; choose one of "
                         f"{', '.join(ACTIVATIONS)}")
    if act not in _SLOPED and param is not None:
        raise ValueError(f"param is only for leaky_relu and prelu (their negative slope), "
                         f"not {activation!r}")
    slope = _slope(act, param) if act in _SLOPED else None

    if kind == "recurrent":
        return Recommendation(activation, kind, Spec("orthogonal", gain=1.0), 1.0,
                              "orthogonal recurrent weights have all singular values 1, so the "
                              "hidden state neither grows nor shrinks across time steps "
                              "(Saxe et al. 2014)")
    if act in _GLOROT:
        gain = calculate_gain("linear" if act == "softmax" else act)
        spec = Spec("xavier_uniform", gain=gain)
        why = {"linear": "a linear layer keeps the forward and backward variance with "
                         "Var(W) = 2/(fan_in + fan_out)",
               "sigmoid": "sigmoid is near-linear around 0; Glorot's fan average keeps both "
                          "passes' variance",
               "tanh": "tanh contracts the variance; gain 5/3 makes up for it",
               "softmax": "softmax logits: a linear output layer with Glorot's fan average"}[act]
        src = " (Glorot & Bengio 2010)"
    elif act == "selu":
        gain = 1.0
        spec = Spec("lecun_normal")
        why = "SELU self-normalizes to mean 0, variance 1 only with Var(W) = 1/fan_in"
        src = " (Klambauer et al. 2017)"
    elif act == "relu" or act in _HE_LIKE:
        gain = calculate_gain("relu")
        spec = Spec("kaiming_normal", mode="fan_in", nonlinearity="relu")
        why = ("ReLU zeroes half its input; Var(W) = 2/fan_in keeps the forward variance"
               if act == "relu" else
               f"{act} behaves like ReLU for large |x| and has no exact gain; He's 2/fan_in "
               "is the usual choice")
        src = " (He et al. 2015)"
    else:  # leaky_relu, prelu
        assert slope is not None
        gain = calculate_gain("leaky_relu", slope)
        spec = Spec("kaiming_normal", a=slope, mode="fan_in", nonlinearity="leaky_relu")
        why = f"negative slope {slope:g}: Var(W) = 2/((1 + a^2) fan_in) keeps the forward variance"
        src = " (He et al. 2015)"
    if kind == "conv":
        why += "; fans include the receptive field"
    elif kind == "output":
        why += "; set the bias from the class priors with sow.log_odds_bias"
    return Recommendation(activation, kind, spec, gain, why + src)
