"""``Generator``: a seed plus a key counter, so successive initializations never repeat.

::

    g = sow.Generator(seed=1234)
    g.xavier_uniform_(w1)          # key 0
    g.xavier_uniform_(w2)          # key 1: different values from w1
    g.normal_(b, key="head.bias")  # a named key; does not advance the counter

Call ``i`` (counting from 0, in call order) of a generator uses integer key ``i``: it gives
exactly ``sow.f(..., seed=g.seed, key=i)``. A call that raises (bad arguments) does not use up a
key. Named keys (``key="layers.0.w"`` or an int) use that key and leave the counter alone; note
an explicit int key can coincide with a counter key.

A generator is safe to share between threads: each call reserves its key under a lock.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

from . import init as _init
from ._validate import check_key, check_seed
from .init import DType, Key, Real, Shape, Shard

__all__ = ["Generator"]


class Generator:
    """A seed and a key counter; every random initializer of :mod:`sow` as a method.

    ``Generator(seed)`` with seed an int in [0, 2**64). Methods take the same arguments as the
    module-level functions minus ``seed``; ``key`` is optional: omitted, the call uses the next
    counter key (0, 1, 2, ... in call order) and advances the counter; given (str or int), the
    call uses it and the counter does not move.
    """

    __slots__ = ("_seed", "_next", "_lock")

    def __init__(self, seed: int) -> None:
        self._seed = check_seed(seed)
        self._next = 0
        self._lock = threading.Lock()

    @property
    def seed(self) -> int:
        """The generator's seed."""
        return self._seed

    @property
    def position(self) -> int:
        """The key the next counter-keyed call will use (= the number of keys used so far)."""
        return self._next

    def next_key(self) -> int:
        """Reserve and return the next counter key (advances the counter by one).

        Use it to key work of your own: ``sow.normal(shape, seed=g.seed, key=g.next_key())``.
        """
        with self._lock:
            k = self._next
            self._next += 1
            return k

    def __repr__(self) -> str:
        return f"sow.Generator(seed={self._seed}, position={self._next})"

    def _call(
        self, fn: Callable[..., np.ndarray], key: Any, *args: Any, **kwargs: Any
    ) -> np.ndarray:
        if key is not None:
            check_key(key)
            return fn(*args, seed=self._seed, key=key, **kwargs)
        # Hold the lock for the whole call: the key is used only if the call succeeds, and no
        # other thread can take the same key meanwhile. (_core releases the GIL while filling.)
        with self._lock:
            result = fn(*args, seed=self._seed, key=self._next, **kwargs)
            self._next += 1
            return result

    def uniform(
        self,
        shape: Shape,
        a: Real = 0.0,
        b: Real = 1.0,
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
    ) -> np.ndarray:
        """Like :func:`sow.uniform`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.uniform, key, shape, a, b, dtype=dtype, shard=shard, threads=threads,
        )

    def uniform_(
        self,
        out: np.ndarray,
        a: Real = 0.0,
        b: Real = 1.0,
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
    ) -> np.ndarray:
        """Like :func:`sow.uniform_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.uniform_, key, out, a, b, global_shape=global_shape, shard=shard,
            threads=threads,
        )

    def normal(
        self,
        shape: Shape,
        mean: Real = 0.0,
        std: Real = 1.0,
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
    ) -> np.ndarray:
        """Like :func:`sow.normal`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.normal, key, shape, mean, std, dtype=dtype, shard=shard, threads=threads,
        )

    def normal_(
        self,
        out: np.ndarray,
        mean: Real = 0.0,
        std: Real = 1.0,
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
    ) -> np.ndarray:
        """Like :func:`sow.normal_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.normal_, key, out, mean, std, global_shape=global_shape, shard=shard,
            threads=threads,
        )

    def trunc_normal(
        self,
        shape: Shape,
        mean: Real = 0.0,
        std: Real = 1.0,
        a: Real = -2.0,
        b: Real = 2.0,
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
    ) -> np.ndarray:
        """Like :func:`sow.trunc_normal`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.trunc_normal, key, shape, mean, std, a, b, dtype=dtype, shard=shard,
            threads=threads,
        )

    def trunc_normal_(
        self,
        out: np.ndarray,
        mean: Real = 0.0,
        std: Real = 1.0,
        a: Real = -2.0,
        b: Real = 2.0,
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
    ) -> np.ndarray:
        """Like :func:`sow.trunc_normal_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.trunc_normal_, key, out, mean, std, a, b, global_shape=global_shape, shard=shard,
            threads=threads,
        )

    def xavier_uniform(
        self,
        shape: Shape,
        gain: Real = 1.0,
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.xavier_uniform`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.xavier_uniform, key, shape, gain, dtype=dtype, shard=shard, threads=threads,
            fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def xavier_uniform_(
        self,
        out: np.ndarray,
        gain: Real = 1.0,
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.xavier_uniform_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.xavier_uniform_, key, out, gain, global_shape=global_shape, shard=shard,
            threads=threads, fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def xavier_normal(
        self,
        shape: Shape,
        gain: Real = 1.0,
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.xavier_normal`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.xavier_normal, key, shape, gain, dtype=dtype, shard=shard, threads=threads,
            fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def xavier_normal_(
        self,
        out: np.ndarray,
        gain: Real = 1.0,
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.xavier_normal_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.xavier_normal_, key, out, gain, global_shape=global_shape, shard=shard,
            threads=threads, fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def kaiming_uniform(
        self,
        shape: Shape,
        a: Real = 0.0,
        mode: str = "fan_in",
        nonlinearity: str = "leaky_relu",
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.kaiming_uniform`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.kaiming_uniform, key, shape, a, mode, nonlinearity, dtype=dtype, shard=shard,
            threads=threads, fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def kaiming_uniform_(
        self,
        out: np.ndarray,
        a: Real = 0.0,
        mode: str = "fan_in",
        nonlinearity: str = "leaky_relu",
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.kaiming_uniform_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.kaiming_uniform_, key, out, a, mode, nonlinearity, global_shape=global_shape,
            shard=shard, threads=threads, fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def kaiming_normal(
        self,
        shape: Shape,
        a: Real = 0.0,
        mode: str = "fan_in",
        nonlinearity: str = "leaky_relu",
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.kaiming_normal`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.kaiming_normal, key, shape, a, mode, nonlinearity, dtype=dtype, shard=shard,
            threads=threads, fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def kaiming_normal_(
        self,
        out: np.ndarray,
        a: Real = 0.0,
        mode: str = "fan_in",
        nonlinearity: str = "leaky_relu",
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.kaiming_normal_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.kaiming_normal_, key, out, a, mode, nonlinearity, global_shape=global_shape,
            shard=shard, threads=threads, fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def lecun_uniform(
        self,
        shape: Shape,
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.lecun_uniform`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.lecun_uniform, key, shape, dtype=dtype, shard=shard, threads=threads,
            fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def lecun_uniform_(
        self,
        out: np.ndarray,
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.lecun_uniform_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.lecun_uniform_, key, out, global_shape=global_shape, shard=shard,
            threads=threads, fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def lecun_normal(
        self,
        shape: Shape,
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.lecun_normal`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.lecun_normal, key, shape, dtype=dtype, shard=shard, threads=threads,
            fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def lecun_normal_(
        self,
        out: np.ndarray,
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.lecun_normal_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.lecun_normal_, key, out, global_shape=global_shape, shard=shard, threads=threads,
            fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def variance_scaling(
        self,
        shape: Shape,
        scale: Real = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.variance_scaling`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.variance_scaling, key, shape, scale, mode, distribution, dtype=dtype,
            shard=shard, threads=threads, fan_in=fan_in, fan_out=fan_out, layout=layout,
        )

    def variance_scaling_(
        self,
        out: np.ndarray,
        scale: Real = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
        layout: str = "torch",
    ) -> np.ndarray:
        """Like :func:`sow.variance_scaling_`; uses the next counter key unless ``key`` given."""
        return self._call(
            _init.variance_scaling_, key, out, scale, mode, distribution,
            global_shape=global_shape, shard=shard, threads=threads, fan_in=fan_in,
            fan_out=fan_out, layout=layout,
        )

    def sparse(
        self,
        shape: Shape,
        sparsity: Real,
        std: Real = 0.01,
        *,
        key: Key | None = None,
        dtype: DType = "float32",
        shard: Shard = None,
        threads: int | None = None,
    ) -> np.ndarray:
        """Like :func:`sow.sparse`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.sparse, key, shape, sparsity, std, dtype=dtype, shard=shard, threads=threads,
        )

    def sparse_(
        self,
        out: np.ndarray,
        sparsity: Real,
        std: Real = 0.01,
        *,
        key: Key | None = None,
        global_shape: Shape | None = None,
        shard: Shard = None,
        threads: int | None = None,
    ) -> np.ndarray:
        """Like :func:`sow.sparse_`; uses the next counter key unless ``key`` is given."""
        return self._call(
            _init.sparse_, key, out, sparsity, std, global_shape=global_shape, shard=shard,
            threads=threads,
        )
