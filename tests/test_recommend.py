"""sow.recommend (activation-aware advice) and sow.log_odds_bias(_) (output biases from priors):
known specs and gains, specs that run through sow.Plan, exact biases, refusals that write nothing."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sow
from sow.recommend import ACTIVATIONS, KINDS

try:  # torch parity is checked when torch is installed
    import torch
except ImportError:  # pragma: no cover - torch is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

# The documented table (docs/choosing.md): activation -> (name, params, gain formula).
R2 = math.sqrt(2.0)
EXPECTED = {
    "linear": ("xavier_uniform", {"gain": 1.0}, 1.0),
    "identity": ("xavier_uniform", {"gain": 1.0}, 1.0),
    "sigmoid": ("xavier_uniform", {"gain": 1.0}, 1.0),
    "tanh": ("xavier_uniform", {"gain": 5.0 / 3.0}, 5.0 / 3.0),
    "softmax": ("xavier_uniform", {"gain": 1.0}, 1.0),
    "relu": ("kaiming_normal", {"mode": "fan_in", "nonlinearity": "relu"}, R2),
    "leaky_relu": ("kaiming_normal", {"a": 0.01, "mode": "fan_in", "nonlinearity": "leaky_relu"},
                   math.sqrt(2.0 / (1 + 0.01 ** 2))),
    "prelu": ("kaiming_normal", {"a": 0.25, "mode": "fan_in", "nonlinearity": "leaky_relu"},
              math.sqrt(2.0 / (1 + 0.25 ** 2))),
    "elu": ("kaiming_normal", {"mode": "fan_in", "nonlinearity": "relu"}, R2),
    "gelu": ("kaiming_normal", {"mode": "fan_in", "nonlinearity": "relu"}, R2),
    "silu": ("kaiming_normal", {"mode": "fan_in", "nonlinearity": "relu"}, R2),
    "swish": ("kaiming_normal", {"mode": "fan_in", "nonlinearity": "relu"}, R2),
    "mish": ("kaiming_normal", {"mode": "fan_in", "nonlinearity": "relu"}, R2),
    "selu": ("lecun_normal", {}, 1.0),
}
# The nonlinearity whose calculate_gain each recommendation's gain is.
GAIN_OF = {"linear": "linear", "identity": "linear", "sigmoid": "sigmoid", "tanh": "tanh",
           "softmax": "linear", "relu": "relu", "elu": "relu", "gelu": "relu", "silu": "relu",
           "swish": "relu", "mish": "relu"}


def test_every_activation_is_documented():
    assert set(ACTIVATIONS) == set(EXPECTED)


@pytest.mark.parametrize("kind", ["dense", "conv", "output"])
@pytest.mark.parametrize("activation", sorted(EXPECTED))
def test_spec_is_the_documented_formula(activation, kind):
    rec = sow.recommend(activation, kind=kind)
    name, params, gain = EXPECTED[activation]
    assert rec.spec == sow.Spec(name, **params)
    assert (rec.name, rec.params) == (name, params)
    assert rec.gain == pytest.approx(gain, rel=1e-15)
    assert rec.activation == activation and rec.kind == kind
    assert isinstance(rec.reason, str) and "\n" not in rec.reason and rec.reason
    if activation in GAIN_OF:
        assert rec.gain == sow.calculate_gain(GAIN_OF[activation])
    elif activation in ("leaky_relu", "prelu"):
        assert rec.gain == sow.calculate_gain("leaky_relu", params["a"])


@needs_torch
@pytest.mark.parametrize("activation", sorted(GAIN_OF))
def test_gain_equals_torchs(activation):
    assert sow.recommend(activation).gain == torch.nn.init.calculate_gain(GAIN_OF[activation])


@needs_torch
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 0.25, 1.0, -0.5])
@pytest.mark.parametrize("activation", ["leaky_relu", "prelu"])
def test_slope_param(activation, slope):
    rec = sow.recommend(activation, param=slope)
    assert rec.spec.params["a"] == slope
    assert rec.gain == torch.nn.init.calculate_gain("leaky_relu", slope)


@pytest.mark.parametrize("activation", sorted(EXPECTED))
def test_recurrent_is_orthogonal(activation):
    rec = sow.recommend(activation, kind="recurrent")
    assert rec.spec == sow.Spec("orthogonal", gain=1.0) and rec.gain == 1.0
    assert "Saxe" in rec.reason


def test_recommendation_is_frozen():
    rec = sow.recommend("relu")
    with pytest.raises(AttributeError):
        rec.gain = 2.0  # type: ignore[misc]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", sorted(EXPECTED))
def test_specs_run_through_plan(activation, kind):
    """Each recommended spec runs in a Plan and equals the in-place function with its params."""
    rec = sow.recommend(activation, kind=kind)
    shape = (32, 16, 3) if kind == "conv" else (24, 24)
    out = np.zeros(shape, np.float32)
    plan = sow.Plan(seed=7)
    plan.add(out, rec.spec, key="w")
    plan.execute()
    ref = np.zeros(shape, np.float32)
    getattr(sow, rec.name + "_")(ref, **rec.params, seed=7, key="w")
    np.testing.assert_array_equal(out, ref)
    assert out.std() > 0


def test_specs_run_through_init_batch():
    recs = [sow.recommend(a) for a in ("relu", "tanh", "selu")]
    outs = [np.zeros((16, 16), np.float32) for _ in recs]
    sow.init_batch([(o, r.spec, k) for o, r, k in zip(outs, recs, "abc")], seed=3)
    for out, rec, k in zip(outs, recs, "abc"):
        ref = np.zeros((16, 16), np.float32)
        getattr(sow, rec.name + "_")(ref, **rec.params, seed=3, key=k)
        np.testing.assert_array_equal(out, ref)


def test_recommend_refusals():
    with pytest.raises(ValueError, match="activation 'softplus'"):
        sow.recommend("softplus")
    with pytest.raises(TypeError, match="activation must be a str"):
        sow.recommend(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind must be one of"):
        sow.recommend("relu", kind="attention")
    with pytest.raises(TypeError, match="kind must be a str"):
        sow.recommend("relu", kind=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="param is only for leaky_relu and prelu"):
        sow.recommend("relu", param=0.1)
    with pytest.raises(TypeError, match="param"):
        sow.recommend("leaky_relu", param="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="param"):
        sow.recommend("leaky_relu", param=True)  # type: ignore[arg-type]
    for bad in (math.nan, math.inf, 10 ** 400):
        with pytest.raises(ValueError, match="param"):
            sow.recommend("prelu", param=bad)


# ---- biases -----------------------------------------------------------------------------------

def _sigmoid(b):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(b)))  # no overflow for large |b|


def _softmax(b):
    e = np.exp(b - b.max())
    return e / e.sum()


@pytest.mark.parametrize("p", [[0.5], [0.01, 0.3, 0.99], [1e-6, 1 - 1e-6], 0.2])
def test_sigmoid_bias_is_the_log_odds(p):
    b = sow.log_odds_bias(p)
    assert b.dtype == np.float64 and b.shape == np.shape(p)
    np.testing.assert_allclose(_sigmoid(b), p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b, np.log(np.asarray(p) / (1 - np.asarray(p))), rtol=1e-12)


@pytest.mark.parametrize("p", [[0.5, 0.5], [0.1, 0.2, 0.3, 0.4], [0.98] + [0.002] * 10])
def test_softmax_bias_is_the_centred_log_prior(p):
    b = sow.log_odds_bias(p, kind="softmax")
    assert abs(b.mean()) < 1e-12
    np.testing.assert_allclose(_softmax(b), p, rtol=1e-12, atol=1e-15)


def test_regression_bias_is_the_target_mean():
    np.testing.assert_array_equal(sow.log_odds_bias([3.5, -2.0, 0.0], kind="regression"),
                                  [3.5, -2.0, 0.0])


def test_network_with_prior_bias_predicts_the_prior():
    """A zero-weight output layer's prediction is its activation of the bias: the prior."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8))
    w = np.zeros((8, 3))
    p = np.array([0.7, 0.2, 0.1])
    for kind, act in (("softmax", lambda z: np.apply_along_axis(_softmax, 1, z)),
                      ("sigmoid", _sigmoid)):
        y = act(x @ w + sow.log_odds_bias(p, kind=kind))
        np.testing.assert_allclose(y.mean(axis=0), p, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, ml_dtypes.bfloat16])
def test_inplace_numpy(dtype):
    p = [0.1, 0.5, 0.75]
    out = np.full(3, 9, dtype)
    assert sow.log_odds_bias_(out, p) is out
    np.testing.assert_array_equal(out, sow.log_odds_bias(p).astype(dtype))


@needs_torch
def test_inplace_torch_follows_torch_rules():
    p = [0.2, 0.3, 0.5]
    b = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    v = b._version
    assert sow.log_odds_bias_(b, p, kind="softmax") is b
    assert b._version > v and b.requires_grad
    assert torch.allclose(torch.softmax(b.detach(), 0), torch.tensor(p, dtype=torch.float64),
                          rtol=1e-12, atol=1e-15)
    x = torch.zeros(3, requires_grad=True)
    y = (x * x).sum()
    sow.log_odds_bias_(x, p)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    with torch.inference_mode():
        inf = torch.zeros(3)
    with pytest.raises(sow.InferenceTensorError):
        sow.log_odds_bias_(inf, p)
    assert (inf == 0).all()
    meta = torch.empty(3, device="meta")
    assert sow.log_odds_bias_(meta, p) is meta
    with pytest.raises(ValueError, match="shape"):
        sow.log_odds_bias_(torch.empty(4, device="meta"), p)
    with pytest.raises(TypeError, match="floating"):
        sow.log_odds_bias_(torch.zeros(3, dtype=torch.int64), p)


BAD = [
    ([0.0, 0.5], "sigmoid", "p must lie strictly inside"),
    ([1.0], "sigmoid", "p must lie strictly inside"),
    ([-0.1, 1.1], "softmax", "p must lie strictly inside"),
    ([0.3, 0.3], "softmax", "p must sum to 1"),
    ([[0.5, 0.5]], "softmax", "p must be 1-D"),
    ([0.5, math.nan], "sigmoid", "p contains NaN"),
    ([math.nan], "regression", "p contains NaN"),
    ([math.inf], "regression", "p .* must be finite"),
    ([], "sigmoid", "p is empty"),
]


@pytest.mark.parametrize("p, kind, msg", BAD)
def test_bad_priors_write_nothing(p, kind, msg):
    with pytest.raises(ValueError, match=msg):
        sow.log_odds_bias(p, kind=kind)
    out = np.full(np.shape(p), 7.0)
    before = out.copy()
    with pytest.raises(ValueError, match=msg):
        sow.log_odds_bias_(out, p, kind=kind)
    np.testing.assert_array_equal(out, before)


def test_bias_argument_refusals():
    out = np.full(2, 7.0)
    for call, err, msg in [
        (lambda: sow.log_odds_bias_(out, [0.5, 0.5], kind="logit"), ValueError, "kind must be"),
        (lambda: sow.log_odds_bias_(out, "0.5"), TypeError, "p must be"),
        (lambda: sow.log_odds_bias_(out, [True, False]), TypeError, "p must hold real"),
        (lambda: sow.log_odds_bias_(out, [0.5, 0.5, 0.5]), ValueError, "out has shape"),
        (lambda: sow.log_odds_bias_([0.0, 0.0], [0.5, 0.5]), TypeError, "out must be"),
        (lambda: sow.log_odds_bias_(np.zeros(2, np.int32), [0.5, 0.5]), TypeError, "floating"),
    ]:
        with pytest.raises(err, match=msg):
            call()
        np.testing.assert_array_equal(out, [7.0, 7.0])
    ro = np.full(2, 7.0)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        sow.log_odds_bias_(ro, [0.5, 0.5])


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3)),
                min_size=1, max_size=6),
       st.sampled_from(["sigmoid", "softmax"]))
def test_property_bad_priors_refused_before_writing(p, kind):
    """Any prior outside (0, 1), NaN, or (softmax) not summing to 1 is refused and writes
    nothing; any other is accepted and its activation is p."""
    arr = np.asarray(p, np.float64)
    valid = bool(((arr > 0) & (arr < 1)).all())
    if kind == "softmax":
        valid = valid and abs(arr.sum() - 1.0) <= 1e-6
    out = np.full(len(p), -3.0)
    if valid:
        sow.log_odds_bias_(out, p, kind=kind)
        act = _sigmoid(out) if kind == "sigmoid" else _softmax(out) * arr.sum()
        np.testing.assert_allclose(act, arr, rtol=1e-9, atol=1e-12)
    else:
        with pytest.raises(ValueError, match="^p "):
            sow.log_odds_bias_(out, p, kind=kind)
        assert (out == -3.0).all()
