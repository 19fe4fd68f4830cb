"""Fans and gains: ``calculate_fan_in_and_fan_out`` and ``calculate_gain``.

The formulas and value checks are the C++ ones (``sow::calculate_fan_in_and_fan_out`` and
``sow::calculate_gain`` in cpp/src/init/formulas.cpp, reached through ``sow._core``); this module checks
Python types. Fans always come from the *global* shape, never a shard's.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from . import _core
from ._validate import check_shape, is_int

__all__ = ["LAYOUTS", "calculate_fan_in_and_fan_out", "calculate_gain"]

#: ``"torch"``: weights stored (out, in, *kernel). ``"jax"``: kernels stored (*kernel, in, out).
LAYOUTS: Final = ("torch", "jax")


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
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a str, one of {list(LAYOUTS)}, got {layout!r}")
    fan_in, fan_out = _core.calculate_fan_in_and_fan_out(dims, layout)
    return int(fan_in), int(fan_out)


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
    if not isinstance(nonlinearity, str):
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
    slope: float | None = None
    if nonlinearity == "leaky_relu" and param is not None:
        if not (is_int(param) or isinstance(param, (float, np.floating))):
            raise ValueError(f"negative_slope {param} not a valid number")
        try:
            slope = float(param)
        except OverflowError:
            raise ValueError(f"negative_slope {param} not a valid number") from None
    return float(_core.calculate_gain(nonlinearity, slope))
