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

import inspect
import threading
from typing import Any, Callable

import numpy as np

from . import init as _init
from ._validate import check_key, check_seed
from .init import Key  # noqa: F401  (named in generated signatures)

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


def _method(name: str) -> Callable[..., Any]:
    """``Generator.<name>``: ``sow.<name>`` with the generator's seed and an optional key."""
    fn = getattr(_init, name)
    sig = inspect.signature(fn)
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
    for p in sig.parameters.values():
        if p.name == "seed":
            continue
        params.append(p.replace(default=None, annotation="Key | None") if p.name == "key" else p)

    def method(self: Generator, *args: Any, key: Any = None, **kwargs: Any) -> Any:
        return self._call(fn, key, *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"Generator.{name}"
    method.__doc__ = (
        f"Like :func:`sow.{name}` with this generator's seed; uses the next counter key unless "
        f"``key`` is given.\n\n{fn.__doc__ or ''}"
    )
    method.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return method


# One method per random initializer and its in-place form, generated from the module-level
# functions so that signatures, defaults and docs cannot drift apart.
for _name in _init.RANDOM_INITIALIZERS:
    for _n in (_name, _name + "_"):
        setattr(Generator, _n, _method(_n))
del _name, _n
