"""Output dtypes: parsing user-given dtypes and recognising array dtypes.

sow writes four floating-point formats: ``float32``, ``float64``, ``float16`` and ``bfloat16``.
``bfloat16`` arrays are NumPy arrays whose dtype comes from :mod:`ml_dtypes`; that package is
imported lazily, only when bfloat16 is requested or met.
"""

from __future__ import annotations

from typing import Any, Final, cast

import numpy as np

__all__ = ["DTYPE_NAMES", "parse_dtype", "dtype_name_of", "numpy_dtype"]

#: The dtype names sow accepts, in the spelling ``_core.fill`` expects.
DTYPE_NAMES: Final = ("float32", "float64", "float16", "bfloat16")

_NATIVE: Final[dict[str, np.dtype[Any]]] = {
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "float16": np.dtype(np.float16),
}


def _bfloat16() -> np.dtype:
    """The ml_dtypes bfloat16 dtype (imports ml_dtypes on first use)."""
    try:
        import ml_dtypes
    except ImportError as e:  # pragma: no cover - ml_dtypes is a dependency
        raise ImportError("bfloat16 needs the ml_dtypes package: pip install ml_dtypes") from e
    return cast("np.dtype[Any]", np.dtype(ml_dtypes.bfloat16))


def numpy_dtype(name: str) -> np.dtype:
    """The NumPy dtype for one of :data:`DTYPE_NAMES`."""
    if name == "bfloat16":
        return _bfloat16()
    return _NATIVE[name]


_NAME_OF: dict[np.dtype, str | None] = {}  # dtype_name_of's answers (a plan asks per tensor)


def dtype_name_of(dt: np.dtype) -> str | None:
    """The sow name of a NumPy dtype, or None if sow cannot write it.

    Only native-byte-order float32/float64/float16 and ml_dtypes' bfloat16 qualify.
    """
    try:
        return _NAME_OF[dt]
    except (KeyError, TypeError):
        pass
    name = _dtype_name_of(dt)
    try:
        _NAME_OF[dt] = name
    except TypeError:  # pragma: no cover - unhashable dtype
        pass
    return name


def _dtype_name_of(dt: np.dtype) -> str | None:
    if dt.name == "bfloat16" and dt.itemsize == 2 and dt == _bfloat16():
        return "bfloat16"
    for name, ndt in _NATIVE.items():
        if dt == ndt and dt.isnative:
            return name
    return None


def parse_dtype(dtype: Any, name: str = "dtype") -> str:
    """Validate a user-given dtype and return its sow name.

    Accepted: the strings ``"float32"``, ``"float64"``, ``"float16"``, ``"bfloat16"``; the NumPy
    dtypes and scalar types for the first three (``np.float32``, ``np.dtype("float16")``, ...);
    ``ml_dtypes.bfloat16`` and its dtype. Anything else raises ``TypeError`` naming ``name``.
    """
    if isinstance(dtype, str):
        if dtype in DTYPE_NAMES:
            return dtype
        raise TypeError(
            f"{name} must be one of {', '.join(map(repr, DTYPE_NAMES))} (or the NumPy / "
            f"ml_dtypes equivalent), got {dtype!r}"
        )
    dt: np.dtype | None = None
    if isinstance(dtype, np.dtype):
        dt = dtype
    elif isinstance(dtype, type) and issubclass(dtype, np.generic):
        dt = np.dtype(dtype)
    if dt is not None:
        found = dtype_name_of(dt)
        if found is not None:
            return found
    raise TypeError(
        f"{name} must be one of {', '.join(map(repr, DTYPE_NAMES))} (or the NumPy / "
        f"ml_dtypes equivalent), got {dtype!r}"
    )
