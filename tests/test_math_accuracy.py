"""tests/cpp/check_math.py (the accuracy and bit-identity check of sow/detail/math.hpp: log, the
inverse normal CDF, exp and the normal CDF against numpy long double, scipy and mpmath, and the
AVX-512 vector policy against the scalar one where the CPU has it) run as part of the suite.

Needs g++ (the script builds tests/cpp/test_math.cpp with it) and mpmath; skipped otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from cpp_build import ROOT

pytest.importorskip("mpmath")
pytest.importorskip("scipy")


@pytest.mark.skipif(shutil.which("g++") is None, reason="check_math.py builds with g++")
def test_check_math_passes():
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "cpp" / "check_math.py")], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"{r.stdout[-6000:]}\n{r.stderr[-3000:]}"
    assert r.stdout.rstrip().endswith("all math checks passed"), r.stdout[-3000:]
    assert " FAIL" not in r.stdout, "\n".join(line for line in r.stdout.splitlines() if "FAIL" in line)
