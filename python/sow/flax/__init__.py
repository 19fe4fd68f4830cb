"""sow for Flax NNX: a whole module with its parameters from sow, sharded on a mesh or not.

::

    import jax, sow.flax
    from flax import nnx
    mesh = jax.make_mesh((2, 4), ("x", "y"))
    model = sow.flax.init_nnx(lambda: Transformer(cfg, rngs=nnx.Rngs(0)), mesh,
                              seed=0, recipe="flax")

Importing this package does not import jax or flax; :func:`init_nnx` does.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["init_nnx"]


def init_nnx(model_fn: Callable[[], Any], mesh: Any = None, *, seed: int, recipe: Any,
             layout: str = "jax", names: Any = None, threads: int | None = None) -> Any:
    """The NNX module ``model_fn()`` builds, with every ``nnx.Param`` filled by sow.

    1. ``model_fn`` runs abstractly (``nnx.eval_shape``; with ``mesh``: ``nnx.get_abstract_model``
       under ``jax.set_mesh(mesh)``, so each parameter gets the ``NamedSharding`` of its
       ``out_sharding``/``sharding`` metadata, unannotated ones replicated). No parameter is
       computed by Flax.
    2. The parameters go through :func:`sow.jax.init_tree` with ``recipe``, ``layout`` and
       ``names`` (keys: the module paths, ``layers.0.kernel``; docs/jax.md): every addressable
       shard filled on the host by one :class:`sow.Plan`, placed with
       ``jax.make_array_from_callback``.
    3. Other variables (RNG state of Dropout, BatchNorm statistics, ...) are what the model's own
       code gives them: ``model_fn`` run under ``jax.jit`` returning only those (XLA drops the
       parameters' init code), replicated/default placement.

    Every check (no rule for a parameter, bad spec, uneven sharding) raises before any array is
    made; the returned module is new (``model_fn`` is never run eagerly).
    """
    import jax
    from flax import nnx

    from ..jax._tree import init_tree

    if not callable(model_fn):
        raise TypeError(f"model_fn must be a callable returning an nnx.Module, got "
                        f"{type(model_fn).__name__}")
    if mesh is not None and not isinstance(mesh, jax.sharding.Mesh):
        raise TypeError(f"mesh must be None or a jax.sharding.Mesh, got {type(mesh).__name__}")
    if mesh is None:
        graphdef, state = nnx.split(nnx.eval_shape(model_fn))
    else:
        graphdef, state = nnx.get_abstract_model(model_fn, mesh)
    params, rest = nnx.split_state(state, nnx.Param, ...)
    filled = init_tree(params, seed=seed, recipe=recipe, layout=layout, names=names,
                       threads=threads)
    if jax.tree_util.tree_leaves(rest):
        def others() -> Any:
            return nnx.split(model_fn(), nnx.Param, ...)[2]

        if mesh is None:
            rest = jax.jit(others)()
        else:
            with jax.set_mesh(mesh):
                rest = jax.jit(others)()
        return nnx.merge(graphdef, filled, rest)
    return nnx.merge(graphdef, filled)
