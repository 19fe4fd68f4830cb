"""``init_tree``: a pytree of abstract arrays to a pytree of sow-filled, sharded arrays.

Names (the keys): a leaf's pytree path, each entry as text and joined with ``"."``: a dict key
(``DictKey``) or attribute (``GetAttrKey``) by its name, a sequence position (``SequenceKey``)
by its number, a ``FlattenedIndexKey`` by its number. An NNX ``Variable`` is a leaf (its inner
``.value`` entry is not part of the name), so ``nnx.state(model)`` names read as the module tree:
``layers.0.attn.kernel``. ``names=`` maps them further (e.g. to torch's names: :func:`torch_names`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from .. import Spec
from .._recipe import HF_INIT, MODULE_CODE, Action, Recipe, Target
from .._recipe import resolve_recipe as _shared_resolve
from .._validate import check_seed
from ._array import Leaf, as_sharding, build, check_layout, check_sharding, sow_dtype, with_layout

__all__ = ["init_tree", "path_name", "torch_names", "RECIPES"]


def _entry(k: Any) -> str:
    tu = jax.tree_util
    if isinstance(k, tu.DictKey):
        return str(k.key)
    if isinstance(k, tu.GetAttrKey):
        return str(k.name)
    if isinstance(k, tu.SequenceKey):
        return str(k.idx)
    if isinstance(k, tu.FlattenedIndexKey):
        return str(k.key)
    return str(k)  # pragma: no cover - a custom key type: its own text


def path_name(path: tuple[Any, ...]) -> str:
    """The name of a pytree path: its entries' text joined with ``"."`` (see the module doc)."""
    return ".".join(_entry(k) for k in path)


#: Flax parameter names and the torch ones the same tensor has (Linear/Conv ``kernel`` is torch's
#: ``weight`` transposed, Embed's ``embedding`` and a norm's ``scale`` are its ``weight``).
_TORCH_LAST = {"kernel": "weight", "embedding": "weight", "scale": "weight"}


def torch_names(name: str) -> str:
    """The torch name of a Flax parameter: a leading ``params.`` (Linen's collection) dropped and
    the last component ``kernel``/``embedding``/``scale`` renamed ``weight``; everything else
    kept (``bias``, module names, list indices). ``fc1.kernel -> fc1.weight``,
    ``params.Dense_0.bias -> Dense_0.bias``, ``norm.scale -> norm.weight``."""
    if not isinstance(name, str):
        raise TypeError(f"torch_names takes a str, got {type(name).__name__}")
    if name.startswith("params."):
        name = name[len("params."):]
    head, _, last = name.rpartition(".")
    last = _TORCH_LAST.get(last, last)
    return f"{head}.{last}" if head else last


def _flax_embedding(t: Target) -> Any:
    # nnx.Embed / linen Embed: variance_scaling(1, "fan_in", "normal", out_axis=0) on
    # (num_embeddings, features): fan_in = features, so N(0, 1/features).
    return Spec("normal", std=float(t.shape[-1]) ** -0.5) if t.shape else None


#: Built-in recipes for JAX trees (``recipe="flax"``).
RECIPES: dict[str, Recipe] = {
    # Flax's layer defaults (nnx and linen), by parameter name: kernels lecun_normal (truncated
    # normal, variance 1/fan_in, JAX fans), embeddings N(0, 1/features), biases zeros, norm
    # scales ones. The distributions are Flax's; the values are sow's.
    "flax": Recipe([
        ("*embedding", _flax_embedding),
        ("*kernel", Spec("variance_scaling", scale=1.0, mode="fan_in",
                         distribution="truncated_normal")),
        ("*bias", "zeros"),
        ("*scale", "ones"),
    ], name="flax"),
}


def resolve_recipe(recipe: Any) -> Recipe:
    return _shared_resolve(recipe, RECIPES)


def _names_fn(names: Any) -> Callable[[str], str]:
    if names is None:
        return lambda n: n
    if isinstance(names, Mapping):
        table = dict(names)
        return lambda n: table.get(n, n)
    if callable(names):
        return names
    raise TypeError(f"names must be None, a mapping or a callable (path name -> key), got "
                    f"{type(names).__name__}")


def _is_variable(x: Any) -> bool:
    nnx = sys.modules.get("flax.nnx")
    return nnx is not None and isinstance(x, nnx.Variable)


def _abstract(leaf: Any) -> Any:
    """The ShapeDtypeStruct-like value of a leaf (a Variable's value)."""
    return leaf.get_value() if _is_variable(leaf) else leaf


def init_tree(abstract_tree: Any, *, seed: int, recipe: Any, layout: str = "jax",
              names: Any = None, threads: int | None = None) -> Any:
    """A pytree like ``abstract_tree`` whose leaves are ``jax.Array`` s filled by sow.

    ``abstract_tree``: leaves are ``jax.ShapeDtypeStruct`` (with or without ``.sharding``, e.g.
    from ``jax.eval_shape(model.init, ...)`` or ``nnx.get_abstract_model``), NNX ``Variable`` s
    holding one (returned as Variables holding the array), or anything with ``shape``, ``dtype``
    (and ``sharding``: a concrete tree is re-initialized in place of its layout). A leaf without
    a sharding goes to the default device.

    * Keys: each leaf's path name (module doc: entries joined with ``"."``), mapped by ``names``
      (None, a mapping, or a callable ``name -> key``; e.g. :func:`torch_names`). Adding,
      removing or renaming a leaf changes no other leaf.
    * ``recipe``: a :class:`sow.Recipe` or a name in :data:`RECIPES` (``"flax"``); its rules
      match the *key* (the name after ``names``) with ``Target(fqn=key, name=last component,
      module=None, module_fqn=the rest, shape=global shape, dtype, kind="parameter",
      root=abstract_tree)``. ``MODULE_CODE``/``HF_INIT`` and deterministic writes are torch-only.
    * ``layout``: ``"jax"`` (default; values in each array's own order, JAX fans) or
      ``"torch"``: every leaf holds its torch counterpart's values with torch's fans; a leaf
      whose path ends in ``kernel`` (Flax's Linear/Dense/Conv weights, ``(*k, in, out)``) is
      the torch weight ``(out, in, *k)`` with its axes moved, other leaves (``embedding``,
      ``scale``, ``bias``) have torch's axes already.

    Everything is checked before anything is written: leaves no rule matches (ValueError listing
    them), dtypes sow does not write, two leaves with one key, shardings JAX refuses (ValueError
    naming the leaf and dimension), bad specs (``items[i] (key): ...``). Then one
    :class:`sow.Plan` fills every addressable shard of every leaf (replicas once).
    """
    s = check_seed(seed)
    lay = check_layout(layout)
    rec = resolve_recipe(recipe)
    rename = _names_fn(names)
    flat, treedef = jax.tree_util.tree_flatten_with_path(abstract_tree, is_leaf=_is_variable)
    leaves: list[Leaf] = []
    unmatched: list[str] = []
    seen: dict[str, str] = {}
    for path, leaf in flat:
        pname = path_name(path)
        key = rename(pname)
        if not isinstance(key, str):
            raise TypeError(f"names({pname!r}) must return a str, got {type(key).__name__}")
        if key in seen:
            raise ValueError(f"leaves {seen[key]!r} and {pname!r} both have the key {key!r}")
        seen[key] = pname
        a = _abstract(leaf)
        if not (hasattr(a, "shape") and hasattr(a, "dtype")):
            raise TypeError(f"{pname}: a leaf must be a jax.ShapeDtypeStruct (or have shape and "
                            f"dtype), got {type(a).__name__}")
        shape = tuple(int(d) for d in a.shape)
        dt = sow_dtype(a.dtype, f"{pname}: dtype")
        head, _, last = key.rpartition(".")
        target = Target(key, last, None, head, shape, np.dtype(a.dtype), "parameter",
                        abstract_tree)
        spec = rec.resolve(target)
        if spec is None:
            unmatched.append(key)
            continue
        if spec is MODULE_CODE or spec is HF_INIT or isinstance(spec, Action):
            raise TypeError(f"{key}: recipe {rec.name!r} gives {spec!r}, which only sow.torch "
                            f"runs; give a spec")
        sh = as_sharding(getattr(a, "sharding", None))
        check_sharding(shape, sh, pname)
        torch_order = lay == "torch" and len(shape) >= 2 and pname.rpartition(".")[2] == "kernel"
        leaves.append(Leaf(key, key, with_layout(spec, lay, key), shape, dt, sh, torch_order))
    if unmatched:
        raise ValueError(f"no rule of recipe {rec.name!r} matches {len(unmatched)} leaves: "
                         f"{', '.join(unmatched)}")
    arrays = iter(build(leaves, s, threads))
    out = []
    for _, leaf in flat:
        arr = next(arrays)
        out.append(leaf.replace(arr) if _is_variable(leaf) else arr)
    return jax.tree_util.tree_unflatten(treedef, out)
