"""What sow accepts as ``out``, and how an accepted output is described to ``_core``.

This is the one place that decides which output objects are accepted (today: NumPy arrays of
float32, float64, float16 or ml_dtypes bfloat16). Support for other buffers (CUDA arrays via
DLPack) extends :func:`check_out` and :class:`OutBuffer` here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._dtypes import dtype_name_of

__all__ = ["OutBuffer", "check_out"]


@dataclass(frozen=True)
class OutBuffer:
    """A validated, writable output.

    ``addr`` is the address of element (0, ..., 0); ``strides`` are in bytes (any sign, never
    zero on a dimension of size > 1); ``dtype`` is a sow dtype name.
    """

    array: np.ndarray
    dtype: str
    shape: tuple[int, ...]
    strides: tuple[int, ...]

    @property
    def addr(self) -> int:
        return int(self.array.__array_interface__["data"][0])

    @property
    def size(self) -> int:
        return int(self.array.size)


def check_out(out: Any) -> OutBuffer:
    """Validate ``out`` and describe it.

    Raises ``TypeError`` if ``out`` is not a NumPy array or its dtype is not one sow writes
    (integer, bool, complex, non-native byte order, ...), and ``ValueError`` if it is read-only,
    misaligned, has strides that are not multiples of its item size, or overlaps itself through a
    zero stride on a dimension of size > 1.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(
            f"out must be a numpy.ndarray of float32, float64, float16 or bfloat16, "
            f"got {type(out).__module__}.{type(out).__qualname__}"
        )
    name = dtype_name_of(out.dtype)
    if name is None:
        raise TypeError(
            f"out must have dtype float32, float64, float16 or bfloat16 (native byte order), "
            f"got {out.dtype}"
        )
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    item = out.dtype.itemsize
    if out.size > 0:
        if not out.flags.aligned:
            raise ValueError("out is not aligned to its item size")
        for n, s in zip(out.shape, out.strides):
            if n > 1 and s == 0:
                raise ValueError(
                    f"out has a zero stride on a dimension of size {n} (its elements overlap in "
                    f"memory); pass a writable array with distinct elements"
                )
            if s % item != 0:
                raise ValueError(f"out has strides {out.strides} that are not multiples of {item}")
    return OutBuffer(
        array=out, dtype=name, shape=tuple(int(n) for n in out.shape),
        strides=tuple(int(s) for s in out.strides),
    )
