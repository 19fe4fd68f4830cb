"""Output-layer biases from priors: ``sow.log_odds_bias`` and ``sow.log_odds_bias_``.

With zero weights' contribution at the start (small weights, centred inputs), an output layer's
initial prediction is its activation of the bias. Setting the bias from the class frequencies (or
the target mean) makes the untrained network predict the prior, so early training is not spent
learning it (``docs/choosing.md``).
"""

from __future__ import annotations

import sys
from typing import Any

import ml_dtypes
import numpy as np

from ._torch_rules import inplace_rules, is_torch_tensor

__all__ = ["log_odds_bias", "log_odds_bias_", "BIAS_KINDS"]

#: The output kinds ``log_odds_bias`` accepts.
BIAS_KINDS = ("sigmoid", "softmax", "regression")

#: How far from 1 softmax priors may sum (rounding in frequencies read from data).
SUM_TOLERANCE = 1e-6


def _priors(p: Any, kind: Any) -> np.ndarray:
    """``p`` as a float64 array, checked for ``kind``; ValueError/TypeError naming the argument."""
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a str, got {type(kind).__name__}")
    if kind not in BIAS_KINDS:
        raise ValueError(f"kind must be one of {', '.join(BIAS_KINDS)}; got {kind!r}")
    if isinstance(p, (str, bytes)) or is_torch_tensor(p):
        if is_torch_tensor(p):
            p = p.detach().cpu().numpy()
        else:
            raise TypeError(f"p must be a number or an array of numbers, got {type(p).__name__}")
    try:
        arr = np.asarray(p)
    except (TypeError, ValueError) as e:
        raise TypeError(f"p must be a number or an array of numbers ({e})") from None
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer)
                                     or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"p must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.size == 0:
        raise ValueError("p is empty")
    if np.isnan(arr).any():
        raise ValueError("p contains NaN")
    if kind == "regression":
        if not np.isfinite(arr).all():
            raise ValueError("p (the target means) must be finite")
        return arr
    if not ((arr > 0) & (arr < 1)).all():
        bad = arr.ravel()[~((arr.ravel() > 0) & (arr.ravel() < 1))][0]
        raise ValueError(f"p must lie strictly inside (0, 1) for kind={kind!r}; got {bad!r}")
    if kind == "softmax":
        if arr.ndim != 1:
            raise ValueError(f"p must be 1-D (one prior per class) for kind='softmax', "
                             f"got shape {arr.shape}")
        total = float(arr.sum())
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise ValueError(f"p must sum to 1 (within {SUM_TOLERANCE:g}) for kind='softmax'; "
                             f"it sums to {total!r}")
    return arr


def log_odds_bias(p: Any, *, kind: str = "sigmoid") -> np.ndarray:
    """The output bias (float64, shape of ``p``) whose activation is the prior ``p``.

    * ``kind="sigmoid"`` (independent binary outputs): ``b = log(p / (1 - p))`` per class, so
      ``sigmoid(b) == p``; every ``p`` in (0, 1).
    * ``kind="softmax"`` (one of ``C`` classes): ``b = log p - mean(log p)``, so ``softmax(b) ==
      p / sum(p)``; ``p`` is 1-D, each entry in (0, 1), summing to 1 within 1e-6.
    * ``kind="regression"``: ``b = p``, the target mean of each output (finite).

    Bad priors (outside (0, 1), NaN, empty, not summing to 1) are a ``ValueError`` naming ``p``.
    """
    arr = _priors(p, kind)
    if kind == "sigmoid":
        return np.log(arr) - np.log1p(-arr)
    if kind == "softmax":
        logp = np.log(arr)
        return logp - logp.mean()
    return arr.copy()


def _is_float_dtype(dt: np.dtype) -> bool:
    """NumPy's floats and ml_dtypes' (bfloat16, float8_*), which NumPy files under kind "V"."""
    if np.issubdtype(dt, np.floating):
        return True
    try:
        ml_dtypes.finfo(dt)
    except (TypeError, ValueError):
        return False
    return dt.kind == "V"


@inplace_rules
def log_odds_bias_(out: Any, p: Any, *, kind: str = "sigmoid") -> Any:
    """Fill ``out`` (a NumPy array or torch tensor of ``p``'s shape, floating) with
    :func:`log_odds_bias` ``(p, kind=kind)`` rounded to its dtype; returns ``out``. Every check
    runs before anything is written; torch tensors follow torch.nn.init's in-place rules
    (written under ``no_grad``, version counter bumped, inference tensors refused outside
    ``inference_mode``, meta tensors only checked)."""
    bias = log_odds_bias(p, kind=kind)
    if is_torch_tensor(out):
        torch = sys.modules["torch"]
        if not out.is_floating_point():
            raise TypeError(f"out must be a floating-point tensor, got {out.dtype}")
        if tuple(out.shape) != bias.shape:
            raise ValueError(f"out has shape {tuple(out.shape)} but p has shape {bias.shape}")
        if out.device.type == "meta":
            return out
        with torch.no_grad():
            out.copy_(torch.from_numpy(bias))
        return out
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a NumPy array or a torch tensor, got {type(out).__name__}")
    if not _is_float_dtype(out.dtype):
        raise TypeError(f"out must have a floating dtype, got {out.dtype}")
    if out.shape != bias.shape:
        raise ValueError(f"out has shape {out.shape} but p has shape {bias.shape}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    out[...] = bias.astype(out.dtype)
    return out
