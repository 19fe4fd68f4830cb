"""tests/kat/philox4x32.txt read by the CUDA backend: tests/gpu/philox_kat.cu runs sow::philox4x32
and sow::stream_block (the header sow's device kernels call) inside a kernel, with sow's device
flags, on every known answer, and on the host pass of the same file. Then the stream words that
sow's built CUDA library writes (sparse's zero-pattern keys) equal the CPU's, which the CPU KAT
test (tests/test_kat_backends.py) pins to the same file.

Skipped, like every test here, without a CUDA build of sow or a device (tests/gpu/conftest.py);
the program also needs nvcc, the CuPy part CuPy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cpp_build import corrupted_kat
from sow import _core

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KAT = ROOT / "tests" / "kat" / "philox4x32.txt"
NVCC = shutil.which("nvcc")


@pytest.fixture(scope="module")
def kat_program(tmp_path_factory) -> Path:
    if NVCC is None:
        pytest.skip("needs nvcc")
    exe = tmp_path_factory.mktemp("kat_cuda") / "philox_kat_cuda"
    # sow's device flags (cuda/CMakeLists.txt); -arch=native: the device this test runs on.
    cmd = [NVCC, "-std=c++20", "-O2", "-arch=native", "--fmad=false", "-prec-div=true", "-prec-sqrt=true",
           "-ftz=false", f"-I{ROOT / 'cpp' / 'include'}", str(HERE / "philox_kat.cu"), "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return exe


def _kat_lines() -> int:
    return sum(1 for line in KAT.read_text().splitlines() if line.strip() and not line.startswith("#"))


def test_device_philox_matches_the_known_answers(kat_program):
    r = subprocess.run([str(kat_program), str(KAT)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert f"kat lines {_kat_lines()}" in r.stdout
    assert re.search(r"^checks \d+ failures 0$", r.stdout, re.M), r.stdout[-2000:]


def test_device_program_reports_a_wrong_answer(kat_program, tmp_path):
    bad = corrupted_kat(tmp_path)
    r = subprocess.run([str(kat_program), str(bad)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stdout[-2000:]
    assert "FAIL device R10 243f6a88" in r.stdout
    assert "FAIL device stream block R10 243f6a88" in r.stdout


@pytest.mark.parametrize("seed,key,n", [(0, 0, 4096), (2**64 - 1, 0x0123456789ABCDEF, 1000), (7, 2**63, 65537)])
def test_library_device_words_equal_cpu_words(seed, key, n):
    cp = pytest.importorskip("cupy")
    out = cp.zeros(n, dtype=cp.uint64)
    # One row of n columns: out[c] = word(c) << 32 | 0 of stream (seed, key, domain 1).
    _core.sparse_keys_cuda(out.data.ptr, 1, n, 0, n, seed, key, 0, out.device.id)
    cp.cuda.Device(out.device.id).synchronize()
    got = (cp.asnumpy(out) >> np.uint64(32)).astype(np.uint32)
    np.testing.assert_array_equal(got, _core.bits(seed, key, 1, 0, n))
