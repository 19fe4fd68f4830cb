"""``init_batch``: initialize many tensors in one call (one kernel launch on a GPU).

A model has thousands of biases and norm weights; a launch per tensor costs more than filling
it. ``init_batch`` takes a list of ``(array, spec, key)`` and fills every elementwise item of a
CUDA device with ONE launch (``_core.fill_cuda_batch``); host items are filled by the CPU
engine, one call each. Every item gets exactly the values of the corresponding in-place call
``sow.<name>_(array, **params, seed=seed, key=key)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from . import _core, _device, _fill, _planning, _torch_rules
from ._dtypes import numpy_dtype, parse_dtype
from ._out import check_out
from ._validate import check_key, check_seed, check_shape

__all__ = ["Spec", "init_batch"]

#: Initializers whose values are elementwise (one distribution per tensor): batched on a GPU.
#: From sow::init_names() (sow/plan.hpp) through _core.init_table().
ELEMENTWISE: Final = tuple(d["name"] for d in _core.init_table() if d["elementwise"])


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


def _as_spec(spec: Any, i: int) -> Spec:
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, str):
        return Spec(spec)
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str) \
            and isinstance(spec[1], Mapping):
        return Spec(spec[0], **dict(spec[1]))
    raise TypeError(
        f"items[{i}]: the spec must be a sow.Spec, a name, or a pair (name, {{params}}), "
        f"got {spec!r}"
    )


def _inplace(name: str, i: int) -> Any:
    from . import init

    fn = getattr(init, name + "_", None) if name in init.__all__ else None
    if fn is None:
        raise ValueError(f"items[{i}]: unknown initializer {name!r}")
    return fn


def _plan(fn: Any, arr: Any, params: Mapping[str, Any], keyed: Mapping[str, Any],
          stream: Any) -> Any:
    """Runs the in-place form ``fn`` as a planning run (sow._planning): every check of the single
    call, including the engine's value checks, and no write. Returns the elementwise record
    ``(target, dist, params, seed, key, threads)``, or None for the other initializers."""
    with _planning.planning() as rec:
        fn(arr, **params, **keyed, **({"stream": stream} if stream is not None else {}))
    if len(rec) != 1:  # pragma: no cover - every initializer records exactly once
        raise AssertionError(f"{fn.__name__} recorded {len(rec)} entries")
    return None if rec[0][0] == _planning.VALIDATED else rec[0]


def init_batch(
    items: Sequence[Any], *, seed: int, device: Any = None, stream: Any = None,
    dtype: Any = "float32",
) -> list[Any]:
    """Initialize many tensors at once; returns the filled arrays, in order.

    ``items``: a sequence of ``(array, spec, key)``:

    * ``array``: an output any in-place form accepts (NumPy/CuPy array, torch tensor, DLPack
      exporter), or a shape (int or tuple of ints) to allocate one of ``dtype`` on ``device``
      (NumPy when ``device`` is None, CuPy on ``"cuda"``/``"cuda:N"``);
    * ``spec``: ``sow.Spec("xavier_uniform", gain=1.0)``, ``("xavier_uniform", {"gain": 1.0})``
      or a bare name such as ``"zeros"``;
    * ``key``: the item's key (int or str), as for the single-tensor calls.

    Every item equals ``sow.<name>_(array, **params, seed=seed, key=key)``. All CUDA items of
    the elementwise initializers (uniform, normal, trunc_normal, xavier_*, kaiming_*, lecun_*,
    variance_scaling, constant, zeros, ones) are filled by ONE kernel launch, ordered on
    ``stream`` (default: the current stream of the first CUDA item's library); host items go
    through the CPU engine. Those items are planned by the single-call code itself (run in a
    recording mode that validates and computes, but writes nothing), all before anything is
    written. Items of eye, dirac, sparse (and any other initializer) are then run one call each.
    ``shard=``/``global_shape=`` in a spec's params work as in the single calls. If ``device``
    is given, every array must live there.
    """
    s = check_seed(seed)
    dev = _device.parse_device(device)
    dt = parse_dtype(dtype)
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f"items must be a sequence of (array, spec, key), got {type(items).__name__}")
    if dev is None and not any(_is_cuda_item(item) for item in items):
        return _host_plan(items, s, dt)
    plans: list[tuple[int, Any, int, str, tuple[float, ...], int]] = []
    later: list[tuple[int, Any, Spec, Any]] = []
    results: list[Any] = [None] * len(items)
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise TypeError(f"items[{i}] must be a triple (array, spec, key), got {item!r}")
        arr, spec_in, key = item
        spec = _as_spec(spec_in, i)
        fn = _inplace(spec.name, i)
        k = check_key(key)
        if isinstance(arr, (int, np.integer, tuple, list)) and not isinstance(arr, bool):
            shape = check_shape(arr, f"items[{i}] shape")
            if dev is None:
                arr = np.empty(shape, dtype=numpy_dtype(dt))
            else:
                arr = _device.cuda_empty(shape, dt, dev)
        buf = check_out(arr, stream)
        if dev is not None and buf.device != dev:
            where = "host memory" if buf.device is None else f"cuda:{buf.device}"
            raise ValueError(f"items[{i}] lives in {where}, not on device cuda:{dev}")
        results[i] = buf.array
        keyed = {"seed": s, "key": k} if _takes_seed(fn) else {}
        try:
            inspect.signature(fn).bind(arr, **spec.params, **keyed)
        except TypeError as e:
            raise TypeError(f"items[{i}] ({spec!r}): {e}") from None
        try:
            planned = _plan(fn, arr, spec.params, keyed, stream if buf.device is not None else None)
        except (TypeError, ValueError) as e:
            raise type(e)(f"items[{i}] ({spec!r}): {e}") from e
        if buf.meta:  # torch meta tensor: validated, nothing to write
            continue
        if planned is None or spec.name not in ELEMENTWISE:
            later.append((i, fn, spec, k))
            continue
        t, dist, params, _, _, th = planned
        plans.append((i, t, th, dist, params, k))

    # One launch per CUDA device for the device items; the CPU engine for host items.
    by_device: dict[int, list[Any]] = {}
    for _, t, th, dist, params, k in plans:
        buf = t.buf
        if buf.size == 0:
            continue
        if buf.device is None:
            _fill.fill(buf, t.global_shape, t.offsets, dist, params, s, k, th)
        else:
            by_device.setdefault(buf.device, []).append(
                (buf.addr, buf.dtype, buf.shape, buf.strides, t.global_shape, t.offsets, dist,
                 params, k, _fill.DOMAIN_VALUES, buf.stream))
    for d, group in by_device.items():
        _core.fill_cuda_batch([g[:-1] for g in group], s, group[0][-1], d)
    for _, t, _, _, _, _ in plans:
        _torch_rules.bump_version(t.buf.array)
    for i, fn, spec, k in later:
        arr = results[i]
        extra = {"stream": stream} if _takes_stream(fn) and _is_cuda(arr) else {}
        keyed = {"seed": s, "key": k} if _takes_seed(fn) else {}
        results[i] = fn(arr, **spec.params, **keyed, **extra)
    return results


def _threads(th: Any) -> int:
    from ._validate import check_threads

    return check_threads(th)


def _takes_seed(fn: Any) -> bool:
    return "seed" in inspect.signature(fn).parameters


def _takes_stream(fn: Any) -> bool:
    return "stream" in inspect.signature(fn).parameters


def _is_cuda(arr: Any) -> bool:
    return not isinstance(arr, np.ndarray) and check_out(arr).device is not None


def _is_cuda_item(item: Any) -> bool:
    arr = item[0] if isinstance(item, (tuple, list)) and len(item) == 3 else None
    if arr is None or isinstance(arr, (np.ndarray, int, np.integer, tuple, list)):
        return False
    try:
        return check_out(arr).device is not None
    except (TypeError, ValueError):
        return False  # reported with its index by the host plan


#: Keyword arguments of the single calls that are not spec parameters of a plan item.
_PLACEMENT: Final = ("global_shape", "shard", "threads", "stream")


def _host_plan(items: Sequence[Any], seed: int, dtype: str) -> list[Any]:
    """Host memory only: one sow.Plan (C++ validates every item, then one parallel pass)."""
    from ._validate import check_threads
    from .plan import Plan

    plan = Plan(seed)
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise TypeError(f"items[{i}] must be a triple (array, spec, key), got {item!r}")
        arr, spec_in, key = item
        spec = _as_spec(spec_in, i)
        if isinstance(arr, (int, np.integer, tuple, list)) and not isinstance(arr, bool):
            arr = np.empty(check_shape(arr, f"items[{i}] shape"), dtype=numpy_dtype(dtype))
        params = {k: v for k, v in spec.params.items() if k not in _PLACEMENT}
        place = {k: spec.params[k] for k in ("global_shape", "shard") if k in spec.params}
        if "threads" in spec.params:  # values never depend on it; the plan uses every thread
            try:
                check_threads(spec.params["threads"])
            except (TypeError, ValueError) as e:
                raise type(e)(f"items[{i}] ({spec!r}): {e}") from None
        if "stream" in spec.params and spec.params["stream"] is not None:
            raise ValueError(f"items[{i}] ({spec!r}): stream= applies to CUDA outputs")
        plan.add(arr, (spec.name, params), key=key, name=f"{spec!r}", **place)
    return plan.execute()
