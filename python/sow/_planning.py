"""Validate-only runs of the initializers: how ``sow.init_batch`` and meta tensors check a call
without writing.

Every initializer runs all of its checks before its first write. In a *planning run* (inside
:func:`planning`) it stops right there and records what it would do instead:

* the elementwise initializers record ``(target, dist, params, seed, key, threads)`` after the
  engine's own value checks (``_core.check_dist``: dtype range, the trunc_normal tail rule), so a
  plan holds exactly what the single call would hand the engine;
* the others (eye, dirac, sparse, orthogonal, delta_orthogonal) call :func:`stop_before_write`
  once everything is checked and before any write or scratch allocation, and record a marker.

``init_batch`` plans every item this way before it writes the first one, so a bad item anywhere
writes nothing; a meta tensor is planned and never written, as torch.nn.init is a no-op on meta.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

__all__ = ["planning", "active", "record", "stop_before_write", "VALIDATED"]

_plan: ContextVar[list[Any] | None] = ContextVar("sow_planning", default=None)

#: The record of a non-elementwise call that passed every check.
VALIDATED: Final = "validated"


@contextmanager
def planning() -> Iterator[list[Any]]:
    """Within the block, initializers validate and record instead of writing."""
    rec: list[Any] = []
    token = _plan.set(rec)
    try:
        yield rec
    finally:
        _plan.reset(token)


def active() -> bool:
    return _plan.get() is not None


def record(entry: Any) -> None:
    rec = _plan.get()
    assert rec is not None
    rec.append(entry)


def stop_before_write(what: str) -> bool:
    """Called by an initializer once all its checks passed, before its first write or scratch
    allocation. Returns True in a planning run (the caller must then return without writing)."""
    rec = _plan.get()
    if rec is None:
        return False
    rec.append((VALIDATED, what))
    return True
