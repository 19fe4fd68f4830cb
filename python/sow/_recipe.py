"""Recipes: which spec each parameter of a model gets (no torch or jax needed here; used by
``sow.torch`` and ``sow.jax``).

A :class:`Recipe` is an ordered list of rules ``(match, spec)``; the first rule that matches a
parameter gives its spec. ``match`` is a glob on the fully-qualified name (``fnmatch``: ``*``
also matches dots, so ``"*.bias"`` is every bias) or a callable ``match(target) -> bool`` on a
:class:`Target`. ``spec`` is a ``sow.Spec``, a pair ``(name, {params})``, a bare name, a callable
``spec(target) -> spec or None`` (None: this rule does not apply after all, try the next), or
:data:`MODULE_CODE` (run the owning module's own init code, routed through sow) or
:data:`HF_INIT` (Hugging Face's init of the enclosing model).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

__all__ = ["Recipe", "Target", "MODULE_CODE", "HF_INIT", "Action", "resolve_recipe"]


class _ModuleCode:
    """The spec "run the module's own init code": ``reset_parameters()`` (or
    ``_reset_parameters()``), else the enclosing Hugging Face model's ``_init_weights(module)``,
    with torch.nn.init and transformers.initialization routed through sow (sow.torch.patch_init)."""

    _instance: "_ModuleCode | None" = None

    def __new__(cls) -> "_ModuleCode":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "sow.torch.MODULE_CODE"

    def __reduce__(self) -> str:
        return "MODULE_CODE"


#: Spec meaning: the parameter's own module init code decides (see :class:`_ModuleCode`).
MODULE_CODE = _ModuleCode()


class _HFInit:
    """The spec "as Hugging Face transformers initializes it": torch's construction-time layer
    default, then whatever the enclosing ``PreTrainedModel._init_weights`` does, run over the
    whole model as ``initialize_weights()`` walks it (sub-models with their own
    ``_init_weights``), routed through sow."""

    _instance: "_HFInit | None" = None

    def __new__(cls) -> "_HFInit":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "sow.torch.HF_INIT"

    def __reduce__(self) -> str:
        return "HF_INIT"


#: Spec meaning: Hugging Face's init decides (see :class:`_HFInit`).
HF_INIT = _HFInit()


@dataclass(frozen=True)
class Target:
    """What a rule sees of one parameter (or buffer).

    ``fqn``: fully-qualified name (``model.layers.3.mlp.down_proj.weight``); ``name``: the local
    name in its module (``weight``); ``module``/``module_fqn``: the owning module and its name;
    ``shape``: the *global* shape (a DTensor's full shape); ``dtype``: torch dtype; ``kind``:
    ``"parameter"`` or ``"buffer"``; ``root``: the module given to init_module_."""

    fqn: str
    name: str
    module: Any
    module_fqn: str
    shape: tuple[int, ...]
    dtype: Any
    kind: str
    root: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Action:
    """A spec plus deterministic writes done after it (e.g. Embedding's ``padding_idx`` row set
    to 0): ``post`` holds ``(index, value)`` pairs, ``index`` a tuple of ints/slices applied to
    the global tensor."""

    spec: Any
    post: tuple[tuple[tuple[Any, ...], float], ...] = ()


Match = Union[str, Callable[[Target], bool]]


class Recipe:
    """Ordered ``(match, spec)`` rules; the first match wins (see the module doc).

    ``Recipe([("*.bias", "zeros"), ("*norm.weight", "ones"),
    ("*", ("normal", {"std": 0.02}))])``. ``name`` is shown in reports and errors."""

    def __init__(self, rules: Sequence[tuple[Match, Any]] = (), *, name: str = "custom") -> None:
        if isinstance(rules, (str, bytes)) or not isinstance(rules, Sequence):
            raise TypeError(f"rules must be a sequence of (match, spec) pairs, got {rules!r}")
        checked = []
        for i, r in enumerate(rules):
            if not isinstance(r, (tuple, list)) or len(r) != 2:
                raise TypeError(f"rules[{i}] must be a pair (match, spec), got {r!r}")
            match, spec = r
            if not (isinstance(match, str) or callable(match)):
                raise TypeError(f"rules[{i}]: match must be an FQN glob (str) or a callable, "
                                f"got {match!r}")
            _check_spec(spec, f"rules[{i}]")
            checked.append((match, spec))
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {name!r}")
        self.rules: tuple[tuple[Match, Any], ...] = tuple(checked)
        self.name = name

    def __repr__(self) -> str:
        return f"sow.Recipe({self.name!r}, {len(self.rules)} rules)"

    def __add__(self, other: "Recipe") -> "Recipe":
        """This recipe's rules, then ``other``'s (so this one's take precedence)."""
        if not isinstance(other, Recipe):
            return NotImplemented
        return Recipe(self.rules + other.rules, name=f"{self.name}+{other.name}")

    def resolve(self, target: Target) -> Any:
        """The spec of the first rule that matches ``target`` (None if none does)."""
        for i, (match, spec) in enumerate(self.rules):
            hit = fnmatch.fnmatchcase(target.fqn, match) if isinstance(match, str) else match(target)
            if not hit:
                continue
            if callable(spec) and not isinstance(spec, (_ModuleCode, _HFInit)):
                got = spec(target)
                if got is None:
                    continue
                _check_spec(got, f"{self.name} rules[{i}] for {target.fqn}")
                return got
            return spec
        return None


class Derived:
    """Base of the rule results that are computed from another tensor's fill rather than drawn
    (sow.torch's weight-norm magnitude: the norm of its direction's fill)."""


def _check_spec(spec: Any, where: str) -> None:
    if isinstance(spec, (str, _ModuleCode, _HFInit, Action, Derived)) or callable(spec):
        return
    if type(spec).__name__ == "Spec" and hasattr(spec, "params"):
        return
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str) \
            and isinstance(spec[1], dict):
        return
    raise TypeError(f"{where}: spec must be a sow.Spec, a name, a pair (name, {{params}}), a "
                    f"callable or sow.torch.MODULE_CODE, got {spec!r}")


def resolve_recipe(recipe: Any, named: Any) -> Recipe:
    """``recipe`` as a :class:`Recipe`: itself, or the one ``named`` (a mapping) holds under
    that name; a ValueError for an unknown name, a TypeError for anything else."""
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, str):
        r = named.get(recipe)
        if r is None:
            raise ValueError(f"recipe: unknown recipe {recipe!r} (one of {', '.join(named)}, or "
                             f"a sow.Recipe)")
        return r
    raise TypeError(f"recipe must be a name or a sow.Recipe, got {type(recipe).__name__}")
