"""init_batch plans every item (all checks of the single call, the engine's included) before it
writes the first one, and foreign outputs whose exporters misbehave are refused naming out."""

from __future__ import annotations

import numpy as np
import pytest

import sow

SENTINEL = np.float32(7.25)


def _fresh():
    return np.full(64, SENTINEL, np.float32)


BAD_SECOND_ITEMS = [
    (np.zeros((2, 2, 2), np.float32), "eye", "2 dimensions"),
    (np.zeros((4, 4), np.float32), ("dirac", {}), "3, 4, or 5 dimensions"),
    (np.zeros((6, 4, 3), np.float32), ("dirac", {"groups": 4}), "divisible by groups"),
    (np.zeros((4, 4), np.float32), ("sparse", {"sparsity": 1.5}), "sparsity"),
    (np.zeros((4, 4), np.float32), ("uniform", {"a": -1e300, "b": 1e300}), "float32 range"),
    (np.zeros((4, 4), np.float32), ("trunc_normal", {"a": 50.0, "b": 60.0}), "standard deviations"),
    (np.zeros((4, 4), np.float32), ("orthogonal", {"gain": 1e39}), "gain"),
    (np.zeros((4, 4), np.float32), ("orthogonal", {"blocks": 3}), "blocks"),
    (np.zeros((3, 3, 4, 2), np.float32), ("delta_orthogonal", {}), "shape"),
    (np.zeros((4, 4), np.float32), ("normal", {"std": -1.0}), "std"),
    (np.zeros((4, 4), np.float32), ("kaiming_uniform", {"mode": "sideways"}), "Mode"),
    (np.zeros((4, 4), np.float32), ("no_such_init", {}), "unknown initializer"),
]


@pytest.mark.parametrize("arr,spec,match", BAD_SECOND_ITEMS)
@pytest.mark.parametrize("first", ["uniform", "eye", "sparse"])
def test_bad_item_anywhere_writes_nothing(first, arr, spec, match):
    """The bad item comes second: the first (valid) item must not have been written."""
    a = _fresh().reshape(8, 8)
    params = {"sparsity": 0.5} if first == "sparse" else {}
    before = arr.copy()
    with pytest.raises(ValueError, match=match) as info:
        sow.init_batch([(a, (first, params), 0), (arr, spec, 1)], seed=0)
    assert "items[1]" in str(info.value)
    assert (a == SENTINEL).all()
    np.testing.assert_array_equal(arr, before)


def test_valid_batch_still_equals_single_calls():
    items = [(np.empty((8, 8), np.float32), "eye", 0),
             (np.empty((16, 16), np.float32), ("sparse", {"sparsity": 0.25}), "s"),
             (np.empty((8, 8), np.float64), ("orthogonal", {"gain": 2.0}), "o"),
             (np.empty((3, 3, 4, 6), np.float32), ("delta_orthogonal", {}), "d"),
             (np.empty((5, 7), np.float32), ("kaiming_uniform", {"a": 5 ** 0.5}), "k")]
    out = sow.init_batch(items, seed=5)
    np.testing.assert_array_equal(out[0], sow.eye((8, 8)))
    np.testing.assert_array_equal(out[1], sow.sparse((16, 16), 0.25, seed=5, key="s"))
    np.testing.assert_array_equal(out[2], sow.orthogonal((8, 8), 2.0, seed=5, key="o", dtype="float64"))
    np.testing.assert_array_equal(out[3], sow.delta_orthogonal((3, 3, 4, 6), seed=5, key="d"))
    np.testing.assert_array_equal(out[4], sow.kaiming_uniform((5, 7), 5 ** 0.5, seed=5, key="k"))


# ---------------------------------------------------------------------------------------------
# Foreign outputs: exporter failures are TypeError/ValueError naming out


class _Wrap:
    """A DLPack exporter that forwards to a NumPy array; `legacy` drops max_version."""

    def __init__(self, a, legacy=False):
        self.a, self.legacy = a, legacy

    def __dlpack__(self, **kw):
        if self.legacy:
            kw.pop("max_version", None)
            if "max_version" in kw:
                raise TypeError
        return self.a.__dlpack__(**({} if self.legacy else kw))

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


class _LegacyOnly(_Wrap):
    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()


class _NotACapsule:
    def __dlpack__(self, **kw):
        return 5

    def __dlpack_device__(self):
        return (1, 0)


class _BadDevice:
    def __init__(self, dev):
        self.dev = dev

    def __dlpack__(self, **kw):
        raise AssertionError("must not be reached")

    def __dlpack_device__(self):
        return self.dev


class _Raises:
    def __dlpack__(self, **kw):
        raise RuntimeError("exporter broke")

    def __dlpack_device__(self):
        return (1, 0)


def _readonly():
    a = np.full(4, SENTINEL, np.float32)
    a.flags.writeable = False
    return a


FOREIGN = [
    (lambda: _LegacyOnly(_readonly()), ValueError, "out .*DLPack"),
    (lambda: _Wrap(np.zeros(4, __import__("ml_dtypes").bfloat16)), ValueError, "out .*DLPack"),
    (lambda: _LegacyOnly(np.zeros(4, __import__("ml_dtypes").bfloat16)), ValueError, "out .*DLPack"),
    (_NotACapsule, TypeError, r"out .*__dlpack__\(\) must return a DLPack capsule"),
    (lambda: _BadDevice((1,)), TypeError, r"out .*__dlpack_device__\(\) must return a pair"),
    (lambda: _BadDevice("cpu"), TypeError, r"out .*__dlpack_device__\(\) must return a pair"),
    (lambda: _BadDevice((1.0, 0)), TypeError, r"out .*__dlpack_device__\(\) must return a pair"),
    (_Raises, ValueError, "out .*exporter broke"),
]


@pytest.mark.parametrize("make,exc,match", FOREIGN)
def test_misbehaving_exporters_are_refused_naming_out(make, exc, match):
    with pytest.raises(exc, match=match):
        sow.uniform_(make(), seed=0)


def test_torch_nested_tensor_is_a_type_error_naming_out():
    torch = pytest.importorskip("torch")
    import warnings

    with warnings.catch_warnings():  # torch's own notice, not sow's: only that one is ignored
        warnings.filterwarnings("ignore", message="The PyTorch API of nested tensors is in prototype stage",
                                category=UserWarning)
        nt = torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)])
        jagged = torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)], layout=torch.jagged)
    for t in (nt, jagged):
        with pytest.raises(TypeError, match="out must be a dense"):
            sow.normal_(t, seed=0)
