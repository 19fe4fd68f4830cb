"""cuSOLVER, which orthogonal on CUDA loads at run time (cuda/cusolver.cpp): what can be checked
without a GPU. The declarations sow calls through (cuda/cusolver_api.hpp) are compiled against
cuSOLVER's own header, the loader finds NVIDIA's wheel and binds every entry point, and a
missing or wrong library is a clear RuntimeError. `.ci/run` installs nvidia-cusolver so that
none of this is skipped in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import sow
from sow import _core, _cusolver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CUDA_DIR = os.path.join(ROOT, "cuda")
needs_cuda_build = pytest.mark.skipif(not _core.has_cuda, reason="sow built without CUDA")


def _header_dirs() -> list[str]:
    """Include directories holding cusolverDn.h: next to the lib directories sow's loader searches
    in NVIDIA's wheels (.../cu13/lib -> .../cu13/include), then CUDA toolkits."""
    roots = [os.path.dirname(d) for d in _cusolver.cusolver_search_dirs()]
    roots += [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    return [os.path.join(r, "include") for r in roots
            if r and os.path.isfile(os.path.join(r, "include", "cusolverDn.h"))]


def _runtime_include() -> str | None:
    """cusolverDn.h includes cuda_runtime_api.h / library_types.h: a toolkit's include dir."""
    nvcc = shutil.which("nvcc")
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    if nvcc:
        roots.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
    for r in roots:
        if r and os.path.isfile(os.path.join(r, "include", "cuda_runtime_api.h")):
            return os.path.join(r, "include")
    return None


def _compile_check(src_dir: str) -> subprocess.CompletedProcess:
    """Compiles src_dir/cusolver_api_check.cpp (which includes src_dir/cusolver_api.hpp)."""
    headers = _header_dirs()
    rt = _runtime_include()
    if not headers or rt is None or shutil.which("g++") is None:
        pytest.skip("needs cusolverDn.h (pip install nvidia-cusolver), the CUDA runtime headers and g++")
    cmd = ["g++", "-std=c++20", "-fsyntax-only", "-I", headers[0], "-I", rt,
           os.path.join(src_dir, "cusolver_api_check.cpp")]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_declarations_match_cusolver_header():
    r = _compile_check(CUDA_DIR)
    assert r.returncode == 0, r.stderr


def test_declaration_check_catches_a_wrong_signature(tmp_path):
    # The same check against a copy of cusolver_api.hpp with one parameter type changed must fail:
    # the check can fail.
    with open(os.path.join(CUDA_DIR, "cusolver_api.hpp")) as f:  # closed: ResourceWarning is an error
        src = f.read()
    bad = src.replace("int lwork, int* info", "long lwork, int* info")
    assert bad != src
    (tmp_path / "cusolver_api.hpp").write_text(bad)
    shutil.copy(os.path.join(CUDA_DIR, "cusolver_api_check.cpp"), tmp_path / "cusolver_api_check.cpp")
    r = _compile_check(str(tmp_path))
    assert r.returncode != 0 and "static assert" in r.stderr.replace("static_assert", "static assert")


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (the loader caches a successful load per process)."""
    e = dict(os.environ)
    e.pop("SOW_CUSOLVER_LIBRARY", None)
    e.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=e, timeout=120)


@needs_cuda_build
def test_loader_finds_the_wheel_and_binds_every_entry_point():
    dirs = _cusolver.cusolver_search_dirs()
    if not dirs:
        pytest.skip("no NVIDIA cuSOLVER wheel installed (pip install nvidia-cusolver)")
    r = _python("""
        from sow import _cusolver
        print(_cusolver.load_cusolver())
    """)
    assert r.returncode == 0, r.stderr
    info = r.stdout.strip()
    # e.g. "cuSOLVER 12.4.1 (/.../nvidia/cu13/lib/libcusolver.so.12)": a version was read
    # through cusolverGetVersion and every sorgqr/dorgqr entry point resolved.
    assert info.startswith("cuSOLVER 1"), info
    assert "libcusolver.so.1" in info


@needs_cuda_build
def test_explicit_library_path_is_used_alone(tmp_path):
    missing = str(tmp_path / "libcusolver.so.12")
    r = _python("""
        from sow import _cusolver
        _cusolver.load_cusolver()
    """, SOW_CUSOLVER_LIBRARY=missing)
    assert r.returncode != 0
    assert "RuntimeError" in r.stderr and "SOW_CUSOLVER_LIBRARY" in r.stderr and missing in r.stderr


@needs_cuda_build
def test_library_without_the_entry_points_is_refused():
    # A real shared library that is not cuSOLVER: every missing symbol is named.
    import ctypes.util

    libm = ctypes.util.find_library("m")
    if libm is None:
        pytest.skip("no libm to stand in for a wrong library")
    r = _python("""
        from sow import _cusolver
        _cusolver.load_cusolver()
    """, SOW_CUSOLVER_LIBRARY=libm)
    assert r.returncode != 0
    assert "missing cusolverGetVersion" in r.stderr and "cusolverDnSorgqr" in r.stderr


@needs_cuda_build
def test_orthogonal_on_device_without_a_gpu_is_a_clear_error():
    if sow.cuda_available():
        pytest.skip("checks the no-device error")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        sow.orthogonal((8, 8), seed=0, device="cuda")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        sow.delta_orthogonal((3, 3, 4, 8), seed=0, device="cuda:0")


def test_bad_arguments_come_before_the_device_check():
    # ValueError/TypeError for the arguments even where no device exists.
    with pytest.raises(ValueError, match="gain"):
        sow.orthogonal((8, 8), float("nan"), seed=0, device="cuda")
    with pytest.raises(ValueError, match="blocks"):
        sow.orthogonal((9, 3), seed=0, blocks=2, device="cuda")
    with pytest.raises(ValueError, match="2 or more dimensions"):
        sow.orthogonal((8,), seed=0, device="cuda")
    with pytest.raises(TypeError):
        sow.orthogonal((8, 8), seed="x", device="cuda")
    with pytest.raises(ValueError, match="device"):
        sow.orthogonal((8, 8), seed=0, device="tpu")
