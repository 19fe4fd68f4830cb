"""sow.torch.diagnose: the statistics of sow.diagnose read from a torch module through hooks
and autograd; on an nn.Sequential holding sow.diagnose's own weights both agree to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

import sow

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from sow.torch._diagnose import ACTIVATION_MODULES  # noqa: E402

MODULES = {name: cls for cls, name in ACTIVATION_MODULES.items()}
FIELDS = ("pre_mean", "pre_std", "act_mean", "act_std", "grad_weight_std", "grad_input_std")


def sequential(d, names):
    layers = []
    for w, b, name in zip(d.weights, d.biases, names):
        lin = nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if name != "linear":
            layers.append(MODULES[name]())
    return nn.Sequential(*layers).double()  # PReLU's slope too


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"linear"}))
def test_agrees_with_numpy_diagnose(name):
    rng = np.random.default_rng(1)
    x = rng.uniform(-2.0, 2.0, (64, 6))
    names = [name, name, "linear"]
    d = sow.diagnose([6, 20, 20, 3], names, bias=("uniform", {"a": -0.5, "b": 0.5}), batch=x,
                     seed=4)
    t = sow.torch.diagnose(sequential(d, names), torch.from_numpy(x), seed=4)
    assert t.verdict == d.verdict and len(t.layers) == 3
    for a, b in zip(d.layers, t.layers):
        assert b.activation == a.activation and (b.fan_in, b.fan_out) == (a.fan_in, a.fan_out)
        for f in FIELDS:
            assert getattr(b, f) == pytest.approx(getattr(a, f), rel=1e-10, abs=1e-300), f
        assert b.saturated == a.saturated and b.dead == a.dead
    assert [s.name for s in t.layers] == ["0", "2", "4"]


def test_saturated_tanh_net_and_module_untouched():
    d = sow.diagnose([1, 100, 100, 100, 1], "tanh", ("uniform", {"a": -5.0, "b": 5.0}), seed=0)
    m = sequential(d, ["tanh"] * 3 + ["linear"])
    x = sow.uniform((256, 1), a=-5.0, b=5.0, seed=0, key="input", dtype="float64")
    before = [p.detach().clone() for p in m.parameters()]
    t = sow.torch.diagnose(m, x, seed=0)
    assert t.verdict == d.verdict == "saturated"
    assert all(p.grad is None for p in m.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))
    assert not m._forward_hooks and not m[0]._forward_hooks


def test_inplace_relu_keeps_pre_activations():
    d = sow.diagnose([4, 16, 2], ["relu", "linear"], seed=2, batch_size=32)
    m = sequential(d, ["relu", "linear"])
    m[1] = nn.ReLU(inplace=True)
    x = sow.normal((32, 4), seed=2, key="input", dtype="float64")
    t = sow.torch.diagnose(m, x, seed=2)
    assert t.layers[0].pre_mean == pytest.approx(d.layers[0].pre_mean, rel=1e-10)
    assert t.layers[0].grad_weight_std == pytest.approx(d.layers[0].grad_weight_std, rel=1e-10)


@pytest.mark.parametrize("module, batch, exc, match", [
    ("not a module", np.zeros((4, 3)), TypeError, "module"),
    (nn.Sequential(nn.Tanh()), np.zeros((4, 3)), ValueError, "module"),
    (nn.Linear(3, 2), np.zeros((4, 2)), ValueError, "batch"),
    (nn.Linear(3, 2), np.full((4, 3), np.nan), ValueError, "batch"),
    (nn.Linear(3, 2), np.zeros((1, 3)), ValueError, "batch"),
    (nn.Linear(3, 2), [[0.0] * 3] * 4, TypeError, "batch"),
    (nn.Linear(3, 2).requires_grad_(False), np.zeros((4, 3)), ValueError, "module"),
])
def test_bad_input(module, batch, exc, match):
    with pytest.raises(exc, match=match):
        sow.torch.diagnose(module, batch)
