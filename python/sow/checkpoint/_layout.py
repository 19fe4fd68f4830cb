"""From a list of :class:`Tensor` to the files of a checkpoint: shards, headers, plan, index."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._spec import Spec, spec_parts
from .._dtypes import parse_dtype
from .._norm_of import norm_of_fill, norm_shape
from .._validate import check_key, check_shape
from ..plan import Plan
from ._format import INT_DTYPES, ITEMSIZE, FileLayout, Placed, file_order, header_bytes, \
    index_json, shard_names, split_shards
from ._tensors import Tensor
from ._writer import Job

__all__ = ["Layout", "build", "spec_record", "check_tensors", "TensorBytes"]

_CONSTANT_SPECS = {"zeros": 0, "ones": 1}
#: A tensor that is the norm of another's fill over every dim but ``dim`` (a weight norm's g):
#: spec ``("norm_of", {"tensor": name, "dim": d})``, values sow._norm_of's.
NORM_OF = "norm_of"


def _tensor_dtype(dtype: Any, where: str) -> str:
    """A tensor's own dtype: sow's floating dtypes, or an integer/bool dtype (constants only)."""
    if isinstance(dtype, str) and dtype in INT_DTYPES:
        return dtype
    try:
        np_name = np.dtype(dtype).name if not isinstance(dtype, str) else None
    except TypeError:
        np_name = None
    if np_name in INT_DTYPES:
        return np_name  # type: ignore[return-value]
    try:
        return parse_dtype(dtype, where)
    except TypeError:
        raise TypeError(f"{where} must be one of float32, float64, float16, bfloat16 (any spec) "
                        f"or {', '.join(INT_DTYPES)} (zeros, ones or constant), got {dtype!r}") \
            from None


def constant_bytes(t: Tensor, where: str) -> bytes:
    """One element of an integer/bool tensor's constant, checked: its spec must be zeros, ones
    or constant(val) with an integer ``val`` (0 or 1 for bool) that the dtype holds exactly."""
    name, params = spec_parts(t.spec, where)
    if name in _CONSTANT_SPECS and not params:
        val: Any = _CONSTANT_SPECS[name]
    elif name == "constant" and set(params) == {"val"}:
        val = params["val"]
    else:
        raise ValueError(f"{where}: a {t.dtype} tensor holds a constant only (zeros, ones or "
                         f"constant(val=...)), got {name}")
    if isinstance(val, float) and val.is_integer():
        val = int(val)
    if isinstance(val, bool) or not isinstance(val, (int, np.integer)):
        raise ValueError(f"{where}: val must be an integer for a {t.dtype} tensor, got {val!r}")
    lo, hi = (0, 1) if t.dtype == "bool" else (np.iinfo(t.dtype).min, np.iinfo(t.dtype).max)
    if not lo <= int(val) <= hi:
        raise ValueError(f"{where}: val={val} is outside the range of {t.dtype} [{lo}, {hi}]")
    return np.array(int(val), dtype=t.dtype).tobytes()


class TensorBytes:
    """The bytes of each checkpoint tensor by its index: floating tensors from one
    :class:`sow.Plan` (an item each), integer/bool constants repeated from one element, and each
    ``norm_of`` from its whole bytes (a weight norm's g: one value per row of its v)."""

    def __init__(self, plan: Plan, items: dict[int, int], consts: dict[int, bytes]) -> None:
        self.plan, self.items, self.consts = plan, items, consts

    def write_range(self, i: int, lo: int, hi: int, buf: Any, threads: int | None) -> None:
        """Bytes ``[lo, hi)`` of tensor ``i`` into ``buf`` (as ``Plan.write_range``)."""
        c = self.consts.get(i)
        if c is None:
            self.plan.write_range(self.items[i], lo, hi, buf, threads)
            return
        k = len(c)
        first = lo - lo % k
        reps = -(-(hi - first) // k)
        memoryview(buf).cast("B")[:hi - lo] = (c * reps)[lo - first:hi - first]


def spec_record(t: Tensor) -> dict[str, Any]:
    """What ``__metadata__["sow.specs"]`` holds for one tensor (enough to regenerate it)."""
    name, params = spec_parts(t.spec, t.name)
    rec: dict[str, Any] = {"init": name, "params": params}
    if t.key is not None and t.key != t.name:
        rec["key"] = t.key
    if t.zero_rows:
        rec["zero_rows"] = list(t.zero_rows)
    return rec


def check_tensors(items: Sequence[Any], dtype: str,
                  others: Mapping[str, Tensor] | None = None) -> list[Tensor]:
    """Tensors (or ``(name, shape, dtype, spec)`` tuples) checked, dtypes resolved. ``others``:
    tensors outside ``items`` that a ``norm_of`` may name (another file's, when verifying)."""
    out: list[Tensor] = []
    seen: set[str] = set()
    for i, it in enumerate(items):
        if isinstance(it, Tensor):
            t = it
        elif isinstance(it, (tuple, list)) and len(it) == 4:
            t = Tensor(it[0], it[1], it[2], it[3])
        else:
            raise TypeError(f"tensors[{i}] must be a sow.checkpoint.Tensor or (name, shape, dtype, "
                            f"spec), got {it!r}")
        if not isinstance(t.name, str) or not t.name:
            raise TypeError(f"tensors[{i}]: name must be a non-empty str, got {t.name!r}")
        if t.name in seen:
            raise ValueError(f"tensors[{i}]: name {t.name!r} appears twice")
        if t.name == "__metadata__":
            raise ValueError(f"tensors[{i}]: '__metadata__' is reserved by safetensors")
        seen.add(t.name)
        shape = check_shape(t.shape, f"tensors[{i}] ({t.name}) shape")
        dt = dtype if t.dtype is None else _tensor_dtype(t.dtype, f"tensors[{i}] ({t.name}) dtype")
        sname, _ = spec_parts(t.spec, f"tensors[{i}] ({t.name})")
        if dt in INT_DTYPES and sname == NORM_OF:
            raise ValueError(f"tensors[{i}] ({t.name}): {NORM_OF} makes floating-point values, "
                             f"not {dt}")
        if dt in INT_DTYPES:
            constant_bytes(Tensor(t.name, shape, dt, t.spec), f"tensors[{i}] ({t.name})")
        if t.key is not None:
            check_key(t.key)
        rows = tuple(int(r) for r in t.zero_rows)
        for r in rows:
            if not shape or not 0 <= r < shape[0]:
                raise ValueError(f"tensors[{i}] ({t.name}): zero row {r} outside dim 0 of {shape}")
        out.append(Tensor(t.name, shape, dt, t.spec, t.key, rows))
    if not out:
        raise ValueError("the checkpoint has no tensors")
    _check_norms(out, others or {})
    return out


def _check_norms(ts: list[Tensor], others: Mapping[str, Tensor]) -> None:
    """Each ``norm_of`` names a floating tensor with a plain spec (no zero rows, not itself a
    norm), a ``dim`` in [-1, its dims), and has the norm's shape."""
    by_name = {**others, **{t.name: t for t in ts}}
    for i, t in enumerate(ts):
        name, params = spec_parts(t.spec, t.name)
        if name != NORM_OF:
            continue
        where = f"tensors[{i}] ({t.name})"
        if set(params) != {"tensor", "dim"}:
            raise ValueError(f"{where}: {NORM_OF} takes tensor= (a name) and dim= (an int), got "
                             f"{sorted(params)}")
        v = by_name.get(params["tensor"]) if isinstance(params["tensor"], str) else None
        if v is None:
            raise ValueError(f"{where}: {NORM_OF}: no tensor named {params['tensor']!r}")
        if v.dtype in INT_DTYPES or spec_parts(v.spec, v.name)[0] == NORM_OF or v.zero_rows:
            raise ValueError(f"{where}: {NORM_OF}: {v.name} must be a floating tensor with a "
                             f"spec of its own and no zero rows")
        d = params["dim"]
        if isinstance(d, bool) or not isinstance(d, int) or not -1 <= d < len(v.shape):
            raise ValueError(f"{where}: {NORM_OF}: dim must be an int in [-1, {len(v.shape)}), "
                             f"got {d!r}")
        if tuple(t.shape) != norm_shape(v.shape, d):
            raise ValueError(f"{where}: {NORM_OF} of {v.name} {tuple(v.shape)} over all dims but "
                             f"{d} has shape {norm_shape(v.shape, d)}, not {tuple(t.shape)}")


@dataclass
class Layout:
    tensors: list[Tensor]
    files: list[FileLayout]
    weight_map: dict[str, str]
    total_size: int
    total_parameters: int


def _metadata(base: Mapping[str, str], tensors: Sequence[Tensor], order: Sequence[int]) -> dict[str, str]:
    specs = {tensors[i].name: spec_record(tensors[i]) for i in order}
    md = {"format": "pt", **base}
    md["sow.specs"] = json.dumps(specs, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return md


def build(tensors: list[Tensor], base_metadata: Mapping[str, str], max_shard_size: int) -> Layout:
    """Shards (huggingface_hub's rule over ``tensors`` in order), each file's order, offsets and
    header."""
    sizes = [t.numel * ITEMSIZE[t.dtype] for t in tensors]  # type: ignore[index]
    shards = split_shards(sizes, max_shard_size)
    names = shard_names(len(shards))
    files: list[FileLayout] = []
    weight_map: dict[str, str] = {}
    for fname, members in zip(names, shards):
        order = [members[j] for j in file_order([tensors[i].name for i in members],
                                                 [tensors[i].dtype for i in members])]  # type: ignore[misc]
        entries = []
        off = 0
        for i in order:
            t = tensors[i]
            entries.append((t.name, t.dtype, t.shape, off, off + sizes[i]))
            off += sizes[i]
        header = header_bytes(entries, _metadata(base_metadata, tensors, order))  # type: ignore[arg-type]
        f = FileLayout(fname, header)
        for (name, _, _, b, e), i in zip(entries, order):
            f.tensors.append(Placed(i, name, len(header) + b, len(header) + e))
            weight_map[name] = fname
        files.append(f)
    return Layout(tensors, files, {t.name: weight_map[t.name] for t in tensors}, sum(sizes),
                  sum(t.numel for t in tensors))


def make_plan(tensors: Sequence[Tensor], seed: int,
              others: Mapping[str, Tensor] | None = None) -> TensorBytes:
    """One buffer item per floating tensor, validated (a bad spec fails here); the constants of
    integer/bool tensors; the values of each ``norm_of`` (sow._norm_of), whose source may be in
    ``others``."""
    plan = Plan(seed)
    items: dict[int, int] = {}
    consts: dict[int, bytes] = {}
    norms: list[int] = []
    try:
        for i, t in enumerate(tensors):
            if t.dtype in INT_DTYPES:
                consts[i] = constant_bytes(t, f"tensors[{i}] ({t.name})")
                continue
            if spec_parts(t.spec, t.name)[0] == NORM_OF:
                norms.append(i)
                continue
            items[i] = len(items)
            name, params = spec_parts(t.spec, t.name)
            plan.add_buffer(t.shape, t.dtype, Spec(name, **params),
                            key=t.name if t.key is None else t.key, name=t.name)
        plan.validate()
    except (TypeError, ValueError) as e:
        msg = str(e)
        if msg.startswith("items["):  # the plan's item number -> the tensor's
            n, rest = msg[len("items["):].split("]", 1)
            msg = f"tensors[{next(i for i, k in items.items() if k == int(n))}]{rest}"
        raise type(e)(msg) from None
    by_name = {**(others or {}), **{t.name: t for t in tensors}}
    for i in norms:  # after the plan's validation: a bad spec of v is reported as v's
        t = tensors[i]
        params = spec_parts(t.spec, t.name)[1]
        v = by_name[params["tensor"]]
        vn, vp = spec_parts(v.spec, v.name)
        consts[i] = norm_of_fill(seed, Spec(vn, **vp), v.name if v.key is None else v.key,
                                 v.shape, v.dtype, params["dim"], t.dtype).tobytes()  # type: ignore[arg-type]
    return TensorBytes(plan, items, consts)


def job(lay: Layout, plan: Plan, config_text: str | None) -> Job:
    zero = {}
    for i, t in enumerate(lay.tensors):
        if t.zero_rows:
            row = math.prod(t.shape[1:]) * ITEMSIZE[t.dtype]  # type: ignore[index]
            zero[i] = (row, t.zero_rows)
    finals: list[tuple[str, str]] = []
    if config_text is not None:
        finals.append(("config.json", config_text))
    if len(lay.files) > 1:
        finals.append(("model.safetensors.index.json",
                       index_json(lay.weight_map, lay.total_size, lay.total_parameters)))
    return Job(lay.files, plan, zero, finals)
