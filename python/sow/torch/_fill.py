"""Filling torch tensors, plain or DTensor, each with exactly its slice of the global tensor.

A plain tensor is its own global tensor. A DTensor (``distribute_tensor``, FSDP2's
``fully_shard``, ``parallelize_module``, or both on a 2-D mesh) is filled through its local
tensor: the placements give, per dimension, the global indices the local tensor holds
(:mod:`sow.torch._placement`), and the item is added to the plan with those index sets, so every
rank writes its own elements of the one global fill, with no collective. FSDP2's local tensor of
an uneven dim-0 shard may be a view of a padded buffer; only its real rows (the index set's
length) are written.

Every tensor (CPU, CUDA, meta) goes into one :class:`sow.Plan`: host items in one parallel pass,
the elementwise CUDA items of each stream in one kernel launch.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

import sow

from .._fill_part import placement_args
from ._placement import IndexSet, local_index_sets

__all__ = ["fill_", "Batch", "as_spec", "is_dtensor", "local_view", "describe_sets"]

_FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
_CONSTANTS = {"zeros": 0.0, "ones": 1.0}


def is_dtensor(t: Any) -> bool:
    mod = sys.modules.get("torch.distributed.tensor")
    if mod is None:
        return False
    return isinstance(t, getattr(mod, "DTensor"))


def as_spec(spec: Any, where: str) -> sow.Spec:
    """``spec`` (a sow.Spec, a pair ``(name, {params})`` or a bare name) as a sow.Spec."""
    if isinstance(spec, sow.Spec):
        return spec
    if isinstance(spec, str):
        return sow.Spec(spec)
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str) \
            and isinstance(spec[1], Mapping):
        return sow.Spec(spec[0], **dict(spec[1]))
    raise TypeError(f"{where}: the spec must be a sow.Spec, a name, or a pair (name, {{params}}), "
                    f"got {spec!r}")


def describe_sets(sets: list[IndexSet] | None, gshape: tuple[int, ...]) -> str:
    """The local box of a tensor in the report: ``[0:4, 0:8]``, with index lists as
    ``{0:2, 4:6}`` (their runs)."""
    if sets is None:
        sets = [range(g) for g in gshape]
    parts = []
    for s in sets:
        if isinstance(s, range):
            parts.append(f"{s.start}:{s.stop}" if len(s) else "0:0")
        else:
            parts.append("{" + ", ".join(f"{a}:{a + n}" for a, _, n in _runs(s)) + "}")
    return "[" + ", ".join(parts) + "]"


def _runs(s: IndexSet) -> list[tuple[int, int, int]]:
    """(global start, local start, length) of each run of consecutive indices."""
    if isinstance(s, range):
        return [(s.start, 0, len(s))] if len(s) else []
    out: list[tuple[int, int, int]] = []
    for j, g in enumerate(s):
        if out and out[-1][0] + out[-1][2] == g:
            a, b, n = out[-1]
            out[-1] = (a, b, n + 1)
        else:
            out.append((g, j, 1))
    return out


def local_view(t: Any, where: str) -> tuple[Any, tuple[int, ...], list[IndexSet] | None]:
    """``(local tensor to write, global shape, index sets)``; index sets None for a plain tensor.
    For a DTensor on a rank outside its mesh the local tensor is None."""
    if not is_dtensor(t):
        return t, tuple(t.shape), None
    gshape = tuple(int(g) for g in t.shape)
    sets = local_index_sets(t, where)
    if sets is None:
        return None, gshape, None
    with torch.no_grad():
        local = t.to_local()
    if local.dim() != len(gshape):
        raise ValueError(f"{where}: the local tensor has {local.dim()} dims, the DTensor "
                         f"{len(gshape)}")
    for d, s in enumerate(sets):
        n = len(s)
        if local.shape[d] == n:
            continue
        if local.shape[d] > n:  # FSDP2's padded shard: the rows past the real ones are padding
            local = local.narrow(d, 0, n)
            continue
        raise ValueError(f"{where}: the local tensor has {local.shape[d]} entries along dim {d}, "
                         f"its placements {tuple(t.placements)} give {n}")
    return local, gshape, sets


@dataclass
class _Item:
    name: str
    local: Any
    gshape: tuple[int, ...]
    sets: list[IndexSet] | None
    spec: sow.Spec
    key: Any


class Batch:
    """Items to fill under one seed: floating-point tensors (CPU, CUDA, meta) as one
    :class:`sow.Plan`, constants of non-float dtypes (e.g. BatchNorm's int64
    ``num_batches_tracked``) with torch's ``fill_``. :meth:`run` validates everything before it
    writes anything and returns each item's resolved spec (the plan's report)."""

    def __init__(self, seed: int) -> None:
        self.plan = sow.Plan(seed)
        self.seed = seed
        self._host: list[int] = []   # positions of plan items
        self._items: list[_Item] = []
        self._torch_fill: list[int] = []

    def __len__(self) -> int:
        return len(self._items)

    def add(self, t: Any, spec: Any, *, key: Any, name: str) -> int | None:
        """Add tensor ``t`` (plain or DTensor); returns the item's number, None for a DTensor
        this rank holds nothing of."""
        sp = as_spec(spec, name)
        local, gshape, sets = local_view(t, name)
        if local is None:
            return None
        n = len(self._items)
        item = _Item(name, local, gshape, sets, sp, key)
        self._items.append(item)
        if local.dtype not in _FLOAT_DTYPES:
            if sp.name not in _CONSTANTS and sp.name != "constant":
                raise TypeError(f"{name}: {sp.name} fills floating-point tensors (float32, "
                                f"float64, float16, bfloat16); this tensor is {local.dtype}")
            self._torch_fill.append(n)
            return n
        try:
            self.plan.add(local, sp, key=key, name=name, **placement_args(gshape, sets))
        except (TypeError, ValueError) as e:
            raise type(e)(f"{name}: {e}") from None
        self._host.append(n)
        return n

    def run(self, threads: int | None = None) -> list[str]:
        """Validate every item, then write them all; the resolved spec of each item in order."""
        specs = [""] * len(self._items)
        for n, rep in zip(self._host, self.plan.validate()):
            specs[n] = rep.spec
        for n in self._torch_fill:
            it = self._items[n]
            value = it.spec.params.get("val", _CONSTANTS.get(it.spec.name))
            if value is None:
                raise ValueError(f"{it.name}: constant needs val")
            specs[n] = f"constant(val={value})"
        self.plan.execute(threads)
        with torch.no_grad():
            for n in self._torch_fill:
                it = self._items[n]
                it.local.fill_(it.spec.params.get("val", _CONSTANTS.get(it.spec.name)))
        return specs

    def item(self, n: int) -> _Item:
        return self._items[n]


def fill_(tensor: Any, spec: Any, *, seed: int, key: Any) -> Any:
    """Fill ``tensor`` (a torch tensor or a DTensor) with ``spec`` under ``(seed, key)``; returns
    ``tensor``.

    ``spec``: ``sow.Spec(name, **params)``, ``(name, {params})`` or a bare name; every
    initializer of :mod:`sow` (``"normal"``, ``("trunc_normal", {"std": 0.02})``,
    ``("kaiming_uniform", {"a": 5 ** 0.5})``, ...). The values equal the single call
    ``sow.<name>_(full, **params, seed=seed, key=key)`` on the whole global tensor; a DTensor's
    local tensor receives exactly its elements of it (``dt.full_tensor()`` is that fill bit for
    bit, on any mesh and placements). Fans come from the global shape. Writes under
    ``torch.no_grad()`` and bumps autograd's version counter; meta tensors are validated, not
    written; ``Partial`` placements are refused (ValueError)."""
    b = Batch(seed)
    b.add(tensor, spec, key=key, name=key if isinstance(key, str) else "tensor")
    b.run()
    return tensor
