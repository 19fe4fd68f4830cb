"""Running a module's own init code with torch.nn.init routed through sow.

Init code (``reset_parameters``, Hugging Face's ``_init_weights``, a model's ``init_weights``) is
run against *stand-ins*: every parameter and buffer of the module is temporarily replaced by a
meta tensor of its global shape and dtype (so fan computations see global shapes, also for
DTensors, and nothing is allocated or written). What the code does to a stand-in is recorded,
keyed by the tensor's fully-qualified name; the last whole-tensor write wins, as it would in torch:

* the init functions of ``torch.nn.init`` (patched in ``torch.nn.init`` and every loaded
  ``torch.nn.*`` module that imported them by name) and of ``transformers.initialization``
  (its functions and ``TORCH_INIT_FUNCTIONS``) record the sow spec of the same name and
  parameters: ``normal_(w, 0, 0.02)`` -> ``("normal", {"mean": 0, "std": 0.02})``;
* tensor methods, seen at the aten level (a ``TorchDispatchMode``): ``normal_``, ``uniform_``,
  ``fill_``, ``zero_`` record the same specs; ``copy_`` from a computed value records that value
  (e.g. a recomputed RoPE ``inv_freq``); a constant or a copy into a *slice*
  (``weight[padding_idx].zero_()``) is recorded as a deterministic write done after the fill;
* assigning a new tensor to a buffer or parameter attribute records a copy of its value;
* values made from arguments alone "on the tensor's device" (``torch.arange(n,
  device=p.device)``, ``zeros_like(p)``, ``x.to(p.device)``) are made on the CPU, not on the
  stand-ins' meta device, so that a copy of what init code computes from them is recorded
  (Mamba's ``A_log = log(arange(...))``); whatever also involves a stand-in stays meta;
* a value computed *elementwise* from one random draw and copied whole into a tensor: the draw
  becomes the tensor's spec and the function a "map" write after the fill. The draw is either
  the tensor's own routed init (Kimi-Linear's ``A_log.copy_(uniform_(A_log, 1, 16).log())``, a
  rescale ``p.copy_(p / s)``) or a fresh draw of torch's RNG (``torch.rand``/``randn``/
  ``*_like``, ``torch.empty(n, device=p.device).uniform_(a, b)``: Mamba's time-step bias
  ``inv_softplus(exp(rand(n) * ...))``, Qwen3-Next's ``A_log``), which sow draws instead, keyed
  by the tensor's name. The function is made of pointwise ops and scalars, so each shard maps
  alone.

A slot may be given a *discarded* stand-in of its own: what init code does through it is
recorded apart (``Recorder.dropped``) and never refused. ``init_module_`` gives one to each name
of a tied tensor other than its tie source, so the tensor gets what its source's module does, as
in a model built untied, initialized, then tied (transformers' ``from_config``: ``lm_head``'s
``normal_`` lands on a tensor the tie then drops, and the padding row of the embedding stays
zero). Where the source's module sets nothing, the tie held from construction (a RoBERTa-style LM
head's ``bias``, the same tensor as its ``decoder.bias``) and the dropped record is used.

What cannot be routed is listed by name, never left to torch's RNG: a random init of a slice, any
other in-place op on a stand-in (``mul_``, ``clamp_``, ...), a copy of a value computed from an
uninitialized tensor, a draw used otherwise than elementwise into one whole tensor (sorted,
reshaped, copied into a slice or into a second tensor), and any other use of torch's RNG
(``randint``, ``randperm``, ``bernoulli_``, ...).

:func:`patch_init` is the public context manager; :func:`init_module_` uses the same machinery.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten as _flatten
from torch.utils._pytree import tree_leaves as _leaves
from torch.utils._pytree import tree_map as _tree_map
from torch.utils._pytree import tree_unflatten as _unflatten

import sow

__all__ = ["patch_init", "Recorder", "Record", "Geometry", "whole_geometry", "stand_ins",
           "INIT_FUNCTIONS", "apply_writes"]

#: torch.nn.init functions routed to the sow initializer of the same name (without the "_").
INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
                  "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                  "kaiming_normal_", "orthogonal_", "sparse_")
_CONSTANT_SPECS = ("zeros", "ones", "constant")
_REDRAWN = (torch.float32, torch.float64)  # a draw finer than its tensor: made again unrounded


_FAN_SPECS = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")
_SHAPE_FREE = ("normal", "uniform", "trunc_normal") + _CONSTANT_SPECS


def _every_element_once(geo: "Geometry", shape: tuple[int, ...]) -> bool:
    """Whether a view of a contiguous tensor of ``shape`` holds each of its elements exactly
    once: its strides, sorted, make a contiguous layout of the same number of elements."""
    if geo.offset != 0 or math.prod(geo.sizes) != math.prod(shape):
        return False
    acc = 1
    for stride, size in sorted((st, sz) for sz, st in zip(geo.sizes, geo.strides) if sz > 1):
        if stride != acc:
            return False
        acc *= size
    return True


def _on_view(spec: sow.Spec, sizes: tuple[int, ...]) -> sow.Spec | None:
    """``spec`` applied through a view of shape ``sizes`` as a whole-tensor spec: shape-free
    ones as they are, fan-based ones with torch's fans of the view; None for the others (eye,
    dirac, orthogonal, sparse: their structure is the view's)."""
    if spec.name in _SHAPE_FREE:
        return spec
    if spec.name in _FAN_SPECS and len(sizes) >= 2 and not {"fan_in", "fan_out"} & set(spec.params):
        rf = math.prod(sizes[2:])
        return sow.Spec(spec.name, **spec.params, fan_in=sizes[1] * rf, fan_out=sizes[0] * rf)
    return None


def _identity(x: Any) -> Any:
    return x


class _Map:
    """A "map" write: the tensor becomes ``fn`` of its values, computed in ``dtype`` (the draw's,
    as torch's own init code computes it). Elementwise, so a shard maps alone. ``redraw``: for a
    fresh draw in another dtype than the tensor's (torch.rand's float32 for a bfloat16
    parameter), ``(spec, key)``: the draw is made again in its own dtype for the local part
    (sow._fill_part), so that ``fn`` sees it unrounded, as in torch, and the result is rounded
    once."""

    def __init__(self, fn: Any, dtype: Any, redraw: tuple[Any, str] | None = None) -> None:
        self.fn, self.dtype, self.redraw = fn, dtype, redraw

    def __call__(self, local: Any, seed: int, gshape: tuple[int, ...], sets: Any) -> Any:
        if self.redraw is None:
            return self.fn(local.to(self.dtype))
        from .._fill_part import fill_part

        spec, key = self.redraw
        name = str(self.dtype).replace("torch.", "")
        part = torch.from_numpy(fill_part(seed, spec, key, gshape, sets, name))
        return self.fn(part.reshape(local.shape).to(local.device))

    def __repr__(self) -> str:
        return "an elementwise function of the fill"


@dataclass(frozen=True)
class Geometry:
    """A strided view of a tensor's global (C-contiguous) layout: sizes, strides, offset."""

    sizes: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    st, acc = [], 1
    for s in reversed(shape):
        st.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(st))


def whole_geometry(shape: tuple[int, ...]) -> Geometry:
    """The geometry of a whole C-contiguous tensor of ``shape``."""
    return Geometry(tuple(shape), _contiguous_strides(shape), 0)


@dataclass
class Record:
    """What init code did to one tensor: ``base`` (a sow.Spec, or ``("copy", value)``), then
    ``post`` deterministic writes ``(Geometry, "fill" | "copy", value)``, and who did it."""

    fqn: str
    shape: tuple[int, ...]
    base: Any = None
    post: list[tuple[Geometry, str, Any]] = field(default_factory=list)
    source: str = ""
    discarded: bool = False  # a tie target's own stand-in: nothing it gets counts

    def set_base(self, base: Any, source: str) -> None:
        self.base, self.post, self.source = base, [], source

    def is_set(self) -> bool:
        return self.base is not None or bool(self.post)


@dataclass(eq=False)
class Draw:
    """One random draw of init code: ``spec`` filled into a tensor of ``shape``, either a stand-in's
    own routed init (``origin``, read while its base was ``origin_base``) or a fresh draw of
    torch's RNG (``torch.rand``, ``torch.empty(...).uniform_()``; ``origin`` None)."""

    spec: sow.Spec
    shape: tuple[int, ...]
    dtype: Any
    origin: Record | None
    origin_base: Any
    source: str
    used_by: str = ""  # the tensor a fresh draw was copied into


@dataclass(eq=False)
class Drawn:
    """A meta value that is ``fn`` of a :class:`Draw`'s values (elementwise: ``fn`` is made of
    pointwise ops and scalars, so it applies to any shard of the filled tensor alike)."""

    draw: Draw
    fn: Any  # Callable[[torch.Tensor], torch.Tensor]


class Recorder:
    """Stand-ins by storage, and what was recorded for each (see the module doc)."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.unrouted: list[str] = []
        self._by_storage: dict[int, Record] = {}
        self.context = ""  # the module whose init code is running, for messages
        # Meta values that are elementwise functions of one draw, by storage; the tensors are
        # kept alive so that no later tensor reuses a key.
        self.dropped: dict[str, list[Record]] = {}  # discarded stand-ins' records, by fqn
        self._drawn: dict[int, Drawn] = {}
        self._tainted: dict[int, str] = {}  # meta values computed otherwise from a draw: its source
        self._own: dict[int, Draw] = {}  # a stand-in's own init as a draw, by id of its record
        self._keep: list[Any] = []

    def drawn(self, t: Any) -> Drawn | None:
        """The draw ``t`` is an elementwise function of: a value tracked here, or a whole
        stand-in whose recorded init is a spec (its draw is the spec's fill)."""
        if not isinstance(t, torch.Tensor) or t.device.type != "meta":
            return None
        key = t.untyped_storage()._cdata
        d = self._drawn.get(key)
        if d is not None:
            return d if tuple(t.shape) == d.draw.shape and t.storage_offset() == 0 else None
        hit = self.find(t)
        if hit is None or hit[1] is not None:
            return None
        rec = hit[0]
        if rec.discarded or not isinstance(rec.base, sow.Spec) or rec.post:
            return None
        own = self._own.get(id(rec))
        if own is None or own.origin_base is not rec.base:  # one Draw per init: p.exp() + p
            own = self._own[id(rec)] = Draw(rec.base, rec.shape, t.dtype, rec, rec.base,
                                            "its own init")
        return Drawn(own, _identity)

    def track(self, t: Any, d: Drawn) -> None:
        key = t.untyped_storage()._cdata
        self._drawn[key] = d
        self._tainted.pop(key, None)
        self._keep.append(t)

    def taint(self, t: Any, source: str) -> None:
        if isinstance(t, torch.Tensor) and t.device.type == "meta":
            key = t.untyped_storage()._cdata
            self._drawn.pop(key, None)
            self._tainted[key] = source
            self._keep.append(t)

    def tainted(self, t: Any) -> str | None:
        if not isinstance(t, torch.Tensor) or t.device.type != "meta":
            return None
        return self._tainted.get(t.untyped_storage()._cdata)

    def register(self, stand_in: Any, fqn: str, *, discarded: bool = False) -> Record:
        """The record of ``stand_in`` under ``fqn``; a discarded one is kept out of ``records``."""
        if discarded:
            rec = Record(fqn, tuple(stand_in.shape), discarded=True)
            self.dropped.setdefault(fqn, []).append(rec)
        else:
            rec = self.records.get(fqn)
            if rec is None:
                rec = self.records[fqn] = Record(fqn, tuple(stand_in.shape))
        self._by_storage[stand_in.untyped_storage()._cdata] = rec
        return rec

    def find(self, t: Any) -> tuple[Record, Geometry | None] | None:
        """The record of a stand-in or a view of one, and the view's geometry (None: whole)."""
        if not isinstance(t, torch.Tensor) or t.device.type != "meta":
            return None
        try:
            rec = self._by_storage.get(t.untyped_storage()._cdata)
        except (RuntimeError, NotImplementedError):
            return None
        if rec is None:
            return None
        geo = Geometry(tuple(t.shape), tuple(t.stride()), int(t.storage_offset()))
        if geo.sizes == rec.shape and geo.offset == 0 and (
                geo.strides == _contiguous_strides(rec.shape) or t.numel() <= 1):
            return rec, None
        return rec, geo

    def refuse(self, what: str, rec: Record | None = None) -> None:
        if rec is not None and rec.discarded:
            return
        where = f" (init code of {self.context or 'the module'})"
        self.unrouted.append(what + where)

    def _copy_drawn(self, rec: Record, d: Drawn, source: str, dtype: Any) -> bool:
        """Record the copy of an elementwise function of a draw into the whole of ``rec``: its
        fill is the draw's spec, then the function (a "map" write). False: not recordable so."""
        draw = d.draw
        if draw.origin is None:
            if draw.used_by and draw.used_by != rec.fqn:
                return False  # one draw in two tensors: they would have to be equal
            draw.used_by = rec.fqn
            rec.set_base(draw.spec, f"{draw.source}, then {source}")
        elif draw.origin is not rec or rec.base is not draw.origin_base:
            return False  # a function of another tensor's values, or of an overwritten init
        else:
            rec.post = []
        redraw = None
        if draw.origin is None and draw.dtype != dtype and draw.dtype in _REDRAWN and \
                d.fn is not _identity:
            redraw = (draw.spec, rec.fqn)  # the fill is the tensor's key's; fn sees it unrounded
        if d.fn is not _identity or redraw is not None:
            rec.post.append((whole_geometry(rec.shape), "map", _Map(d.fn, draw.dtype, redraw)))
        return True

    def write(self, t: Any, spec: sow.Spec, source: str) -> bool:
        """Record ``spec`` written into ``t``; False when ``t`` is no stand-in."""
        hit = self.find(t)
        if hit is None:
            return False
        rec, geo = hit
        val = spec.params.get("val") if spec.name == "constant" else None
        if geo is None and isinstance(val, (int, float)) and not math.isfinite(val):
            # A clamp bound such as fill_(-inf) in a buffer: a deterministic write (a sow spec
            # refuses non-finite values, which as weights would be an error).
            rec.set_base(None, source)
            rec.post.append((whole_geometry(rec.shape), "fill", float(val)))
        elif geo is None:
            rec.set_base(spec, source)
        elif _every_element_once(geo, rec.shape) and _on_view(spec, geo.sizes) is not None:
            # A view with every element once (a reshape, a transpose): vit_mae's
            # xavier_uniform_(w.view(w.shape[0], -1)). Elementwise i.i.d. values, so the whole
            # tensor's fill, with the fans torch computes from the view's shape.
            rec.set_base(_on_view(spec, geo.sizes), source)
        elif spec.name in _CONSTANT_SPECS:
            val = {"zeros": 0.0, "ones": 1.0}.get(spec.name, spec.params.get("val"))
            rec.post.append((geo, "fill", float(val)))
        elif _every_element_once(geo, rec.shape):
            self.refuse(f"{rec.fqn}: {source} on a view {list(geo.sizes)} of it (a "
                        f"structured init whose structure would be the view's)", rec)
        else:
            self.refuse(f"{rec.fqn}: {source} on a slice {list(geo.sizes)} of it (a random "
                        f"init of part of a tensor)", rec)
        return True

    def copy(self, t: Any, value: Any, source: str) -> bool:
        hit = self.find(t)
        if hit is None:
            return False
        rec, geo = hit
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(value)
        if value.device.type == "meta":
            d = self.drawn(value)
            if d is not None and geo is None and d.draw.shape == rec.shape and \
                    self._copy_drawn(rec, d, source, t.dtype):
                return True
            drew = self.tainted(value) or (d.draw.source if d is not None else None)
            if drew is not None:
                self.refuse(f"{rec.fqn}: {source} of a value computed from torch's RNG ({drew}) "
                            f"other than elementwise into this whole tensor", rec)
                return True
            self.refuse(f"{rec.fqn}: {source} from a meta tensor (a value computed from other "
                        f"uninitialized tensors)", rec)
            return True
        if value.is_complex() and not t.is_complex():
            # torch's copy_ would keep the real part with a warning; a value the module's own code
            # computes as complex (a RoPE cache, say) in a real tensor is a wrong value, not a cast.
            self.refuse(f"{rec.fqn}: {source} of complex values ({value.dtype}) into a {t.dtype} "
                        f"tensor would discard their imaginary part", rec)
            return True
        sizes = rec.shape if geo is None else geo.sizes
        v = value.detach().to("cpu").expand(sizes).clone()
        if geo is None:
            rec.set_base(("copy", v), source)
        else:
            rec.post.append((geo, "copy", v))
        return True


_ORIGINALS: dict[str, Any] = {name: getattr(torch.nn.init, name) for name in INIT_FUNCTIONS}
_SIGNATURES = {name: inspect.signature(fn) for name, fn in _ORIGINALS.items()}


def _spec_from_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, sow.Spec]:
    bound = _SIGNATURES[name].bind(*args, **kwargs)
    bound.apply_defaults()
    params = dict(bound.arguments)
    tensor = params.pop("tensor")
    params.pop("generator", None)
    return tensor, sow.Spec(name[:-1], **params)


def _routed(rec: Recorder, name: str, original: Any) -> Any:
    def fn(*args: Any, **kwargs: Any) -> Any:
        tensor, spec = _spec_from_call(name, args, kwargs)
        if rec.write(tensor, spec, f"torch.nn.init.{name}"):
            return tensor
        return original(*args, **kwargs)  # a temporary of the init code: torch's own function

    fn.__name__ = name
    fn.__wrapped__ = original  # type: ignore[attr-defined]
    return fn


def _arg(args: Any, kwargs: dict[str, Any], i: int, name: str, default: Any) -> Any:
    return args[i] if len(args) > i else kwargs.get(name, default)


#: Tensor methods recorded as specs: aten op -> spec from (args, kwargs).
_SPEC_OPS = {
    "aten.normal_.default": lambda a, k: sow.Spec(
        "normal", mean=float(_arg(a, k, 1, "mean", 0.0)), std=float(_arg(a, k, 2, "std", 1.0))),
    "aten.uniform_.default": lambda a, k: sow.Spec(
        "uniform", a=float(_arg(a, k, 1, "from", 0.0)), b=float(_arg(a, k, 2, "to", 1.0))),
    "aten.fill_.Scalar": lambda a, k: sow.Spec("constant", val=float(_arg(a, k, 1, "value", 0))),
    "aten.zero_.default": lambda a, k: sow.Spec("zeros"),
}


#: Ops whose value is a function of their arguments alone (no RNG, no uninitialized memory).
#: Init code that makes one "on the tensor's device" (``torch.arange(n, device=p.device)``, then
#: ``p.copy_(log(...))``: Mamba's ``A_log``) would make it on meta, since the tensors it sees are
#: meta stand-ins, and its copy could not be recorded; they run on the CPU instead.
_VALUE_FACTORIES = frozenset({"aten::arange", "aten::zeros", "aten::ones", "aten::full",
                              "aten::linspace", "aten::logspace", "aten::eye",
                              "aten::scalar_tensor"})
#: The same made from a (meta) tensor's shape and dtype: ``zeros_like(p)``, ``p.new_ones(n)``.
_VALUE_LIKE = frozenset({"aten::zeros_like", "aten::ones_like", "aten::full_like",
                         "aten::new_zeros", "aten::new_ones", "aten::new_full"})
_CPU = torch.device("cpu")
#: Fresh draws of torch's RNG that init code may turn elementwise into a tensor's values (Mamba's
#: ``exp(rand(n) * ...)``); they are tracked as draws (:class:`Draw`), not run. So is
#: ``torch.normal(mean, std, size)`` (``aten.normal.float_float``).
_DRAW_FACTORIES = frozenset({"aten::rand", "aten::randn", "aten::rand_like", "aten::randn_like"})
#: Elementwise although torch does not tag them pointwise.
_ELEMENTWISE = frozenset({"aten::_to_copy", "aten::clone", "aten::alias", "aten::detach"})


def _whole_meta(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.device.type == "meta" and t.storage_offset() == 0 \
        and t.is_contiguous() and t.untyped_storage().nbytes() == t.numel() * t.element_size()


def _is_meta_device(dev: Any) -> bool:
    return dev is not None and torch.device(dev).type == "meta"


class _DataOnCpu(TorchFunctionMode):
    """``torch.tensor(data, device=p.device)``: made from Python data below the dispatcher, so
    :class:`_Dispatch` never sees it; on the stand-ins' meta device its values would be lost
    (RWKV's ``time_decay`` from a list of decay speeds). Made on the CPU instead."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in (torch.tensor, torch.as_tensor) and _is_meta_device(kwargs.get("device")):
            kwargs = {**kwargs, "device": _CPU}
        return func(*args, **kwargs)


class _Dispatch(TorchDispatchMode):
    """Routes tensor-method writes into stand-ins; lists the ones it cannot route, and any use of
    torch's RNG (see the module doc). Values made from arguments alone are made on the CPU."""

    def __init__(self, rec: Recorder) -> None:
        super().__init__()
        self.rec = rec

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = str(func)
        op = func._schema.name
        dev = kwargs.get("device")
        if (op in _VALUE_FACTORIES and _is_meta_device(dev)) or (
                op in _VALUE_LIKE and args and args[0].device.type == "meta"
                and (dev is None or _is_meta_device(dev))):
            return func(*args, **{**kwargs, "device": _CPU})
        if op == "aten::_to_copy" and _is_meta_device(dev) and args and \
                args[0].device.type != "meta":
            return func(*args, **{**kwargs, "device": args[0].device})  # x.to(p.device)
        if op in _DRAW_FACTORIES or name == "aten.normal.float_float":
            return self._draw(op, name, args, kwargs)  # a fresh draw of torch's RNG, on meta
        schema_args = func._schema.arguments
        mutates = bool(schema_args) and schema_args[0].alias_info is not None and \
            schema_args[0].alias_info.is_write
        if mutates and args:
            hit = self.rec.find(args[0])
            if hit is not None:
                self._route(func, name, args, kwargs, hit[0])
                return args[0]
            if name in _SPEC_OPS and name != "aten.fill_.Scalar" and name != "aten.zero_.default" \
                    and _whole_meta(args[0]):
                # torch.empty(n, device=p.device).uniform_(a, b): a draw into a temporary
                spec = _SPEC_OPS[name](args, kwargs)
                draw = Draw(spec, tuple(args[0].shape), args[0].dtype, None, None,
                            f"Tensor.{name.split('.')[1]} on a temporary")
                self.rec.track(args[0], Drawn(draw, _identity))
                return args[0]
        if torch.Tag.nondeterministic_seeded in func.tags:
            self.rec.refuse(f"torch's RNG ({name}) used by init code")
        if not mutates and not any(r.alias_info is not None for r in func._schema.returns):
            args, kwargs = _tree_map(self._known, (args, kwargs))
        tensors = [a for a in _leaves((args, kwargs)) if isinstance(a, torch.Tensor)]
        if any(t.device.type == "meta" for t in tensors) and \
                any(t.device.type != "meta" and t.dim() > 0 for t in tensors):
            # A value made on the CPU above, meeting a stand-in: what follows from the stand-in's
            # (unset) value stays meta, as it would have without the move, and is refused if
            # copied into a tensor. An in-place op cannot be moved: its CPU operand would keep a
            # stale value, so it is refused here.
            if mutates and args and args[0].device.type != "meta":
                self.rec.refuse(f"in-place {name} on a value with an uninitialized tensor")
                return args[0]
            args, kwargs = _tree_map(lambda a: a.to("meta") if isinstance(a, torch.Tensor) else a,
                                     (args, kwargs))
        out = func(*args, **kwargs)
        if any(t.device.type == "meta" for t in tensors):
            self._follow(func, op, args, kwargs, out, mutates)
        return out

    def _known(self, a: Any) -> Any:
        """A stand-in (or a view of one) read by an op that makes a new tensor, whose values
        the init code has set already as a whole deterministic copy: those values, on the CPU
        (MusicFlamingo's rotary angles computed from the ``inv_freq`` just copied in). Anything
        else as it is. View ops keep the stand-in, so writes through a view are still recorded."""
        if not isinstance(a, torch.Tensor) or a.device.type != "meta":
            return a
        hit = self.rec.find(a)
        if hit is None:
            return a
        rec, geo = hit
        base = rec.base
        if rec.discarded or rec.post or not (isinstance(base, tuple) and base[0] == "copy"):
            return a
        v = base[1].to(a.dtype).contiguous()
        if geo is None:
            return v.reshape(a.shape)
        return v.as_strided(geo.sizes, geo.strides, geo.offset)

    def _draw(self, op: str, name: str, args: Any, kwargs: dict[str, Any]) -> Any:
        like = op.endswith("_like")
        if name == "aten.normal.float_float":  # torch.normal(mean, std, size)
            spec = sow.Spec("normal", mean=float(args[0]), std=float(args[1]))
            args = (_arg(args, kwargs, 2, "size", ()),)
        elif "randn" in op:
            spec = sow.Spec("normal", mean=0.0, std=1.0)
        else:
            spec = sow.Spec("uniform", a=0.0, b=1.0)
        shape = tuple(args[0].shape) if like else tuple(
            int(x) for x in (args[0] if len(args) == 1 and isinstance(args[0], (list, tuple))
                             else args))
        dtype = kwargs.get("dtype") or (args[0].dtype if like else torch.get_default_dtype())
        out = torch.empty(shape, dtype=dtype, device="meta")
        self.rec.track(out, Drawn(Draw(spec, shape, dtype, None, None, name), _identity))
        return out

    def _follow(self, func: Any, op: str, args: Any, kwargs: dict[str, Any], out: Any,
                mutates: bool) -> None:
        """Track ``out`` as an elementwise function of a draw where it is one; taint it where it
        is computed otherwise from a fresh draw (so that its copy is refused naming the RNG)."""
        leaves, spec = _flatten((args, kwargs))
        draws: list[tuple[int, Drawn]] = []
        plain_meta = False
        source = None
        for i, a in enumerate(leaves):
            if not isinstance(a, torch.Tensor) or a.device.type != "meta":
                continue
            d = self.rec.drawn(a)
            if d is None:
                plain_meta = True
                source = source or self.rec.tainted(a)
            else:
                draws.append((i, d))
        result = args[0] if mutates else out
        if not draws and source is None:
            return
        first = draws[0][1].draw if draws else None
        elementwise = (torch.Tag.pointwise in func.tags or op in _ELEMENTWISE) and \
            isinstance(result, torch.Tensor) and first is not None and \
            tuple(result.shape) == first.shape and not plain_meta and \
            all(d.draw is first for _, d in draws)
        if elementwise:
            slots = tuple(draws)

            def fn(x: Any, _f: Any = func, _leaves: Any = leaves, _spec: Any = spec,
                   _slots: Any = slots) -> Any:
                real = [x.device if isinstance(a, torch.device) and a.type == "meta" else a
                        for a in _leaves]
                for i, d in _slots:
                    real[i] = d.fn(x)
                a, k = _unflatten(real, _spec)
                if mutates:
                    a = (a[0].clone(), *a[1:])  # the function's value, not a write into x
                return _f(*a, **k)

            self.rec.track(result, Drawn(first, fn))
        else:
            drew = first.source if first is not None and first.origin is None else source
            if drew is not None:
                for t in _leaves(result):
                    self.rec.taint(t, drew)

    def _route(self, func: Any, name: str, args: Any, kwargs: dict[str, Any], rec: Record) -> None:
        t = args[0]
        if name in _SPEC_OPS:
            self.rec.write(t, _SPEC_OPS[name](args, kwargs), f"Tensor.{name.split('.')[1]}")
            return
        if name == "aten.fill_.Tensor" and args[1].device.type != "meta":
            self.rec.write(t, sow.Spec("constant", val=float(args[1].item())), "Tensor.fill_")
            return
        if name == "aten.copy_.default":
            self.rec.copy(t, args[1], "Tensor.copy_")
            return
        self.rec.refuse(f"{rec.fqn}: in-place {name} on it cannot be routed through sow", rec)


def _patch_targets() -> list[tuple[Any, str, Any]]:
    """(module, attribute, original) of every loaded binding of a torch.nn.init function."""
    out = []
    originals = {id(fn): name for name, fn in _ORIGINALS.items()}
    for modname, mod in list(sys.modules.items()):
        if mod is None or not (modname.startswith("torch.nn") or modname.startswith("transformers")):
            continue
        d = getattr(mod, "__dict__", None)
        if not d:
            continue
        for attr in INIT_FUNCTIONS:
            v = d.get(attr)
            if v is not None and id(v) in originals:
                out.append((mod, attr, v))
    return out


@contextlib.contextmanager
def routing(rec: Recorder) -> Iterator[None]:
    """torch.nn.init, transformers.initialization and tensor methods routed into ``rec``."""
    saved: list[tuple[Any, str, Any]] = []
    try:
        for mod, attr, orig in _patch_targets():
            saved.append((mod, attr, orig))
            setattr(mod, attr, _routed(rec, attr, orig))
        tinit = sys.modules.get("transformers.initialization")
        if tinit is not None:
            table = getattr(tinit, "TORCH_INIT_FUNCTIONS", None)
            if isinstance(table, dict):
                for name in INIT_FUNCTIONS:
                    if name in table:
                        saved.append((table, name, table[name]))
                        table[name] = _routed(rec, name, table[name])
            for name in INIT_FUNCTIONS:
                f = tinit.__dict__.get(name)
                if f is not None and not getattr(f, "__wrapped__", None):
                    saved.append((tinit, name, f))
                    setattr(tinit, name, _routed(rec, name, _ORIGINALS[name]))
        with torch.no_grad(), _DataOnCpu(), _Dispatch(rec):
            yield
    finally:
        for obj, attr, orig in reversed(saved):
            if isinstance(obj, dict):
                obj[attr] = orig
            else:
                setattr(obj, attr, orig)


@dataclass
class _Slot:
    module: Any
    kind: str  # "_parameters" | "_buffers"
    name: str
    original: Any
    stand_in: Any
    fqn: str


@contextlib.contextmanager
def stand_ins(slots: list[tuple[Any, ...]], rec: Recorder) -> Iterator[list[_Slot]]:
    """Replace each ``(module, "_parameters"|"_buffers", name, fqn[, discarded])`` slot by a meta
    stand-in (one per distinct tensor; a discarded slot gets one of its own, see the module doc);
    on exit, record attribute assignments and restore the originals."""
    made: dict[int, Any] = {}
    done: list[_Slot] = []

    def stand_in(orig: Any) -> Any:
        meta = torch.empty(tuple(orig.shape), dtype=orig.dtype, device="meta")
        return torch.nn.Parameter(meta, requires_grad=orig.requires_grad) \
            if isinstance(orig, torch.nn.Parameter) else meta

    try:
        for module, kind, name, fqn, *flag in slots:
            orig = getattr(module, kind)[name]
            if orig is None:
                continue
            if flag and flag[0]:
                si = stand_in(orig)
                rec.register(si, fqn, discarded=True)
            else:
                si = made.get(id(orig))
                if si is None:
                    si = made[id(orig)] = stand_in(orig)
                    rec.register(si, fqn)
            getattr(module, kind)[name] = si
            done.append(_Slot(module, kind, name, orig, si, fqn))
        yield done
    finally:
        for s in done:
            now = getattr(s.module, s.kind).get(s.name)
            if now is not s.stand_in:
                _assigned(rec, s, now)
            getattr(s.module, s.kind)[s.name] = s.original


def _assigned(rec: Recorder, s: _Slot, now: Any) -> None:
    hit = rec.find(s.stand_in)
    if hit is not None and hit[0].discarded:
        return
    where = "buffer" if s.kind == "_buffers" else "parameter"
    if not isinstance(now, torch.Tensor):
        rec.unrouted.append(f"{s.fqn}: the init code replaced the {where} by {type(now).__name__}")
    elif tuple(now.shape) != tuple(s.stand_in.shape):
        rec.unrouted.append(f"{s.fqn}: the init code replaced the {where} by one of shape "
                            f"{tuple(now.shape)} (was {tuple(s.stand_in.shape)})")
    else:
        rec.copy(s.stand_in, now, f"assignment of a new {where}")


def apply_writes(local: Any, gshape: tuple[int, ...], sets: Any, writes: list[tuple[Geometry, str, Any]],
                 *, seed: int) -> None:
    """Do deterministic writes given in global coordinates on ``local``, the part of the global
    tensor at index sets ``sets`` (None: the whole tensor). ``seed``: the fill's, for the writes
    that regenerate part of a fill (a redrawn map, a weight norm's g)."""
    if local is None:
        return
    whole = whole_geometry(gshape)
    for geo, kind, value in writes:
        if kind in ("map", "norm"):
            # Computed for the local part alone: an elementwise map of its fill, or a weight
            # norm's g from the slices of v its entries need (sow.torch._weight_norm).
            if local.numel():
                with torch.no_grad():
                    local.copy_(value(local, seed, gshape, sets).reshape(local.shape))
            continue
        if sets is None and geo == whole:
            # The whole (unsharded) tensor: one copy_ or fill_, not an index per element (a
            # torchtitan RoPE cache of 4 M entries took 0.5 s through index_put_).
            with torch.no_grad():
                if kind == "fill":
                    local.fill_(value)
                else:
                    local.copy_(value.reshape(gshape))
            continue
        flat = torch.full((), geo.offset, dtype=torch.int64)
        for size, stride in zip(geo.sizes, geo.strides):
            flat = flat.unsqueeze(-1) + torch.arange(size, dtype=torch.int64) * stride
        flat = flat.reshape(-1)
        keep = torch.ones(flat.shape, dtype=torch.bool)
        pos = []
        rem = flat
        coords = []
        for g in reversed(gshape):
            coords.append(rem % max(g, 1))
            rem = rem // max(g, 1)
        coords.reverse()
        for d, c in enumerate(coords):
            s = None if sets is None else sets[d]
            if s is None:
                pos.append(c)
            elif isinstance(s, range):
                keep &= (c >= s.start) & (c < s.stop)
                pos.append(c - s.start)
            else:
                ts = torch.tensor(s, dtype=torch.int64)
                p = torch.searchsorted(ts, c)
                ok = p < len(s)
                ok &= ts[p.clamp(max=max(len(s) - 1, 0))] == c if len(s) else torch.zeros_like(ok)
                keep &= ok
                pos.append(p)
        idx = tuple(p[keep].to(local.device) for p in pos)
        if kind == "fill":
            vals = torch.full((int(keep.sum()),), value, dtype=local.dtype, device=local.device)
        else:
            vals = value.reshape(-1)[keep].to(dtype=local.dtype, device=local.device)
        with torch.no_grad():
            local.index_put_(idx, vals)


class PatchInit:
    """Context manager returned by :func:`patch_init`; ``report`` is set after a clean exit."""

    def __init__(self, module: Any, seed: int, strict: bool) -> None:
        from ._module import collect

        self._module = module
        self._seed = seed
        self._strict = strict
        self._tensors = collect(module)
        self.recorder = Recorder()
        self.report: Any = None
        self._stack: contextlib.ExitStack | None = None

    def __enter__(self) -> "PatchInit":
        stack = contextlib.ExitStack()
        slots = [(t.module, t.slot, t.name, t.fqn) for t in self._tensors.values()]
        slots += [(m, t.slot, n, t.fqn) for t in self._tensors.values() for m, n in t.aliases]
        stack.enter_context(stand_ins(slots, self.recorder))
        stack.enter_context(routing(self.recorder))
        self._stack = stack.__enter__()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._stack is not None
        self._stack.__exit__(*exc)
        if exc[0] is not None:
            return
        from ._module import execute_records

        rec = self.recorder
        if rec.unrouted and self._strict:
            raise ValueError("patch_init: init code that cannot be routed through sow (nothing "
                             "was written):\n  " + "\n  ".join(rec.unrouted))
        chosen = {fqn: r for fqn, r in rec.records.items() if r.is_set()}
        self.report = execute_records(self._tensors, chosen, self._seed, self._t0,
                                      unrouted=list(rec.unrouted))


def patch_init(module: Any, *, seed: int, strict: bool = True) -> PatchInit:
    """A context manager: init code run inside it writes sow's values into ``module``'s
    parameters and buffers, keyed by their fully-qualified names.

    ::

        with sow.torch.patch_init(model, seed=0):
            model.apply(model._init_weights)       # or model.reset_parameters(), init_weights()

    Inside the block the module's parameters and buffers are meta stand-ins of their global shape
    (see :mod:`sow.torch._patch`); torch.nn.init calls (and transformers.initialization's, and
    ``Tensor.normal_``/``uniform_``/``fill_``/``zero_``/``copy_``) on them are recorded, the last
    whole-tensor write winning. On a clean exit the originals are put back and everything
    recorded is written as one :class:`sow.Plan` (DTensors: each rank its slice); the
    ``report`` attribute then holds an :class:`~sow.torch.InitReport`. With ``strict=True`` any
    init code that cannot be routed (listed by tensor name) raises ValueError before anything is
    written; with ``strict=False`` it is skipped and listed in ``report.unrouted``. Tensors the
    code does not touch keep their values."""
    from sow._validate import check_seed

    return PatchInit(module, check_seed(seed), bool(strict))
