"""sow.Plan (sow/plan.hpp): a plan of mixed items gives bit for bit the values of the single calls;
a bad item anywhere writes nothing and is named; items may not overlap; index-set placements and
buffer items (write_range) give exactly the slices and bytes of the full tensors."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sow
from sow import _core

NP = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}
DTYPES = list(NP)
needs_lapack = pytest.mark.skipif(not getattr(_core, "has_lapack", False), reason="needs LAPACK")

# (name, params, global shape, shard or None)
MIXED = [
    ("uniform", {"a": -2.0, "b": 3.0}, (33, 17), None),
    ("normal", {"mean": 1.0, "std": 0.5}, (7, 5, 3), None),
    ("trunc_normal", {"std": 2.0, "a": -1.0, "b": 3.0}, (1000,), None),
    ("xavier_uniform", {"gain": 1.5}, (64, 48), [slice(16, 40)]),
    ("kaiming_uniform", {"a": 5 ** 0.5}, (40, 30), [slice(0, 40), slice(10, 20)]),
    ("kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"}, (9, 4, 3, 3), None),
    ("lecun_normal", {"layout": "jax"}, (3, 3, 8, 16), None),
    ("variance_scaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}, (20, 30), None),
    ("constant", {"val": 0.25}, (11,), None),
    ("zeros", {}, (5, 5), None),
    ("ones", {}, (4096,), None),
    ("eye", {}, (12, 9), [slice(2, 10), slice(1, 8)]),
    ("dirac", {"groups": 2}, (8, 4, 3, 3), [slice(2, 7)]),
    ("sparse", {"sparsity": 0.3}, (50, 12), [slice(10, 30), slice(3, 9)]),
]


def _single(name, params, gshape, shard, dtype, seed, key):
    fn = getattr(sow, name)
    kw = dict(params, dtype=dtype)
    if shard is not None:
        kw["shard"] = shard
    if sow.plan.INITIALIZERS[name]["random"]:
        kw.update(seed=seed, key=key)
    return fn(gshape, **kw)


def _shard_sizes(gshape, shard):
    if shard is None:
        return gshape
    sizes = [s.stop - s.start for s in shard]
    return tuple(sizes) + tuple(gshape[len(shard):])


def _strided_empty(shape, dtype, layout):
    """An output of `shape` with the given memory layout: C order, Fortran order, or a
    negative-stride view of a larger buffer."""
    if layout == "F":
        return np.empty(shape[::-1], NP[dtype]).T
    if layout == "rev":
        big = np.empty(tuple(2 * n for n in shape), NP[dtype])
        return big[tuple(slice(None, None, -2) for _ in shape)]
    return np.empty(shape, NP[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["C", "F", "rev"])
def test_mixed_plan_equals_single_calls(dtype, layout):
    plan = sow.Plan(seed=7)
    outs, expect = [], []
    for i, (name, params, gshape, shard) in enumerate(MIXED):
        out = _strided_empty(_shard_sizes(gshape, shard), dtype, layout)
        kw = {} if shard is None else {"global_shape": gshape, "shard": shard}
        plan.add(out, (name, params), key=f"t{i}", **kw)
        outs.append(out)
        expect.append(_single(name, params, gshape, shard, dtype, 7, f"t{i}"))
    if getattr(_core, "has_lapack", False):
        for j, (name, params, shape) in enumerate([("orthogonal", {"gain": 2.0}, (24, 16)),
                                                  ("orthogonal", {"blocks": 2}, (16, 16)),
                                                  ("delta_orthogonal", {}, (3, 3, 4, 6))]):
            out = _strided_empty(shape, dtype, layout)
            plan.add(out, (name, params), key=f"o{j}")
            outs.append(out)
            expect.append(getattr(sow, name)(shape, **params, seed=7, key=f"o{j}", dtype=dtype))
    reports = plan.validate()
    assert [r.bytes for r in reports] == [o.nbytes for o in outs]
    plan.execute()
    for i, (got, want) in enumerate(zip(outs, expect)):
        assert got.tobytes() == np.ascontiguousarray(want).tobytes(), i


def test_reports_name_the_resolved_distribution():
    plan = sow.Plan(seed=0)
    plan.add(np.empty((256, 64), np.float32), ("kaiming_uniform", {"a": 5 ** 0.5}), key="w")
    plan.add(np.empty(4, np.float32), "ones", name="norm")
    r = plan.validate()
    import re

    a, b = map(float, re.fullmatch(r"uniform\(a=(\S+), b=(\S+)\)", r[0].spec).groups())
    assert r[0].name == "w" and a == -b and b == pytest.approx(1 / 64 ** 0.5, rel=1e-15)
    assert r[1].name == "norm" and r[1].spec == "constant(val=1)" and r[1].bytes == 16


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_plan_of_many_small_tensors_is_thread_invariant(threads):
    outs = [np.empty(4096 + 7 * i, np.float32) for i in range(40)]
    plan = sow.Plan(seed=1)
    for i, o in enumerate(outs):
        plan.add(o, ("normal", {"std": 0.02}), key=i)
    plan.execute(threads=threads)
    for i, o in enumerate(outs):
        np.testing.assert_array_equal(o, sow.normal(o.shape, 0.0, 0.02, seed=1, key=i))


BAD = [
    (("normal", {"std": -1.0}), ValueError, "std"),
    (("uniform", {"a": 2.0, "b": 1.0}), ValueError, "a"),
    (("trunc_normal", {"a": 50.0, "b": 60.0}), ValueError, "standard deviations"),
    (("xavier_normal", {"gain": 1e39}), ValueError, "gain"),
    (("kaiming_uniform", {"mode": "sideways"}), ValueError, "Mode"),
    (("kaiming_uniform", {"mdoe": "fan_in"}), TypeError, "no parameter 'mdoe'"),
    (("xavier_uniform", {"gain": "1"}), TypeError, "gain must be a real number"),
    (("dirac", {"groups": 1.5}), TypeError, "groups must be an int"),
    (("eye", {}), ValueError, "2 dimensions"),
    (("sparse", {"sparsity": 1.0}), ValueError, "sparsity"),
    (("sparse", {}), ValueError, "sparsity"),
    (("no_such", {}), ValueError, "unknown initializer"),
]


@pytest.mark.parametrize("spec,exc,match", BAD)
@pytest.mark.parametrize("position", [0, 1, 2])
def test_one_bad_item_anywhere_writes_nothing(spec, exc, match, position):
    outs = [np.full((4, 4, 2) if spec[0] == "eye" and i == position else (4, 4), 7.0, np.float32)
            for i in range(3)]
    plan = sow.Plan(seed=0)
    with pytest.raises(exc, match=match) as info:
        for i, o in enumerate(outs):
            plan.add(o, spec if i == position else "uniform", key=i)
        plan.execute()
    assert f"items[{position}]" in str(info.value)
    assert all((o == 7.0).all() for o in outs)


def test_items_may_not_overlap_but_disjoint_views_may_share_a_tensor():
    w = np.full((8, 10), 7.0, np.float32)
    plan = sow.Plan(seed=0)
    plan.add(w[:, :4], "normal", key="a")
    plan.add(w[:, 4:], "uniform", key="b")
    plan.execute()
    np.testing.assert_array_equal(w[:, :4], sow.normal((8, 4), seed=0, key="a"))
    np.testing.assert_array_equal(w[:, 4:], sow.uniform((8, 6), seed=0, key="b"))
    for first, second in [((slice(None), slice(0, 5)), (slice(None), slice(4, 10))),
                          ((slice(0, 4),), (slice(3, 8),)),
                          ((slice(None), slice(0, 4)), (slice(2, 3), slice(None)))]:
        w[...] = 7.0
        plan = sow.Plan(seed=0)
        plan.add(w[first], "normal", key="a")
        plan.add(w[second], "normal", key="b")
        with pytest.raises(ValueError, match=r"items\[1\].*overlaps items\[0\]"):
            plan.execute()
        assert (w == 7.0).all()


@settings(max_examples=40, derandomize=True, deadline=None, database=None)
@given(data=st.data(), dtype=st.sampled_from(DTYPES),
       name=st.sampled_from(["uniform", "normal", "xavier_uniform", "eye", "sparse"]))
def test_index_sets_equal_the_rows_of_the_full_tensor(data, dtype, name):
    """torch's _StridedShard: a shard made of non-contiguous global rows (and columns)."""
    rows, cols = data.draw(st.integers(2, 40)), data.draw(st.integers(1, 12))
    ri = sorted(data.draw(st.sets(st.integers(0, rows - 1), min_size=1)))
    ci = sorted(data.draw(st.sets(st.integers(0, cols - 1), min_size=1))) if data.draw(st.booleans()) else None
    params = {"sparsity": 0.4} if name == "sparse" else {}
    full = _single(name, params, (rows, cols), None, dtype, 3, "w")
    out = np.empty((len(ri), cols if ci is None else len(ci)), NP[dtype])
    plan = sow.Plan(seed=3)
    plan.add(out, (name, params), key="w", global_shape=(rows, cols), index=[ri, ci])
    plan.execute()
    want = full[np.ix_(ri, range(cols) if ci is None else ci)]
    assert out.tobytes() == np.ascontiguousarray(want).tobytes()


def test_bad_index_sets_are_refused():
    out = np.full((2, 3), 7.0, np.float32)
    for index, match in [([[1, 1], None], "strictly increasing"), ([[0, 9], None], "outside"),
                         ([[0], None], "entries"), ([[2, 0], None], "strictly increasing")]:
        plan = sow.Plan(seed=0)
        plan.add(out, "normal", global_shape=(5, 3), index=index)
        with pytest.raises(ValueError, match=match):
            plan.execute()
        assert (out == 7.0).all()


@settings(max_examples=60, derandomize=True, deadline=None, database=None)
@given(data=st.data(), dtype=st.sampled_from(DTYPES),
       name=st.sampled_from(["normal", "trunc_normal", "kaiming_uniform", "ones", "eye", "dirac"]))
def test_write_range_pieces_concatenate_to_the_item(data, dtype, name):
    shape = (6, 4, 3) if name == "dirac" else (9, 7)
    plan = sow.Plan(seed=5)
    plan.add_buffer(shape, dtype, name, key="x")
    want = np.ascontiguousarray(_single(name, {}, shape, None, dtype, 5, "x")).tobytes()
    cuts = sorted(data.draw(st.sets(st.integers(0, len(want)), max_size=6)) | {0, len(want)})
    got = bytearray()
    for a, b in zip(cuts[:-1], cuts[1:]):
        if data.draw(st.booleans()):  # an odd destination address: unaligned writes
            piece = bytearray(b - a + 1)
            plan.write_range(0, a, b, memoryview(piece)[1:])
            got += piece[1:]
        else:
            piece = bytearray(b - a)
            plan.write_range(0, a, b, piece)
            got += piece
    assert bytes(got) == want


def test_write_range_unaligned_destination():
    plan = sow.Plan(seed=5)
    plan.add_buffer((100,), "float32", ("normal", {"std": 0.02}), key="x")
    want = sow.normal((100,), 0.0, 0.02, seed=5, key="x").tobytes()
    buf = bytearray(404)
    plan.write_range(0, 0, 400, memoryview(buf)[3:403])
    assert bytes(buf[3:403]) == want
    with pytest.raises(ValueError, match="outside"):
        plan.write_range(0, 0, 401, bytearray(401))
    with pytest.raises(ValueError, match="buffer items take"):
        p2 = sow.Plan(seed=0)
        p2.add_buffer((4, 4), "float32", ("sparse", {"sparsity": 0.5}))
        p2.write_range(0, 0, 4, bytearray(4))


def test_meta_items_are_checked_and_never_written():
    torch = pytest.importorskip("torch")
    m = torch.empty(8, 4, device="meta")
    w = torch.empty(8, 4)
    plan = sow.Plan(seed=1)
    plan.add(m, "normal", key="m")
    plan.add(w, "normal", key="w")
    out = plan.execute()
    assert out[0] is m
    np.testing.assert_array_equal(w.numpy(), sow.normal((8, 4), seed=1, key="w"))
    bad = sow.Plan(seed=1)
    bad.add(torch.empty(2, 2, 2, device="meta"), "eye")
    with pytest.raises(ValueError, match="2 dimensions"):
        bad.validate()


# ---------------------------------------------------------------------------------------------
# CUDA items on a machine without a device: validated like any item, then refused before any
# item (host ones included) is written.

def test_device_item_without_a_device_writes_nothing():
    from sow import _core

    if sow.cuda_available():
        pytest.skip("a CUDA device is present: tests/gpu/test_plan_cuda.py covers device items")
    host = np.full((4, 4), np.nan, np.float32)
    p = _core.Plan(0)
    p.add("h", "host", host.ctypes.data, "float32", (4, 4), (), 0, (), (), [], "normal", {}, 1)
    p.add("d", "device", 1 << 40, "float32", (4, 4), (), 0, (), (), [], "normal", {}, 2, 0, 0)
    if not _core.has_cuda:
        with pytest.raises(ValueError, match=r"items\[1\] \(d\): a CUDA item needs sow built with CUDA"):
            p.validate()
    else:
        assert [r[0] for r in p.validate()] == ["normal(mean=0, std=1)"] * 2
        with pytest.raises(RuntimeError, match="no CUDA device"):
            p.execute(0)
    assert np.isnan(host).all()
    # a bad device item is named, as any other
    q = _core.Plan(0)
    q.add("d", "device", 1 << 40, "float32", (4, 4), (), 0, (), (), [], "normal", {"std": -1.0}, 2, 0, 0)
    with pytest.raises(ValueError, match=r"items\[0\] \(d\)"):
        q.validate()
    r = _core.Plan(0)
    r.add("d", "device", 1 << 40, "float32", (4, 4), (), 0, (), (), [], "normal", {}, 2, -1, 0)
    with pytest.raises(ValueError, match="device ordinal"):
        r.validate()
