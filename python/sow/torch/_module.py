"""``init_module_``: every parameter and buffer of a module, one plan, keyed by name.

Steps (nothing is materialized or written before every check has passed):

1. Collect the tensors: fully-qualified names (FQNs) from the module tree, wrapper components
   (``_orig_mod``, ``_checkpoint_wrapped_module``, ``_fsdp_wrapped_module``) dropped; a tensor
   reachable under several names (tied weights) is one tensor, named by its first name.
2. Decide each parameter's spec with the recipe (first matching rule). Buffers: the standard
   resets (BatchNorm/InstanceNorm running statistics), else the owning module's init code.
3. Run the init code the recipe asks for (``MODULE_CODE``, ``HF_INIT``, buffers) on meta
   stand-ins, recording what it writes (sow.torch._patch).
4. Refuse (ValueError, listing names): parameters no rule matches, buffers nothing sets, init
   code that cannot be routed. ``strict=False`` leaves those tensors as they are and lists them.
5. If any tensor is on meta: ``module.to_empty(device=device)``.
6. One :class:`sow.Plan` (CPU, CUDA and meta tensors alike) fills everything; then the
   deterministic writes (padding rows, copied buffer values) are done.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

import sow
from sow._validate import check_seed, check_threads

from ._fill import Batch, as_spec, describe_sets, is_dtensor, local_view
from ._layers import buffer_default, hf_constructor_default, torch_default
from ._patch import (Geometry, Record, Recorder, _contiguous_strides, apply_writes, routing,
                     stand_ins, whole_geometry)
from .._recipe import resolve_recipe as _shared_resolve
from ._recipe import HF_INIT, MODULE_CODE, Action, Recipe, Target
from ._recipes import RECIPES
from ._weight_norm import WeightNormG

__all__ = ["init_module_", "plan_module", "ModulePlan", "TensorRecord", "InitReport",
           "TensorReport", "collect", "execute_records"]

_WRAPPERS = ("_orig_mod", "_checkpoint_wrapped_module", "_fsdp_wrapped_module")


@dataclass
class _Tensor:
    fqn: str
    name: str
    module: Any
    module_fqn: str
    slot: str  # "_parameters" | "_buffers"
    tensor: Any
    aliases: list[tuple[Any, str]] = field(default_factory=list)  # other (module, name) slots
    alias_fqns: list[str] = field(default_factory=list)  # their names, in the same order

    @property
    def kind(self) -> str:
        return "parameter" if self.slot == "_parameters" else "buffer"


def _clean(prefix: str) -> str:
    return ".".join(p for p in prefix.split(".") if p and p not in _WRAPPERS)


def collect(module: Any) -> dict[str, _Tensor]:
    """Every distinct parameter and buffer of ``module`` by FQN (first name of tied ones)."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    out: dict[str, _Tensor] = {}
    by_id: dict[int, _Tensor] = {}
    seen_slots: set[tuple[int, str, str]] = set()
    for slot in ("_parameters", "_buffers"):
        for mfqn, m in module.named_modules(remove_duplicate=False):
            for name, t in getattr(m, slot).items():
                if t is None or (id(m), slot, name) in seen_slots:
                    continue
                seen_slots.add((id(m), slot, name))
                mf = _clean(mfqn)
                fqn = f"{mf}.{name}" if mf else name
                prev = by_id.get(id(t))
                if prev is not None:
                    prev.aliases.append((m, name))
                    prev.alias_fqns.append(fqn)
                    continue
                if fqn in out:  # pragma: no cover - two tensors, one name after unwrapping
                    raise ValueError(f"two tensors are both named {fqn!r}")
                rec = _Tensor(fqn, name, m, mf, slot, t)
                out[fqn] = by_id[id(t)] = rec
    return out


@dataclass(frozen=True)
class TensorReport:
    """One tensor in an :class:`InitReport`: ``fqn``, ``kind`` (parameter/buffer), ``spec``
    (what it resolved to, e.g. ``normal(mean=0, std=0.02)``, with ``+ writes`` for deterministic
    writes after it), ``global_shape``, ``local`` (this rank's box, e.g. ``[0:64, 0:128]``; index
    runs in braces) and ``bytes`` (local)."""

    fqn: str
    kind: str
    spec: str
    global_shape: tuple[int, ...]
    local: str
    bytes: int


@dataclass
class InitReport:
    """What :func:`init_module_` (or :func:`patch_init`) did: ``tensors`` (in order), ``skipped``
    (by ``skip=``), ``unset`` (left as they were, strict=False), ``unrouted`` (init code not
    routed, strict=False), ``seconds`` (total)."""

    tensors: list[TensorReport]
    seconds: float
    skipped: list[str] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)
    unrouted: list[str] = field(default_factory=list)

    @property
    def params(self) -> list[TensorReport]:
        return [t for t in self.tensors if t.kind == "parameter"]

    @property
    def buffers(self) -> list[TensorReport]:
        return [t for t in self.tensors if t.kind == "buffer"]

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tensors)

    def __getitem__(self, fqn: str) -> TensorReport:
        for t in self.tensors:
            if t.fqn == fqn:
                return t
        raise KeyError(fqn)

    def __str__(self) -> str:
        w = max([len(t.fqn) for t in self.tensors] + [4])
        lines = [f"{'name':<{w}}  {'global shape':<16} {'local':<24} {'bytes':>12}  spec"]
        for t in self.tensors:
            lines.append(f"{t.fqn:<{w}}  {str(t.global_shape):<16} {t.local:<24} {t.bytes:>12}  "
                         f"{t.spec}")
        lines.append(f"{len(self.tensors)} tensors, {self.bytes} bytes, {self.seconds:.3f} s")
        return "\n".join(lines)


def _target(t: _Tensor, root: Any) -> Target:
    return Target(t.fqn, t.name, t.module, t.module_fqn, tuple(int(s) for s in t.tensor.shape),
                  t.tensor.dtype, t.kind, root)


def _resolve_recipe(recipe: Any) -> Recipe:
    return _shared_resolve(recipe, RECIPES)


def _skip_matcher(skip: Any) -> Callable[[Target], bool]:
    if skip is None:
        return lambda t: False
    if isinstance(skip, str):
        skip = (skip,)
    if callable(skip):
        return skip
    if isinstance(skip, Sequence) and all(isinstance(s, str) for s in skip):
        globs = tuple(skip)
        return lambda t: any(fnmatch.fnmatchcase(t.fqn, g) for g in globs)
    raise TypeError(f"skip must be None, an FQN glob, a sequence of globs or a callable, got "
                    f"{skip!r}")


def _is_meta(t: Any) -> bool:
    if is_dtensor(t):
        with torch.no_grad():
            return t.to_local().device.type == "meta"
    return t.device.type == "meta"


def _hf_classes() -> Any:
    mu = sys.modules.get("transformers.modeling_utils")
    return getattr(mu, "PreTrainedModel", None) if mu is not None else None


def _owners(root: Any) -> dict[int, Any]:
    """The enclosing Hugging Face PreTrainedModel of every module (by id), if any."""
    ptm = _hf_classes()
    out: dict[int, Any] = {}
    if ptm is None:
        return out

    def walk(m: Any, owner: Any) -> None:
        if isinstance(m, ptm):
            owner = m
        out[id(m)] = owner
        for c in m.children():
            walk(c, owner)

    walk(root, None)
    return out


def _module_code(m: Any, owner: Any) -> Callable[[], Any] | None:
    """The init code of module ``m``: torchtitan's per-module protocol (``_init_self_parameters()``
    then ``_init_self_buffers(buffer_device=cpu)``, what its ``init_states`` runs on each module:
    the ``param_init`` of the model's config, else ``reset_parameters``), reset_parameters(),
    _reset_parameters(), the enclosing PreTrainedModel's _init_weights(m), or an older
    torchtitan's init_weights(). Buffers are computed on the CPU: on the meta stand-ins they
    would have no values to copy."""
    params, buffers = (getattr(m, a, None) for a in ("_init_self_parameters", "_init_self_buffers"))
    if callable(params) and callable(buffers):
        def titan() -> None:
            table = getattr(m, "_param_init", None)
            if isinstance(table, dict):
                m._param_init = {k: _late_bound(f) for k, f in table.items()}
            try:
                params()
            finally:
                if isinstance(table, dict):
                    m._param_init = table
            buffers(buffer_device=torch.device("cpu"))
        return titan
    for attr in ("reset_parameters", "_reset_parameters"):
        fn = getattr(m, attr, None)
        if callable(fn):
            return fn
    if owner is not None:
        return lambda: owner._init_weights(m)
    fn = getattr(m, "init_weights", None)
    if callable(fn):
        return fn
    return None


def _late_bound(f: Any) -> Any:
    """``f`` looked up again at call time when it is a torch.nn.init function or a
    ``functools.partial`` of one: torchtitan's ``param_init`` tables hold
    ``partial(nn.init.trunc_normal_, std=...)`` bound at import, which routing the module
    attribute alone would miss."""
    inner = f.func if isinstance(f, functools.partial) else f
    name = getattr(inner, "__name__", None)
    if getattr(inner, "__module__", None) != "torch.nn.init" or not hasattr(torch.nn.init, name):
        return f
    if isinstance(f, functools.partial):
        return lambda *a, **k: getattr(torch.nn.init, name)(*f.args, *a, **{**f.keywords, **k})
    return lambda *a, **k: getattr(torch.nn.init, name)(*a, **k)


def _post_order(root: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    seen: set[int] = set()

    def walk(prefix: str, m: Any) -> None:
        for name, c in m.named_children():
            walk(f"{prefix}.{name}" if prefix else name, c)
        if id(m) not in seen:
            seen.add(id(m))
            out.append((prefix, m))

    walk("", root)
    return out


def _action_writes(action: Any, gshape: tuple[int, ...]) -> tuple[Any, list[Any]]:
    """(spec or None, deterministic writes) of a rule's result or a record."""
    if isinstance(action, Record):
        writes = list(action.post)
        base = action.base
        if isinstance(base, tuple) and base and base[0] == "copy":
            return None, [(whole_geometry(gshape), "copy", base[1])] + writes
        return base, writes
    if isinstance(action, WeightNormG):
        return None, [(whole_geometry(gshape), "norm", action)]
    if isinstance(action, Action):
        meta = torch.empty(gshape, device="meta")
        writes = []
        for index, value in action.post:
            v = meta[index]
            writes.append((Geometry(tuple(v.shape), tuple(v.stride()), int(v.storage_offset())),
                           "fill", float(value)))
        return action.spec, writes
    return action, []


def _spec_text(base: Any) -> str:
    return repr(base) if isinstance(base, sow.Spec) else str(base)


def execute_records(tensors: dict[str, _Tensor], chosen: dict[str, Any], seed: int, t0: float,
                    *, threads: int | None = None, skipped: Sequence[str] = (),
                    unset: Sequence[str] = (), unrouted: Sequence[str] = ()) -> InitReport:
    """Fill each tensor of ``chosen`` (FQN -> spec, Action or Record) as one batch, then do the
    deterministic writes; the report."""
    batch = Batch(seed)
    rows: list[tuple[_Tensor, Any, list[Any], int | None, Any]] = []
    with torch.no_grad():
        for fqn, action in chosen.items():
            t = tensors[fqn]
            gshape = tuple(int(s) for s in t.tensor.shape)
            base, writes = _action_writes(action, gshape)
            local, _, sets = local_view(t.tensor, fqn)
            n = None
            numel = 1
            for s in gshape:
                numel *= s
            if base is not None and local is not None and numel > 0:
                n = batch.add(t.tensor, base, key=fqn, name=fqn)
            rows.append((t, base, writes, n, (local, gshape, sets)))
        specs = batch.run(threads)
        reports = []
        for t, base, writes, n, (local, gshape, sets) in rows:
            apply_writes(local, gshape, sets, writes, seed=seed)
            text = specs[n] if n is not None else (
                _spec_text(base) if base is not None else "" if not writes else
                str(writes[0][2]) if writes[0][1] == "norm" else "copy")
            if writes and not (base is None and len(writes) == 1):
                text += f" + {len(writes)} writes"
            nbytes = 0 if local is None else local.numel() * local.element_size()
            reports.append(TensorReport(t.fqn, t.kind, text, gshape, describe_sets(sets, gshape)
                                        if local is not None else "(none on this rank)", nbytes))
        for t, *_ in rows:  # writes went through raw pointers and torch ops; tell autograd
            if not _is_meta(t.tensor):
                lt = t.tensor.to_local() if is_dtensor(t.tensor) else t.tensor
                torch.autograd.graph.increment_version(lt)
    return InitReport(reports, time.perf_counter() - t0, list(skipped), list(unset),
                      list(unrouted))


@dataclass(frozen=True)
class TensorRecord:
    """What :func:`plan_module` decided for one tensor, with nothing materialized or written.

    ``fqn``: its key (the first name, ``named_modules()`` order); ``names``: every name it has
    (tied tensors: several, ``fqn`` first); ``stored_name``: the one a checkpoint stores (the tie
    source: the name that is no Hugging Face ``all_tied_weights_keys`` target, else ``fqn``);
    ``kind``: ``"parameter"`` or ``"buffer"``; ``shape``/``dtype``: global; ``spec``: the fill
    (a sow.Spec, a name or ``(name, {params})``; None: only ``writes``); ``writes``: the
    deterministic writes after the fill, ``(Geometry, "fill" | "copy", value)`` in global
    coordinates; ``persistent``: False for a buffer ``state_dict()`` leaves out."""

    fqn: str
    kind: str
    shape: tuple[int, ...]
    dtype: Any
    spec: Any
    writes: tuple[tuple[Geometry, str, Any], ...]
    names: tuple[str, ...]
    stored_name: str
    persistent: bool

    @property
    def zero_rows(self) -> tuple[int, ...] | None:
        """The rows of dim 0 that ``writes`` set to zero (an Embedding's padding row), or None if
        some write is not a whole row set to zero."""
        rows = []
        shape = self.shape
        if not shape:
            return () if not self.writes else None
        row_shape = shape[1:]
        row = 1
        for d in row_shape:
            row *= d
        want = _contiguous_strides(row_shape)
        for geo, kind, value in self.writes:
            whole_row = tuple(geo.sizes) == row_shape and (tuple(geo.strides) == want or row <= 1)
            if kind != "fill" or float(value) != 0.0 or not whole_row or row == 0 \
                    or geo.offset % row:
                return None
            rows.append(geo.offset // row)
        return tuple(sorted(set(rows)))


@dataclass
class ModulePlan:
    """The outcome of :func:`plan_module`: ``records`` (module order), ``skipped`` (by ``skip=``),
    ``unset`` (parameters no rule sets, buffers nothing sets), ``unrouted`` (init code not routed);
    the last two are empty unless ``strict=False``. ``tensors``/``chosen`` feed
    :func:`execute_records`; ``metas`` names the tensors on the meta device."""

    records: list[TensorRecord]
    tensors: dict[str, _Tensor]
    chosen: dict[str, Any]
    skipped: list[str]
    unset: list[str]
    unrouted: list[str]
    metas: list[str]
    recipe: Recipe


def _no_elements(t: _Tensor) -> bool:
    return any(int(s) == 0 for s in t.tensor.shape)


def _tie_targets(root: Any) -> set[str]:
    """FQNs that Hugging Face models tie *to* another (``all_tied_weights_keys``'s keys)."""
    out: set[str] = set()
    for prefix, m in root.named_modules():
        keys = getattr(m, "all_tied_weights_keys", None)
        if isinstance(keys, dict):
            p = _clean(prefix)
            out.update(f"{p}.{k}" if p else str(k) for k in keys)
    return out


def _tie_source(t: _Tensor, targets: set[str]) -> int:
    """Which name of ``t`` is its tie source: 0 (its first name) or 1 + an alias index."""
    names = [t.fqn] + t.alias_fqns
    for i, n in enumerate(names):
        if n not in targets:
            return i
    return 0


def plan_module(module: Any, *, recipe: Any = "torch", skip: Any = None, strict: bool = True,
                what: str = "init_module_") -> ModulePlan:
    """Decide every tensor of ``module`` as :func:`init_module_` would (recipe rules, the
    module's own init code recorded on meta stand-ins), materializing and writing nothing: a
    :class:`ModulePlan` of :class:`TensorRecord`. Parameters may be on any device, meta
    included. With ``strict=True`` a parameter no rule matches, a buffer nothing sets, or init
    code that cannot be routed is a ValueError listing them all (``what`` names the caller).

    Tied tensors: the key is the first name. For a Hugging Face tie, init code run through any
    other name than the tie source (a tie target such as ``lm_head.weight``) goes to a stand-in
    of its own that is dropped, as transformers ties after ``_init_weights``; other ties keep
    torch's order (the last write through any name wins)."""
    rc = _resolve_recipe(recipe)
    skip_fn = _skip_matcher(skip)
    tensors = collect(module)
    metas = [f for f, t in tensors.items() if _is_meta(t.tensor)]
    targets = _tie_targets(module) if any(t.aliases for t in tensors.values()) else set()
    # Hugging Face ties only: transformers initializes untied, then ties, so only the tie
    # source's init counts. Other ties (torchtitan's weight tying, a hand-tied module) keep
    # torch's order, as their own init code runs on the tied tensor: the last write wins.
    sources = {f: _tie_source(t, targets) for f, t in tensors.items()
               if t.aliases and not targets.isdisjoint((f, *t.alias_fqns))}

    chosen: dict[str, Any] = {}
    code: dict[str, Any] = {}  # fqn -> MODULE_CODE | HF_INIT | "buffer"
    skipped: list[str] = []
    unmatched: list[str] = []
    for fqn, t in tensors.items():
        tgt = _target(t, module)
        if skip_fn(tgt):
            skipped.append(fqn)
            continue
        if t.kind == "parameter":
            spec = rc.resolve(tgt)
            if spec is None and _no_elements(t):
                chosen[fqn] = sow.Spec("zeros")  # nothing to write: no rule is needed
            elif spec is None:
                unmatched.append(fqn)
            elif spec is MODULE_CODE or spec is HF_INIT:
                code[fqn] = spec
            else:
                chosen[fqn] = spec
        else:
            spec = buffer_default(tgt)
            if spec is not None:
                chosen[fqn] = spec
            else:
                code[fqn] = "buffer"

    unrouted: list[str] = []
    unset: list[str] = []
    untouched: list[str] = []
    if code:
        records, unrouted = _record(module, tensors, code, sources)
        for fqn, how in code.items():
            r = records.get(fqn)
            if r is not None and r.is_set():
                if how is HF_INIT and r.base is None:
                    default = torch_default(_target(tensors[fqn], module))
                    base, writes = _action_writes(default, tuple(tensors[fqn].tensor.shape)) \
                        if default is not None else (None, [])
                    r = Record(r.fqn, r.shape, base, writes + r.post, r.source)
                chosen[fqn] = r
                continue
            if how is HF_INIT:  # not touched by _init_weights: its construction-time init
                tgt = _target(tensors[fqn], module)
                default = torch_default(tgt) or hf_constructor_default(tgt)
                if default is not None:
                    chosen[fqn] = default
                    continue
            if any(u.startswith(fqn + ":") for u in unrouted):
                continue  # touched, by code that cannot be routed: listed there
            if _no_elements(tensors[fqn]):  # e.g. DINOv3's register tokens when there are none
                chosen[fqn] = sow.Spec("zeros")
                continue
            (unset if how == "buffer" else untouched if how is HF_INIT else unmatched).append(fqn)
        chosen = {f: chosen[f] for f in tensors if f in chosen}  # module order
    derived = _resolve_weight_norms(chosen, tensors)
    problems = []
    if unmatched:
        problems.append(f"parameters no rule of recipe {rc.name!r} sets: " + ", ".join(unmatched))
    if untouched:
        problems.append("parameters the model's _init_weights leaves to their module's "
                        "constructor (not a torch layer sow knows): " + ", ".join(untouched)
                        + " (give them a rule before HF_INIT, or pass skip= to keep their values)")
    if unset:
        problems.append("buffers no rule and no module init code sets: " + ", ".join(unset)
                        + " (pass skip= to keep their values)")
    if derived:
        problems.append("weight-norm magnitudes g, the norm of their v's fill, whose v is "
                        "skipped, unset or more than one spec: " + ", ".join(derived)
                        + " (skip g too, or give both a rule)")
    if unrouted:
        problems.append("init code that cannot be routed through sow:\n    "
                        + "\n    ".join(unrouted))
    if problems and strict:
        raise ValueError(f"{what}: " + "\n  ".join(problems) + "\n(nothing was written)")

    out: list[TensorRecord] = []
    for fqn, action in chosen.items():
        t = tensors[fqn]
        gshape = tuple(int(x) for x in t.tensor.shape)
        base, writes = _action_writes(action, gshape)
        names = (fqn, *t.alias_fqns)
        persistent = t.kind == "parameter" or t.name not in getattr(
            t.module, "_non_persistent_buffers_set", ())
        out.append(TensorRecord(fqn, t.kind, gshape, t.tensor.dtype, base, tuple(writes), names,
                                names[sources.get(fqn, 0)], persistent))
    return ModulePlan(out, tensors, chosen, skipped, unmatched + untouched + unset + derived,
                      unrouted, metas, rc)


def _resolve_weight_norms(chosen: dict[str, Any], tensors: dict[str, _Tensor]) -> list[str]:
    """Give each weight norm's g in ``chosen`` its v's spec (g is the norm of v's fill); the g
    whose v has no plain spec (skipped, unset, or followed by writes), removed from ``chosen``."""
    bad = []
    for fqn, action in list(chosen.items()):
        if not isinstance(action, WeightNormG):
            continue
        src = chosen.get(action.v_fqn)
        base, writes = _action_writes(src, action.v_shape) if src is not None else (None, [])
        if base is None or writes or isinstance(base, WeightNormG):
            bad.append(fqn)
            del chosen[fqn]
            continue
        chosen[fqn] = action.with_spec(as_spec(base, action.v_fqn))
    return bad


def init_module_(module: Any, *, seed: int, recipe: Any = "torch", device: Any = None,
                 skip: Any = None, strict: bool = True, threads: int | None = None) -> InitReport:
    """Initialize every parameter and buffer of ``module`` in place; returns an
    :class:`InitReport`.

    * ``seed``: int in [0, 2**64); the key of each tensor is its fully-qualified name
      (``model.layers.3.self_attn.o_proj.weight``), so adding, removing or reordering modules
      changes no other tensor's values. Tied tensors are filled once, keyed by their first name,
      with what their tie source's init gives (Hugging Face: the embedding, not ``lm_head``).
    * ``recipe``: ``"torch"`` (default), ``"hf"``, ``"torchtitan_llama3"``, ``"gpt2"``, or a
      :class:`sow.Recipe` (see :mod:`sow.torch._recipes`).
    * ``device``: required when any parameter or buffer is on the meta device; the module is
      then materialized there as ``module.to_empty(device=device)`` does, but only the tensors
      on meta: the others move to ``device`` with their values. Ignored otherwise.
    * ``skip``: FQN glob(s) or a callable on a :class:`~sow.torch.Target`: tensors left alone
      (their values kept; a skipped tensor that was on meta holds uninitialized memory after
      materialization, as after ``to_empty``, and is listed in the report's ``skipped``).
    * ``strict`` (default True): a parameter no rule matches, a buffer nothing sets, or init
      code that cannot be routed is a ValueError listing them all, raised before anything is
      materialized or written. With False they are left as they are and listed in the report.
    * ``threads``: the CPU engine's threads (None: all).

    DTensor parameters (FSDP2, tensor parallel, both) are filled on each rank with exactly their
    slice of the global tensor, with no collective: run the same call, with the same seed and
    recipe, on every rank. Values are written under ``torch.no_grad()``; autograd's version
    counters are bumped. :func:`plan_module` gives the same decisions without writing."""
    t0 = time.perf_counter()
    s = check_seed(seed)
    check_threads(threads)
    rc = _resolve_recipe(recipe)
    skip_fn = _skip_matcher(skip)
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if device is None:
        metas = [f for f, t in collect(module).items() if _is_meta(t.tensor)]
        if metas:
            more = f" and {len(metas) - 3} more" if len(metas) > 3 else ""
            raise ValueError(f"device: {', '.join(metas[:3])}{more} are on the meta device; pass "
                             f"device= (e.g. device='cpu') to materialize the module there first")
    mp = plan_module(module, recipe=rc, skip=skip_fn, strict=strict)
    tensors = mp.tensors
    if mp.metas:
        tensors = _materialize(module, device, tensors)
    return execute_records(tensors, mp.chosen, s, t0, threads=threads, skipped=mp.skipped,
                           unset=mp.unset, unrouted=mp.unrouted)


def _materialize(module: Any, device: Any, before: dict[str, _Tensor]) -> dict[str, _Tensor]:
    """``module.to_empty(device=device)`` for the tensors on meta only: the others (a skipped
    one holding loaded weights, say) move to ``device`` with their values, which ``to_empty``
    would have replaced by garbage. Through ``Module._apply``, as ``to_empty`` itself, so that
    FSDP2 re-registers its sharded parameters. Ties it broke (two names that were one tensor)
    are restored; the tensors afterwards."""
    module._apply(lambda t: torch.empty_like(t, device=device) if _is_meta(t) else t.to(device))
    fresh = collect(module)
    broken = False
    for fqn, t in before.items():
        cur = fresh.get(fqn)
        if cur is None:
            raise RuntimeError(f"{fqn} is gone after to_empty")  # pragma: no cover
        for m, name in t.aliases:
            if getattr(m, t.slot).get(name) is not cur.tensor:
                getattr(m, t.slot)[name] = cur.tensor
                broken = True
    return collect(module) if broken else fresh


@contextlib.contextmanager
def _hf_flags(modules: list[Any]) -> Iterator[None]:
    """transformers' ``_is_hf_initialized`` module flags as one fresh ``initialize_weights()``
    pass sees them: cleared at the start, set on each module after its ``_init_weights`` (some
    init code reads them: ViT-MAE's embeddings skip their own init once their projection is
    done, so ``from_config`` keeps the constructor's zeros there), restored at the end."""
    saved = [(m, m.__dict__.get("_is_hf_initialized", _MISSING)) for m in modules]
    try:
        for m, _ in saved:
            m._is_hf_initialized = False
        yield
    finally:
        for m, v in saved:
            if v is _MISSING:
                m.__dict__.pop("_is_hf_initialized", None)
            else:
                m._is_hf_initialized = v


_MISSING = object()


def _record(root: Any, tensors: dict[str, _Tensor], code: dict[str, Any],
            sources: dict[str, int]) -> tuple[dict[str, Record], list[str]]:
    """Run the init code that ``code``'s tensors need on stand-ins; the records and the
    unrouted operations that concern them (or no tensor in particular). ``sources``: the tie
    source of each tied tensor (:func:`_tie_source`); its other names get discarded stand-ins."""
    rec = Recorder()
    owners = _owners(root)
    need_hf = any(v is HF_INIT for v in code.values())
    slots: list[tuple[Any, ...]] = []
    owner_of: set[int] = set()
    for t in tensors.values():
        src = sources.get(t.fqn)
        own = [(t.module, t.name)] + list(t.aliases)
        slots += [(m, t.slot, n, t.fqn, src is not None and i != src)
                  for i, (m, n) in enumerate(own)]
        if t.fqn in code and code[t.fqn] is not HF_INIT:
            owner_of.update(id(m) for i, (m, _) in enumerate(own) if src is None or i == src)
    ruled = set(tensors) - set(code)
    order = _post_order(root)
    with stand_ins(slots, rec), routing(rec), _hf_flags([m for _, m in order] if need_hf else []):
        for mfqn, m in order:
            owner = owners.get(id(m))
            rec.context = mfqn or type(m).__name__
            if need_hf and owner is not None:
                owner._init_weights(m)
                m._is_hf_initialized = True  # as transformers' _initialize_weights marks it
                continue
            if id(m) in owner_of:
                fn = _module_code(m, owner)
                if fn is not None:
                    fn()
    relevant = [u for u in rec.unrouted if not any(u.startswith(f + ":") for f in ruled)]
    records = dict(rec.records)
    for fqn, dropped in rec.dropped.items():
        own = records.get(fqn)
        if fqn in code and (own is None or not own.is_set()):
            done = [d for d in dropped if d.is_set()]
            if done:  # the source's module set nothing: the tie held from construction
                d = done[-1]
                records[fqn] = Record(fqn, d.shape, d.base, list(d.post), d.source)
    return records, relevant
