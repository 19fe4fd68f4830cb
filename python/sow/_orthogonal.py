"""Orthogonal initializers: ``orthogonal`` (torch semantics, plus ``blocks``) and JAX's
``delta_orthogonal``.

The matrix is Haar distributed (uniform on the matrices with orthonormal rows or columns) and is
a pure function of (seed, key, shape, dtype, blocks) on a given kind of device: docs/orthogonal.md
explains the algorithm (Householder vectors sampled directly, Stewart 1980, then ``orgqr``: our
blocked driver over OpenBLAS on the CPU, cuSOLVER on CUDA), and docs/stream-format.md, section
"Orthogonal", which stream elements feed it. CPU and GPU build bit-identical Householder vectors,
so their results agree to rounding.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from . import _core
from ._run import into_target, new_target, run
from ._validate import check_real, is_int

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


def _orthogonal_params(gain: Any, blocks: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"gain": check_real(gain, "gain")}
    if blocks is not None:
        if not is_int(blocks):
            raise TypeError(f"blocks must be a positive int, got {type(blocks).__name__} {blocks!r}")
        params["blocks"] = int(blocks)
    return params


def _run_orthogonal(t: Any, init: str, params: dict[str, Any], seed: Any, key: Any,
                    threads: Any) -> Any:
    if not t.on_device:  # LAPACK is a property of the build: RuntimeError, as for a missing CUDA device
        _require_lapack()
    return run(t, init, params, seed, key, threads)


def orthogonal(
    shape: Shape, gain: Real = 1.0, *, seed: int, key: Key = 0, dtype: Any = "float32",
    threads: int | None = None, blocks: int | None = None, device: Any = None,
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
    blocks) on a given CPU kind and OpenBLAS version, or GPU kind and cuSOLVER version
    (docs/orthogonal.md).

    ``device="cuda"``/``"cuda:N"`` returns a CuPy array computed on that device (cuSOLVER, loaded
    on first use: ``pip install nvidia-cusolver``, or any CUDA toolkit's); to fill torch or
    bfloat16 device tensors use :func:`orthogonal_`. The GPU result equals the CPU result to
    rounding (the same Householder vectors, bit for bit; a different ``orgqr``).

    Raises ``ValueError`` for fewer than 2 dimensions, a zero size, a non-finite gain, or
    ``blocks`` not dividing ``shape[0]``, and for the usual seed/key/dtype/threads errors;
    ``RuntimeError`` when a CUDA device or cuSOLVER is missing.
    """
    t = new_target(shape, dtype, None, device)
    return _run_orthogonal(t, "orthogonal", _orthogonal_params(gain, blocks), seed, key, threads)


def orthogonal_(
    out: np.ndarray, gain: Real = 1.0, *, seed: int, key: Key = 0,
    threads: int | None = None, blocks: int | None = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`orthogonal`: fill ``out`` (any strides; NumPy, CuPy, torch CPU/CUDA or
    DLPack, as the other in-place initializers) and return it. CUDA outputs are filled on their
    own device, ordered on ``stream`` (default: the array library's current stream)."""
    t = into_target(out, None, None, stream)
    return _run_orthogonal(t, "orthogonal", _orthogonal_params(gain, blocks), seed, key, threads)


def delta_orthogonal(
    shape: Shape, scale: Real = 1.0, *, seed: int, key: Key = 0, dtype: Any = "float32",
    threads: int | None = None, device: Any = None,
) -> np.ndarray:
    """JAX's ``delta_orthogonal`` for convolution kernels in JAX layout ``(*spatial, in, out)``
    (3, 4 or 5 dimensions, ``out >= in``): zeros except the centre tap
    ``((k1-1)//2, (k2-1)//2, ...)``, which is ``orthogonal((in, out), scale, seed=seed, key=key)``
    (orthonormal rows times ``scale``), so the convolution is norm-preserving at initialization
    (Xiao et al. 2018). Same dtypes and errors as :func:`orthogonal`, plus ``ValueError`` for
    the wrong rank or ``out < in``. ``device`` as for :func:`orthogonal`."""
    t = new_target(shape, dtype, None, device)
    return _run_orthogonal(t, "delta_orthogonal", {"scale": check_real(scale, "scale")}, seed, key,
                           threads)


def delta_orthogonal_(
    out: np.ndarray, scale: Real = 1.0, *, seed: int, key: Key = 0, threads: int | None = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`delta_orthogonal`: fill ``out`` (any supported array, host or CUDA) and
    return it."""
    t = into_target(out, None, None, stream)
    return _run_orthogonal(t, "delta_orthogonal", {"scale": check_real(scale, "scale")}, seed, key,
                           threads)
