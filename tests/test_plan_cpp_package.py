"""Plans from the installed C++ package: a consumer that links sow::orthogonal and only executes a
plan (tests/cpp/plan_orthogonal_consumer.cpp, nothing of sow/orthogonal.hpp called) still reaches
the LAPACK backend, which orthogonal.cpp registers from a static initializer (sow::orthogonal links
its archive whole), and gets the Python package's bits."""

from __future__ import annotations

import numpy as np
import pytest

import sow
from cpp_build import needs_cmake
from cpp_build import run as _run
from sow import _core

SEED = 2024

pytestmark = [needs_cmake,
              pytest.mark.skipif(not _core.has_lapack,
                                 reason="sow built without a LAPACK: no sow::orthogonal")]


def _fnv(a: np.ndarray) -> str:
    h = 0xCBF29CE484222325
    for b in np.ascontiguousarray(a).tobytes():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def test_plan_reaches_orthogonal_through_a_static_link(sow_test_programs):
    exe = sow_test_programs / "plan_orthogonal_consumer"
    assert exe.is_file(), \
        "tests/cpp/CMakeLists.txt did not find sow::orthogonal in the installed package"
    lines = _run([str(exe), str(SEED)]).stdout.splitlines()
    got = dict(line.split(" ", 1) for line in lines)
    assert "error" not in got, got.get("error")
    assert got == {
        "q": _fnv(sow.orthogonal((64, 48), 2.0, seed=SEED, key="q")),
        "k": _fnv(sow.delta_orthogonal((3, 3, 8, 16), seed=SEED, key="k")),
        "w": _fnv(sow.normal((32, 16), 0.0, 0.02, seed=SEED, key="w")),
    }
