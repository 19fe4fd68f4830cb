"""``sow.Plan``: many tensors initialized by one call into the C++ engine (``sow/plan.hpp``).

::

    plan = sow.Plan(seed=0)
    for name, p in model.named_parameters():
        plan.add(p, spec_for(name), key=name)
    plan.add_many(norms, "ones", keys=norm_names)   # many outputs, one spec, the loop in C++
    plan.validate()        # every check of every item, nothing written
    plan.execute()         # one parallel pass over all elementwise items, then the others

Every item gets exactly the values of the single in-place call ``sow.<name>_(out, **params,
seed=seed, key=key, global_shape=..., shard=...)``; a plan is only faster (no per-tensor thread
start, no per-tensor Python round trip). Items are checked in Python for their *types* (TypeError
naming the item and parameter); every *value* is checked once, in C++ (ValueError
``items[i] (name): ...``). Nothing is written unless the whole plan is valid.

Targets: host memory (NumPy arrays, torch CPU tensors, DLPack CPU exporters), CUDA memory (CuPy
arrays, torch CUDA tensors, DLPack CUDA exporters: written on their device and stream, the
elementwise items of each stream in one kernel launch), torch meta tensors (validated, never
written, as torch.nn.init is a no-op on meta), and *buffer* items
(:meth:`Plan.add_buffer`): no memory, their C-contiguous bytes produced range by range with
:meth:`Plan.write_range` (for streaming checkpoints).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from . import _core, _torch_rules
from ._dtypes import numpy_dtype, parse_dtype
from ._out import check_out
from ._shard import parse_shard
from ._spec import Spec, spec_parts
from ._validate import check_key, check_seed, check_shape, check_threads, is_int

__all__ = ["Plan", "ItemReport", "INITIALIZERS"]

#: Every initializer a spec may name, with its parameters (name, kind, default, required): the
#: table of the C++ plan (sow::init_names), read from there.
INITIALIZERS: Final = {d["name"]: d for d in _core.init_table()}


@dataclass(frozen=True)
class ItemReport:
    """What :meth:`Plan.validate` found an item to be: its name, the distribution or operation it
    resolved to (e.g. ``"uniform(a=-0.0625, b=0.0625)"`` for a kaiming_uniform), and its bytes."""

    name: str
    spec: str
    bytes: int


def _param(value: Any, kind: str, where: str) -> Any:
    """Type check and conversion of one spec parameter (the value check is the C++ one)."""
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError(f"{where} must be a str, got {type(value).__name__} {value!r}")
        return value
    if kind == "int":
        if not is_int(value):
            raise TypeError(f"{where} must be an int, got {type(value).__name__} {value!r}")
        v = int(value)
        if not -(1 << 63) <= v < (1 << 63):
            raise ValueError(f"{where} = {v} does not fit in 64 bits")
        return v
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where} must be a real number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{where} must be finite, got {value!r}") from None


#: The dtype descriptors _core.Plan.add_arrays reads NumPy arrays of directly (by identity; an
#: array of any other descriptor goes through check_out, which accepts or refuses it).
_NATIVE_DESCRS: list[tuple[np.dtype, str]] | None = None


def _native_descrs() -> list[tuple[np.dtype, str]]:
    global _NATIVE_DESCRS
    if _NATIVE_DESCRS is None:
        names = ("float32", "float64", "float16", "bfloat16")
        _NATIVE_DESCRS = [(numpy_dtype(n), n) for n in names]
    return _NATIVE_DESCRS


_TORCH_NAMES: dict[Any, str] = {}  # torch dtype -> sow dtype name, filled on first use


def _plain_torch_cpu(out: Any,
                     torch: Any) -> tuple[int, str, tuple[int, ...], tuple[int, ...]] | None:
    """(addr, dtype, shape, byte strides) of a dense, writable CPU torch.Tensor/Parameter that
    check_out accepts as it is, its memory checked as check_out checks it; None for any other
    tensor (check_out then accepts or refuses it, with its message)."""
    if not _TORCH_NAMES:
        _TORCH_NAMES.update({torch.float32: "float32", torch.float64: "float64",
                             torch.float16: "float16", torch.bfloat16: "bfloat16"})
    name = _TORCH_NAMES.get(out.dtype)
    if (name is None or out.layout is not torch.strided or out.device.type != "cpu" or out.is_nested
            or out.is_conj() or out.is_neg() or out.is_inference()):
        return None
    item = out.element_size()
    shape = tuple(out.shape)
    strides = tuple(s * item for s in out.stride())
    addr = out.data_ptr()
    _core.check_layout(addr, item, shape, strides)
    return addr, name, shape, strides


def _spec_key(spec: Any) -> Any:
    """A hashable stand-in for ``spec``'s exact value (parameter types included: 1, 1.0 and True
    differ), or None when there is none to make cheaply (then the spec is parsed again)."""
    t = type(spec)
    if t is str:
        return spec
    if t is tuple or t is list:
        if len(spec) != 2:
            return None
        name, params = spec
    elif t is Spec:
        name, params = spec.name, spec.params
    else:
        return None
    if type(name) is not str or not (type(params) is dict or isinstance(params, Mapping)):
        return None
    return (name, tuple([(k, type(v), v) for k, v in params.items()]))


class Plan:
    """Many tensors, one seed, one call. See the module docstring."""

    def __init__(self, seed: int) -> None:
        self._seed = check_seed(seed)
        self._core = _core.Plan(self._seed)
        self._outs: list[Any] = []  # the outputs, kept alive (and returned) in order
        self._bump: list[Any] = []  # the torch tensors execute writes (their version is bumped)
        self._specs: dict[Any, tuple[str, int]] = {}  # _spec_key -> (initializer, _core spec id)

    @property
    def seed(self) -> int:
        return self._seed

    def __len__(self) -> int:
        return len(self._outs)

    def _spec(self, i: int, spec: Any) -> tuple[str, int]:
        """(initializer name, _core spec id) of ``spec``, its types checked once per distinct
        value (TypeError/ValueError naming items[i])."""
        key = _spec_key(spec)
        if key is not None:
            try:
                hit = self._specs.get(key)
            except TypeError:  # an unhashable parameter value
                key = hit = None
            if hit is not None:
                return hit
        label = f"items[{i}]"
        init, params = spec_parts(spec, label)
        table = INITIALIZERS.get(init)
        if table is None:
            raise ValueError(f"{label}: unknown initializer {init!r} (one of {', '.join(INITIALIZERS)})")
        kinds = {p[0]: p[1] for p in table["params"]}
        clean: dict[str, Any] = {}
        for k, v in params.items():
            if k not in kinds:
                raise TypeError(
                    f"{label}: {init} has no parameter {k!r} (its parameters: "
                    f"{', '.join(kinds) or 'none'})"
                )
            if v is None and k in ("fan_in", "fan_out"):
                continue
            clean[k] = _param(v, kinds[k], f"{label}: {k}")
        out = (init, self._core.spec(init, clean))
        if key is not None:
            self._specs[key] = out
        return out

    @staticmethod
    def _name(i: int, name: Any, key: Any) -> str:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"items[{i}]: name must be a str, got {name!r}")
        return name if name is not None else (key if isinstance(key, str) else "")

    @staticmethod
    def _key(i: int, key: Any) -> int:
        try:
            return check_key(key)
        except (TypeError, ValueError) as e:
            raise type(e)(f"items[{i}]: {e}") from None

    def _describe(self, i: int, out: Any, bump: list[Any], init: str,
                  stream: Any = None) -> tuple[Any, ...]:
        """(where, addr, dtype, shape, strides, device, stream) of any output but the NumPy arrays
        that _core reads itself; torch tensors to be written go to ``bump``."""
        try:
            torch = sys.modules.get("torch")
            plain_types = () if torch is None else (torch.Tensor, torch.nn.Parameter)
            if stream is None and type(out) in plain_types:
                plain = _plain_torch_cpu(out, torch)
                if plain is not None:
                    bump.append(out)
                    return ("host",) + plain + (-1, 0)
            buf = check_out(out, stream)
            is_torch = _torch_rules.is_torch_tensor(out)
            if is_torch and not buf.meta:
                _torch_rules.check_writable(out)
        except (TypeError, ValueError) as e:
            raise type(e)(f"items[{i}]: {e}") from None
        where = "none" if buf.meta else "host" if buf.device is None else "device"
        if where == "device":
            self._device_prep(i, buf.device, init)
        if is_torch and not buf.meta:
            bump.append(out)
        return (where, 0 if buf.meta else buf.addr, buf.dtype, buf.shape, buf.strides,
                -1 if buf.device is None else buf.device, buf.stream)

    @staticmethod
    def _warn_empty(init: str, shapes: Any) -> None:
        if init.startswith("kaiming") and any(0 in s for s in shapes):
            warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)

    def add(self, out: Any, spec: Any, *, key: Any = 0, name: str | None = None,
            global_shape: Any = None, shard: Any = None,
            index: Sequence[Sequence[int] | None] | None = None, stream: Any = None) -> int:
        """Add ``out`` (host or CUDA memory, or a torch meta tensor) filled with ``spec``; returns the item's
        index. ``spec``: ``sow.Spec(name, **params)``, ``(name, {params})`` or a bare name.
        ``global_shape``/``shard`` as for the in-place functions; ``index`` (one entry per
        dimension, None or a strictly increasing list of global indices) places a non-contiguous
        shard, e.g. torch's ``_StridedShard`` rows. ``name`` (default: ``key`` when it is a str)
        is used in messages. ``stream`` orders a CUDA item (default: its library's current
        stream)."""
        i = len(self._outs)
        if global_shape is None and shard is None and index is None and stream is None:
            self._name(i, name, key)
            init, sid = self._spec(i, spec)
            if init.startswith("kaiming"):
                self._warn_empty(init, [getattr(out, "shape", ())])
            self._add_arrays([out], init, sid, [key], [name])
            return i
        nm = self._name(i, name, key)
        init, sid = self._spec(i, spec)
        k = self._key(i, key)
        bump: list[Any] = []
        where, addr, dt, shape, strides, device, strm = self._describe(i, out, bump, init, stream)
        gshape, offsets = self._placement(i, shape, global_shape, shard, index)
        idx = self._index(i, index, len(shape))
        if init.startswith("kaiming") and 0 in gshape:
            warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=2)
        self._core.add_item(nm, where, addr, dt, shape, strides, 0, gshape, offsets, idx, sid, k,
                            device, strm)
        self._outs.append(out)
        self._bump += bump
        return i

    def add_many(self, outs: Sequence[Any], spec: Any, *, keys: Sequence[Any],
                 names: Sequence[str | None] | None = None) -> range:
        """Add every output of ``outs``, all filled with ``spec``, ``outs[j]`` with key ``keys[j]``
        and name ``names[j]`` (default: the key when it is a str); returns the items' indices.

        The same as ``add(outs[j], spec, key=keys[j], name=names[j])`` for every ``j``, bit for
        bit, but the loop runs in C++: NumPy arrays are read there directly, and ``spec`` is parsed
        once. All or nothing: an output, key or name that ``add`` would refuse raises its error
        naming the item (``items[len(plan) + j]``) and adds none of them. Unsharded items only
        (use ``add`` for ``global_shape``/``shard``/``index``)."""
        if isinstance(outs, (str, bytes)) or not isinstance(outs, (Sequence, np.ndarray)):
            raise TypeError(f"outs must be a sequence of outputs, got {type(outs).__name__}")
        if isinstance(keys, (str, bytes)) or not isinstance(keys, (Sequence, np.ndarray, range)):
            raise TypeError(f"keys must be a sequence with one key per output, got "
                            f"{type(keys).__name__}")
        outs, keys = list(outs), list(keys)
        if len(keys) != len(outs):
            raise ValueError(f"keys has {len(keys)} entries for {len(outs)} outputs")
        if names is not None:
            if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
                raise TypeError(f"names must be None or a sequence with one name per output, got "
                                f"{type(names).__name__}")
            names = list(names)
            if len(names) != len(outs):
                raise ValueError(f"names has {len(names)} entries for {len(outs)} outputs")
        first = len(self._outs)
        if not outs:
            return range(first, first)
        init, sid = self._spec(first, spec)
        if init.startswith("kaiming"):
            self._warn_empty(init, [getattr(o, "shape", ()) for o in outs])
        self._add_arrays(outs, init, sid, keys, names)
        return range(first, first + len(outs))

    def _add_arrays(self, outs: list[Any], init: str, sid: int, keys: list[Any],
                    names: list[Any] | None) -> None:
        bump: list[Any] = []
        self._core.add_arrays(outs, sid, keys, names, _native_descrs(),
                              lambda i, out: self._describe(i, out, bump, init), self._key)
        self._outs += outs
        self._bump += bump

    def add_buffer(self, shape: Any, dtype: Any, spec: Any, *, key: Any = 0, name: str | None = None,
                   offset: int = 0, global_shape: Any = None, shard: Any = None) -> int:
        """Add an item without memory whose C-contiguous bytes start at byte ``offset`` of an
        output (e.g. a file); :meth:`write_range` produces them. Elementwise, eye and dirac specs."""
        i = len(self._outs)
        nm = self._name(i, name, key)
        init, sid = self._spec(i, spec)
        k = self._key(i, key)
        sizes = check_shape(shape, f"items[{i}] shape")
        dt = parse_dtype(dtype)
        if not is_int(offset) or offset < 0:
            raise TypeError(f"items[{i}]: offset must be an int >= 0, got {offset!r}")
        gshape, offsets = self._placement(i, sizes, global_shape, shard, None)
        self._core.add_item(nm, "buffer", 0, dt, sizes, (), int(offset), gshape, offsets, [], sid,
                            k)
        self._outs.append(None)
        return i

    @staticmethod
    def _device_prep(i: int, device: int, init: str) -> None:
        """A CUDA item: the device must exist (RuntimeError otherwise, as for the single calls),
        and cuSOLVER is loaded now for orthogonal items, before anything is written."""
        from . import _cusolver, _device

        try:
            _device.require_cuda(device)
            if init in ("orthogonal", "delta_orthogonal"):
                _cusolver.load_cusolver()
        except (RuntimeError, ValueError) as e:
            raise type(e)(f"items[{i}]: {e}") from None

    @staticmethod
    def _placement(i: int, sizes: tuple[int, ...], global_shape: Any, shard: Any,
                   index: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if global_shape is None:
            if shard is not None:
                raise ValueError(f"items[{i}]: global_shape is required when shard is given")
            if index is not None:
                raise ValueError(f"items[{i}]: global_shape is required when index is given")
            return (), ()
        gshape = check_shape(global_shape, f"items[{i}] global_shape")
        if shard is None:
            return gshape, ()
        offsets, ssizes = parse_shard(shard, gshape)
        if ssizes != sizes:
            raise ValueError(f"items[{i}]: out.shape {sizes} does not match the shard's sizes "
                             f"{ssizes} (global_shape {gshape})")
        return gshape, offsets

    @staticmethod
    def _index(i: int, index: Any, nd: int) -> list[list[int]]:
        if index is None:
            return []
        if not isinstance(index, Sequence) or len(index) != nd:
            raise TypeError(f"items[{i}]: index must be a sequence with one entry per dimension")
        out = []
        for d, ix in enumerate(index):
            if ix is None:
                out.append([])
                continue
            arr = np.asarray(ix)
            if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
                raise TypeError(f"items[{i}]: index[{d}] must be a sequence of ints")
            out.append([int(v) for v in arr])
        return out

    def item(self, i: int) -> dict[str, Any]:
        """Item ``i`` as it was added: ``name``, ``where`` ("host" | "device" | "none" |
        "buffer"), ``shape`` (local sizes), ``dtype``, ``global_shape`` and ``offsets`` (empty:
        the whole tensor), ``indexed`` (placed by index sets), ``spec``, ``params``, ``key`` (the
        64-bit key; a str key is hashed)."""
        if not is_int(i):
            raise TypeError(f"i must be an int, got {type(i).__name__} {i!r}")
        n = len(self)
        if not -n <= int(i) < n:
            raise IndexError(f"item {i} is not in the plan ({n} items)")
        return dict(self._core.item(int(i) % n))

    def validate(self) -> list[ItemReport]:
        """Every check of every item (ValueError ``items[i] (name): ...``); writes nothing."""
        return [ItemReport(n, s, b) for n, (s, b) in zip(self._core.names(), self._core.validate())]

    def execute(self, threads: int | None = None) -> list[Any]:
        """Validate, then write every host item and enqueue every CUDA item on its stream;
        returns the outputs in order (meta items are returned unwritten, buffer items as None)."""
        self._core.execute(check_threads(threads))
        for out in self._bump:
            _torch_rules.bump_version(out)
        return list(self._outs)

    def write_range(self, item: int, begin: int, end: int, out: Any,
                    threads: int | None = None) -> None:
        """Write bytes ``[begin, end)`` of buffer item ``item`` into ``out`` (a writable buffer of
        at least ``end - begin`` bytes: bytearray, memoryview, mmap, NumPy uint8 array)."""
        if not is_int(item) or not is_int(begin) or not is_int(end):
            raise TypeError("item, begin and end must be ints")
        view = memoryview(out)
        if view.readonly:
            raise ValueError("out is read-only")
        if not view.contiguous:
            raise ValueError("out must be a contiguous buffer")
        if view.nbytes < end - begin:
            raise ValueError(f"out has {view.nbytes} bytes; the range needs {end - begin}")
        arr = np.frombuffer(view.cast("B"), dtype=np.uint8)
        addr = arr.__array_interface__["data"][0] if arr.size else 0
        self._core.write_range(int(item), int(begin), int(end), addr, check_threads(threads))
