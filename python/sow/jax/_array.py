"""``make_array`` and the machinery ``init_tree`` shares with it: shards of a sharding as plan items.

A leaf is placed on the host shard by shard: ``sharding.addressable_devices_indices_map(shape)``
gives each addressable device's index (a tuple of slices of the global array); each distinct
index becomes one NumPy buffer and one :class:`sow.Plan` item with that global shape and shard
(replicas of a shard are filled once), all leaves of one call in one plan (one pass of the C++
engine). ``jax.make_array_from_callback`` then hands each device its buffer; JAX copies it into
device memory (on CPU devices it may alias it).

On CUDA GPUs, when this sow has CUDA kernels and CuPy is installed, each GPU's shard is instead
a CuPy buffer on that GPU and a CUDA item of the same plan (the C++ plan's CUDA backend, one
launch per device and stream), handed to JAX through DLPack without a copy
(``jax.make_array_from_single_device_arrays``). bfloat16 (CuPy has none), the whole-matrix
initializers and any other platform take the host path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import jax
import numpy as np

from .. import _core
from .._dtypes import DTYPE_NAMES, dtype_name_of, numpy_dtype, parse_dtype
from .._spec import spec_parts
from .._validate import check_key, check_shape
from ..plan import INITIALIZERS, Plan

__all__ = ["make_array", "LAYOUTS"]

#: ``"jax"``: the array's own row-major order, JAX fans (kernel ``(*k, in, out)``).
#: ``"torch"``: a kernel ``(*k, in, out)`` holds the torch weight ``(out, in, *k)`` transposed.
LAYOUTS: Final = ("jax", "torch")

#: Initializers whose fans depend on the layout (their table has a ``layout`` parameter).
_HAS_LAYOUT: Final = frozenset(n for n, d in INITIALIZERS.items()
                               if any(p[0] == "layout" for p in d["params"]))


#: Initializers a plan cannot fill shard by shard (sow::init_names' "shardable": false).
_WHOLE: Final = frozenset(n for n, d in INITIALIZERS.items() if not d["shardable"])


def check_layout(layout: Any, name: str = "layout") -> str:
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"{name} must be one of {list(LAYOUTS)}, got {layout!r}")
    return layout


def sow_dtype(dtype: Any, name: str = "dtype") -> str:
    """The sow name of a user dtype (str, NumPy, ml_dtypes or jnp scalar type); float64 only
    with 64-bit JAX (JAX would otherwise truncate it to float32)."""
    if isinstance(dtype, str):
        got = parse_dtype(dtype, name)
    else:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{name} must be one of {', '.join(DTYPE_NAMES)}, got {dtype!r}") \
                from None
        found = dtype_name_of(dt)
        if found is None:
            raise TypeError(f"{name} must be one of {', '.join(DTYPE_NAMES)} (the dtypes sow "
                            f"writes), got {dt}")
        got = found
    if got == "float64" and not jax.config.jax_enable_x64:
        raise TypeError(f"{name} float64 needs 64-bit JAX (jax.config.update('jax_enable_x64', "
                        f"True) or `with jax.enable_x64(True):`); JAX would truncate it to float32")
    return got


def with_layout(spec: Any, layout: str, where: str) -> tuple[str, dict[str, Any]]:
    """``(name, params)`` of ``spec`` with ``layout`` as its fan layout unless it names one."""
    name, params = spec_parts(spec, where)
    if name in _HAS_LAYOUT and "layout" not in params:
        params["layout"] = layout
    return name, params


def torch_axes(ndim: int) -> tuple[int, ...]:
    """The axes of a JAX kernel ``(*k, in, out)`` in torch's weight order ``(out, in, *k)``."""
    if ndim < 2:
        return tuple(range(ndim))
    return (ndim - 1, ndim - 2) + tuple(range(ndim - 2))


def check_sharding(shape: tuple[int, ...], sharding: Any, where: str) -> None:
    """The shapes JAX refuses (a dimension a NamedSharding does not split evenly, a spec longer
    than the shape), with the dimension named, before anything is allocated."""
    if not isinstance(sharding, jax.sharding.Sharding):
        raise TypeError(f"{where}: sharding must be a jax.sharding.Sharding (e.g. NamedSharding) "
                        f"or a jax Device, got {type(sharding).__name__}")
    if isinstance(sharding, jax.sharding.NamedSharding):
        spec = tuple(sharding.spec)
        if len(spec) > len(shape):
            raise ValueError(f"{where}: the PartitionSpec {sharding.spec} has {len(spec)} entries "
                             f"but the shape {shape} has {len(shape)} dimensions")
        sizes = dict(sharding.mesh.shape)
        for d, entry in enumerate(spec):
            if entry is None or entry is jax.sharding.PartitionSpec.UNCONSTRAINED:
                continue
            axes = tuple(entry) if isinstance(entry, (tuple, list)) else (entry,)
            n = math.prod(sizes[a] for a in axes)
            if shape[d] % n:
                raise ValueError(
                    f"{where}: dimension {d} of shape {shape} has size {shape[d]}, which mesh "
                    f"axes {axes} split into {n} shards; JAX refuses uneven shards (size "
                    f"{shape[d]} is not a multiple of {n}: pad it or shard another dimension)")
    try:
        sharding.shard_shape(shape)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{where}: JAX refuses the sharding {sharding} for shape {shape}: {e}") \
            from None


def as_sharding(sharding: Any) -> Any:
    """A Sharding from a Sharding, a Device or None (the default device)."""
    if sharding is None:
        dev = jax.config.jax_default_device
        if dev is None or isinstance(dev, str):
            dev = jax.devices(dev)[0] if isinstance(dev, str) else jax.devices()[0]
        return jax.sharding.SingleDeviceSharding(dev)
    if isinstance(sharding, jax.Device):
        return jax.sharding.SingleDeviceSharding(sharding)
    return sharding


def _box(index: Any, shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(offsets, sizes) of a device index (a tuple of slices, possibly shorter than ndim)."""
    index = tuple(index) if index is not None else ()
    offs, sizes = [], []
    for d, n in enumerate(shape):
        s = index[d] if d < len(index) else slice(None)
        start, stop, step = s.indices(n)
        if step != 1:  # pragma: no cover - JAX shardings give unit steps
            raise ValueError(f"device index {index} has step {step} in dimension {d}")
        offs.append(start)
        sizes.append(max(stop - start, 0))
    return tuple(offs), tuple(sizes)


@dataclass
class Leaf:
    """One array to build: its key, spec, global shape, dtype, sharding, and whether it is a
    JAX kernel laid out as torch's weight; ``buffers`` (box -> host array, filled when the plan
    has run) once added."""

    name: str
    key: Any
    spec: tuple[str, dict[str, Any]]
    shape: tuple[int, ...]
    dtype: str
    sharding: Any
    torch_order: bool = False
    buffers: dict[tuple[tuple[int, ...], tuple[int, ...]], np.ndarray] = field(default_factory=dict)
    on_device: dict[Any, Any] = field(default_factory=dict)  # jax Device -> CuPy buffer

    def add_to(self, plan: Plan, *, device_fill: bool = True) -> None:
        """One plan item per distinct shard (replicas share one buffer); with ``device_fill``,
        one CUDA item per GPU when :func:`_cuda_fill` allows it."""
        npdt = numpy_dtype(self.dtype)
        axes = torch_axes(len(self.shape)) if self.torch_order else tuple(range(len(self.shape)))
        gshape = tuple(self.shape[a] for a in axes)
        where = self.sharding.addressable_devices_indices_map(self.shape)
        if device_fill and self.spec[0] not in _WHOLE and _cuda_fill(where, self.dtype):
            from .._device import cuda_empty

            for dev, index in where.items():
                box = _box(index, self.shape)
                buf = cuda_empty(box[1], self.dtype, int(dev.local_hardware_id))
                view = buf.transpose(axes) if self.torch_order else buf
                plan.add(view, self.spec, key=self.key, name=self.name, global_shape=gshape,
                         shard=(tuple(box[0][a] for a in axes), view.shape))
                self.on_device[dev] = buf
            return
        boxes = {_box(i, self.shape) for i in where.values()}
        if self.spec[0] in _WHOLE and boxes != {((0,) * len(self.shape), self.shape)}:
            # Every value depends on the whole matrix (orthogonal's QR): the whole array once on
            # this host, each shard a slice of it.
            full = np.empty(self.shape, dtype=npdt)
            view = full.transpose(axes) if self.torch_order else full
            plan.add(view, self.spec, key=self.key, name=self.name, global_shape=gshape)
            for box in boxes:
                self.buffers[box] = full[tuple(slice(o, o + n) for o, n in zip(*box))]
            return
        for box in sorted(boxes):
            buf = np.empty(box[1], dtype=npdt)
            view = buf.transpose(axes) if self.torch_order else buf
            offs = tuple(box[0][a] for a in axes)
            plan.add(view, self.spec, key=self.key, name=self.name, global_shape=gshape,
                     shard=(offs, view.shape))
            self.buffers[box] = buf

    def assemble(self) -> Any:
        """The jax.Array: each device gets its shard's buffer."""
        if self.on_device:
            shards = [_to_jax(b, dev) for dev, b in self.on_device.items()]
            return jax.make_array_from_single_device_arrays(self.shape, self.sharding, shards)
        return jax.make_array_from_callback(
            self.shape, self.sharding, lambda index: self.buffers[_box(index, self.shape)],
            dtype=numpy_dtype(self.dtype))


def _to_jax(buf: Any, device: Any) -> Any:
    """A CuPy buffer filled on ``device`` as a single-device jax.Array, without a copy (DLPack
    orders JAX's use after the fill on the buffer's stream)."""
    return jax.dlpack.from_dlpack(buf)


def _is_cuda_gpu(d: Any) -> bool:
    """A JAX device that is an NVIDIA GPU under CUDA (not ROCm, not a CPU or TPU)."""
    if d.platform != "gpu":
        return False
    version = str(getattr(getattr(d, "client", None), "platform_version", "")).lower()
    return "cuda" in version or "NVIDIA" in str(getattr(d, "device_kind", ""))


def _cuda_fill(where: Any, dtype: str) -> bool:
    """Whether the shards on ``where``'s devices can be filled in GPU memory: every device a
    CUDA GPU, sow built with CUDA, CuPy importable, and a dtype CuPy has."""
    import importlib.util

    return bool(where) and dtype != "bfloat16" and bool(getattr(_core, "has_cuda", False)) \
        and all(_is_cuda_gpu(d) for d in where) and importlib.util.find_spec("cupy") is not None


def build(leaves: Sequence[Leaf], seed: int, threads: int | None = None) -> list[Any]:
    """Every shard of every leaf in one plan (every check before any write), then the arrays."""
    plan = Plan(seed)
    for leaf in leaves:
        leaf.add_to(plan)
    plan.execute(threads)
    return [leaf.assemble() for leaf in leaves]


def make_array(spec: Any, shape: Any, sharding: Any, *, seed: int, key: int | str,
               dtype: Any = "float32", layout: str = "jax", threads: int | None = None) -> Any:
    """A ``jax.Array`` of ``shape`` with ``sharding``, holding ``spec``'s values for (seed, key).

    Built with ``jax.make_array_from_callback``: each addressable device's index (a tuple of
    slices) is filled by sow as that shard of the global tensor, so the gathered array equals
    ``sow.<spec>(shape, ..., seed=seed, key=key, dtype=dtype)`` bit for bit whatever the mesh and
    PartitionSpec. Fans come from the global shape.

    * ``spec``: ``sow.Spec``, ``(name, {params})`` or a name (``"xavier_uniform"``, ``"normal"``...).
    * ``sharding``: a ``jax.sharding.Sharding`` (``NamedSharding(mesh, P("x", "y"))``, ...), a
      ``jax.Device``, or None (the default device).
    * ``dtype``: float32 (default), float64 (needs ``jax_enable_x64``), float16, bfloat16.
    * ``layout``: ``"jax"`` (default): values in this array's row-major order, fans of a kernel
      ``(*k, in, out)`` (``fan_in = in * prod(k)``); ``"torch"``: the array is a kernel
      ``(*k, in, out)`` holding torch's weight ``(out, in, *k)`` (the values
      ``sow.<spec>((out, in, *k), ..., layout="torch")`` would give, axes moved), so a Flax layer
      gets the values of the torch layer with the same key. A spec's own ``layout`` parameter
      still decides its fans.
    * ``threads``: never changes the values.

    A dimension a NamedSharding does not split evenly raises ``ValueError`` naming it (JAX
    refuses uneven shards); bad specs raise the single calls' errors; nothing is allocated on a
    device before every check has passed.
    """
    dims = check_shape(shape)
    lay = check_layout(layout)
    dt = sow_dtype(dtype)
    name = key if isinstance(key, str) else f"key {key}"
    check_key(key)
    sh = as_sharding(sharding)
    check_sharding(dims, sh, "make_array")
    leaf = Leaf(name, key, with_layout(spec, lay, "make_array"), dims, dt, sh,
                torch_order=lay == "torch")
    return build([leaf], seed, threads)[0]
