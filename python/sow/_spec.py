"""``sow.Spec``: an initializer by name and its parameters, and the forms accepted wherever a spec
is (``Spec``, a bare name, or a pair ``(name, {params})``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Spec", "spec_parts", "as_spec"]


class Spec:
    """An initializer and its parameters: ``Spec("kaiming_uniform", a=5 ** 0.5)``.

    ``name`` is any in-place initializer of :mod:`sow` without the trailing underscore
    (``"xavier_uniform"``, ``"zeros"``, ``"eye"``, ...); ``params`` are its keyword arguments
    other than ``out``, ``seed`` and ``key``. A tuple ``(name, {params})`` or a bare name works
    wherever a Spec does.
    """

    __slots__ = ("name", "params")

    def __init__(self, name: str, /, **params: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Spec name must be a str, got {name!r}")
        self.name = name
        self.params = dict(params)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"sow.Spec({self.name!r}{args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Spec) and (self.name, self.params) == (other.name, other.params)

    __hash__ = None  # type: ignore[assignment]


def spec_parts(spec: Any, where: str) -> tuple[str, dict[str, Any]]:
    """``(name, params)`` of a Spec, a bare name or a pair ``(name, {params})``; ``TypeError``
    prefixed with ``where`` for anything else."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Spec):
        return spec.name, dict(spec.params)
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str) \
            and isinstance(spec[1], Mapping):
        return spec[0], dict(spec[1])
    raise TypeError(
        f"{where}: the spec must be a sow.Spec, a name, or a pair (name, {{params}}), got {spec!r}"
    )


def as_spec(spec: Any, where: str) -> Spec:
    """Any accepted form as a :class:`Spec`."""
    if isinstance(spec, Spec):
        return spec
    name, params = spec_parts(spec, where)
    return Spec(name, **params)
