"""Shared fixtures for the sow test-suite.

Helpers that re-derive the stream format independently of sow live in tests/sow_ref.py
(importable because pytest puts this package-less tests/ directory on sys.path).
"""

from __future__ import annotations

import os
from pathlib import Path

# JAX tests run on a real 8-device CPU mesh; XLA reads this once, when jax is first imported, so
# it is set here, before any test module imports jax (other tests ignore it).
_XLA_FLAGS = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _XLA_FLAGS:
    os.environ["XLA_FLAGS"] = f"{_XLA_FLAGS} --xla_force_host_platform_device_count=8".strip()

import pytest


@pytest.fixture
def restore_isa():
    """Lets a test switch the ISA with _core.set_isa and puts the previous one back afterwards."""
    from sow import _core

    before = _core.isa()
    yield _core
    _core.set_isa(before)
    assert _core.isa() == before


@pytest.fixture(scope="session")
def sow_cpp_prefix(tmp_path_factory) -> Path:
    """The C++ package (tests/cpp_build.py's SOW_OPTIONS) installed once per session: its prefix."""
    import cpp_build

    if cpp_build.CMAKE is None or cpp_build.CXX is None or cpp_build.CC is None:
        pytest.skip(f"needs cmake and a C/C++ compiler (cmake={cpp_build.CMAKE}, c++={cpp_build.CXX})")
    return cpp_build.install_sow(tmp_path_factory.mktemp("sow_cpp"))


@pytest.fixture(scope="session")
def sow_test_programs(sow_cpp_prefix, tmp_path_factory) -> Path:
    """tests/cpp/CMakeLists.txt built against sow_cpp_prefix: the directory of its programs."""
    import cpp_build

    return cpp_build.build_consumer(cpp_build.ROOT / "tests" / "cpp", tmp_path_factory.mktemp("test_programs"),
                                    sow_cpp_prefix)
