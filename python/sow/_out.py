"""What sow accepts as ``out``, and how an accepted output is described to ``_core``.

This is the one place that decides which output objects are accepted:

* NumPy arrays of float32, float64, float16 or ml_dtypes bfloat16 (host memory);
* CuPy arrays (filled on their own device, on CuPy's current stream or ``stream=``);
* torch tensors of float32/float64/float16/bfloat16, on the CPU (filled in place by the CPU
  engine) or on a CUDA device (filled there, on ``torch.cuda.current_stream()`` or ``stream=``);
* any other object exporting a *writable* DLPack tensor (``__dlpack__``/``__dlpack_device__``) in
  CPU, CUDA-host or CUDA memory.

Read-only exports are refused: JAX arrays are immutable (use an allocating form, e.g.
``jax.dlpack.from_dlpack(sow.normal(shape, seed=0, device="cuda"))``), and a DLPack export flagged
read-only or copied is refused with ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from ._dtypes import dtype_name_of, numpy_dtype

__all__ = ["OutBuffer", "check_out"]


@dataclass(frozen=True)
class OutBuffer:
    """A validated, writable output.

    ``addr`` is the address of element (0, ..., 0); ``strides`` are in bytes (any sign, never
    zero on a dimension of size > 1); ``dtype`` is a sow dtype name. ``array`` is the user's
    object (what the in-place forms return). ``device`` is None for host memory, else the CUDA
    ordinal, with ``stream`` the cudaStream_t (int) the fill is ordered on. ``host`` is a NumPy
    view of host memory (``array`` itself for NumPy arrays), None for device memory.
    """

    array: Any
    dtype: str
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    data_ptr: int | None = None  # None: read from the NumPy array
    device: int | None = None
    stream: int = 0
    host: np.ndarray | None = None
    keepalive: Any = None  # e.g. a DLPack capsule that must outlive the fill
    meta: bool = False  # a torch meta tensor: validated, never written (sow._torch_rules)

    @property
    def addr(self) -> int:
        if self.data_ptr is not None:
            return self.data_ptr
        return int(self.array.__array_interface__["data"][0])

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def check_out(out: Any, stream: Any = None) -> OutBuffer:
    """Validate ``out`` and describe it.

    Raises ``TypeError`` if ``out`` is not an array sow can write (see the module docstring) or
    its dtype is not one sow writes (integer, bool, complex, non-native byte order, ...), and
    ``ValueError`` if it is read-only, misaligned, has strides that are not multiples of its item
    size, or elements that overlap in memory (a zero stride on a dimension of size > 1, or any
    other overlap: see ``check_layout``). ``stream`` (CUDA outputs only) overrides the stream the
    fill is ordered on.
    """
    if not isinstance(out, np.ndarray):
        return _check_foreign(out, stream)
    if stream is not None:
        raise ValueError("stream= applies to CUDA outputs; out is a NumPy array in host memory")
    name = dtype_name_of(out.dtype)
    if name is None:
        raise TypeError(
            f"out must have dtype float32, float64, float16 or bfloat16 (native byte order), "
            f"got {out.dtype}"
        )
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    check_layout(tuple(out.shape), tuple(out.strides), out.dtype.itemsize,
                 int(out.__array_interface__["data"][0]))
    return OutBuffer(
        array=out, dtype=name, shape=tuple(int(n) for n in out.shape),
        strides=tuple(int(s) for s in out.strides), host=out,
    )


def check_layout(shape: tuple[int, ...], strides: tuple[int, ...], item: int, addr: int) -> None:
    """The memory checks every output passes, made by the C++ engine itself
    (``_core.check_layout``, the rule every fill applies, so Python, C++ and the C ABI accept the
    same outputs with the same messages): strides multiples of ``item``; and for a non-empty
    output: ``addr`` non-null and aligned to ``item``, no zero stride on a dimension of size > 1,
    no two elements overlapping (dimensions of size > 1 sorted by ``|stride|``: each ``|stride|``
    is at least ``item + sum((n - 1) * |stride|)`` over the faster ones), every byte reached within
    the 64-bit address space. ``ValueError`` naming ``out`` otherwise."""
    from . import _core

    _core.check_layout(addr, item, tuple(shape), tuple(strides))


def host_view(addr: int, shape: tuple[int, ...], strides: tuple[int, ...], dtype: str) -> np.ndarray:
    """A writable NumPy view of host memory at ``addr`` (element 0) with byte ``strides``."""
    dt = numpy_dtype(dtype)
    if any(n == 0 for n in shape):
        return np.empty(shape, dtype=dt)
    lo = sum(min(0, (n - 1) * s) for n, s in zip(shape, strides))
    hi = sum(max(0, (n - 1) * s) for n, s in zip(shape, strides)) + dt.itemsize
    import ctypes

    raw = (ctypes.c_char * (hi - lo)).from_address(addr + lo)
    return np.ndarray(shape, dtype=dt, buffer=raw, offset=-lo, strides=strides)


# --------------------------------------------------------------------------------------------
# Outputs other than NumPy arrays: CuPy, torch, and any DLPack exporter.

_TORCH_DTYPES: Final = {"float32": "float32", "float64": "float64", "float16": "float16",
                        "bfloat16": "bfloat16"}


def _type_name(out: Any) -> str:
    return f"{type(out).__module__}.{type(out).__qualname__}"


def _check_foreign(out: Any, stream: Any) -> OutBuffer:
    mod = type(out).__module__
    if mod.startswith(("jax", "jaxlib")):
        raise TypeError(
            "JAX arrays are immutable and cannot be filled in place. Use an allocating form and "
            "take its result zero-copy: jax.dlpack.from_dlpack(sow.normal(shape, seed=0, "
            "device='cuda')) (or jnp.asarray(sow.normal(shape, seed=0)) on the CPU)"
        )
    if mod.startswith("cupy") and hasattr(out, "data") and hasattr(out, "device"):
        return _from_cupy(out, stream)
    if mod.startswith("torch") and hasattr(out, "data_ptr") and hasattr(out, "stride"):
        return _from_torch(out, stream)
    if hasattr(out, "__dlpack__") and hasattr(out, "__dlpack_device__"):
        return _from_dlpack(out, stream)
    raise TypeError(
        f"out must be a NumPy or CuPy array, a torch tensor, or a writable DLPack exporter of "
        f"float32, float64, float16 or bfloat16, got {_type_name(out)}"
    )


def _finish(out: Any, name: str, addr: int, shape: tuple[int, ...], strides: tuple[int, ...],
            device: int | None, stream: int, keepalive: Any = None) -> OutBuffer:
    item = 8 if name == "float64" else 4 if name == "float32" else 2
    check_layout(shape, strides, item, addr)
    if device is None:
        return OutBuffer(array=out, dtype=name, shape=shape, strides=strides, data_ptr=addr,
                         host=host_view(addr, shape, strides, name), keepalive=keepalive)
    return OutBuffer(array=out, dtype=name, shape=shape, strides=strides, data_ptr=addr,
                     device=device, stream=stream, keepalive=keepalive)


def _cuda_stream(stream: Any, device: int, default: Any) -> int:
    from . import _device

    _device.require_cuda(device)
    s = _device.stream_handle(stream)
    return default(device) if s is None else s


def _from_cupy(out: Any, stream: Any) -> OutBuffer:
    from . import _device

    name = dtype_name_of(out.dtype)
    if name is None:
        raise TypeError(f"out must have dtype float32, float64 or float16 (CuPy), got {out.dtype}")
    device = int(out.device.id)
    s = _cuda_stream(stream, device, _device.cupy_current_stream)
    return _finish(out, name, int(out.data.ptr), tuple(int(n) for n in out.shape),
                   tuple(int(v) for v in out.strides), device, s)


def _from_torch(out: Any, stream: Any) -> OutBuffer:
    from . import _device

    name = _TORCH_DTYPES.get(str(out.dtype).replace("torch.", ""))
    if name is None:
        raise TypeError(
            f"out must have dtype float32, float64, float16 or bfloat16, got {out.dtype}"
        )
    if getattr(out, "is_nested", False):
        raise TypeError("out must be a dense (strided) torch tensor, got a nested tensor")
    if getattr(out, "is_sparse", False) or out.layout.__repr__() != "torch.strided":
        raise TypeError(f"out must be a dense (strided) torch tensor, got layout {out.layout}")
    if out.is_conj() or out.is_neg():
        raise ValueError("out is a lazily conjugated/negated view; call .resolve_conj()/.resolve_neg()")
    item = out.element_size()
    shape = tuple(int(n) for n in out.shape)
    strides = tuple(int(v) * item for v in out.stride())
    addr = int(out.data_ptr())
    dev = out.device
    if dev.type == "meta":  # no memory: calls on it are validated only (sow._torch_rules)
        if stream is not None:
            raise ValueError("stream= applies to CUDA outputs; out is a torch meta tensor")
        check_layout(shape, strides, item, 64)  # checked as if at an aligned address
        return OutBuffer(array=out, dtype=name, shape=shape, strides=strides, data_ptr=0, meta=True)
    if dev.type == "cpu":
        if stream is not None:
            raise ValueError("stream= applies to CUDA outputs; out is a CPU torch tensor")
        return _finish(out, name, addr, shape, strides, None, 0)
    if dev.type != "cuda":
        raise TypeError(f"sow fills CPU and CUDA tensors, got a tensor on {dev}")
    index = int(dev.index if dev.index is not None else 0)
    s = _cuda_stream(stream, index, _device.torch_current_stream)
    return _finish(out, name, addr, shape, strides, index, s)


# DLPack (https://dmlc.github.io/dlpack/latest/): device types and dtype codes we accept.
_DL_CPU, _DL_CUDA, _DL_CUDA_HOST, _DL_CUDA_MANAGED = 1, 2, 3, 13
_DL_FLAG_READ_ONLY, _DL_FLAG_IS_COPIED = 1, 2


def _dl_structs() -> Any:
    import ctypes

    class DLDevice(ctypes.Structure):
        _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]

    class DLDataType(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]

    class DLTensor(ctypes.Structure):
        _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                    ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                    ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]

    class DLManagedTensor(ctypes.Structure):
        _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                    ("deleter", ctypes.c_void_p)]

    class DLPackVersion(ctypes.Structure):
        _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]

    class DLManagedTensorVersioned(ctypes.Structure):
        _fields_ = [("version", DLPackVersion), ("manager_ctx", ctypes.c_void_p),
                    ("deleter", ctypes.c_void_p), ("flags", ctypes.c_uint64),
                    ("dl_tensor", DLTensor)]

    return ctypes, DLManagedTensor, DLManagedTensorVersioned


def _dlpack_device(out: Any) -> tuple[int, int]:
    """``out.__dlpack_device__()`` as two ints; anything else is the exporter's fault (TypeError)."""
    try:
        dev = out.__dlpack_device__()
    except Exception as e:  # noqa: BLE001 - the exporter's own failure, reported as out's
        raise ValueError(f"out ({_type_name(out)}).__dlpack_device__() failed: {e}") from e
    if not isinstance(dev, tuple) or len(dev) != 2 or not all(_is_index(v) for v in dev):
        raise TypeError(
            f"out ({_type_name(out)}).__dlpack_device__() must return a pair of ints "
            f"(device_type, device_id), got {dev!r}"
        )
    return int(dev[0]), int(dev[1])


def _is_index(v: Any) -> bool:
    import operator

    if isinstance(v, bool):
        return False
    try:
        operator.index(v)
    except TypeError:
        return False
    return True


def _export(out: Any, kwargs: dict[str, Any]) -> Any:
    """``out.__dlpack__(...)``, versioned first. Exporters signal what they cannot export with
    BufferError (NumPy: read-only arrays over the legacy protocol, dtypes DLPack lacks such as
    ml_dtypes' bfloat16); that and any other failure of the exporter becomes a ValueError naming
    out, and a result that is not a capsule a TypeError."""
    try:
        try:
            capsule = out.__dlpack__(max_version=(1, 0), **kwargs)
        except TypeError:  # exporters predating DLPack 1.0
            capsule = out.__dlpack__(**kwargs)
    except Exception as e:  # noqa: BLE001 - BufferError and the exporter's own errors
        raise ValueError(
            f"out ({_type_name(out)}) cannot be exported through DLPack: {e}"
        ) from e
    if type(capsule).__name__ != "PyCapsule":
        raise TypeError(
            f"out ({_type_name(out)}).__dlpack__() must return a DLPack capsule, got "
            f"{type(capsule).__name__}"
        )
    return capsule


def _from_dlpack(out: Any, stream: Any) -> OutBuffer:
    """Reads a DLPack export without consuming it: the capsule keeps its deleter and is held by
    the returned buffer until the fill is enqueued."""
    from . import _device

    dev_type, dev_id = _dlpack_device(out)
    if dev_type not in (_DL_CPU, _DL_CUDA, _DL_CUDA_HOST, _DL_CUDA_MANAGED):
        raise TypeError(f"sow fills CPU and CUDA memory; {_type_name(out)} lives on DLPack "
                        f"device type {dev_type}")
    on_device = dev_type in (_DL_CUDA, _DL_CUDA_MANAGED)
    s: int | None = None
    kwargs: dict[str, Any] = {}
    if on_device:
        _device.require_cuda(dev_id)
        s = _device.stream_handle(stream)
        # DLPack's stream numbering: 1 is the legacy default stream (our handle 0).
        kwargs["stream"] = 1 if not s else s
    elif stream is not None:
        raise ValueError("stream= applies to CUDA outputs; out is in host memory")
    capsule = _export(out, kwargs)
    ctypes, Legacy, Versioned = _dl_structs()
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
    get_ptr.restype, get_ptr.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    cname = get_name(capsule)
    if cname == b"dltensor_versioned":
        m = Versioned.from_address(get_ptr(capsule, cname))
        if m.flags & _DL_FLAG_READ_ONLY:
            raise ValueError(f"out ({_type_name(out)}) exports a read-only DLPack tensor; sow "
                             f"needs writable memory (use an allocating form instead)")
        if m.flags & _DL_FLAG_IS_COPIED:
            raise ValueError(f"out ({_type_name(out)}) exported a copy through DLPack; filling it "
                             f"would not change out")
    elif cname == b"dltensor":
        m = Legacy.from_address(get_ptr(capsule, cname))
    else:
        raise TypeError(f"out.__dlpack__() returned an unexpected capsule {cname!r}")
    t = m.dl_tensor
    code, bits, lanes = int(t.dtype.code), int(t.dtype.bits), int(t.dtype.lanes)
    names = {(2, 32): "float32", (2, 64): "float64", (2, 16): "float16", (4, 16): "bfloat16"}
    name = names.get((code, bits)) if lanes == 1 else None
    if name is None:
        raise TypeError(f"out must have dtype float32, float64, float16 or bfloat16, got DLPack "
                        f"dtype (code={code}, bits={bits}, lanes={lanes})")
    item = bits // 8
    ndim = int(t.ndim)
    shape = tuple(int(t.shape[i]) for i in range(ndim))
    if t.strides:
        strides = tuple(int(t.strides[i]) * item for i in range(ndim))
    else:  # compact row-major
        acc, st = item, []
        for n in reversed(shape):
            st.append(acc)
            acc *= max(n, 1)
        strides = tuple(reversed(st))
    addr = int(t.data or 0) + int(t.byte_offset)
    if on_device:
        return _finish(out, name, addr, shape, strides, dev_id, s or 0, keepalive=capsule)
    return _finish(out, name, addr, shape, strides, None, 0, keepalive=capsule)
