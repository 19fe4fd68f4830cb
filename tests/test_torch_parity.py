"""Parity with torch.nn.init: gains, fans, the scale formulas, the distributions (two-sample KS
against torch's own output) and the deterministic initializers (exactly equal).

Statistical thresholds as in test_statistics.py: fixed seeds, KS p > 1e-4, 5 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sow
import sow_ref as ref

torch = pytest.importorskip("torch")
tinit = torch.nn.init

KS_P_MIN = 1e-4

SHAPES = [(64, 3, 7, 7), (16, 4, 3), (8, 8, 3, 3, 3), (256, 128), (1000, 10), (10, 1000), (3, 5), (1, 1), (7, 3, 1, 1)]
SHAPE_IDS = ["x".join(map(str, s)) for s in SHAPES]

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


# ----------------------------------------------------------------------------------------------
# calculate_gain: the whole table
# ----------------------------------------------------------------------------------------------
GAIN_CASES = [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None),
    ("leaky_relu", None),  # default slope 0.01
    ("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", 0.0), ("leaky_relu", 1), ("leaky_relu", 3),
    ("leaky_relu", -0.5), ("leaky_relu", math.sqrt(5)),
    ("tanh", 0.5), ("relu", 7),  # param ignored for the others
]


@pytest.mark.parametrize("nonlinearity,param", GAIN_CASES)
def test_calculate_gain_matches_torch(nonlinearity, param):
    expected = tinit.calculate_gain(nonlinearity, param)
    got = sow.calculate_gain(nonlinearity, param)
    assert got == pytest.approx(expected, rel=1e-15, abs=0)


def test_calculate_gain_values():
    # The table itself, independently of torch.
    assert sow.calculate_gain("linear") == 1
    assert sow.calculate_gain("sigmoid") == 1
    assert sow.calculate_gain("tanh") == pytest.approx(5 / 3, rel=1e-15)
    assert sow.calculate_gain("relu") == pytest.approx(math.sqrt(2), rel=1e-15)
    assert sow.calculate_gain("selu") == 0.75
    assert sow.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)), rel=1e-15)
    assert sow.calculate_gain("leaky_relu", 0.01) == sow.calculate_gain("leaky_relu")
    assert sow.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3), rel=1e-15)


@pytest.mark.parametrize("nonlinearity", ["gelu", "silu", "Relu", "softmax", ""])
def test_calculate_gain_unknown(nonlinearity):
    with pytest.raises(ValueError):
        tinit.calculate_gain(nonlinearity)
    with pytest.raises(ValueError, match="nonlinearity"):
        sow.calculate_gain(nonlinearity)


@pytest.mark.parametrize("param", [True, False, "0.1", [0.1]])
def test_calculate_gain_bad_leaky_param(param):
    with pytest.raises(ValueError):
        tinit.calculate_gain("leaky_relu", param)
    with pytest.raises(ValueError, match="negative_slope|param"):
        sow.calculate_gain("leaky_relu", param)


# ----------------------------------------------------------------------------------------------
# fans
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES + [(4, 0), (0, 4, 3)], ids=SHAPE_IDS + ["4x0", "0x4x3"])
def test_fans_match_torch(shape):
    expected = tinit._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert tuple(sow.calculate_fan_in_and_fan_out(shape)) == tuple(expected)
    assert tuple(sow.calculate_fan_in_and_fan_out(shape, layout="torch")) == tuple(expected)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_fans_jax_layout(shape):
    assert tuple(sow.calculate_fan_in_and_fan_out(shape, layout="jax")) == ref.fans_jax(shape)


def test_fans_conv_transpose_quirk():
    # ConvTranspose2d(16, 4, 3) weight is (in, out/groups, k, k) -> torch "fan_in" = 36, fan_out 144.
    w = torch.nn.ConvTranspose2d(16, 4, 3).weight
    assert tuple(sow.calculate_fan_in_and_fan_out(tuple(w.shape))) == (36, 144)
    assert tinit._calculate_fan_in_and_fan_out(w) == (36, 144)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fans_need_two_dims(shape):
    with pytest.raises(ValueError):
        tinit._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError):
        sow.calculate_fan_in_and_fan_out(shape)


# ----------------------------------------------------------------------------------------------
# Scale formulas: sow's parameter equals torch's formula (with torch's fans and gains), and the
# empirical spread agrees with it.
# ----------------------------------------------------------------------------------------------
def torch_scale(name, shape, **kw):
    """(kind, scale): 'bound' of U(-bound, bound) or 'std' of N(0, std), by torch's formulas."""
    t = torch.empty(shape)
    fi, fo = tinit._calculate_fan_in_and_fan_out(t)
    if name in ("xavier_uniform", "xavier_normal"):
        std = kw.get("gain", 1.0) * math.sqrt(2.0 / float(fi + fo))
        return ("bound", math.sqrt(3.0) * std) if name == "xavier_uniform" else ("std", std)
    fan = tinit._calculate_correct_fan(t, kw.get("mode", "fan_in"))
    gain = tinit.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0))
    std = gain / math.sqrt(fan)
    return ("bound", math.sqrt(3.0) * std) if name == "kaiming_uniform" else ("std", std)


SCALE_CASES = [
    ("xavier_uniform", {}),
    ("xavier_uniform", {"gain": 2.5}),
    ("xavier_normal", {}),
    ("xavier_normal", {"gain": 0.3}),
    ("kaiming_uniform", {}),
    ("kaiming_uniform", {"a": math.sqrt(5)}),  # nn.Linear / nn.Conv default
    ("kaiming_uniform", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_uniform", {"a": 0.2, "mode": "fan_in", "nonlinearity": "leaky_relu"}),
    ("kaiming_normal", {}),
    ("kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal", {"nonlinearity": "tanh"}),
    ("kaiming_normal", {"nonlinearity": "selu", "mode": "fan_out"}),
    ("kaiming_normal", {"nonlinearity": "linear"}),
]
SCALE_IDS = [f"{n}-{'-'.join(f'{k}={v:.3g}' if isinstance(v, float) else f'{k}={v}' for k, v in kw.items())}" for n, kw in SCALE_CASES]


@pytest.mark.parametrize("name,kw", SCALE_CASES, ids=SCALE_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_scale_formula_matches_torch(name, kw, shape):
    kind, scale = torch_scale(name, shape, **kw)
    got = getattr(sow, name)(shape, seed=17, key=name, dtype="float64", **kw)
    if kind == "bound":
        ref_vals = sow.uniform(shape, -scale, scale, seed=17, key=name, dtype="float64")
    else:
        ref_vals = sow.normal(shape, 0.0, scale, seed=17, key=name, dtype="float64")
    np.testing.assert_allclose(got, ref_vals, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name,kw", SCALE_CASES, ids=SCALE_IDS)
@pytest.mark.parametrize("shape", [(64, 3, 7, 7), (8, 8, 3, 3, 3), (256, 128)], ids=["conv2d", "conv3d", "linear"])
def test_empirical_spread_matches_torch_formula(name, kw, shape):
    kind, scale = torch_scale(name, shape, **kw)
    x = getattr(sow, name)(shape, seed=18, key=name, **kw).astype(np.float64).ravel()
    n = x.size
    if kind == "bound":
        assert np.abs(x).max() <= scale * (1 + 2**-23)
        assert np.abs(x).max() >= scale * (1 - 20.0 / n)  # P(fail) = (1 - 20/n)^n ~ e^-20
        target_std = scale / math.sqrt(3)
    else:
        target_std = scale
    assert abs(x.std() / target_std - 1) < 5 / math.sqrt(2 * n)
    assert abs(x.mean()) < 5 * target_std / math.sqrt(n)


def test_linear_default_bound():
    # torch nn.Linear(in, out) default: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(in)).
    x = sow.kaiming_uniform((300, 77), a=math.sqrt(5), seed=1, dtype="float64")
    b = 1 / math.sqrt(77)
    np.testing.assert_allclose(x, sow.uniform((300, 77), -b, b, seed=1, dtype="float64"), rtol=1e-14)


# ----------------------------------------------------------------------------------------------
# Distributions: two-sample KS against torch's own initializer output
# ----------------------------------------------------------------------------------------------
KS_SHAPE = (512, 128)
KS_CASES = [
    ("uniform", (), {"a": -0.3, "b": 0.7}),
    ("normal", (), {"mean": 0.5, "std": 2.0}),
    ("trunc_normal", (), {}),  # std 1, bounds +-2
    ("trunc_normal", (), {"std": 0.02, "a": -0.04, "b": 0.04}),
    ("trunc_normal", (), {"std": 0.02}),  # torch default bounds +-2: effectively untruncated
    ("trunc_normal", (), {"mean": 0.0, "std": 1.0, "a": 1.0, "b": 3.0}),
    ("xavier_uniform", (), {"gain": 1.3}),
    ("xavier_normal", (), {}),
    ("kaiming_uniform", (), {"a": math.sqrt(5)}),
    ("kaiming_uniform", (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal", (), {}),
    ("kaiming_normal", (), {"mode": "fan_out", "nonlinearity": "tanh"}),
]


@pytest.mark.parametrize("name,args,kw", KS_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(KS_CASES)])
def test_two_sample_ks_vs_torch(name, args, kw):
    gen = torch.Generator().manual_seed(1234)
    t = torch.empty(KS_SHAPE, dtype=torch.float32)
    getattr(tinit, name + "_")(t, *args, **kw, generator=gen)
    x = getattr(sow, name)(KS_SHAPE, *args, seed=1234, key=name, **kw)
    assert x.shape == tuple(t.shape) and x.dtype == np.float32
    p = stats.ks_2samp(x.ravel().astype(np.float64), t.numpy().ravel().astype(np.float64)).pvalue
    assert p > KS_P_MIN


def test_two_sample_ks_detects_difference():
    # The comparison above has power: xavier_uniform vs torch's xavier_normal is rejected.
    gen = torch.Generator().manual_seed(1234)
    t = torch.empty(KS_SHAPE)
    tinit.xavier_normal_(t, generator=gen)
    x = sow.xavier_uniform(KS_SHAPE, seed=1, key=1)
    assert stats.ks_2samp(x.ravel(), t.numpy().ravel()).pvalue < 1e-6


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.9])
def test_sparse_vs_torch(sparsity):
    shape = (200, 300)
    gen = torch.Generator().manual_seed(5)
    torch.manual_seed(5)  # torch's mask ignores `generator`
    t = torch.empty(shape)
    tinit.sparse_(t, sparsity, std=0.02, generator=gen)
    x = sow.sparse(shape, sparsity, 0.02, seed=5, key="sp")
    tz = (t == 0).sum(dim=0).numpy()
    np.testing.assert_array_equal(np.count_nonzero(x == 0, axis=0), tz)
    a, b = x[x != 0], t.numpy()[t.numpy() != 0]
    assert stats.ks_2samp(a, b).pvalue > KS_P_MIN


# ----------------------------------------------------------------------------------------------
# Deterministic initializers: exactly torch's values
# ----------------------------------------------------------------------------------------------
def torch_bits(t):
    return t.view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]).numpy()


def sow_bits(x):
    return x.view({2: np.int16, 4: np.int32, 8: np.int64}[x.dtype.itemsize])


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 7), (0, 3)])
def test_eye_equals_torch(shape, dtype):
    t = torch.empty(shape, dtype=TORCH_DTYPES[dtype])
    tinit.eye_(t)
    x = sow.eye(shape, dtype=dtype)
    np.testing.assert_array_equal(sow_bits(x), torch_bits(t))
    out = np.full(shape, 7, dtype=x.dtype)
    sow.eye_(out)
    np.testing.assert_array_equal(sow_bits(out), torch_bits(t))


DIRAC_CASES = [((6, 4, 3), 1), ((8, 4, 3, 3), 1), ((8, 4, 3, 3), 2), ((4, 6, 3, 3, 3), 1), ((6, 2, 5), 3), ((4, 4, 2, 2), 1), ((4, 8, 4, 5), 4), ((2, 2, 1, 1, 1), 2)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("shape,groups", DIRAC_CASES, ids=[f"{'x'.join(map(str, s))}-g{g}" for s, g in DIRAC_CASES])
def test_dirac_equals_torch(shape, groups, dtype):
    t = torch.empty(shape, dtype=TORCH_DTYPES[dtype])
    tinit.dirac_(t, groups)
    x = sow.dirac(shape, groups, dtype=dtype)
    np.testing.assert_array_equal(sow_bits(x), torch_bits(t))
    out = np.full(shape, 7, dtype=x.dtype)
    sow.dirac_(out, groups)
    np.testing.assert_array_equal(sow_bits(out), torch_bits(t))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("val", [0.0, 1.0, -2.5, 0.1, 1.0 / 3.0, 1e-5, 1000.3, 7])
def test_constant_ones_zeros_equal_torch(val, dtype):
    shape = (4, 3, 2)
    t = torch.empty(shape, dtype=TORCH_DTYPES[dtype])
    tinit.constant_(t, val)
    np.testing.assert_array_equal(sow_bits(sow.constant(shape, val, dtype=dtype)), torch_bits(t))
    out = np.empty(shape, dtype=ref.NP_DTYPES[dtype])
    sow.constant_(out, val)
    np.testing.assert_array_equal(sow_bits(out), torch_bits(t))
    tinit.ones_(t)
    np.testing.assert_array_equal(sow_bits(sow.ones(shape, dtype=dtype)), torch_bits(t))
    sow.ones_(out)
    np.testing.assert_array_equal(sow_bits(out), torch_bits(t))
    tinit.zeros_(t)
    np.testing.assert_array_equal(sow_bits(sow.zeros(shape, dtype=dtype)), torch_bits(t))
    out[...] = 5
    sow.zeros_(out)
    np.testing.assert_array_equal(sow_bits(out), torch_bits(t))
