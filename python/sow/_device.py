"""CUDA plumbing for the Python layer: which device a call means, CuPy (imported lazily), streams.

sow's device kernels live in ``_core`` (``has_cuda`` says whether this build has them). Nothing
here imports CuPy or torch at module import time: ``import sow`` works on machines with neither,
and with no GPU or driver; device calls there raise ``RuntimeError("no CUDA device: ...")``.

Streams: a ``stream=`` argument is a CUDA stream handle as an int (0 is the legacy default
stream), a CuPy ``Stream`` or a torch ``cuda.Stream``. Omitted, sow uses the current stream of the
array's library (CuPy's current stream, ``torch.cuda.current_stream()``), so fills are ordered
with the surrounding work exactly as that library's own in-place operations are.

What runs on the device is elsewhere: every call is a plan (``_run`` for single calls,
``sow.Plan`` and ``init_batch`` for many), written by the C++ plan's CUDA backend; ``_cusolver``
loads cuSOLVER for orthogonal items.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from . import _core

__all__ = [
    "parse_device", "require_cuda", "cupy", "stream_handle", "cupy_current_stream",
    "torch_current_stream", "cuda_empty",
]


def cuda_available() -> bool:
    """True when this build has CUDA kernels and at least one device is visible."""
    return bool(getattr(_core, "has_cuda", False)) and _core.cuda_device_count() > 0


def require_cuda(device: int | None = None) -> None:
    """Raise ``RuntimeError`` unless CUDA calls can run (on ``device``, if given)."""
    if not getattr(_core, "has_cuda", False):
        raise RuntimeError(
            "no CUDA device: this sow was built without CUDA support (rebuild with nvcc on PATH, "
            "or -DSOW_CUDA=ON to require it)"
        )
    n = _core.cuda_device_count()
    if n == 0:
        raise RuntimeError(f"no CUDA device: {_core.cuda_unavailable_reason()}")
    if device is not None and not 0 <= device < n:
        raise ValueError(f"device cuda:{device} does not exist ({n} CUDA device(s) visible)")


def parse_device(device: Any) -> int | None:
    """``None``/``"cpu"`` -> None (host memory, NumPy); ``"cuda"`` -> the current CUDA device;
    ``"cuda:N"`` (or an int N, or a ``torch.device``/``cupy.cuda.Device``) -> N. Raises
    ``ValueError`` for anything else and ``RuntimeError`` when CUDA is unavailable."""
    cuda, index = parse_device_syntax(device)
    if not cuda:
        return None
    return resolve_device(index)


def resolve_device(index: int | None) -> int:
    """The CUDA ordinal of a parsed ``"cuda"`` (None: the current device) or ``"cuda:N"``;
    ``RuntimeError`` when CUDA is unavailable, ``ValueError`` when N does not exist."""
    require_cuda(index)
    return _current_device() if index is None else index


#: parse_device_syntax's result for host memory.
HOST: Final = (False, None)


def parse_device_syntax(device: Any) -> tuple[bool, int | None]:
    """What ``device`` names, without touching CUDA: ``(False, None)`` for host memory,
    ``(True, None)`` for the current CUDA device, ``(True, N)`` for cuda:N. ``ValueError`` for
    anything else. (Allocating calls check their arguments between this and
    :func:`resolve_device`, so a bad argument is reported before a missing device.)"""
    if device is None:
        return HOST
    index: int | None
    if isinstance(device, str):
        s = device.strip().lower()
        if s == "cpu":
            return HOST
        if s == "cuda" or s == "gpu":
            index = None
        elif s.startswith("cuda:") and s[5:].isdigit():
            index = int(s[5:])
        else:
            raise ValueError(f"device must be None, 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    elif isinstance(device, (int, np.integer)) and not isinstance(device, bool):
        index = int(device)
        if index < 0:
            raise ValueError(f"device must be a non-negative CUDA ordinal, got {device!r}")
    elif type(device).__module__.startswith("torch") and hasattr(device, "type"):
        if device.type == "cpu":
            return HOST
        if device.type != "cuda":
            raise ValueError(f"sow fills CPU and CUDA memory only, got device {device!r}")
        index = device.index
    elif type(device).__module__.startswith("cupy") and hasattr(device, "id"):
        index = int(device.id)
    else:
        raise ValueError(f"device must be None, 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return True, index


def _current_device() -> int:
    """CuPy's current device when CuPy is loaded, else torch's when it is, else 0."""
    import sys

    cp = sys.modules.get("cupy")
    if cp is not None:
        return int(cp.cuda.runtime.getDevice())
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return int(torch.cuda.current_device())
    return 0


def cupy() -> Any:
    """The cupy module (imported on first use), or ImportError saying how to get it."""
    try:
        import cupy as cp
    except ImportError as e:
        raise ImportError(
            "device='cuda' returns CuPy arrays and needs CuPy: pip install cupy-cuda12x (or "
            "cupy-cuda13x). To fill torch tensors in place, no CuPy is needed: sow.normal_(t, ...)"
        ) from e
    return cp


def stream_handle(stream: Any) -> int | None:
    """The cudaStream_t (as an int) of a ``stream=`` argument; None when not given."""
    if stream is None:
        return None
    if isinstance(stream, (int, np.integer)) and not isinstance(stream, bool):
        if stream < 0:
            raise ValueError(f"stream handle must be non-negative, got {stream!r}")
        return int(stream)
    for attr in ("ptr", "cuda_stream"):  # CuPy Stream, torch.cuda.Stream
        v = getattr(stream, attr, None)
        if isinstance(v, int):
            return v
    raise TypeError(
        f"stream must be a CUDA stream handle (int), a cupy.cuda.Stream or a torch.cuda.Stream, "
        f"got {type(stream).__module__}.{type(stream).__qualname__}"
    )


def cupy_current_stream(device: int) -> int:
    cp = cupy()
    with cp.cuda.Device(device):
        return int(cp.cuda.get_current_stream().ptr)


def torch_current_stream(device: int) -> int:
    import torch

    return int(torch.cuda.current_stream(device).cuda_stream)


def cuda_empty(sizes: tuple[int, ...], dtype: str, device: int) -> Any:
    """An uninitialised C-contiguous CuPy array on ``device``."""
    if dtype == "bfloat16":
        raise TypeError(
            "CuPy has no bfloat16 dtype, so device='cuda' cannot return bfloat16 arrays. Fill a "
            "torch.bfloat16 CUDA tensor in place (sow.normal_(t, ...)), or allocate float32 and "
            "round: bfloat16 values are exactly the float32 values rounded to nearest even "
            "(e.g. jax.dlpack.from_dlpack(a).astype(jnp.bfloat16))"
        )
    cp = cupy()
    with cp.cuda.Device(device):
        return cp.empty(sizes, dtype=np.dtype(dtype))
