"""torch tensors filled in place behave as with torch.nn.init: autograd's version counter, inference
tensors, meta tensors and zero-element tensors (sow._torch_rules)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import sow

torch = pytest.importorskip("torch")

INPLACE = [
    lambda t: sow.uniform_(t, seed=0),
    lambda t: sow.normal_(t, seed=0),
    lambda t: sow.trunc_normal_(t, seed=0),
    lambda t: sow.constant_(t, 0.5),
    lambda t: sow.ones_(t),
    lambda t: sow.zeros_(t),
    lambda t: sow.eye_(t),
    lambda t: sow.xavier_uniform_(t, seed=0),
    lambda t: sow.xavier_normal_(t, seed=0),
    lambda t: sow.kaiming_uniform_(t, seed=0),
    lambda t: sow.kaiming_normal_(t, seed=0),
    lambda t: sow.lecun_uniform_(t, seed=0),
    lambda t: sow.lecun_normal_(t, seed=0),
    lambda t: sow.variance_scaling_(t, seed=0),
    lambda t: sow.sparse_(t, 0.5, seed=0),
    lambda t: sow.orthogonal_(t, seed=0),
]
IDS = ["uniform", "normal", "trunc_normal", "constant", "ones", "zeros", "eye", "xavier_uniform",
       "xavier_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform", "lecun_normal",
       "variance_scaling", "sparse", "orthogonal"]


def test_backward_after_inplace_fill_raises_as_with_torch():
    """Without the version bump, backward would silently use the overwritten x."""
    x = torch.randn(3, requires_grad=True)
    y = (x * x).sum()
    sow.normal_(x, seed=0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    # torch's own init does the same: this is the behaviour being matched.
    x2 = torch.randn(3, requires_grad=True)
    y2 = (x2 * x2).sum()
    torch.nn.init.normal_(x2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y2.backward()


@pytest.mark.parametrize("call", INPLACE, ids=IDS)
def test_every_inplace_form_bumps_the_version(call):
    t = torch.empty(4, 4)
    before = t._version
    call(t)
    assert t._version > before


@pytest.mark.parametrize("call", INPLACE, ids=IDS)
def test_refused_call_does_not_bump_the_version(call):
    t = torch.full((4, 4), 7.0, dtype=torch.float64)
    before = t._version
    with torch.inference_mode():
        inf = torch.full((4, 4), 7.0)
    with pytest.raises(ValueError):
        call(inf)
    assert t._version == before
    assert bool((inf == 7.0).all())


def test_leaf_parameter_under_no_grad_and_outside():
    p = torch.nn.Parameter(torch.zeros(5, 3))
    with torch.no_grad():
        sow.xavier_uniform_(p, seed=3, key="w")
    np.testing.assert_array_equal(p.detach().numpy(), sow.xavier_uniform((5, 3), seed=3, key="w"))
    sow.kaiming_uniform_(p, seed=3, key="w")  # torch.nn.init accepts leaves outside no_grad too
    assert p.requires_grad and p.grad_fn is None


def test_inference_tensor_outside_inference_mode_is_refused_as_torch_does():
    with torch.inference_mode():
        t = torch.full((3,), 7.0)
        theirs = torch.full((3,), 7.0)
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor"):
        torch.nn.init.normal_(theirs)  # (torch has written by the time it raises; sow has not)
    with pytest.raises(sow.InferenceTensorError, match="inference tensor") as info:
        sow.normal_(t, seed=0)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    assert bool((t == 7.0).all())
    with pytest.raises(ValueError, match=r"items\[0\].*inference tensor"):
        sow.init_batch([(t, "normal", 0)], seed=0)
    assert bool((t == 7.0).all())
    with torch.inference_mode():
        sow.normal_(t, seed=0)
    np.testing.assert_array_equal(t.numpy(), sow.normal((3,), seed=0))


@pytest.mark.parametrize("call", INPLACE, ids=IDS)
def test_meta_tensors_are_a_validated_noop(call):
    m = torch.empty(4, 4, device="meta")
    assert call(m) is m


def test_meta_tensors_still_check_arguments():
    m = torch.empty(4, 4, device="meta")
    with pytest.raises(ValueError, match="Mode"):
        sow.kaiming_uniform_(m, mode="sideways", seed=0)
    with pytest.raises(ValueError, match="sparsity"):
        sow.sparse_(m, 1.5, seed=0)
    with pytest.raises(ValueError, match="2 dimensions"):
        sow.eye_(torch.empty(2, 2, 2, device="meta"))
    with pytest.raises(TypeError, match="seed"):
        sow.normal_(m, seed="0")
    # torch's own init on meta: a no-op that checks its arguments the same way
    with pytest.raises(ValueError, match="Mode"):
        torch.nn.init.kaiming_uniform_(m, mode="sideways")


def test_init_batch_meta_items_are_skipped_and_others_filled():
    m = torch.empty(8, 4, device="meta")
    w = torch.empty(8, 4)
    out = sow.init_batch([(m, "normal", "a"), (w, "normal", "b"), (m, "eye", "c")], seed=1)
    assert out[0] is m and out[2] is m
    np.testing.assert_array_equal(w.numpy(), sow.normal((8, 4), seed=1, key="b"))
    assert w._version > 0


@pytest.mark.parametrize("shape", [(0, 1), (1, 0), (0, 3, 3), (0,)])
@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_"])
def test_zero_element_tensors_match_torch(name, shape):
    def run(fn, t):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fn(t)
            except ValueError as e:
                return ("ValueError", [str(w.message) for w in caught], "fewer than 2" in str(e))
        return ("ok", [str(w.message) for w in caught], None)

    ours = run(lambda t: getattr(sow, name)(t, seed=0), torch.empty(shape))
    theirs = run(getattr(torch.nn.init, name), torch.empty(shape))
    assert ours == theirs
