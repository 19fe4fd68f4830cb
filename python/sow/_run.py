"""Where a public call writes, and the one way it writes: a one-item plan.

Every public function of sow (``init.py``, ``_orthogonal.py``) checks its arguments' *types*,
builds its spec (an initializer name of ``sow::init_names()`` and its parameters by torch's
names) and ends in :func:`run`, one call of ``_core.run_item`` (``sow::run_item``,
sow/plan.hpp): every *value* check and message is the C++ plan's, made once, and then its
writes (host memory by the CPU engine, CUDA memory on the output's device and stream). A
``sow.Plan`` of many items runs exactly the same checks and writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core, _cusolver, _device
from ._dtypes import numpy_dtype, parse_dtype
from ._out import OutBuffer, check_out
from ._shard import parse_shard
from ._validate import check_key, check_seed, check_shape, check_threads

__all__ = ["Target", "new_target", "into_target", "run"]


@dataclass(frozen=True)
class Target:
    global_shape: tuple[int, ...]
    offsets: tuple[int, ...]
    sizes: tuple[int, ...]
    dtype: str
    buf: OutBuffer | None  # None: allocate on materialize()
    #: where materialize() allocates: _device.HOST = NumPy, (True, N or None) = CuPy on cuda:N
    #: (None: the current device), resolved only then, so argument errors come first
    device: tuple[bool, int | None] = _device.HOST

    @property
    def on_device(self) -> bool:
        return self.buf.device is not None if self.buf is not None else self.device[0]

    def materialize(self) -> OutBuffer:
        if self.buf is not None:
            return self.buf
        if self.device[0]:
            dev = _device.resolve_device(self.device[1])
            return check_out(_device.cuda_empty(self.sizes, self.dtype, dev))
        return check_out(np.empty(self.sizes, dtype=numpy_dtype(self.dtype)))


def new_target(shape: Any, dtype: Any, shard: Any, device: Any = None) -> Target:
    gshape = check_shape(shape)
    name = parse_dtype(dtype)
    offsets, sizes = parse_shard(shard, gshape)
    dev = _device.parse_device_syntax(device)
    if dev[0] and name == "bfloat16":
        _device.cuda_empty((0,), name, 0)  # raises: CuPy has no bfloat16
    return Target(gshape, offsets, sizes, name, None, dev)


def into_target(out: Any, global_shape: Any, shard: Any, stream: Any = None) -> Target:
    buf = check_out(out, stream)
    if shard is None:
        if global_shape is None:
            gshape = check_shape(buf.shape, "out.shape")
        else:
            gshape = check_shape(global_shape, "global_shape")
            if gshape != buf.shape:
                raise ValueError(
                    f"global_shape {gshape} differs from out.shape {buf.shape}; pass shard= to "
                    f"fill a block of a larger tensor"
                )
        return Target(gshape, (0,) * len(gshape), gshape, buf.dtype, buf)
    if global_shape is None:
        raise ValueError("global_shape is required when shard is given")
    gshape = check_shape(global_shape, "global_shape")
    offsets, sizes = parse_shard(shard, gshape)
    if sizes != buf.shape:
        raise ValueError(
            f"out.shape {buf.shape} does not match the shard's sizes {sizes} "
            f"(global_shape {gshape})"
        )
    return Target(gshape, offsets, sizes, buf.dtype, buf)


def _where(buf: OutBuffer) -> str:
    if buf.meta:
        return "none"
    return "host" if buf.device is None else "device"


def run(t: Target, init: str, params: dict[str, Any], seed: Any = 0, key: Any = 0,
         threads: Any = None) -> Any:
    """Every public function ends here: ``init(**params)`` on ``t`` as a one-item plan
    (``sow::run_item``, sow/plan.hpp): the plan's checks and messages, then its writes, in one
    call. An allocating call is checked as a memory-less item first, so nothing is allocated for
    a call that will be refused; a torch meta tensor is only checked (torch.nn.init is a no-op on
    meta)."""
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    buf = t.buf
    warn = init.startswith("kaiming") and 0 in t.global_shape
    if buf is None or warn:  # check first: allocate nothing (and warn only) for a valid call
        _core.run_item("none", 0, t.dtype, t.sizes, (), t.global_shape, t.offsets, init, params,
                       k, s, th, False)
    if warn:  # as torch's kaiming_*: "Initializing zero-element tensors is a no-op"
        import warnings

        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
    if buf is None:
        buf = t.materialize()
    if buf.device is not None and not buf.meta:
        _device.require_cuda(buf.device)
        if init in ("orthogonal", "delta_orthogonal"):
            _cusolver.load_cusolver()
    _core.run_item(_where(buf), 0 if buf.meta else buf.addr, buf.dtype, buf.shape, buf.strides,
                   t.global_shape, t.offsets, init, params, k, s, th, not buf.meta,
                   -1 if buf.device is None else buf.device, buf.stream)
    return buf.array
