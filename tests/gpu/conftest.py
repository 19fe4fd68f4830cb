"""Every test under tests/gpu is marked `gpu` and skipped cleanly without a CUDA build of sow or a
device (test modules also skip without CuPy: `cp = pytest.importorskip("cupy")`)."""

from __future__ import annotations

import os

import pytest

from sow import _core

_HERE = os.path.dirname(os.path.abspath(__file__))


def _skip_reason() -> str | None:
    if not getattr(_core, "has_cuda", False):
        return "sow built without CUDA"
    if _core.cuda_device_count() == 0:
        return "no CUDA device"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if os.path.dirname(str(item.fspath)) != _HERE:
            continue
        item.add_marker(pytest.mark.gpu)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
