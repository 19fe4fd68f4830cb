"""Shared fixtures for the sow test-suite.

Helpers that re-derive the stream format live in tests/sow_ref.py (importable because pytest puts
this rootless tests/ directory on sys.path).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sow():
    import sow as _sow

    return _sow


@pytest.fixture(scope="session")
def core():
    from sow import _core

    return _core


@pytest.fixture
def restore_isa(core):
    """Lets a test switch the ISA with _core.set_isa and puts the previous one back afterwards."""
    before = core.isa()
    yield core
    core.set_isa(before)
    assert core.isa() == before
