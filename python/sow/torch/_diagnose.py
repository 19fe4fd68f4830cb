"""``sow.torch.diagnose(module, batch)``: the statistics of :func:`sow.diagnose` for a torch
module, read through forward hooks, with the backward pass done by autograd.

A *layer* is every ``nn.Linear`` the forward pass calls, in call order. Its activation is the
first elementwise activation module (``nn.ReLU``, ``nn.Tanh``, ...; table below) called after it
and before the next ``nn.Linear``; without one (or with activations applied as functions, which
hooks cannot see) the layer counts as linear.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from torch import nn

import sow

from .._diagnose._network import Diagnosis, finish, layer_stats

__all__ = ["diagnose", "ACTIVATION_MODULES"]

#: torch activation modules and the names sow.diagnose uses for them.
ACTIVATION_MODULES: dict[type, str] = {
    nn.Identity: "linear", nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.PReLU: "prelu",
    nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.ELU: "elu", nn.SELU: "selu", nn.GELU: "gelu",
    nn.SiLU: "silu", nn.Mish: "mish",
}


def _activation_name(m: nn.Module) -> str | None:
    for cls, name in ACTIVATION_MODULES.items():
        if type(m) is cls:
            return name
    return None


def diagnose(module: Any, batch: Any, *, seed: int = 0) -> Diagnosis:
    """Forward ``batch`` through ``module``, backward ``loss = (1/n) sum_i g_i . y_i`` with
    ``g`` i.i.d. N(0, 1) from sow (``seed``, key ``"cotangent"``, as :func:`sow.diagnose`), and
    report the per-layer statistics and verdict of :func:`sow.diagnose` (same thresholds).

    ``module``: an ``nn.Module`` whose output is one tensor of shape ``(n, out)``, with at least
    one ``nn.Linear``; ``batch``: a tensor or array of shape ``(n, in)``, n >= 2, finite,
    converted to the dtype and device of the module's first parameter. Computed under
    ``torch.enable_grad()`` with ``torch.autograd.grad``, so no ``.grad`` of the module is
    touched; the module is not modified (hooks are removed afterwards)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    linears = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("module has no nn.Linear layer to diagnose")
    first = next(module.parameters())
    if isinstance(batch, np.ndarray):
        batch = torch.from_numpy(batch)
    if not isinstance(batch, torch.Tensor):
        raise TypeError(f"batch must be a torch tensor or a NumPy array, got {type(batch).__name__}")
    if batch.dtype == torch.bool or batch.is_complex():
        raise TypeError(f"batch must hold real numbers, got dtype {batch.dtype}")
    width = linears[0][1].in_features
    if batch.ndim != 2 or batch.shape[1] != width:
        raise ValueError(f"batch must have shape (n, {width}) (the first Linear's in_features), "
                         f"got shape {tuple(batch.shape)}")
    if batch.shape[0] < 2:
        raise ValueError(f"batch needs at least 2 rows for statistics, got {batch.shape[0]}")
    if not bool(torch.isfinite(batch).all()):
        raise ValueError("batch contains NaN or infinity")

    frozen = [n for n, m in linears if not m.weight.requires_grad]
    if frozen:
        raise ValueError(f"module: the weights of {', '.join(frozen)} do not require grad")
    names = {m: n for n, m in linears}
    calls: list[dict[str, Any]] = []  # one per Linear call, in order

    def on_linear(m: nn.Module, inputs: tuple[Any, ...], out: torch.Tensor) -> None:
        # z is copied: an in-place activation (ReLU(inplace=True)) would overwrite it
        calls.append({"name": names[m], "module": m, "x": inputs[0], "z": out,
                      "z_val": out.detach().clone(), "h": out, "act": "linear"})

    def on_activation(m: nn.Module, inputs: tuple[Any, ...], out: torch.Tensor) -> None:
        if calls and calls[-1]["act"] == "linear" and calls[-1]["h"] is calls[-1]["z"] \
                and inputs[0] is calls[-1]["z"]:
            calls[-1]["h"] = out
            calls[-1]["act"] = _activation_name(m)

    handles = []
    try:
        for m in module.modules():
            if isinstance(m, nn.Linear):
                handles.append(m.register_forward_hook(on_linear))
            elif _activation_name(m) is not None:
                handles.append(m.register_forward_hook(on_activation))
        x = batch.detach().to(dtype=first.dtype, device=first.device).clone()
        x.requires_grad_(True)
        with torch.enable_grad():
            y = module(x)
            if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[0] != x.shape[0]:
                raise ValueError(f"module must return one tensor of shape (n, out), got "
                                 f"{getattr(y, 'shape', type(y).__name__)}")
            n = x.shape[0]
            g = sow.normal((n, y.shape[1]), seed=seed, key="cotangent", dtype="float64")
            gt = torch.from_numpy(g / n).to(dtype=y.dtype, device=y.device)
            wanted = [c["module"].weight for c in calls] + [c["x"] for c in calls]
            grads = torch.autograd.grad(y, wanted, grad_outputs=gt, allow_unused=True)
    finally:
        for h in handles:
            h.remove()
    k = len(calls)

    def host(t: Any, like: torch.Tensor) -> np.ndarray:
        t = torch.zeros_like(like) if t is None else t
        return t.detach().to("cpu", torch.float64).numpy()

    layers = [layer_stats(i, c["name"], c["act"], "-", host(c["z_val"], c["z_val"]),
                          host(c["h"], c["h"]),
                          host(grads[i], c["module"].weight), host(grads[k + i], c["x"]), n)
              for i, c in enumerate(calls)]
    return finish(layers, n, seed)
