"""Elementwise activations for ``sow.diagnose``: value and derivative in float64, with torch's
definitions (``torch.nn.functional``) so that ``sow.torch.diagnose`` on the same network agrees.

=============  =========================================  =====================================
name           f(z)                                       f'(z)
=============  =========================================  =====================================
linear         z                                          1
relu           max(z, 0)                                  1 if z > 0 else 0
leaky_relu     z if z > 0 else a z  (a = slope, 0.01)     1 if z > 0 else a
prelu          as leaky_relu, a = 0.25 (PReLU's start)    as leaky_relu
tanh           tanh z                                     1 - tanh(z)^2
sigmoid        s = 1 / (1 + e^-z)                         s (1 - s)
elu            z if z > 0 else e^z - 1                    1 if z > 0 else e^z
selu           l z if z > 0 else l k (e^z - 1)            l if z > 0 else l k e^z
gelu           z Phi(z) (exact, erf)                      Phi(z) + z phi(z)
silu, swish    z s                                        s (1 + z (1 - s))
mish           z tanh(softplus z)                         tanh(sp) + z sech(sp)^2 s
=============  =========================================  =====================================

SELU's constants are Klambauer et al.'s: l = 1.0507009873554805, k = 1.6732632423543772.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ACTIVATIONS", "SATURATING", "canonical", "forward", "derivative", "saturated_mask"]

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_SLOPE = {"leaky_relu": 0.01, "prelu": 0.25}
_ALIASES = {"identity": "linear", "swish": "silu"}

#: Activations ``sow.diagnose`` runs (aliases included), a subset of sow.recommend's names.
ACTIVATIONS = ("elu", "gelu", "identity", "leaky_relu", "linear", "mish", "prelu", "relu",
               "selu", "sigmoid", "silu", "swish", "tanh")
#: Activations with flat tails: their saturated fraction is measured.
SATURATING = ("tanh", "sigmoid")

_erf = np.vectorize(math.erf, otypes=[np.float64])

def canonical(name: str) -> str:
    """The activation's canonical name (aliases resolved, lower case)."""
    low = name.lower()
    return _ALIASES.get(low, low)

def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of -|z| only: no overflow for large |z|
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

def _softplus(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))

def forward(name: str, z: np.ndarray, slope: float | None = None) -> np.ndarray:
    """f(z) for the canonical ``name`` (``slope``: leaky_relu/prelu's negative slope)."""
    if name == "linear":
        return z.copy()
    if name == "relu":
        return np.maximum(z, 0.0)
    if name in _SLOPE:
        a = _SLOPE[name] if slope is None else slope
        return np.where(z > 0, z, a * z)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0.0)))
    if name == "gelu":
        return z * 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    if name == "silu":
        return z * _sigmoid(z)
    if name == "mish":
        return z * np.tanh(_softplus(z))
    raise AssertionError(name)  # pragma: no cover - names are checked by the caller

def derivative(name: str, z: np.ndarray, slope: float | None = None) -> np.ndarray:
    """f'(z) (torch's one-sided choice at kinks: relu'(0) = 0, leaky_relu'(0) = slope)."""
    if name == "linear":
        return np.ones_like(z)
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name in _SLOPE:
        a = _SLOPE[name] if slope is None else slope
        return np.where(z > 0, 1.0, a)
    if name == "tanh":
        t = np.tanh(z)
        return 1.0 - t * t
    if name == "sigmoid":
        s = _sigmoid(z)
        return s * (1.0 - s)
    if name == "elu":
        return np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0.0)))
    if name == "gelu":
        cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
        return cdf + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    if name == "silu":
        s = _sigmoid(z)
        return s * (1.0 + z * (1.0 - s))
    if name == "mish":
        sp = _softplus(z)
        t = np.tanh(sp)
        return t + z * (1.0 - t * t) * _sigmoid(z)
    raise AssertionError(name)  # pragma: no cover

def saturated_mask(name: str, h: np.ndarray) -> np.ndarray | None:
    """Where a saturating activation sits in its flat tails: |tanh| > 0.99, sigmoid outside
    [0.01, 0.99]; None for the others."""
    if name == "tanh":
        return np.abs(h) > 0.99
    if name == "sigmoid":
        return (h < 0.01) | (h > 0.99)
    return None

