"""sow for JAX: sharded ``jax.Array`` s and whole pytrees, filled shard by shard on the host.

::

    import jax, sow.jax
    from jax.sharding import NamedSharding, PartitionSpec as P
    mesh = jax.make_mesh((2, 4), ("x", "y"))
    w = sow.jax.make_array("xavier_uniform", (4096, 4096), NamedSharding(mesh, P("x", "y")),
                           seed=0, key="layers.0.mlp.kernel")
    params = sow.jax.init_tree(jax.eval_shape(model.init, rng, x), seed=0, recipe=my_recipe)

* :func:`make_array`: one array with any sharding; each addressable device's shard is its slice
  of the one global fill, so the values never depend on the mesh (docs/jax.md).
* :func:`init_tree`: a pytree of ``jax.ShapeDtypeStruct`` (or NNX Variables holding them) to a
  pytree of arrays, one :class:`sow.Plan` for every shard of every leaf, keyed by path names.
* :func:`torch_names`: the name mapping under which a Flax model gets a torch model's values.
* :mod:`sow.jax.initializers`: ``init(key, shape, dtype)`` callables (``glorot_uniform``, ...)
  for ``nn.Dense(kernel_init=...)``.
* :data:`RECIPES`: ``"flax"``, Flax's default distributions by parameter name.

Importing this package does not import jax; its functions do, on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["make_array", "init_tree", "path_name", "torch_names", "RECIPES", "initializers"]

_LAZY = {
    "make_array": "._array",
    "init_tree": "._tree",
    "path_name": "._tree",
    "torch_names": "._tree",
    "RECIPES": "._tree",
}


def __getattr__(name: str) -> Any:
    if name == "initializers":
        return importlib.import_module(".initializers", __name__)
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'sow.jax' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(mod, __name__), name)
    except ImportError as e:
        if e.name in ("jax", "jaxlib"):
            raise ImportError(f"sow.jax.{name} needs JAX (pip install 'sow[jax]')") from e
        raise
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
