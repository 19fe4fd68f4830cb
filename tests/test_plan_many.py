"""sow.Plan.add_many and the fast paths of Plan.add (NumPy arrays and plain CPU torch tensors read
without check_out, specs parsed once per distinct value): the same items, values and refusals as
Plan.add item by item; a refused output, key or name adds nothing and is named."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import sow

NP = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
      "bfloat16": ml_dtypes.bfloat16}


def _outs(dtype, n=6):
    """Outputs of several layouts: C order, Fortran order, a negative-stride view, 1-D, empty."""
    t = NP[dtype]
    base = np.empty((8, 10), t)
    return [np.empty((5, 7), t), np.empty((7, 5), t).T, base[::-2, ::-3], np.empty(33, t),
            np.empty((0, 4), t), np.empty((3, 2, 4), t)][:n]


def _filled(plan, outs):
    plan.execute()
    return [o.tobytes() for o in outs]


@pytest.mark.parametrize("dtype", list(NP))
@pytest.mark.parametrize("spec", [("normal", {"std": 0.02}), "ones",
                                  ("kaiming_uniform", {"a": 5 ** 0.5}),
                                  ("trunc_normal", {"std": 2.0, "a": -1.0, "b": 3.0})])
def test_add_many_equals_add_one_by_one(dtype, spec):
    keys = ["w", 3, "layers.0.b", 2 ** 64 - 1, "x", np.uint64(7)]
    names = ["first", None, None, "fourth", None, None]
    one, many = sow.Plan(seed=11), sow.Plan(seed=11)
    a, b = _outs(dtype), _outs(dtype)
    if spec[0] == "kaiming_uniform":  # fans need 2 dimensions; (0, 4) warns as torch does
        keep = [0, 1, 2, 5]
        a, b, keys, names = ([x[j] for j in keep] for x in (a, b, keys, names))
    for o, k, nm in zip(a, keys, names):
        one.add(o, spec, key=k, name=nm)
    assert many.add_many(b, spec, keys=keys, names=names) == range(len(b))
    assert len(many) == len(one) == len(b)
    assert many.validate() == one.validate()
    assert _filled(many, b) == _filled(one, a)
    name, params = (spec, {}) if isinstance(spec, str) else spec
    stream = {} if isinstance(spec, str) else {"seed": 11}
    single = [getattr(sow, name)(o.shape, dtype=dtype, **params, **stream,
                                 **({"key": k} if stream else {}))
              for o, k in zip(b, keys)]
    for got, want in zip(b, single):
        assert got.tobytes() == np.ascontiguousarray(want).tobytes()


def test_add_many_appends_after_earlier_items_and_names_them():
    plan = sow.Plan(seed=0)
    plan.add(np.empty(4, np.float32), "zeros", name="z")
    assert plan.add_many([np.empty(3, np.float32)] * 0, "ones", keys=[]) == range(1, 1)
    r = plan.add_many([np.empty(2, np.float32), np.empty(5, np.float64)], ("normal", {"std": 2.0}),
                      keys=["a", 9])
    assert r == range(1, 3)
    reports = plan.validate()
    assert [x.name for x in reports] == ["z", "a", ""]
    assert [x.bytes for x in reports] == [16, 8, 40]
    assert reports[1].spec == reports[2].spec == "normal(mean=0, std=2)"


def _bad_outputs():
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    zero_stride = np.lib.stride_tricks.as_strided(np.zeros(4, np.float32), (4, 3), (4, 0))
    return [
        ([1.0, 2.0], TypeError, "out must be a NumPy"),
        (np.zeros(4, np.int32), TypeError, "dtype float32, float64"),
        (np.zeros(4, ">f4"), TypeError, "native byte order"),
        (ro, ValueError, "read-only"),
        (zero_stride, ValueError, "zero stride"),
    ]


@pytest.mark.parametrize("bad,exc,match", _bad_outputs())
@pytest.mark.parametrize("position", [0, 2, 4])
def test_a_bad_output_anywhere_adds_nothing_and_is_named(bad, exc, match, position):
    plan = sow.Plan(seed=0)
    plan.add(np.full(3, 7.0, np.float32), "normal", key="before")
    outs = [np.full(4, 7.0, np.float32) for _ in range(5)]
    outs[position] = bad
    with pytest.raises(exc, match=match) as info:
        plan.add_many(outs, "normal", keys=range(5))
    assert str(info.value).startswith(f"items[{1 + position}]: ")
    # add() refuses the same output with the same message
    with pytest.raises(exc) as single:
        sow.Plan(seed=0).add(bad, "normal", key=0)
    assert str(single.value) == str(info.value).replace(f"items[{1 + position}]", "items[0]")
    assert len(plan) == 1
    plan.execute()
    for i, o in enumerate(outs):
        if i != position:
            assert (o == 7.0).all()
    # the plan goes on with the indices it had
    assert plan.add_many([np.empty(2, np.float32)], "ones", keys=[0]) == range(1, 2)


@pytest.mark.parametrize("keys,names,exc,match", [
    ([0, -1, 2], None, ValueError,
     r"items\[1\]: key must be a str or an int in \[0, 2\*\*64\), got -1"),
    ([0, 1, 2 ** 64], None, ValueError, r"items\[2\]: key must be"),
    ([0, 1.5, 2], None, TypeError, r"items\[1\]: key must be a str or an int"),
    ([0, True, 2], None, TypeError, r"items\[1\]: key must be a str or an int"),
    (["a", "\ud800", "c"], None, ValueError, r"items\[1\]: key .* cannot be encoded as UTF-8"),
    ([0, 1, 2], ["a", 5, "c"], TypeError, r"items\[1\]: name must be a str, got 5"),
])
def test_bad_keys_and_names_add_nothing_and_are_named(keys, names, exc, match):
    outs = [np.full(4, 7.0, np.float32) for _ in range(3)]
    plan = sow.Plan(seed=0)
    with pytest.raises(exc, match=match):
        plan.add_many(outs, "normal", keys=keys, names=names)
    assert len(plan) == 0
    # the same refusal, word for word, from add
    i = next(j for j in range(3) if (names and not isinstance(names[j], str)) or
             not (isinstance(keys[j], str) and keys[j] != "\ud800" or
                  type(keys[j]) is int and 0 <= keys[j] < 2 ** 64))
    with pytest.raises(exc, match=match.replace(rf"items\[{i}\]", r"items\[0\]")):
        sow.Plan(seed=0).add(outs[i], "normal", key=keys[i], name=names[i] if names else None)


def test_add_many_argument_errors():
    plan = sow.Plan(seed=0)
    outs = [np.empty(2, np.float32)] * 2
    with pytest.raises(ValueError, match="keys has 1 entries for 2 outputs"):
        plan.add_many(outs, "ones", keys=[0])
    with pytest.raises(ValueError, match="names has 3 entries for 2 outputs"):
        plan.add_many(outs, "ones", keys=[0, 1], names=["a", "b", "c"])
    with pytest.raises(TypeError, match="keys must be a sequence"):
        plan.add_many(outs, "ones", keys="ab")
    with pytest.raises(TypeError, match="outs must be a sequence"):
        plan.add_many(np.float32(1.0), "ones", keys=[0])
    with pytest.raises(ValueError, match=r"items\[0\]: unknown initializer 'nope'"):
        plan.add_many(outs, "nope", keys=[0, 1])
    with pytest.raises(TypeError, match=r"items\[0\]: normal has no parameter 'sd'"):
        plan.add_many(outs, ("normal", {"sd": 1.0}), keys=[0, 1])
    assert len(plan) == 0


def test_spec_cache_keeps_types_and_follows_mutation():
    """Specs are parsed once per distinct value, the parameters' types part of the value: a cached
    groups=1 does not let groups=True (a bool) or 1.0 through, and a params dict changed between
    two adds gives the changed values."""
    plan = sow.Plan(seed=0)
    plan.add(np.empty((4, 4, 3), np.float32), ("dirac", {"groups": 1}))
    with pytest.raises(TypeError, match=r"items\[1\]: groups must be an int"):
        plan.add(np.empty((4, 4, 3), np.float32), ("dirac", {"groups": True}))
    with pytest.raises(TypeError, match=r"items\[1\]: groups must be an int"):
        plan.add(np.empty((4, 4, 3), np.float32), ("dirac", {"groups": 1.0}))
    params = {"std": 0.02}
    a, b = np.empty(64, np.float32), np.empty(64, np.float32)
    plan.add(a, ("normal", params), key="a")
    params["std"] = 3.0
    plan.add(b, ("normal", params), key="b")
    spec = sow.Spec("uniform", a=-1.0, b=1.0)
    c = np.empty(8, np.float64)
    plan.add(c, spec, key="c")
    spec.params["b"] = 5.0
    d = np.empty(8, np.float64)
    plan.add(d, spec, key="d")
    plan.execute()
    np.testing.assert_array_equal(a, sow.normal(64, 0.0, 0.02, seed=0, key="a"))
    np.testing.assert_array_equal(b, sow.normal(64, 0.0, 3.0, seed=0, key="b"))
    np.testing.assert_array_equal(c, sow.uniform(8, -1.0, 1.0, seed=0, key="c", dtype="float64"))
    np.testing.assert_array_equal(d, sow.uniform(8, -1.0, 5.0, seed=0, key="d", dtype="float64"))


def test_ndarray_subclasses_and_equal_descriptors_take_check_out():
    """Arrays the fast path does not read (a subclass, a dtype equal to float32 but a different
    descriptor object) are accepted through check_out, with the same values."""

    class Sub(np.ndarray):
        pass

    s = np.empty(16, np.float32).view(Sub)
    m = np.empty(16, np.dtype(np.float32, metadata={"x": 1}))
    assert m.dtype is not np.dtype(np.float32)
    plan = sow.Plan(seed=2)
    plan.add_many([s, m], "normal", keys=["s", "m"])
    plan.execute()
    np.testing.assert_array_equal(np.asarray(s), sow.normal(16, seed=2, key="s"))
    np.testing.assert_array_equal(m.view(np.float32), sow.normal(16, seed=2, key="m"))


def test_torch_tensors_in_add_many():
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(6, 5)
    outs = [lin.weight, lin.bias, torch.empty(4, 6, dtype=torch.bfloat16)[:, ::2],
            torch.empty(3, 3, dtype=torch.float64).t(), torch.empty(2, 2, device="meta")]
    versions = [o._version for o in outs[:4]]
    plan = sow.Plan(seed=4)
    plan.add_many(outs, ("uniform", {"a": -1.0, "b": 1.0}), keys=["w", "b", "h", "t", "m"])
    ret = plan.execute()
    assert ret[4] is outs[4]
    for o, k in zip(outs[:4], "wbht"):
        want = sow.uniform(tuple(o.shape), -1.0, 1.0, seed=4, key=k,
                           dtype=str(o.dtype).replace("torch.", ""))
        bits = {2: torch.int16, 4: torch.int32, 8: torch.int64}[o.element_size()]
        got = o.detach().contiguous().view(bits).numpy().tobytes()
        assert got == np.ascontiguousarray(want).tobytes()
    assert [o._version for o in outs[:4]] == [v + 1 for v in versions]
    with torch.inference_mode():
        inf = torch.empty(3)
    with pytest.raises(ValueError, match=r"items\[1\]: out is an inference tensor"):
        sow.Plan(seed=0).add_many([torch.empty(3), inf], "ones", keys=[0, 1])
    with pytest.raises(TypeError, match=r"items\[0\]: out must have dtype"):
        sow.Plan(seed=0).add_many([torch.empty(3, dtype=torch.int32)], "ones", keys=[0])


def test_zero_dimensional_outputs():
    """0-d outputs (no strides, no offsets to hold) in a plan of their own and among others."""
    outs = [np.zeros((), np.float32), np.zeros(3, np.float32), np.zeros((), np.float64)]
    plan = sow.Plan(seed=9)
    plan.add_many(outs, "normal", keys=["a", "b", "c"])
    plan.execute()
    for o, k in zip(outs, "abc"):
        assert o.tobytes() == sow.normal(o.shape, seed=9, key=k, dtype=o.dtype.name).tobytes()
    alone = np.zeros((), np.float32)
    sow.Plan(seed=9).add(alone, "ones")
    p = sow.Plan(seed=9)
    p.add(alone, "ones")
    p.execute()
    assert alone == 1.0
