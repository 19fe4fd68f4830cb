"""sow.torch's index sets of a DTensor shard (sow/torch/_placement.py) against torch's own
placement code, for many shapes, meshes and placements, with no process group:

* the local shape and first global offset equal torch's
  ``_compute_local_shape_and_global_offset`` (what DCP uses);
* the full index set equals what torch's placements select from an index tensor when they
  split it left to right, as ``distribute_tensor`` does (``Placement._split_tensor``): this checks
  every index, where the offset alone hides ``_StridedShard``'s non-contiguous rows;
* the shards of all coordinates tile the tensor (every element once per replica group).
"""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
pt = pytest.importorskip("torch.distributed.tensor.placement_types")
tutils = pytest.importorskip("torch.distributed.tensor._utils")

from sow.torch._placement import (  # noqa: E402
    as_range, chunk_positions, placements_index_sets, strided_positions)

S, R, SS = pt.Shard, pt.Replicate, pt._StridedShard

CASES = [
    # (global shape, mesh shape, placements)
    ((8, 6), (2,), (S(0),)),
    ((8, 6), (4,), (S(1),)),
    ((10, 6), (4,), (S(0),)),          # uneven: 3, 3, 3, 1
    ((5, 3), (4,), (S(0),)),           # 2, 2, 1, 0: an empty shard
    ((3, 10), (4,), (S(0),)),          # 1, 1, 1, 0
    ((2, 3), (4,), (S(0),)),           # 1, 1, 0, 0
    ((0, 4), (2,), (S(0),)),           # zero rows
    ((7,), (3,), (S(0),)),
    ((8, 6), (2,), (R(),)),
    ((8, 6), (2, 2), (S(0), S(1))),
    ((8, 6), (2, 2), (S(0), S(0))),
    ((9, 7), (2, 2), (S(0), S(1))),
    ((9, 7), (2, 2), (S(1), S(0))),
    ((11, 5), (2, 2), (S(0), S(0))),
    ((8, 6), (2, 2), (R(), S(0))),
    ((8, 6), (2, 2), (S(1), R())),
    ((8, 6), (2,), (SS(0, split_factor=2),)),                 # rows 0,1,4,5 / 2,3,6,7
    ((12, 6), (2, 2), (SS(0, split_factor=2), S(0))),          # FSDP2 + TP colwise
    ((13, 6), (2, 2), (SS(0, split_factor=2), S(0))),          # uneven
    ((12, 6), (2, 2), (S(0), S(1))),                           # FSDP2 + TP rowwise
    ((12, 4), (3, 2), (SS(0, split_factor=2), S(0))),
    ((12, 4), (2, 3), (SS(0, split_factor=3), S(0))),
    ((10, 4), (2, 3), (SS(0, split_factor=3), S(0))),
    ((16, 4), (2,), (SS(0, split_factor=4),)),
    ((7, 9), (2, 2), (SS(1, split_factor=2), S(1))),
    ((4, 6, 10), (2, 2), (S(2), S(0))),
    ((4, 6, 10), (2, 2, 2), (S(0), SS(2, split_factor=2), S(2))),
    ((6, 5, 3), (3,), (S(-1),)),
]
IDS = [f"{'x'.join(map(str, g))}-mesh{'x'.join(map(str, m))}-{'_'.join(map(str, p))}" for g, m, p in CASES]


def _torch_split_indices(gshape, mesh_shape, coord, placements):
    """Per dim, the global indices torch's placements keep at ``coord``: an index tensor of each
    dim is split left to right with the placement's own ``_split_tensor`` (no padding)."""
    out = []
    for d, g in enumerate(gshape):
        idx = torch.arange(g)
        for i, pl in enumerate(placements):
            if isinstance(pl, (S, SS)) and (pl.dim % len(gshape)) == d:
                norm = type(pl)(0, split_factor=pl.split_factor) if isinstance(pl, SS) else S(0)
                shards, _ = norm._split_tensor(idx, mesh_shape[i], with_padding=False, contiguous=True)
                idx = shards[coord[i]]
        out.append(idx.tolist())
    return out


def _coords(mesh_shape):
    return itertools.product(*(range(m) for m in mesh_shape))


@pytest.mark.parametrize("gshape,mesh_shape,placements", CASES, ids=IDS)
def test_index_sets_equal_torchs(gshape, mesh_shape, placements):
    norm_pl = tuple(S(p.dim % len(gshape)) if type(p) is S else p for p in placements)
    for coord in _coords(mesh_shape):
        sets = placements_index_sets(gshape, mesh_shape, coord, placements)
        shape, offset = tutils._compute_local_shape_and_global_offset(gshape, mesh_shape, list(coord), norm_pl)
        assert tuple(len(s) for s in sets) == tuple(shape), coord
        for d, s in enumerate(sets):
            if len(s):
                assert s[0] == offset[d], (coord, d)
        assert [list(s) for s in sets] == _torch_split_indices(gshape, mesh_shape, coord, norm_pl), coord


@pytest.mark.parametrize("gshape,mesh_shape,placements", CASES, ids=IDS)
def test_shards_tile_the_tensor(gshape, mesh_shape, placements):
    """Every element is held by exactly (number of coordinates / number of distinct shards)
    ranks: each replica group covers the tensor once."""
    count: dict[tuple[int, ...], int] = {}
    for coord in _coords(mesh_shape):
        sets = placements_index_sets(gshape, mesh_shape, coord, placements)
        for e in itertools.product(*sets):
            count[e] = count.get(e, 0) + 1
    n_elems = 1
    for g in gshape:
        n_elems *= g
    assert len(count) == n_elems
    assert len(set(count.values())) <= 1


def test_strided_shard_rows_are_not_contiguous():
    sets = placements_index_sets((8, 4), (2,), (0,), (SS(0, split_factor=2),))
    assert sets[0] == [0, 1, 4, 5] and sets[1] == range(4)
    sets = placements_index_sets((12, 6), (2, 2), (1, 0), (SS(0, split_factor=2), S(0)))
    assert sets[0] == range(3, 6)  # FSDP2 + TP: a contiguous block, in permuted rank order


def test_chunk_rules_are_torch_chunk():
    for n in range(0, 13):
        for k in range(1, 6):
            chunks = list(torch.arange(n).chunk(k)) if n else []
            for r in range(k):
                want = chunks[r].tolist() if r < len(chunks) else []
                assert list(chunk_positions(n, k, r)) == want, (n, k, r)


def test_strided_positions_equal_torchs():
    for n in range(0, 14):
        for k in range(1, 4):
            for sf in range(1, 4):
                for r in range(k):
                    size, offs = SS(0, split_factor=sf).local_shard_size_and_offset(
                        n, k, r, pt._StridedShardOffsetMode.ALL)
                    assert strided_positions(n, k, r, sf) == list(offs), (n, k, r, sf)
                    assert size == len(offs)


def test_partial_is_refused_naming_the_tensor():
    with pytest.raises(ValueError, match=r"layers\.0\.w: .*Partial"):
        placements_index_sets((4, 4), (2,), (0,), (pt.Partial(),), "layers.0.w")


def test_placements_must_match_the_mesh():
    with pytest.raises(ValueError, match="2 placements for a mesh of shape"):
        placements_index_sets((4, 4), (2,), (0,), (S(0), S(1)))
    with pytest.raises(ValueError, match="shards dim 2"):
        placements_index_sets((4, 4), (2,), (0,), (S(2),))


def test_as_range():
    assert as_range([3, 4, 5]) == range(3, 6)
    assert as_range([]) == range(0)
    assert as_range([0, 2]) == [0, 2]
    assert as_range(range(2, 5)) == range(2, 5)
