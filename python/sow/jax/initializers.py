"""``jax.nn.initializers``-style callables whose values come from sow.

::

    from flax import nnx
    import sow.jax.initializers as si
    layer = nnx.Linear(512, 512, rngs=nnx.Rngs(0),
                       kernel_init=si.glorot_uniform(seed=0, key="encoder.proj.kernel"))

Each factory returns ``init(key, shape, dtype=float32, out_sharding=None) -> jax.Array``, the
signature Flax calls (``kernel_init``, ``bias_init``, ``embedding_init``...). The distributions
are JAX's (same names, parameters and defaults; fans of ``(*k, in, out)`` kernels); the values
are sow's.

How sow's key relates to the JAX key passed in:

* ``key=`` given (a str or int): the JAX key is **not used**; the values are a function of
  (seed, key, shape, dtype) only, the same as ``sow.jax.make_array(..., key=key)``, whatever
  Flax's RNG streams, module paths or creation order. Give each parameter its own key (one
  callable per parameter): a callable reused for two parameters gives both the same values.
* ``key=None`` (default): sow's 64-bit key is taken from the JAX key's data
  (``jax.random.key_data``, uint32 words ``w``): ``w[0] + 2**32 * w[1]`` (more words: the XOR of
  such pairs). Distinct JAX keys give independent streams, and the values follow Flax's own key
  plumbing (NNX: the ``Rngs`` stream and its call counter; Linen: the module path), so they
  change if the model's construction order does.

Under ``jax.jit`` (e.g. ``nnx.jit`` or a jitted ``model.init``) the fill runs on the host through
``jax.pure_callback`` and its result is transferred; otherwise the array is built with
:func:`sow.jax.make_array` (on ``out_sharding`` when given). Not supported: JAX's
``in_axis``/``out_axis``/``batch_axis`` (sow's JAX fans are ``in_axis=-2, out_axis=-1``; pass
``fan_in=``/``fan_out=`` to override), complex dtypes, ``orthogonal``/``delta_orthogonal`` (use
``sow.Spec("orthogonal")`` with torch's row convention through make_array/init_tree).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .._spec import Spec
from .._validate import check_key, check_seed, check_shape
from ._array import Leaf, as_sharding, build, check_sharding, sow_dtype, with_layout

__all__ = ["Initializer", "from_spec", "variance_scaling", "glorot_uniform", "glorot_normal",
           "xavier_uniform", "xavier_normal", "lecun_uniform", "lecun_normal", "he_uniform",
           "he_normal", "kaiming_uniform", "kaiming_normal", "uniform", "normal",
           "truncated_normal", "constant", "zeros", "ones", "key_of"]

_M64 = (1 << 64) - 1


def key_of(jax_key: Any) -> int:
    """sow's 64-bit key for a concrete JAX key (typed or raw uint32): see the module doc."""
    data = jax_key
    if jax.dtypes.issubdtype(getattr(jax_key, "dtype", None), jax.dtypes.prng_key):
        data = jax.random.key_data(jax_key)
    return _key_of_words(np.asarray(data))


def _key_of_words(words: np.ndarray) -> int:
    w = np.asarray(words, dtype=np.uint32).reshape(-1)
    if w.size == 1:
        return int(w[0])
    out = 0
    for i in range(0, w.size - 1, 2):
        out ^= int(w[i]) | (int(w[i + 1]) << 32)
    return out & _M64


class Initializer:
    """``init(key, shape, dtype=float32, out_sharding=None)``: ``spec``'s values for (seed, sow
    key); see the module doc for the key rule."""

    def __init__(self, spec: Any, *, seed: int, key: int | str | None = None) -> None:
        self.seed = check_seed(seed)
        if key is not None:
            check_key(key)
        self.key = key
        self.spec = with_layout(spec, "jax", "spec")

    def __repr__(self) -> str:
        name, params = self.spec
        return f"sow.jax.initializers.Initializer({Spec(name, **params)!r}, seed={self.seed}, " \
               f"key={self.key!r})"

    def _leaf(self, key: Any, shape: tuple[int, ...], dt: str, sharding: Any) -> Leaf:
        name = key if isinstance(key, str) else f"key {key}"
        return Leaf(name, key, self.spec, shape, dt, sharding)

    def _host(self, shape: tuple[int, ...], dt: str, words: Any) -> np.ndarray:
        key = self.key if self.key is not None else _key_of_words(words)
        leaf = self._leaf(key, shape, dt, as_sharding(None))
        from ..plan import Plan

        plan = Plan(self.seed)
        leaf.add_to(plan, device_fill=False)  # a host array: pure_callback's result
        plan.execute()
        return next(iter(leaf.buffers.values()))

    def __call__(self, key: Any, shape: Any, dtype: Any = "float32",
                 out_sharding: Any = None) -> Any:
        dims = check_shape(tuple(shape) if not isinstance(shape, int) else shape)
        dt = sow_dtype(dtype)
        words = key
        if key is not None and jax.dtypes.issubdtype(getattr(key, "dtype", None),
                                                     jax.dtypes.prng_key):
            words = jax.random.key_data(key)
        if self.key is None and key is None:
            raise TypeError("this initializer has no sow key (key=None at construction), so it "
                            "needs a JAX key")
        traced = isinstance(words, jax.core.Tracer)
        if not traced:
            sow_key = self.key if self.key is not None else _key_of_words(np.asarray(words))
            sh = as_sharding(out_sharding)
            check_sharding(dims, sh, "out_sharding")
            return build([self._leaf(sow_key, dims, dt, sh)], self.seed)[0]
        # Traced (under jit): validate now with a memory-less item, fill on the host at run time.
        from ..plan import Plan

        check = Plan(self.seed)
        check.add_buffer(dims, dt, self.spec, key=self.key if self.key is not None else 0)
        check.validate()
        from .._dtypes import numpy_dtype

        out = jax.ShapeDtypeStruct(dims, numpy_dtype(dt))
        arr = jax.pure_callback(lambda w: self._host(dims, dt, w), out,
                                words if self.key is None else np.zeros(2, np.uint32))
        if out_sharding is not None:
            arr = jax.lax.with_sharding_constraint(arr, out_sharding)
        return arr


def from_spec(spec: Any, *, seed: int, key: int | str | None = None) -> Initializer:
    """Any sow spec (``sow.Spec``, ``(name, {params})``, a name) as an initializer callable;
    scaled specs get JAX fans unless they name a ``layout``."""
    return Initializer(spec, seed=seed, key=key)


def variance_scaling(scale: float, mode: str, distribution: str, *, seed: int,
                     key: int | str | None = None) -> Initializer:
    """JAX's ``variance_scaling(scale, mode, distribution)``: variance ``scale / n``, ``n`` the
    fan of ``mode`` (fan_in, fan_out, fan_avg); ``distribution`` "truncated_normal" (cut at ±2σ,
    σ corrected by 0.87962566103423978), "normal" or "uniform" (±sqrt(3·scale/n))."""
    return Initializer(Spec("variance_scaling", scale=scale, mode=mode,
                            distribution=distribution), seed=seed, key=key)


def glorot_uniform(*, seed: int, key: int | str | None = None) -> Initializer:
    """variance_scaling(1, "fan_avg", "uniform") (JAX's ``glorot_uniform``)."""
    return variance_scaling(1.0, "fan_avg", "uniform", seed=seed, key=key)


def glorot_normal(*, seed: int, key: int | str | None = None) -> Initializer:
    """variance_scaling(1, "fan_avg", "truncated_normal") (JAX's ``glorot_normal``)."""
    return variance_scaling(1.0, "fan_avg", "truncated_normal", seed=seed, key=key)


def lecun_uniform(*, seed: int, key: int | str | None = None) -> Initializer:
    """variance_scaling(1, "fan_in", "uniform") (JAX's ``lecun_uniform``)."""
    return variance_scaling(1.0, "fan_in", "uniform", seed=seed, key=key)


def lecun_normal(*, seed: int, key: int | str | None = None) -> Initializer:
    """variance_scaling(1, "fan_in", "truncated_normal") (JAX's ``lecun_normal``, Flax's
    default kernel init)."""
    return variance_scaling(1.0, "fan_in", "truncated_normal", seed=seed, key=key)


def he_uniform(*, seed: int, key: int | str | None = None) -> Initializer:
    """variance_scaling(2, "fan_in", "uniform") (JAX's ``he_uniform``)."""
    return variance_scaling(2.0, "fan_in", "uniform", seed=seed, key=key)


def he_normal(*, seed: int, key: int | str | None = None) -> Initializer:
    """variance_scaling(2, "fan_in", "truncated_normal") (JAX's ``he_normal``)."""
    return variance_scaling(2.0, "fan_in", "truncated_normal", seed=seed, key=key)


xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def uniform(scale: float = 1e-2, *, seed: int, key: int | str | None = None) -> Initializer:
    """U[0, scale) (JAX's ``uniform``: one-sided)."""
    return Initializer(Spec("uniform", a=0.0, b=scale), seed=seed, key=key)


def normal(stddev: float = 1e-2, *, seed: int, key: int | str | None = None) -> Initializer:
    """N(0, stddev²) (JAX's ``normal``)."""
    return Initializer(Spec("normal", mean=0.0, std=stddev), seed=seed, key=key)


def truncated_normal(stddev: float = 1e-2, lower: float = -2.0, upper: float = 2.0, *,
                     seed: int, key: int | str | None = None) -> Initializer:
    """N(0, stddev²) truncated to [lower·stddev, upper·stddev] (JAX's ``truncated_normal``:
    bounds in units of stddev, no variance correction)."""
    return Initializer(Spec("trunc_normal", mean=0.0, std=stddev, a=lower * stddev,
                            b=upper * stddev), seed=seed, key=key)


def constant(value: float, *, seed: int = 0, key: int | str | None = 0) -> Initializer:
    """Every element ``value`` (no random stream; seed and key are irrelevant)."""
    return Initializer(Spec("constant", val=value), seed=seed, key=key)


def zeros(*, seed: int = 0, key: int | str | None = 0) -> Initializer:
    """Zeros (no random stream)."""
    return Initializer("zeros", seed=seed, key=key)


def ones(*, seed: int = 0, key: int | str | None = 0) -> Initializer:
    """Ones (no random stream)."""
    return Initializer("ones", seed=seed, key=key)
