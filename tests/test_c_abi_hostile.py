"""The C ABI under hostile calls: tests/c/hostile_c_abi.c, compiled here against sow_core's
sources (the ones CMakeLists.txt lists for sow_core; portable scalar kernel only, which is all
these calls need) with ``-fsanitize=address,undefined -fno-sanitize-recover=all`` where the
compiler supports it.

* ``refuse``: NULLs, bogus dtypes (4, 7, -1, INT_MAX, ...), negative and huge ndim, misaligned
  data, zero/overlapping/overflowing strides, overflowing shapes (also next to a 0), bad shards and
  parameters. Every call returns an error status with a non-empty ``sow_last_error()`` and leaves
  the buffer and its guard bytes byte for byte unchanged; no sanitizer report.
* ``accept``: legal edge cases (empty with NULL data, a scalar, negative and column-major strides,
  threads=1024) succeed, clear the error, and give the Python package's bits.
* ``threads``: ``sow_uniform(..., threads=1024)`` with no address space left for a worker's stack
  returns SOW_OK with the bits of threads=1 (it used to abort in std::terminate).

Needs a C and a C++ compiler (skipped otherwise); one build per module, about 20-40 s.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import sow

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests" / "c" / "hostile_c_abi.c"
CXX = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
CC = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

pytestmark = pytest.mark.skipif(CXX is None or CC is None, reason=f"needs a C and a C++ compiler (c++={CXX}, cc={CC})")

SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
SAN_ENV = {
    "ASAN_OPTIONS": "halt_on_error=1:abort_on_error=0:detect_leaks=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}
SAN_REPORT = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")


def _core_sources() -> list[Path]:
    """The sources of add_library(sow_core ...) in CMakeLists.txt (the ISA kernels are added
    separately there and are not needed: SOW_HAVE_X86_KERNELS=0 selects the scalar kernel)."""
    text = (ROOT / "CMakeLists.txt").read_text()
    m = re.search(r"add_library\(sow_core STATIC(.*?)\)", text, re.S)
    assert m, "add_library(sow_core ...) not found in CMakeLists.txt"
    return [ROOT / s for s in m.group(1).split()]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if r.returncode != 0:
        raise AssertionError(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def _sanitizers_work(tmp: Path) -> bool:
    """Whether this toolchain builds and runs an ASan+UBSan program (LeakSanitizer included)."""
    src = tmp / "probe.cpp"
    src.write_text("#include <vector>\nint main() { std::vector<int> v(4); return v[1]; }\n")
    try:
        subprocess.run([CXX, *SANITIZE, str(src), "-o", str(tmp / "probe")], check=True, capture_output=True, timeout=120)
        r = subprocess.run([str(tmp / "probe")], capture_output=True, text=True, timeout=60, env={**os.environ, **SAN_ENV})
    except (subprocess.SubprocessError, OSError):
        return False
    return r.returncode == 0 and not SAN_REPORT.search(r.stderr)


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> tuple[Path, bool]:
    """(the harness binary, whether it is sanitized)."""
    tmp = tmp_path_factory.mktemp("c_abi")
    sanitized = _sanitizers_work(tmp)
    flags = ["-O1", "-g", *(SANITIZE if sanitized else []), "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno"]
    inc = [f"-I{ROOT / 'cpp' / 'include'}", f"-I{ROOT / 'cpp' / 'src'}"]
    jobs = [[CC, "-std=c11", "-Wall", "-Wextra", *flags, *inc, "-c", str(HARNESS), "-o", str(tmp / "harness.o")]]
    objs = [tmp / "harness.o"]
    for i, src in enumerate(_core_sources()):
        obj = tmp / f"{i}_{src.stem}.o"
        jobs.append([CXX, "-std=c++20", *flags, *inc, "-DSOW_HAVE_X86_KERNELS=0", "-pthread", "-c", str(src), "-o", str(obj)])
        objs.append(obj)
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as ex:
        list(ex.map(_run, jobs))
    exe = tmp / "hostile_c_abi"
    _run([CXX, *flags, *map(str, objs), "-pthread", "-o", str(exe)])
    return exe, sanitized


def _run_harness(exe: Path, mode: str, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(exe), mode], capture_output=True, text=True, timeout=120,
                       env={**os.environ, **SAN_ENV}, **kw)
    assert r.returncode >= 0, f"killed by signal {-r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert not SAN_REPORT.search(r.stderr), r.stderr[-6000:]
    assert "FAIL" not in r.stdout, "\n".join(line for line in r.stdout.splitlines() if "FAIL" in line)
    assert r.returncode == 0, f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def _fnv(a: np.ndarray) -> str:
    h = 0xCBF29CE484222325
    for b in np.ascontiguousarray(a).tobytes():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def test_hostile_calls_refused_without_writing(harness):
    exe, _ = harness
    r = _run_harness(exe, "refuse")
    m = re.search(r"checks (\d+) failures 0", r.stdout)
    assert m and int(m.group(1)) >= 70, r.stdout[-2000:]
    msgs = dict(line[len("refused "):].split(": ", 1) for line in r.stdout.splitlines() if line.startswith("refused "))
    # The C ABI says what Python says for the same input.
    assert msgs["shape (0, 2^60)"].endswith("shape (0, 1152921504606846976) is too large: a size exceeds 2**56")
    assert msgs["shape (2^30, 2^30)"].endswith(
        "shape (1073741824, 1073741824) has 1152921504606846976 elements; sow supports at most 2**56")
    assert msgs["float32 at +1"].endswith("out is not aligned to its item size")
    assert msgs["overlap (4, 4)"].endswith("out: elements overlap in memory (strides (4, 4) for shape (4, 2)); "
                                          "pass a writable array with distinct elements")
    assert "zero stride" in msgs["zero stride"]
    assert "64-bit address space" in msgs["stride INT64_MAX/4*4, 4 elements"]
    assert msgs["dtype 7"].endswith("dtype must be one of float32, float64, float16, bfloat16; got 7")
    assert msgs["ndim INT_MAX"].endswith("ndim must be in [0, 64], got 2147483647")
    assert msgs["data NULL, 4 elements"].endswith("out: null data pointer")


def test_python_refuses_with_the_same_messages(harness):
    exe, _ = harness
    msgs = dict(line[len("refused "):].split(": ", 1)
                for line in _run_harness(exe, "refuse").stdout.splitlines() if line.startswith("refused "))
    base = np.zeros(8, np.float32)
    v = np.lib.stride_tricks.as_strided(base, (4, 2), (4, 4))
    with pytest.raises(ValueError) as e:
        sow.uniform_(v, -1.0, 1.0, seed=1, key=2)
    assert msgs["overlap (4, 4)"] == f"1 {e.value}"
    with pytest.raises(ValueError) as e:
        sow.uniform((0, 1 << 60), seed=1)
    assert msgs["shape (0, 2^60)"] == f"1 {e.value}"
    raw = np.zeros(5, np.float32).view(np.uint8)[1:17].view(np.float32)  # misaligned
    with pytest.raises(ValueError) as e:
        sow.uniform_(raw, seed=1)
    assert msgs["float32 at +1"] == f"1 {e.value}"


def test_legal_edge_cases_match_python(harness):
    exe, _ = harness
    out = _run_harness(exe, "accept").stdout
    got = dict(line.rsplit(" ", 1) for line in out.splitlines() if re.search(r" [0-9a-f]{16}$", line))
    u = sow.uniform((1000,), -1.0, 1.0, seed=5, key=7)
    n = sow.normal((16, 8), 0.0, 1.0, seed=9, key=3)
    assert got == {
        "empty NULL data": _fnv(np.zeros(0, np.uint8)),
        "empty (0, 2^56) NULL data": _fnv(np.zeros(0, np.uint8)),
        "empty (2^32, 2^32, 0)": _fnv(np.zeros(0, np.uint8)),
        "empty (2^32, 2^32, 0) strided": _fnv(np.zeros(0, np.uint8)),
        "scalar": _fnv(sow.uniform((), -1.0, 1.0, seed=1, key=2)),
        "uniform1000 threads=3": _fnv(u),
        "uniform1000 threads=1024": _fnv(u),
        "normal16x8 reversed rows": _fnv(n[::-1]),
        "normal16x8 column-major": _fnv(n),
    }


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status, sets rlimits")
@pytest.mark.parametrize("stack_mib,headroom_mib", [(1024, 64), (256, 640)], ids=["no-worker-fits", "two-fit"])
def test_threads_under_address_space_limit(harness, stack_mib, headroom_mib):
    """RLIMIT_STACK sets every thread's stack reservation; the harness then leaves headroom_mib of
    address space under RLIMIT_AS: no thread fits (1 GiB stacks, 64 MiB left) or two do (256 MiB,
    640 MiB). The threads=1024 call must succeed with the threads=1 bits (before the pool: status
    2 "Resource temporarily unavailable", and std::terminate, SIGABRT, once some threads had
    started)."""
    exe, _ = harness
    _, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if hard != resource.RLIM_INFINITY and hard < (stack_mib << 20):
        pytest.skip(f"RLIMIT_STACK hard limit {hard} < {stack_mib} MiB")

    # RLIMIT_STACK set by a single-threaded launcher that exec()s the harness (no preexec_fn in
    # this multi-threaded process).
    launcher = (f"import os, resource; resource.setrlimit(resource.RLIMIT_STACK, ({stack_mib << 20}, {hard})); "
                f"os.execv({str(exe)!r}, [{str(exe)!r}, 'threads', '{headroom_mib}'])")
    r = subprocess.run([sys.executable, "-c", launcher], capture_output=True, text=True, timeout=120,
                       env={**os.environ, **SAN_ENV})
    assert r.returncode >= 0, f"killed by signal {-r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert not SAN_REPORT.search(r.stderr), r.stderr[-6000:]
    if "skip" in r.stdout:
        pytest.skip(r.stdout.strip())
    lines = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert lines["status"].startswith("0 "), r.stdout
    assert r.returncode == 0, r.stdout + r.stderr
    assert lines["threads=1"] == lines["threads=1024"]
    assert lines["threads=1"] == _fnv(sow.uniform((1 << 18,), -1.0, 1.0, seed=0, key=0))
