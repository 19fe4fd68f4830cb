"""Shared fixtures for the sow test-suite.

Helpers that re-derive the stream format independently of sow live in tests/sow_ref.py
(importable because pytest puts this package-less tests/ directory on sys.path).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def restore_isa():
    """Lets a test switch the ISA with _core.set_isa and puts the previous one back afterwards."""
    from sow import _core

    before = _core.isa()
    yield _core
    _core.set_isa(before)
    assert _core.isa() == before
