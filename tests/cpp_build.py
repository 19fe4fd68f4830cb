"""Building C/C++ programs from the tests: the tools found on PATH, bounded subprocess runs, and
the C++ package installed once per test session (the ``sow_cpp_prefix`` fixture in conftest.py).

Importable from any test module (pytest puts this package-less tests/ directory on sys.path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CMAKE = shutil.which("cmake")
CXX = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
CC = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
NINJA = shutil.which("ninja")
NVCC = shutil.which("nvcc")

#: Skips a test (or module, as ``pytestmark``) that configures CMake projects.
needs_cmake = pytest.mark.skipif(
    CMAKE is None or CXX is None or CC is None,
    reason=f"needs cmake and a C/C++ compiler (cmake={CMAKE}, c++={CXX}, cc={CC})",
)

#: The session's C++ package: no Python extension, no CUDA, Release. Its LAPACK (sow::orthogonal)
#: is the scipy-openblas32 of the interpreter running the tests, as for the Python build.
SOW_OPTIONS = ["-DSOW_BUILD_PYTHON=OFF", "-DSOW_CUDA=OFF", "-DCMAKE_BUILD_TYPE=Release",
               f"-DSOW_PYTHON_FOR_LAPACK={sys.executable}"]

#: Seconds any one configure, build or test-program run may take.
TIMEOUT = 600


def generator() -> list[str]:
    return ["-G", "Ninja"] if NINJA else []


def run(cmd: list[str], timeout: float = TIMEOUT, **kw) -> subprocess.CompletedProcess:
    """Runs cmd (bounded by timeout seconds); AssertionError with its output tails on failure."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise AssertionError(f"command failed ({r.returncode}): {' '.join(map(str, cmd))}\n"
                             f"{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def build(build_dir: Path, target: str | None = None) -> None:
    cmd = [CMAKE, "--build", str(build_dir), "--parallel", "2"]
    if target:
        cmd += ["--target", target]
    run(cmd)


def configure(src: Path, build_dir: Path, *options: str) -> subprocess.CompletedProcess:
    return run([CMAKE, "-S", str(src), "-B", str(build_dir), *generator(), *options])


def install_sow(tmp: Path, options: list[str] = SOW_OPTIONS, targets: tuple[str, ...] = ()) -> Path:
    """sow configured with options, targets (default: all) built, installed into tmp/prefix;
    returns the prefix."""
    build_dir, prefix = tmp / "build", tmp / "prefix"
    configure(ROOT, build_dir, *options)
    for t in targets or (None,):
        build(build_dir, t)
    run([CMAKE, "--install", str(build_dir), "--prefix", str(prefix)])
    return prefix


def build_consumer(src: Path, build_dir: Path, prefix: Path, *options: str) -> Path:
    """Configures and builds the CMake project src against the installed prefix; returns build_dir."""
    configure(src, build_dir, f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release", *options)
    build(build_dir)
    return build_dir


KAT_FILE = ROOT / "tests" / "kat" / "philox4x32.txt"


def corrupted_kat(dst_dir: Path) -> Path:
    """A copy of tests/kat/philox4x32.txt with the last word of one R=10 answer flipped: a
    known-answer program must fail on it (the negative control of the KAT tests)."""
    lines = KAT_FILE.read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("philox4x32 10 243f6a88"))
    f = lines[i].split()
    f[-1] = f"{int(f[-1], 16) ^ 1:08x}"
    lines[i] = " ".join(f)
    bad = dst_dir / "philox4x32.txt"
    bad.write_text("\n".join(lines) + "\n")
    return bad
