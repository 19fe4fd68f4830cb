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

import dataclasses
import math
from typing import Any, Union

import numpy as np

from . import _core, _cusolver, _device, _fill, _planning
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


def _prepare(buf: OutBuffer) -> None:
    """What the backend needs, checked before anything is written: LAPACK on the CPU, cuSOLVER
    (loaded here) on CUDA."""
    if buf.device is None:
        _require_lapack()
    else:
        _cusolver.load_cusolver()


def _run(buf: OutBuffer, gain: float, seed: int, key: int, blocks: int, threads: int) -> None:
    if buf.device is None:
        _core.orthogonal(
            buf.addr, buf.dtype, buf.shape, buf.strides, gain, seed, key, blocks, threads
        )
    else:
        _core.orthogonal_cuda(
            buf.addr, buf.dtype, buf.shape, buf.strides, gain, seed, key, blocks, buf.stream,
            buf.device,
        )


def _allocate(shape: tuple[int, ...], dtype: str, device: Any) -> OutBuffer:
    dev = _device.parse_device(device)
    if dev is None:
        return check_out(np.empty(shape, dtype=numpy_dtype(dtype)))
    return check_out(_device.cuda_empty(shape, dtype, dev))


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
    gshape = check_shape(shape)
    name = parse_dtype(dtype)
    _check_matrix_shape(gshape, "shape")
    g = check_real(gain, "gain")
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    nb = _check_blocks(blocks, gshape[0])
    buf = _allocate(gshape, name, device)
    _prepare(buf)
    _run(buf, g, s, k, nb, th)
    return buf.array


def orthogonal_(
    out: np.ndarray, gain: Real = 1.0, *, seed: int, key: Key = 0,
    threads: int | None = None, blocks: int | None = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`orthogonal`: fill ``out`` (any strides; NumPy, CuPy, torch CPU/CUDA or
    DLPack, as the other in-place initializers) and return it. CUDA outputs are filled on their
    own device, ordered on ``stream`` (default: the array library's current stream)."""
    buf = check_out(out, stream)
    _check_matrix_shape(buf.shape, "out.shape")
    g = check_real(gain, "gain")
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    nb = _check_blocks(blocks, buf.shape[0])
    _prepare(buf)
    _core.check_orthogonal(buf.addr, buf.dtype, buf.shape, buf.strides, g, nb)
    if _planning.stop_before_write("orthogonal"):
        return None  # type: ignore[return-value]
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
    """orthogonal((in, out), scale) written straight into the centre tap (a strided 2-D view of
    ``buf``), then zeros everywhere else: no temporary, and the tap first, because orthogonal
    allocates all its scratch before its first store while the zeros need no allocation. So a
    failed allocation (``MemoryError``) leaves ``buf`` untouched."""
    _prepare(buf)  # LAPACK or cuSOLVER present: checked before anything is written
    _core.check_orthogonal_gain(scale, buf.dtype, "scale")
    _core.check_orthogonal(buf.addr, buf.dtype, buf.shape[-2:], buf.strides[-2:], scale, 1)
    # all checks passed
    if _planning.stop_before_write("delta_orthogonal"):
        return None  # type: ignore[return-value]
    if buf.device is None:
        _core.delta_orthogonal(buf.addr, buf.dtype, buf.shape, buf.strides, scale, seed, key, threads)
        return buf.array
    centre = tuple((n - 1) // 2 for n in buf.shape[:-2])
    tap = dataclasses.replace(
        buf, data_ptr=buf.addr + sum(c * st for c, st in zip(centre, buf.strides)),
        shape=buf.shape[-2:], strides=buf.strides[-2:],
    )
    _run(tap, scale, seed, key, 1, threads)
    for start, shape in _off_centre_boxes(buf.shape, centre):
        box = dataclasses.replace(
            buf, data_ptr=buf.addr + sum(i * st for i, st in zip(start, buf.strides)), shape=shape
        )
        _fill.fill(box, shape, (0,) * len(shape), "constant", (0.0,), 0, 0, threads)
    return buf.array


def _off_centre_boxes(
    shape: tuple[int, ...], centre: tuple[int, ...]
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(start, sizes) of boxes that tile every element of ``shape`` whose leading (spatial)
    indices differ from ``centre``: for each spatial dimension k, the parts before and after
    ``centre[k]`` with the earlier dimensions at their centre and the later ones whole."""
    boxes = []
    for k, c in enumerate(centre):
        head = centre[:k]
        for lo, hi in ((0, c), (c + 1, shape[k])):
            if hi > lo:
                boxes.append((head + (lo,) + (0,) * (len(shape) - k - 1),
                              (1,) * k + (hi - lo,) + shape[k + 1:]))
    return boxes


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
    gshape = check_shape(shape)
    name = parse_dtype(dtype)
    _delta_checks(gshape, "shape")
    sc = check_real(scale, "scale")
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    return _delta_write(_allocate(gshape, name, device), sc, s, k, th)


def delta_orthogonal_(
    out: np.ndarray, scale: Real = 1.0, *, seed: int, key: Key = 0, threads: int | None = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`delta_orthogonal`: fill ``out`` (any supported array, host or CUDA) and
    return it."""
    buf = check_out(out, stream)
    _delta_checks(buf.shape, "out.shape")
    sc = check_real(scale, "scale")
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    return _delta_write(buf, sc, s, k, th)
