"""Parameter ranges: what the engine refuses before writing, and that ``_core.check_dist`` runs
exactly the checks of ``_core.fill`` without touching memory."""

from __future__ import annotations

import numpy as np
import pytest

from sow import _core

SENTINEL = -123.0


def _fill_error(dtype: str, dist: str, params: tuple[float, ...], domain: int = 0) -> str | None:
    out = np.full(8, SENTINEL, dtype=np.float64 if dtype == "float64" else np.float32)
    if dtype in ("float16", "bfloat16"):
        out = np.full(8, 0x5555, dtype=np.uint16)  # raw 16-bit storage: the engine only sees bytes
    before = out.copy()
    item = out.itemsize
    try:
        _core.fill(out.ctypes.data, dtype, (8,), (item,), (), (), dist, params, 0, 0, 1, domain)
    except ValueError as e:
        assert out.tobytes() == before.tobytes()
        return str(e)
    return None


CHECK_CASES = [
    ("float32", "normal", (0.0, 1.0), 0),
    ("float32", "trunc_normal", (0.0, 1.0, 50.0, 60.0), 0),
    ("float32", "normal", (0.0, 1e39), 0),
    ("float32", "normal", (0.0, 1.0), 256),
    ("float32", "uniform", (1.0, 1.0), 0),
    ("float16", "constant", (1e6,), 0),
]


@pytest.mark.parametrize("dtype,dist,params,domain", CHECK_CASES)
def test_check_dist_agrees_with_fill(dtype, dist, params, domain):
    expected = _fill_error(dtype, dist, params, domain)
    if expected is None:
        assert _core.check_dist(dtype, dist, params, domain) is None
    else:
        with pytest.raises(ValueError) as e:
            _core.check_dist(dtype, dist, params, domain)
        assert str(e.value) == expected


def test_check_dist_argument_errors():
    with pytest.raises(ValueError, match="dtype must be one of"):
        _core.check_dist("float33", "normal", (0.0, 1.0))
    with pytest.raises(ValueError, match="takes 2 parameters"):
        _core.check_dist("float32", "normal", (0.0,))
    with pytest.raises(ValueError, match="unknown distribution"):
        _core.check_dist("float32", "gamma", (1.0,))
