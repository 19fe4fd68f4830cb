"""``sow.show_config()``: what this installation of sow is and what it can use here.

Mirrors ``numpy.show_config``: ``mode="stdout"`` (the default) prints the report, ``mode="dicts"``
returns it as nested dicts (and prints nothing). Probing never raises: what is missing or fails
(no LAPACK, no CUDA build, no device, no cuSOLVER) is reported as such.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from . import _core

__all__ = ["show_config"]

_MODES = ("stdout", "dicts")


def _cusolver_report() -> dict[str, Any]:
    """Whether cuSOLVER (orthogonal on CUDA) loads, and which: loading it is the only reliable
    test (it is dlopen()ed at run time, never linked)."""
    if not _core.has_cuda:
        return {"loadable": False, "info": "sow was built without CUDA support"}
    from ._cusolver import load_cusolver

    try:
        return {"loadable": True, "info": load_cusolver()}
    except RuntimeError as e:
        return {"loadable": False, "info": str(e)}


def _module_version(name: str) -> str | None:
    try:
        module = __import__(name)
    except ImportError:
        return None
    return str(getattr(module, "__version__", "unknown"))


def config() -> dict[str, Any]:
    """The report :func:`show_config` prints (see there)."""
    threads = _core.hardware_threads()
    cuda: dict[str, Any] = {"built": bool(_core.has_cuda), "architectures": _core.BUILD["cuda_architectures"]}
    devices = _core.cuda_device_count()
    cuda["devices"] = devices
    cuda["unavailable_reason"] = "" if devices else _core.cuda_unavailable_reason()
    return {
        "sow": {
            "version": _core.__version__,
            "stream_format": _core.STREAM_FORMAT,
            "compiler": _core.BUILD["compiler"],
            "cplusplus": _core.BUILD["cplusplus"],
            "build_type": _core.BUILD["build_type"],
        },
        "cpu": {
            "active_isa": _core.isa(),
            "available_isas": list(_core.available_isas()),
            "hardware_threads": threads,
            # The most threads one call runs on (sow/cpp/src/thread_pool.hpp).
            "thread_pool_cap": min(threads, _core.MAX_THREADS),
            "pool_workers_started": _core.pool_workers(),
        },
        "lapack": {
            "available": bool(_core.has_lapack),
            "info": _core.lapack_info() if _core.has_lapack else "sow was built without a LAPACK",
        },
        "cuda": cuda,
        "cusolver": _cusolver_report(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "platform": platform.platform(),
            "machine": platform.machine(),
            "numpy": _module_version("numpy"),
            "ml_dtypes": _module_version("ml_dtypes"),
        },
    }


def _format(d: dict[str, Any], indent: int = 0) -> list[str]:
    lines = []
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(" " * indent + f"{k}:")
            lines.extend(_format(v, indent + 2))
        else:
            text = ", ".join(map(str, v)) if isinstance(v, list) else ("-" if v is None or v == "" else str(v))
            lines.append(" " * indent + f"{k}: {text}")
    return lines


def show_config(mode: str = "stdout") -> dict[str, Any] | None:
    """Print (``mode="stdout"``) or return (``mode="dicts"``) what this sow is and can use here:

    * ``sow``: version, stream format (docs/stream-format.md), compiler, C++ standard, build type;
    * ``cpu``: the active instruction set (``SOW_ISA`` forces one), the ones this CPU runs (best
      first), hardware threads, the thread-pool cap (the most threads one call runs on:
      min(hardware threads, 256)) and the pool workers started so far;
    * ``lapack``: whether orthogonal runs on the CPU, and which LAPACK (OpenBLAS's config string);
    * ``cuda``: whether the CUDA kernels were built, for which architectures, the devices visible
      and, with none, why;
    * ``cusolver``: whether cuSOLVER (orthogonal on CUDA) loads, and which (this loads it);
    * ``python``: interpreter, platform, numpy and ml_dtypes versions.

    Nothing here raises for a missing component; an unknown ``mode`` is a ValueError.
    """
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str ('stdout' or 'dicts'), got {type(mode).__name__}")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    report = config()
    if mode == "dicts":
        return report
    print("\n".join(_format(report)))
    return None
