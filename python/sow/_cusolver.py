"""The cuSOLVER loader: orthogonal on CUDA (``_core.orthogonal_cuda``) needs cuSOLVER, which
``_core`` opens at run time (``dlopen``, cuda/cusolver.cpp), so neither building nor importing sow
needs it. This module adds the lib directories of NVIDIA's cuSOLVER wheels to that search and
loads it on first use; docs/orthogonal.md ("GPU") gives the search order.
"""

from __future__ import annotations

import os

from . import _core
from ._device import require_cuda

__all__ = ["cusolver_search_dirs", "load_cusolver"]


def cusolver_search_dirs() -> list[str]:
    """The lib directories of NVIDIA's cuSOLVER wheels in this environment: ``nvidia/cu13/lib``
    (``nvidia-cusolver``, CUDA 13) and ``nvidia/cusolver/lib`` (``nvidia-cusolver-cu12``)."""
    try:
        import nvidia  # the namespace package NVIDIA's pip wheels install into
    except ImportError:
        return []
    dirs = []
    for base in getattr(nvidia, "__path__", []):
        for sub in ("cu13", "cusolver"):
            d = os.path.join(base, sub, "lib")
            if os.path.isdir(d):
                dirs.append(d)
    return dirs


_cusolver_dirs_added = False


def load_cusolver() -> str:
    """Load cuSOLVER (orthogonal on CUDA needs it) and say which, e.g. ``"cuSOLVER 12.4.1
    (/.../nvidia/cu13/lib/libcusolver.so.12)"``. Searched: ``$SOW_CUSOLVER_LIBRARY``, a copy
    already loaded (torch, CuPy), the dynamic linker's path, the NVIDIA wheels
    (:func:`cusolver_search_dirs`), ``$CUDA_HOME/lib64``, ``$CUDA_PATH/lib64``,
    ``/usr/local/cuda/lib64``. Raises ``RuntimeError`` listing what was tried."""
    global _cusolver_dirs_added
    if not getattr(_core, "has_cuda", False):
        require_cuda()
    if not _cusolver_dirs_added:
        for d in cusolver_search_dirs():
            _core.cusolver_add_search_dir(d)
        _cusolver_dirs_added = True
    return str(_core.cusolver_info())
