"""Which global elements a DTensor's local shard holds, from its placements alone.

A DTensor of global shape ``G`` on a mesh, at mesh coordinate ``c``, holds along each tensor
dimension ``d`` an ordered set of global indices ``I_d``; its local tensor is the cartesian product
``I_0 x I_1 x ...`` (in that order). Each set starts as ``range(G[d])`` and the placements narrow
it left to right over the mesh dimensions, as torch's ``_compute_local_shape_and_global_offset``
does:

* ``Replicate()``: unchanged.
* ``Shard(d)`` over ``k`` ranks (torch.chunk rules): with ``n = len(I_d)`` and ``m = ceil(n / k)``,
  rank ``r`` keeps positions ``[min(r*m, n), min((r+1)*m, n))``; the last ranks may be short or
  empty.
* ``_StridedShard(d, split_factor=s)`` over ``k`` ranks (FSDP2 + TP's right-to-left sharding):
  the positions are first chunked into ``s`` pieces, each piece into ``k``; rank ``r`` keeps the
  ``r``-th sub-chunk of every piece, concatenated. The result need not be contiguous
  (8 rows, s=2, k=2: rank 0 holds rows 0, 1, 4, 5).
* ``Partial``: refused (a partial tensor is a sum of unknown terms, not a slice of one tensor).

Sets stay Python ``range`` objects while contiguous, lists of ints otherwise. Pure data: no
process group, no collective.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

__all__ = ["IndexSet", "chunk_positions", "strided_positions", "local_index_sets",
           "placements_index_sets", "as_range"]

IndexSet = Union[range, list]


def chunk_positions(n: int, k: int, r: int) -> range:
    """Positions of chunk ``r`` when ``n`` items are split in ``k`` chunks by torch.chunk rules."""
    m = -(-n // k) if n else 0
    start = min(r * m, n)
    return range(start, min(start + m, n))


def strided_positions(n: int, k: int, r: int, split_factor: int) -> list[int]:
    """Positions rank ``r`` of ``k`` holds under ``_StridedShard(split_factor)`` over ``n`` items."""
    out: list[int] = []
    for piece in range(split_factor):
        p = chunk_positions(n, split_factor, piece)
        sub = chunk_positions(len(p), k, r)
        out.extend(range(p.start + sub.start, p.start + sub.stop))
    return out


def as_range(ix: Sequence[int]) -> IndexSet:
    """``ix`` as a range when it is one run of consecutive integers (or empty), else a list."""
    if isinstance(ix, range) and ix.step == 1:
        return ix
    lst = list(ix)
    if not lst:
        return range(0)
    if lst[-1] - lst[0] + 1 == len(lst) and all(b == a + 1 for a, b in zip(lst, lst[1:])):
        return range(lst[0], lst[-1] + 1)
    return lst


def _placement_kind(pl: Any) -> str:
    if hasattr(pl, "split_factor"):  # _StridedShard (not a subclass of Shard)
        return "strided"
    if callable(getattr(pl, "is_partial", None)) and pl.is_partial():
        return "partial"
    if callable(getattr(pl, "is_shard", None)) and pl.is_shard():
        return "shard"
    if callable(getattr(pl, "is_replicate", None)) and pl.is_replicate():
        return "replicate"
    return "unknown"


def placements_index_sets(global_shape: Sequence[int], mesh_shape: Sequence[int],
                          coordinate: Sequence[int], placements: Sequence[Any],
                          where: str = "tensor") -> list[IndexSet]:
    """The index set of every dimension for the rank at ``coordinate`` (see the module doc).

    Raises ``ValueError`` naming ``where`` for a ``Partial`` placement, an unknown placement, a
    shard dimension out of range or placements that do not match the mesh."""
    gshape = [int(g) for g in global_shape]
    if len(placements) != len(mesh_shape) or len(coordinate) != len(mesh_shape):
        raise ValueError(f"{where}: {len(placements)} placements for a mesh of shape "
                         f"{tuple(mesh_shape)} (coordinate {tuple(coordinate)})")
    sets: list[IndexSet] = [range(g) for g in gshape]
    for i, pl in enumerate(placements):
        kind = _placement_kind(pl)
        if kind == "replicate":
            continue
        if kind == "partial":
            raise ValueError(
                f"{where}: placement {pl} on mesh dim {i} is Partial: a partial DTensor holds "
                f"terms of a pending reduction, not a slice of one tensor; redistribute it to "
                f"Shard/Replicate first")
        if kind not in ("shard", "strided"):
            raise ValueError(f"{where}: unsupported placement {pl!r} on mesh dim {i}")
        d = int(pl.dim)
        if d < 0:
            d += len(gshape)
        if not 0 <= d < len(gshape):
            raise ValueError(f"{where}: placement {pl} shards dim {pl.dim} of a "
                             f"{len(gshape)}-d tensor")
        k, r, cur = int(mesh_shape[i]), int(coordinate[i]), sets[d]
        if kind == "shard":
            pos: Sequence[int] = chunk_positions(len(cur), k, r)
        else:
            pos = strided_positions(len(cur), k, r, int(pl.split_factor))
        if isinstance(cur, range) and isinstance(pos, range):
            sets[d] = cur[pos.start:pos.stop]
        else:
            sets[d] = as_range([cur[j] for j in pos])
    return sets


def local_index_sets(dt: Any, where: str = "tensor") -> list[IndexSet] | None:
    """The index sets of a DTensor's local shard on this rank; None when this rank is not in
    the DTensor's mesh (it then holds nothing)."""
    mesh = dt.device_mesh
    coord = mesh.get_coordinate()
    if coord is None:
        return None
    return placements_index_sets(tuple(dt.shape), tuple(mesh.shape), tuple(coord),
                                 tuple(dt.placements), where)
