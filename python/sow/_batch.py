"""``init_batch``: initialize many tensors in one call, as one :class:`sow.Plan`.

A model has thousands of biases and norm weights; a launch (or a thread start) per tensor costs
more than filling it. ``init_batch`` takes a list of ``(array, spec, key)`` and runs them as one
plan: host items in one parallel pass, the elementwise items of each CUDA stream in ONE kernel
launch. Every item gets exactly the values of the corresponding in-place call
``sow.<name>_(array, **params, seed=seed, key=key)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from . import _core, _device
from ._dtypes import numpy_dtype, parse_dtype
from ._out import check_out
from ._spec import Spec, as_spec
from ._validate import check_seed, check_shape

__all__ = ["Spec", "init_batch"]  # Spec lives in _spec

#: Initializers whose values are elementwise (one distribution per tensor): batched on a GPU.
#: From sow::init_names() (sow/plan.hpp) through _core.init_table().
ELEMENTWISE: Final = tuple(d["name"] for d in _core.init_table() if d["elementwise"])


#: Keyword arguments of the single calls that are not spec parameters of a plan item.
_PLACEMENT: Final = ("global_shape", "shard", "threads", "stream")


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

    Every item equals ``sow.<name>_(array, **params, seed=seed, key=key)``. The whole batch is
    one :class:`sow.Plan`: every item is checked (in C++) before anything is written, then host
    items are written in one parallel pass, and the elementwise items of each CUDA stream
    (uniform, normal, trunc_normal, xavier_*, kaiming_*, lecun_*, variance_scaling, constant,
    zeros, ones) in ONE kernel launch, ordered on ``stream`` (default: each array library's
    current stream), with eye, dirac, sparse and orthogonal items after them on the same stream.
    ``shard=``/``global_shape=`` in a spec's params work as in the single calls. If ``device``
    is given, every array must live there.
    """
    from ._validate import check_threads
    from .plan import Plan

    s = check_seed(seed)
    dev = _device.parse_device(device)
    dt = parse_dtype(dtype)
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f"items must be a sequence of (array, spec, key), got {type(items).__name__}")
    plan = Plan(s)
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise TypeError(f"items[{i}] must be a triple (array, spec, key), got {item!r}")
        arr, spec_in, key = item
        spec = as_spec(spec_in, f"items[{i}]")
        if isinstance(arr, (int, np.integer, tuple, list)) and not isinstance(arr, bool):
            shape = check_shape(arr, f"items[{i}] shape")
            arr = np.empty(shape, dtype=numpy_dtype(dt)) if dev is None else _device.cuda_empty(shape, dt, dev)
        params = {k: v for k, v in spec.params.items() if k not in _PLACEMENT}
        place = {k: spec.params[k] for k in ("global_shape", "shard") if k in spec.params}
        if "threads" in spec.params:  # values never depend on it; the plan uses every thread
            try:
                check_threads(spec.params["threads"])
            except (TypeError, ValueError) as e:
                raise type(e)(f"items[{i}] ({spec!r}): {e}") from None
        item_stream = spec.params.get("stream")
        if item_stream is None:
            item_stream = stream if _is_cuda(arr) else None
        if dev is not None:
            where = _device_of(arr, i)
            if where != dev:
                what = "host memory" if where is None else f"cuda:{where}"
                raise ValueError(f"items[{i}] lives in {what}, not on device cuda:{dev}")
        plan.add(arr, (spec.name, params), key=key, name=f"{spec!r}", stream=item_stream, **place)
    return plan.execute()


def _device_of(arr: Any, i: int) -> int | None:
    try:
        return check_out(arr).device
    except (TypeError, ValueError) as e:
        raise type(e)(f"items[{i}]: {e}") from None


def _is_cuda(arr: Any) -> bool:
    if isinstance(arr, np.ndarray):
        return False
    try:
        return check_out(arr).device is not None
    except (TypeError, ValueError):
        return False  # reported with its index by the plan
