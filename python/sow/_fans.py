"""Fans and gains: ``calculate_fan_in_and_fan_out``, ``calculate_gain`` and the fan rules the
scaled initializers use.

Fans always come from the *global* shape, never a shard's.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from ._validate import check_choice, check_positive_int, check_shape, is_int

__all__ = ["LAYOUTS", "calculate_fan_in_and_fan_out", "calculate_gain", "fans_for", "pick_fan"]

#: ``"torch"``: weights stored (out, in, *kernel). ``"jax"``: kernels stored (*kernel, in, out).
LAYOUTS: Final = ("torch", "jax")

_LINEAR_FNS: Final = (
    "linear", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
)


def calculate_fan_in_and_fan_out(shape: Any, layout: str = "torch") -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` for a weight of the given shape.

    ``layout="torch"`` (torch's ``_calculate_fan_in_and_fan_out``, weight ``(out, in, *k)``)::

        fan_in  = shape[1] * prod(shape[2:])
        fan_out = shape[0] * prod(shape[2:])

    ``layout="jax"`` (JAX/Keras kernels ``(*k, in, out)``)::

        receptive = prod(shape[:-2])
        fan_in  = shape[-2] * receptive
        fan_out = shape[-1] * receptive

    Fewer than 2 dimensions raise ``ValueError("Fan in and fan out can not be computed for tensor
    with fewer than 2 dimensions")``; an unknown layout raises ``ValueError``.
    """
    dims = check_shape(shape)
    layout = check_choice(layout, "layout", LAYOUTS)
    if len(dims) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    if layout == "torch":
        receptive = math.prod(dims[2:])
        return dims[1] * receptive, dims[0] * receptive
    receptive = math.prod(dims[:-2])
    return dims[-2] * receptive, dims[-1] * receptive


def calculate_gain(nonlinearity: str, param: int | float | None = None) -> float:
    """Return the recommended gain for a nonlinearity (torch's ``calculate_gain`` table).

    ============================================  ==================================
    nonlinearity                                  gain
    ============================================  ==================================
    linear, conv{1,2,3}d, conv_transpose{1,2,3}d  1
    sigmoid                                       1
    tanh                                          5/3
    relu                                          sqrt(2)
    leaky_relu                                    sqrt(2 / (1 + negative_slope**2))
    selu                                          3/4
    ============================================  ==================================

    ``param`` is leaky_relu's negative slope (default 0.01) and is ignored otherwise, as in torch.
    A bool or non-number slope raises ``ValueError("negative_slope ... not a valid number")`` and
    an unknown nonlinearity ``ValueError("Unsupported nonlinearity ...")``, torch's messages.
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif is_int(param) or isinstance(param, (float, np.floating)):
            negative_slope = float(param)
            if not math.isfinite(negative_slope):
                raise ValueError(f"negative_slope {param} not a valid number")
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # Value found empirically (https://github.com/pytorch/pytorch/pull/50664)
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _override(value: Any, name: str) -> int | None:
    return None if value is None else check_positive_int(value, name)


def fans_for(
    global_shape: tuple[int, ...],
    need: tuple[str, ...],
    layout: str,
    fan_in: Any,
    fan_out: Any,
) -> dict[str, int]:
    """Return the fans named in ``need`` (``"fan_in"``/``"fan_out"``), each from its override
    when given, else computed from ``global_shape`` with ``layout``.

    Overrides must be positive ints. A computed fan of 0 (a zero-size weight) raises
    ``ValueError`` naming the fan.
    """
    layout = check_choice(layout, "layout", LAYOUTS)
    given = {"fan_in": _override(fan_in, "fan_in"), "fan_out": _override(fan_out, "fan_out")}
    result: dict[str, int] = {}
    computed: tuple[int, int] | None = None
    for name in need:
        v = given[name]
        if v is None:
            if computed is None:
                computed = calculate_fan_in_and_fan_out(global_shape, layout)
            v = computed[0] if name == "fan_in" else computed[1]
            if v == 0:
                raise ValueError(
                    f"{name} is 0 for shape {global_shape} (layout={layout!r}); cannot scale an "
                    f"initializer by it (pass {name}= to override)"
                )
        result[name] = v
    return result


def pick_fan(
    global_shape: tuple[int, ...], mode: str, layout: str, fan_in: Any, fan_out: Any
) -> float:
    """The fan a variance-scaling mode uses: fan_in, fan_out or (fan_in + fan_out) / 2."""
    if mode == "fan_avg":
        f = fans_for(global_shape, ("fan_in", "fan_out"), layout, fan_in, fan_out)
        return (f["fan_in"] + f["fan_out"]) / 2.0
    return float(fans_for(global_shape, (mode,), layout, fan_in, fan_out)[mode])
