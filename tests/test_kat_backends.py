"""tests/kat/philox4x32.txt read by the C++ backends: tests/cpp/philox_kat.cpp, built against the
installed C++ package, checks sow::philox4x32 (R = 7 and 10) and the stream words of every
instruction set this CPU runs (the SIMD kernels' Philox and counter layout, every lane) against
the known answers. The CUDA backend's test is tests/gpu/test_kat_cuda.py.

Needs cmake and a C++ compiler (skipped otherwise); shares the session's C++ package build.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from cpp_build import ROOT, corrupted_kat, needs_cmake
from cpp_build import run as _run
from sow import _core

pytestmark = needs_cmake

KAT = ROOT / "tests" / "kat" / "philox4x32.txt"


def _kat_lines() -> list[str]:
    return [line for line in KAT.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _run_kat(programs, path) -> tuple[int, str]:
    exe = programs / "philox_kat"
    r = subprocess.run([str(exe), str(path)], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def test_every_cpu_backend_matches_the_known_answers(sow_test_programs):
    rc, out = _run_kat(sow_test_programs, KAT)
    assert rc == 0, out[-4000:]
    assert f"kat lines {len(_kat_lines())}" in out
    assert re.search(r"^checks (\d+) failures 0$", out, re.M), out[-2000:]
    # Every instruction set the CPU runs was checked (the Python build sees the same CPU), and each
    # R=10 answer was found in every position of a run: zeros only at block 0, ones only at the
    # last block 2^56 - 1, pi's block at all 64.
    isas = dict(re.findall(r"^isa (\S+) placements (\d+)$", out, re.M))
    assert list(isas) == _core.available_isas()
    assert set(isas.values()) == {str(1 + 1 + 64)}


def test_a_wrong_answer_is_reported(sow_test_programs, tmp_path):
    """The same program on a copy of the file with one R=10 answer word changed fails, naming the
    scalar check and every instruction set."""
    bad = corrupted_kat(tmp_path)
    rc, out = _run_kat(sow_test_programs, bad)
    assert rc == 1, out[-2000:]
    assert "FAIL scalar R10 243f6a88" in out
    for isa in _core.available_isas():
        assert f"FAIL {isa} R10 243f6a88" in out, isa
    assert not re.search(r"^checks \d+ failures 0$", out, re.M)
