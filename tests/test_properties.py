"""Property-based tests (hypothesis) of sow's promises over every public initializer and dtype.

* one bad argument never writes (sentinel compared byte for byte) and the error names it;
* outputs whose elements overlap (zero or overlapping strides) are refused;
* thread counts 1, 2 and 3 give identical bits;
* shards tile the full tensor;
* strided in-place fills equal the allocating form;
* a Generator call that fails does not advance its key.

Examples are bounded and derandomized (fixed across runs) so CI is reproducible.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sow

DTYPES = ["float32", "float64", "float16", "bfloat16"]
NP = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
      "bfloat16": ml_dtypes.bfloat16}

FAST = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

REAL_BAD = [math.nan, math.inf, -math.inf, "1.0", None, 1j, True]
INT_BAD = [1.5, "2", True, None]
SEED_BAD = [-1, 1 << 64, 1.5, "0", None, True]
KEY_BAD = [-1, 1 << 64, 1.5, b"w", None, True]
THREADS_BAD = [0, -1, 1.5, "2", True]
FAN_BAD = [0, -3, 1.5, True, "4"]


@dataclass
class Init:
    name: str
    shape: tuple[int, ...]          # a valid output shape
    good: dict[str, Any] = field(default_factory=dict)
    bad: dict[str, list[Any]] = field(default_factory=dict)
    random: bool = True             # takes seed/key/threads
    shardable: bool = True
    elementwise: bool = True

    @property
    def inplace(self):
        return getattr(sow, self.name + "_")

    @property
    def alloc(self):
        return getattr(sow, self.name)

    def kwargs(self, **extra: Any) -> dict[str, Any]:
        kw = dict(self.good)
        if self.random:
            kw.update(seed=3, key="w")
        kw.update(extra)
        return kw

    def bad_cases(self) -> list[tuple[str, Any]]:
        cases = [(p, v) for p, vs in self.bad.items() for v in vs]
        if self.random:
            cases += [("seed", v) for v in SEED_BAD] + [("key", v) for v in KEY_BAD]
            cases += [("threads", v) for v in THREADS_BAD]
        return cases


SCALED_BAD = {"fan_in": FAN_BAD, "fan_out": FAN_BAD, "layout": ["tf", 3]}
INITS = [
    Init("uniform", (6, 5), {"a": -1.0, "b": 2.0}, {"a": REAL_BAD + [3.0], "b": REAL_BAD + [-1.0]}),
    Init("normal", (6, 5), {"mean": 0.5, "std": 2.0}, {"mean": REAL_BAD, "std": REAL_BAD + [-0.5]}),
    Init("trunc_normal", (6, 5), {"mean": 0.0, "std": 1.0, "a": -1.0, "b": 1.5},
         {"mean": REAL_BAD, "std": REAL_BAD + [0.0, -1.0], "a": REAL_BAD + [2.0],
          "b": REAL_BAD + [-1.0]}),
    Init("constant", (6, 5), {"val": 0.5}, {"val": REAL_BAD}, random=False),
    Init("ones", (6, 5), random=False),
    Init("zeros", (6, 5), random=False),
    Init("eye", (6, 5), random=False, elementwise=False),
    Init("dirac", (6, 4, 3), {"groups": 2}, {"groups": [0, -1, 4] + INT_BAD}, random=False,
         elementwise=False),
    Init("xavier_uniform", (6, 5), {"gain": 1.5}, {"gain": REAL_BAD + [-1.0], **SCALED_BAD}),
    Init("xavier_normal", (6, 5), {"gain": 1.5}, {"gain": REAL_BAD + [-1.0], **SCALED_BAD}),
    Init("kaiming_uniform", (6, 5), {"a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"},
         {"a": REAL_BAD, "mode": ["sideways", 3, None], "nonlinearity": ["swish", 3], **SCALED_BAD}),
    Init("kaiming_normal", (6, 5), {"a": 0.1, "mode": "fan_in", "nonlinearity": "relu"},
         {"a": REAL_BAD, "mode": ["sideways", 3, None], "nonlinearity": ["swish", 3], **SCALED_BAD}),
    Init("lecun_uniform", (6, 5), {}, dict(SCALED_BAD)),
    Init("lecun_normal", (6, 5), {}, dict(SCALED_BAD)),
    Init("variance_scaling", (6, 5), {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"},
         {"scale": REAL_BAD + [0.0, -1.0], "mode": ["bad", 3], "distribution": ["bad", 3],
          **SCALED_BAD}),
    Init("sparse", (8, 5), {"sparsity": 0.25, "std": 0.02},
         {"sparsity": REAL_BAD + [1.0, 1.5, -0.1], "std": REAL_BAD + [-1.0]}, elementwise=False),
    Init("orthogonal", (6, 5), {"gain": 1.5, "blocks": 2},
         {"gain": REAL_BAD, "blocks": [0, -1, 4, 1.5, "2", True]}, shardable=False, elementwise=False),
    Init("delta_orthogonal", (3, 3, 4, 6), {"scale": 1.0}, {"scale": REAL_BAD},
         shardable=False, elementwise=False),
]
BY_NAME = {i.name: i for i in INITS}
SHARD_BAD = [
    ({"global_shape": (7, 5)}, "global_shape"),
    ({"shard": [slice(0, 3)]}, "global_shape"),
    ({"shard": [slice(0, 3)], "global_shape": (6, 5)}, r"out\.shape|shard"),
    ({"shard": [slice(0, 9)], "global_shape": (6, 5)}, "shard|outside"),
]
NAMES = {"key": "key", "seed": "seed", "threads": "threads"}


def _sentinel(shape: tuple[int, ...], dtype: str, kind: str) -> Any:
    """An output of `kind` over memory full of the byte 0xA5 (a value no initializer writes)."""
    if kind == "transposed":
        base = np.empty(shape[::-1], NP[dtype])
        base.view(np.uint8)[...] = 0xA5
        out = base.T
    else:
        base = np.empty(shape, NP[dtype])
        base.view(np.uint8)[...] = 0xA5
        out = base[(slice(None, None, -1),) * len(shape)] if kind == "reversed" else base
    if kind == "torch":
        torch = pytest.importorskip("torch")
        if dtype == "bfloat16":
            return torch.from_numpy(out.view(np.int16)).view(torch.bfloat16)
        return torch.from_numpy(out)
    return out


def _bytes(out: Any) -> bytes:
    if isinstance(out, np.ndarray):
        return np.ascontiguousarray(out).view(np.uint8).tobytes()
    import torch

    return out.contiguous().view(torch.uint8).numpy().tobytes()


# ---------------------------------------------------------------------------------------------
# 1. one bad argument never writes, and the error names it


@settings(FAST, max_examples=400)
@given(init=st.sampled_from([i for i in INITS if i.bad_cases()]), dtype=st.sampled_from(DTYPES),
       kind=st.sampled_from(["numpy", "reversed", "transposed", "torch"]), data=st.data())
def test_one_bad_argument_writes_nothing(init, dtype, kind, data):
    param, bad = data.draw(st.sampled_from(init.bad_cases()), label="bad argument")
    out = _sentinel(init.shape, dtype, kind)
    before = _bytes(out)
    with pytest.raises((TypeError, ValueError)) as info:
        init.inplace(out, **init.kwargs(**{param: bad}))
    assert _bytes(out) == before
    assert re.search(NAMES.get(param, param), str(info.value), re.IGNORECASE), str(info.value)


@settings(FAST, max_examples=120)
@given(init=st.sampled_from([i for i in INITS if i.shardable]), dtype=st.sampled_from(DTYPES),
       bad=st.sampled_from(SHARD_BAD))
def test_bad_shard_writes_nothing(init, dtype, bad):
    kw, pattern = bad
    if len(init.shape) != 2:  # the cases are written for 2-D outputs; dirac gets a 3-D twin
        kw = {k: (v + (init.shape[2],) if k == "global_shape" else v) for k, v in kw.items()}
        kw = {k: ((v[0] + 1,) + tuple(init.shape[1:]) if k == "global_shape" and "shard" not in kw
                  else v) for k, v in kw.items()}
    out = _sentinel(init.shape, dtype, "numpy")
    before = _bytes(out)
    with pytest.raises(ValueError, match=pattern):
        init.inplace(out, **init.kwargs(**kw))
    assert _bytes(out) == before


@settings(FAST, max_examples=60)
@given(init=st.sampled_from(INITS), dtype=st.sampled_from(DTYPES),
       position=st.integers(0, 2), data=st.data())
def test_batch_with_one_bad_item_writes_nothing(init, dtype, position, data):
    """init_batch: one bad item anywhere in the list, nothing written and the item named."""
    bad_cases = [c for c in init.bad_cases() if c[0] not in ("seed", "key", "threads")]
    if not bad_cases:
        return
    param, bad = data.draw(st.sampled_from(bad_cases))
    outs = [_sentinel(BY_NAME[n].shape, dtype, "numpy") for n in ("uniform", "eye", "sparse")]
    items = [(outs[0], "uniform", 0), (outs[1], "eye", 1), (outs[2], ("sparse", {"sparsity": 0.5}), 2)]
    bad_out = _sentinel(init.shape, dtype, "numpy")
    params = {k: v for k, v in init.good.items()}
    params[param] = bad
    items.insert(position, (bad_out, (init.name, params), "bad"))
    before = [_bytes(o) for o in outs + [bad_out]]
    with pytest.raises((TypeError, ValueError), match=rf"items\[{position}\]"):
        sow.init_batch(items, seed=1)
    assert [_bytes(o) for o in outs + [bad_out]] == before


# ---------------------------------------------------------------------------------------------
# 2. overlapping outputs are refused


@st.composite
def overlapping_views(draw):
    """A view over a small buffer whose elements overlap (a zero stride, or a stride smaller than
    the extent of the faster dimensions)."""
    dtype = draw(st.sampled_from(DTYPES))
    item = np.dtype(NP[dtype]).itemsize
    nd = draw(st.integers(1, 3))
    shape = [draw(st.integers(2, 5)) for _ in range(nd)]
    strides = [draw(st.integers(-6, 6)) * item for _ in range(nd)]
    if nd == 1:
        strides = [0]
    else:  # make sure two dims collide: the slower one steps less than the faster one spans
        k = draw(st.integers(0, nd - 2))
        fast = abs(strides[k + 1]) or item
        strides[k + 1] = fast
        strides[k] = draw(st.sampled_from([0, fast, -fast, fast * (shape[k + 1] - 1)]))
    span = sum((n - 1) * abs(s) for n, s in zip(shape, strides)) + item
    base = np.zeros(2 * span // item + 2, NP[dtype])
    offset = sum((n - 1) * abs(s) for n, s in zip(shape, strides) if s < 0)
    start = base[offset // item:]
    return np.lib.stride_tricks.as_strided(start, shape, strides), base


@settings(FAST, max_examples=150)
@given(view=overlapping_views(), init=st.sampled_from(INITS))
def test_overlapping_outputs_are_refused(view, init):
    v, base = view
    if len(v.shape) != len(init.shape):
        return
    before = base.tobytes()
    kw = init.kwargs()
    with pytest.raises(ValueError, match="out"):
        init.inplace(v, **kw)
    assert base.tobytes() == before


# ---------------------------------------------------------------------------------------------
# 3. thread counts never change a bit


@settings(FAST, max_examples=30)
@given(init=st.sampled_from([i for i in INITS if i.random]), dtype=st.sampled_from(DTYPES),
       total=st.integers(3 << 16, 1 << 19), cols=st.integers(1, 3000))
def test_threads_1_2_3_identical(init, dtype, total, cols):
    """Sizes of 3·2^16 elements and more, so that three threads really split the work (the engine
    gives each thread at least 2^16 elements); odd sizes put the splits inside Philox blocks."""
    rows = max(1, total // cols)
    if init.name == "delta_orthogonal":
        shape = (3, 3, min(rows, 64), min(rows, 64) + min(cols, 64))
    elif init.name == "orthogonal":
        shape = (min(rows, 300), min(cols, 300))
        kw = {"gain": 1.5}
    else:
        shape = (rows, cols)
    kw = init.kwargs()
    if init.name == "orthogonal":
        kw.pop("blocks")
    outs = [init.alloc(shape, dtype=dtype, **{**kw, "threads": t}) for t in (1, 2, 3)]
    assert _bytes(outs[0]) == _bytes(outs[1]) == _bytes(outs[2])


# ---------------------------------------------------------------------------------------------
# 4. shards tile the full tensor


@st.composite
def tilings(draw, rank):
    shape = tuple(draw(st.integers(1, 9)) for _ in range(rank))
    cuts = []
    for n in shape:
        inner = sorted(draw(st.sets(st.integers(1, max(1, n - 1)), max_size=3))) if n > 1 else []
        cuts.append([0] + [c for c in inner if 0 < c < n] + [n])
    return shape, cuts


@settings(FAST, max_examples=60)
@given(init=st.sampled_from([i for i in INITS if i.shardable]), dtype=st.sampled_from(DTYPES),
       data=st.data())
def test_shards_tile_the_full_tensor(init, dtype, data):
    rank = len(init.shape)
    shape, cuts = data.draw(tilings(rank))
    if init.name == "dirac":
        shape = (2 * shape[0],) + shape[1:]
        cuts[0] = [0] + [2 * c for c in cuts[0][1:]]
    if init.name == "sparse" or init.name == "eye":
        pass
    kw = init.kwargs()
    full = init.alloc(shape, dtype=dtype, **kw)
    tiled = np.full(shape, np.nan, NP[dtype])
    import itertools

    for box in itertools.product(*[list(zip(c[:-1], c[1:])) for c in cuts]):
        sl = tuple(slice(a, b) for a, b in box)
        part = init.alloc(shape, dtype=dtype, shard=list(sl), **kw)
        tiled[sl] = part
        block = np.empty(part.shape, NP[dtype])
        init.inplace(block, global_shape=shape, shard=list(sl), **kw)
        assert _bytes(block) == _bytes(part)
    assert _bytes(tiled) == _bytes(full)


# ---------------------------------------------------------------------------------------------
# 5. strided in-place == allocating


@settings(FAST, max_examples=80)
@given(init=st.sampled_from(INITS), dtype=st.sampled_from(DTYPES), data=st.data())
def test_strided_inplace_equals_allocating(init, dtype, data):
    rank = len(init.shape)
    shape = tuple(data.draw(st.integers(1, 7)) for _ in range(rank))
    if init.name == "dirac":
        shape = (2 * shape[0],) + shape[1:]
    if init.name == "delta_orthogonal":
        shape = shape[:-1] + (shape[-2] + shape[-1],)
    perm = data.draw(st.permutations(range(rank)))
    steps = [data.draw(st.sampled_from([1, 2, -1, -3])) for _ in range(rank)]
    big = np.zeros(tuple(abs(s) * n for s, n in zip(steps, (shape[p] for p in perm))), NP[dtype])
    view = big[tuple(slice(None, None, s) for s in steps)]
    view = view[tuple(slice(0, shape[p]) for p in perm)]
    view = np.transpose(view, np.argsort(perm))
    assert view.shape == shape
    kw = init.kwargs()
    expect = init.alloc(shape, dtype=dtype, **kw)
    init.inplace(view, **kw)
    assert _bytes(view) == _bytes(expect)


# ---------------------------------------------------------------------------------------------
# 6. a Generator call that fails does not advance its key


@settings(FAST, max_examples=60)
@given(init=st.sampled_from([i for i in INITS if i.random]), data=st.data(),
       calls_before=st.integers(0, 3))
def test_failed_generator_call_keeps_its_key(init, data, calls_before):
    g = sow.Generator(11)
    for _ in range(calls_before):
        g.uniform((2,))
    pos = g.position
    cases = [c for c in init.bad_cases() if c[0] not in ("seed", "key")]
    if cases:
        param, bad = data.draw(st.sampled_from(cases))
        kw = {**init.good, param: bad}
        with pytest.raises((TypeError, ValueError)):
            getattr(g, init.name)(init.shape, **kw)
        with pytest.raises((TypeError, ValueError)):
            getattr(g, init.name + "_")(np.zeros(init.shape, np.float32), **kw)
    assert g.position == pos
    got = getattr(g, init.name)(init.shape, **init.good)
    assert g.position == pos + 1
    assert _bytes(got) == _bytes(init.alloc(init.shape, **{**init.good, "seed": 11, "key": pos}))


@settings(FAST, max_examples=60)
@given(dtype=st.sampled_from(DTYPES), g_dtype=st.sampled_from(DTYPES), data=st.data(),
       shape=st.lists(st.integers(1, 6), min_size=1, max_size=4))
def test_norm_of_fill_is_the_norm_of_the_fill_and_tiles(dtype, g_dtype, data, shape):
    """A weight norm's g (sow._norm_of, used by sow.torch and checkpoints): the float64 norm of
    v's fill over every dim but ``dim``, rounded to float32, then to g's dtype; the entries of any
    split of v's rows computed apart equal the whole (what each rank of a sharded g does)."""
    from sow._norm_of import norm_of_fill, norm_shape

    dim = data.draw(st.integers(-1, len(shape) - 1))
    spec = sow.Spec("normal", std=3.0)
    v = sow.normal(tuple(shape), std=3.0, seed=7, key="v", dtype=dtype)
    x = np.asarray(v, dtype=np.float64)
    if dim == -1:
        want = np.sqrt(np.sum(x * x))
    else:
        want = np.sqrt(np.sum(x * x, axis=tuple(d for d in range(len(shape)) if d != dim),
                              keepdims=True))
    want = want.astype(np.float64 if g_dtype == "float64" else np.float32).astype(NP[g_dtype])
    g = norm_of_fill(7, spec, "v", shape, dtype, dim, g_dtype)
    assert g.shape == norm_shape(shape, dim) and g.dtype == want.dtype
    ulp = {"float64": 2.0 ** -52, "float32": 2.0 ** -23, "float16": 2.0 ** -10,
           "bfloat16": 2.0 ** -7}[g_dtype]  # the sums' orders differ: one rounding apart at most
    np.testing.assert_allclose(g.astype(np.float64), want.astype(np.float64), rtol=ulp)
    if dim >= 0 and shape[dim] > 1:
        rows = sorted(data.draw(st.sets(st.integers(0, shape[dim] - 1), min_size=1,
                                        max_size=shape[dim] - 1)))
        rest = [r for r in range(shape[dim]) if r not in rows]
        for picked in (rows, rest):
            part = norm_of_fill(7, spec, "v", shape, dtype, dim, g_dtype, picked)
            assert part.tobytes() == np.take(g, picked, axis=dim).tobytes()
