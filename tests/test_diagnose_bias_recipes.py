"""sow.torch.recipe(base, bias=..., output=..., output_bias=...): biases get exactly the chosen
values, every weight is bit for bit what the base recipe gives, and a prior output bias makes
the untrained network's mean output the prior."""

from __future__ import annotations

import numpy as np
import pytest

import sow

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import sow.torch  # noqa: E402


def mlp(out=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.LayerNorm(32), nn.Linear(32, out))


def state(model, recipe):
    sow.torch.init_module_(model, seed=5, recipe=recipe)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("base", ["torch", "gpt2", "torchtitan_llama3"])
@pytest.mark.parametrize("bias, value", [("zeros", 0.0), ("relu_positive", 0.01),
                                         (0.25, 0.25), (("constant", {"val": -0.5}), -0.5)])
def test_biases_get_the_choice_weights_unchanged(base, bias, value):
    ref = state(mlp(), base)
    got = state(mlp(), sow.torch.recipe(base, bias=bias))
    for name in ("0.bias", "2.bias", "5.bias"):
        assert torch.equal(got[name], torch.full_like(got[name], value)), name
    for name in ("0.weight", "2.weight", "5.weight", "4.weight", "4.bias"):  # 4: LayerNorm
        assert torch.equal(got[name], ref[name]), name


def test_bias_spec_is_random_with_its_own_keys():
    got = state(mlp(), sow.torch.recipe("torch", bias=sow.Spec("uniform", a=-0.1, b=0.1)))
    want = sow.uniform((32,), a=-0.1, b=0.1, seed=5, key="2.bias")
    np.testing.assert_array_equal(got["2.bias"].numpy(), want)


def test_output_layer_gets_its_own_bias():
    got = state(mlp(), sow.torch.recipe("torch", bias="relu_positive", output="5",
                                        output_bias=-1.0))
    assert torch.equal(got["2.bias"], torch.full((32,), 0.01))
    assert torch.equal(got["5.bias"], torch.full((3,), -1.0))
    zero_out = state(mlp(), sow.torch.recipe("torch", bias="relu_positive", output="5"))
    assert torch.equal(zero_out["5.bias"], torch.zeros(3))


@pytest.mark.parametrize("kind, p", [("sigmoid", [0.01, 0.2, 0.7]),
                                     ("softmax", [0.6, 0.3, 0.1]),
                                     ("regression", [3.5, -1.0, 0.0])])
def test_prior_bias_gives_the_prior_as_initial_mean_output(kind, p):
    """With the output weights zero (a rule before the recipe) the output is exactly the bias,
    so the activation of the initial output is the prior for every input. (With random output
    weights the mean output also carries W . mean(h), which is not zero for a fixed W.)"""
    b = sow.log_odds_bias(p, kind=kind)
    act = {"sigmoid": torch.sigmoid, "softmax": lambda z: torch.softmax(z, -1),
           "regression": lambda z: z}[kind]
    rec = sow.torch.recipe("torch", bias="zeros", output="5", output_bias=b)
    model = mlp().double()
    sow.torch.init_module_(model, seed=1, recipe=sow.Recipe([("5.weight", "zeros")]) + rec)
    np.testing.assert_allclose(model[5].bias.detach().numpy(), b, rtol=0, atol=0)
    x = torch.from_numpy(sow.uniform((4096, 8), a=-1.0, b=1.0, seed=2, key="x",
                                     dtype="float64"))
    with torch.no_grad():
        out = act(model(x))
    np.testing.assert_allclose(out.mean(0).numpy(), p, rtol=1e-12, atol=1e-12)


def test_weights_bit_for_bit_with_a_prior():
    ref = state(mlp(), "torch")
    got = state(mlp(), sow.torch.recipe("torch", output="5",
                                        output_bias=sow.log_odds_bias([0.1, 0.2, 0.3])))
    assert all(torch.equal(got[k], ref[k]) for k in ref if k != "5.bias")
    # bias=None keeps the base's hidden biases too
    assert torch.equal(got["0.bias"], ref["0.bias"])


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(base="nope"), ValueError, "base"),
    (dict(base=3), TypeError, "base"),
    (dict(bias="relu"), ValueError, "bias"),
    (dict(bias=float("nan")), ValueError, "bias"),
    (dict(bias=object()), TypeError, "bias"),
    (dict(output_bias=0.5), ValueError, "output"),
    (dict(output=5, output_bias=0.5), TypeError, "output"),
    (dict(output="5", output_bias=[np.nan, 0, 0]), ValueError, "output_bias"),
    (dict(output="5", output_bias=np.zeros((3, 1))), ValueError, "output_bias"),
])
def test_bad_choices(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sow.torch.init_module_(mlp(), seed=0, recipe=sow.torch.recipe(**kwargs))


def test_prior_length_mismatch_names_output_bias_and_writes_nothing():
    model = mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="output_bias has 2 values"):
        sow.torch.init_module_(model, seed=0, recipe=sow.torch.recipe(
            "torch", output="5", output_bias=[0.1, 0.2]))
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_hf_recipe_with_bias_changes_only_biases():
    transformers = pytest.importorskip("transformers")
    from tiny_hf_configs import CONFIGS

    cfg = transformers.AutoConfig.for_model(**CONFIGS["llama-bias-tied-pad"])
    model = transformers.AutoModelForCausalLM.from_config(cfg)
    ref = state(model, "hf")
    got = state(model, sow.torch.recipe("hf", bias="relu_positive"))
    changed = {k for k in got if not torch.equal(got[k], ref[k])}
    biases = {k for k in got if k.endswith(".bias")}
    assert changed == biases and len(biases) == 7
    assert all(torch.equal(got[k], torch.full_like(got[k], 0.01)) for k in biases)
