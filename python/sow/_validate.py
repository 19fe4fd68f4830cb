"""Argument checks shared by every public function.

Each check raises ``TypeError`` for a value of the wrong kind and ``ValueError`` for a value of
the right kind that is out of range, and names the offending argument in the message. Nothing in
sow writes to an output before all of its checks have passed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

__all__ = [
    "MAX_ELEMENTS",
    "check_shape",
    "check_seed",
    "check_key",
    "check_threads",
    "check_real",
    "check_positive_int",
    "check_choice",
    "is_int",
]

#: A tensor may have at most 2**56 elements (stream-format.md §1).
MAX_ELEMENTS: Final = 1 << 56
_U64: Final = 1 << 64
_MAX_THREADS: Final = (1 << 31) - 1


def is_int(x: object) -> bool:
    """True for Python and NumPy integers, False for bools (which are ints in Python)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def check_shape(shape: Any, name: str = "shape") -> tuple[int, ...]:
    """Validate a shape given as an int or a sequence of ints; return it as a tuple.

    Non-integers (bools and floats included) raise ``TypeError``; negative sizes, and shapes with
    more than 2**56 elements (or a single size above 2**56), raise ``ValueError``.
    """
    if is_int(shape):
        dims: tuple[Any, ...] = (shape,)
    elif isinstance(shape, (str, bytes)) or not isinstance(shape, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {shape!r}")
    else:
        if isinstance(shape, np.ndarray) and shape.ndim != 1:
            raise TypeError(f"{name} must be an int or a sequence of ints, got {shape!r}")
        dims = tuple(shape)
    out = []
    for d in dims:
        if not is_int(d):
            raise TypeError(
                f"{name} must be an int or a sequence of ints, got {shape!r} "
                f"(element {d!r} of type {type(d).__name__})"
            )
        d = int(d)
        if d < 0:
            raise ValueError(f"{name} must not contain negative sizes, got {tuple(dims)!r}")
        if d > MAX_ELEMENTS:
            raise ValueError(f"{name} {tuple(dims)!r} is too large: a size exceeds 2**56")
        out.append(d)
    if math.prod(out) > MAX_ELEMENTS:
        raise ValueError(
            f"{name} {tuple(out)!r} has {math.prod(out)} elements; sow supports at most 2**56"
        )
    return tuple(out)


def check_seed(seed: Any) -> int:
    """Validate a seed: an integer (not bool) in [0, 2**64)."""
    if not is_int(seed):
        raise TypeError(f"seed must be an int in [0, 2**64), got {type(seed).__name__} {seed!r}")
    s = int(seed)
    if not 0 <= s < _U64:
        raise ValueError(f"seed must be in [0, 2**64), got {s}")
    return s


def check_key(key: Any) -> int:
    """Validate a key and return its 64-bit integer form.

    An int (not bool) in [0, 2**64) is used as given; a str is hashed with FNV-1a 64 over its
    UTF-8 bytes (``sow.key_hash``).
    """
    if isinstance(key, str):
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"key {key!r} cannot be encoded as UTF-8: {e}") from None
        from . import _core

        return int(_core.key_hash(key))
    if not is_int(key):
        raise TypeError(
            f"key must be a str or an int in [0, 2**64), got {type(key).__name__} {key!r}"
        )
    k = int(key)
    if not 0 <= k < _U64:
        raise ValueError(f"key must be a str or an int in [0, 2**64), got {k}")
    return k


def check_threads(threads: Any) -> int:
    """Validate ``threads`` (None = all hardware threads, else an int >= 1); return the value
    for ``_core`` (0 for None)."""
    if threads is None:
        return 0
    if not is_int(threads):
        raise TypeError(f"threads must be None or an int >= 1, got {threads!r}")
    t = int(threads)
    if not 1 <= t <= _MAX_THREADS:
        raise ValueError(f"threads must be None or an int >= 1, got {t}")
    return t


def check_real(value: Any, name: str) -> float:
    """Type check and conversion of a real-number parameter: ints and floats (Python or NumPy)
    become a Python float; bools and anything else raise ``TypeError``, and an int too large for
    a float64 ``ValueError``. Its *value* (finite, in range for the initializer and dtype) is
    checked once, in C++, by the plan every call runs (docs/design.md, "Checks before writes")."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got {value!r}") from None


def check_positive_int(value: Any, name: str) -> int:
    """Validate an int (not bool) >= 1."""
    if not is_int(value):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    v = int(value)
    if v < 1:
        raise ValueError(f"{name} must be a positive int, got {v}")
    return v


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Validate a string option against ``choices``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {list(choices)}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value
