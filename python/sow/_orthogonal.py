"""Orthogonal initializers: ``orthogonal`` (torch semantics, plus ``blocks``) and JAX's
``delta_orthogonal``.

The matrix is Haar distributed (uniform on the matrices with orthonormal rows or columns) and is
a pure function of (seed, key, shape, dtype, blocks): docs/orthogonal.md explains the algorithm
(Householder vectors sampled directly, Stewart 1980, then LAPACK ``orgqr``), and
docs/stream-format.md, section "Orthogonal", which stream elements feed it.
"""

from __future__ import annotations

import math
from typing import Any, Union

import numpy as np

from . import _core
from ._dtypes import numpy_dtype, parse_dtype
from ._out import OutBuffer, check_out
from ._validate import check_key, check_positive_int, check_real, check_seed, check_shape, check_threads

__all__ = ["orthogonal", "orthogonal_", "delta_orthogonal", "delta_orthogonal_"]

Shape = Any
Key = Union[int, str]
Real = Union[int, float]


def _require_lapack() -> None:
    if not getattr(_core, "has_lapack", False):  # pragma: no cover - depends on the build
        raise RuntimeError(
            "sow was built without a LAPACK, so orthogonal initialization is unavailable; "
            "pip install scipy-openblas32 and reinstall sow"
        )


def _check_matrix_shape(shape: tuple[int, ...], name: str) -> None:
    if len(shape) < 2:
        raise ValueError(
            f"Only tensors with 2 or more dimensions are supported ({name} {shape!r} has "
            f"{len(shape)})"
        )
    if math.prod(shape) == 0:
        raise ValueError(f"orthogonal needs a non-empty tensor, got {name} {shape!r}")


def _check_blocks(blocks: Any, rows: int) -> int:
    if blocks is None:
        return 1
    b = check_positive_int(blocks, "blocks")
    if rows % b != 0:
        raise ValueError(f"blocks={b} must divide shape[0]={rows}")
    return b


def _require_host(buf: OutBuffer) -> None:
    if buf.device is not None:
        raise NotImplementedError(
            "orthogonal initialization of CUDA memory is not implemented yet; fill a host array "
            "and copy it to the device"
        )


def _run(buf: OutBuffer, gain: float, seed: int, key: int, blocks: int, threads: int) -> None:
    _core.orthogonal(
        buf.addr, buf.dtype, buf.shape, buf.strides, gain, seed, key, blocks, threads
    )


def orthogonal(
    shape: Shape, gain: Real = 1.0, *, seed: int, key: Key = 0, dtype: Any = "float32",
    threads: int | None = None, blocks: int | None = None,
) -> np.ndarray:
    """A Haar-random (semi-)orthogonal matrix times ``gain`` (torch ``orthogonal_``).

    The tensor is viewed as a matrix with ``rows = shape[0]`` and ``cols`` = the product of the
    other sizes; the result has orthonormal columns when ``rows >= cols`` and orthonormal rows
    otherwise (before ``gain``). ``gain`` is any finite real (default 1.0).

    ``blocks=k`` (k dividing ``shape[0]``) makes ``k`` independent orthogonal blocks of
    ``shape[0] // k`` rows each along dimension 0, e.g. an LSTM's ``(4h, h)`` weight with
    ``blocks=4`` gets four ``h x h`` orthogonal gate matrices. Block ``b`` uses the Gaussian
    values of its own rows, so ``blocks=1`` (default) is the whole matrix.

    float16 and bfloat16 results are the float32 result rounded (torch, JAX and Keras refuse
    these dtypes). Unlike the elementwise initializers there is no ``shard``: every value
    depends on the whole matrix. The values are a pure function of (seed, key, shape, dtype,
    blocks) on a given CPU kind and OpenBLAS version (docs/orthogonal.md).

    Raises ``ValueError`` for fewer than 2 dimensions, a zero size, a non-finite gain, or
    ``blocks`` not dividing ``shape[0]``, and for the usual seed/key/dtype/threads errors.
    """
    gshape = check_shape(shape)
    name = parse_dtype(dtype)
    _check_matrix_shape(gshape, "shape")
    g = check_real(gain, "gain")
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    nb = _check_blocks(blocks, gshape[0])
    _require_lapack()
    buf = check_out(np.empty(gshape, dtype=numpy_dtype(name)))
    _run(buf, g, s, k, nb, th)
    return buf.array


def orthogonal_(
    out: np.ndarray, gain: Real = 1.0, *, seed: int, key: Key = 0,
    threads: int | None = None, blocks: int | None = None,
) -> np.ndarray:
    """In-place :func:`orthogonal`: fill ``out`` (any strides) and return it."""
    buf = check_out(out)
    _check_matrix_shape(buf.shape, "out.shape")
    g = check_real(gain, "gain")
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    nb = _check_blocks(blocks, buf.shape[0])
    _require_host(buf)
    _require_lapack()
    _run(buf, g, s, k, nb, th)
    return buf.array


def _delta_checks(shape: tuple[int, ...], name: str) -> None:
    if len(shape) not in (3, 4, 5):
        raise ValueError(
            f"delta_orthogonal requires a 3D, 4D or 5D shape, got {name} {shape!r}"
        )
    if math.prod(shape) == 0:
        raise ValueError(f"delta_orthogonal needs a non-empty tensor, got {name} {shape!r}")
    if shape[-1] < shape[-2]:
        raise ValueError(
            f"delta_orthogonal needs shape[-1] >= shape[-2] (fan_in <= fan_out), got {name} "
            f"{shape!r}"
        )


def _delta_write(
    buf: OutBuffer, scale: float, seed: int, key: int, threads: int
) -> np.ndarray:
    mat = check_out(np.empty(buf.shape[-2:], dtype=numpy_dtype(buf.dtype)))
    _run(mat, scale, seed, key, 1, threads)
    arr = buf.host  # a NumPy view of the output's host memory
    assert arr is not None
    arr[...] = 0
    arr[tuple((n - 1) // 2 for n in buf.shape[:-2])] = mat.array
    return buf.array


def delta_orthogonal(
    shape: Shape, scale: Real = 1.0, *, seed: int, key: Key = 0, dtype: Any = "float32",
    threads: int | None = None,
) -> np.ndarray:
    """JAX's ``delta_orthogonal`` for convolution kernels in JAX layout ``(*spatial, in, out)``
    (3, 4 or 5 dimensions, ``out >= in``): zeros except the centre tap
    ``((k1-1)//2, (k2-1)//2, ...)``, which is ``orthogonal((in, out), scale, seed=seed, key=key)``
    (orthonormal rows times ``scale``), so the convolution is norm-preserving at initialization
    (Xiao et al. 2018). Same dtypes and errors as :func:`orthogonal`, plus ``ValueError`` for
    the wrong rank or ``out < in``."""
    gshape = check_shape(shape)
    name = parse_dtype(dtype)
    _delta_checks(gshape, "shape")
    sc = check_real(scale, "scale")
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    _require_lapack()
    buf = check_out(np.empty(gshape, dtype=numpy_dtype(name)))
    return _delta_write(buf, sc, s, k, th)


def delta_orthogonal_(
    out: np.ndarray, scale: Real = 1.0, *, seed: int, key: Key = 0, threads: int | None = None,
) -> np.ndarray:
    """In-place :func:`delta_orthogonal`: fill ``out`` and return it."""
    buf = check_out(out)
    _delta_checks(buf.shape, "out.shape")
    sc = check_real(scale, "scale")
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    _require_host(buf)
    _require_lapack()
    return _delta_write(buf, sc, s, k, th)
