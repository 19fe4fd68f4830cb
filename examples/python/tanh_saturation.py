"""Why the scale of an initializer matters: fit y = x sin(x) + noise with 3 tanh layers of 100.

W ~ U[-1, 1] and Xavier train to a smooth fit; W ~ U[-5, 5] starts with most tanh units
saturated (|tanh| > 0.99), where their gradient 1 - tanh^2 is almost zero: its units act as
steps, it threads the noisy points with a jagged curve and misses x sin x between them (its
error against the true curve is 50-500x the others'). sow.diagnose sees it before any training.
Plain NumPy: full-batch Adam on the mean squared error, weights filled by sow (same seed, same
keys for every init), zero biases.

    python examples/python/tanh_saturation.py [--steps 500] [--out tanh_saturation.png]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

# The matrices are small (256 x 100): one BLAS thread is fastest, and idle BLAS threads that
# spin cost a shared 2-core machine 5-20x (measured). Set before NumPy loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import sow  # noqa: E402

WIDTHS = [1, 100, 100, 100, 1]
INITS = {
    "U[-1, 1]": sow.Spec("uniform", a=-1.0, b=1.0),
    "U[-5, 5]": sow.Spec("uniform", a=-5.0, b=5.0),
    "Xavier": sow.Spec("xavier_uniform"),
}
SEED = 0
NOISE = 0.3


def data(n: int = 256, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points x ~ U[-5, 5], y = x sin x + N(0, NOISE^2)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5.0, 5.0, (n, 1))
    return x, x * np.sin(x) + NOISE * rng.standard_normal((n, 1))


def init(spec: sow.Spec, seed: int = SEED) -> list[np.ndarray]:
    """[W0, b0, W1, b1, ...]: weights (out, in) by sow with ``spec``, biases zero."""
    params = []
    for i, (fan_in, fan_out) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:])):
        (w,) = sow.init_batch([((fan_out, fan_in), spec, f"layers.{i}.weight")], seed=seed,
                              dtype="float64")
        params += [w, np.zeros(fan_out)]
    return params


def forward(params: list[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The network's output and every layer's input (for the backward pass)."""
    hs = [x]
    n_layers = len(params) // 2
    for i in range(n_layers):
        z = hs[-1] @ params[2 * i].T + params[2 * i + 1]
        hs.append(z if i == n_layers - 1 else np.tanh(z))
    return hs[-1], hs


def loss_and_grads(params: list[np.ndarray], x: np.ndarray,
                   y: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """Mean squared error and its gradient (backpropagation written out)."""
    out, hs = forward(params, x)
    err = out - y
    delta = 2.0 * err / len(x)  # d loss / d out
    grads: list[np.ndarray] = [np.empty(0)] * len(params)
    for i in reversed(range(len(params) // 2)):
        grads[2 * i] = delta.T @ hs[i]
        grads[2 * i + 1] = delta.sum(axis=0)
        delta = delta @ params[2 * i]
        if i > 0:
            delta = delta * (1.0 - hs[i] ** 2)  # tanh' = 1 - tanh^2
    return float(np.mean(err ** 2)), grads


@dataclass
class Fit:
    name: str
    params: list[np.ndarray]
    losses: list[float]
    diagnosis: sow.Diagnosis

    def curve_error(self) -> float:
        """Mean squared distance to x sin x on 400 even points of [-5, 5] (not the noisy data)."""
        grid = np.linspace(-5.0, 5.0, 400)[:, None]
        return float(np.mean((forward(self.params, grid)[0] - grid * np.sin(grid)) ** 2))


def fit(name: str, steps: int = 500, lr: float = 3e-3, seed: int = SEED) -> Fit:
    """Adam (beta 0.9, 0.999, eps 1e-8) for ``steps`` full-batch steps from init ``name``."""
    spec = INITS[name]
    x, y = data(seed=seed)
    params = init(spec, seed)
    diagnosis = sow.diagnose(WIDTHS, "tanh", spec, batch=x, seed=seed)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    losses = []
    for t in range(1, steps + 1):
        loss, grads = loss_and_grads(params, x, y)
        losses.append(loss)
        for p, g, mi, vi in zip(params, grads, m, v):
            mi *= 0.9
            mi += 0.1 * g
            vi *= 0.999
            vi += 0.001 * g * g
            p -= lr * (mi / (1 - 0.9 ** t)) / (np.sqrt(vi / (1 - 0.999 ** t)) + 1e-8)
    losses.append(loss_and_grads(params, x, y)[0])
    return Fit(name, params, losses, diagnosis)


def figure(fits: list[Fit], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = data()
    grid = np.linspace(-5, 5, 400)[:, None]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=80)
    ax1.scatter(x[:, 0], y[:, 0], s=3, c="0.7", label="data")
    ax1.plot(grid[:, 0], grid[:, 0] * np.sin(grid[:, 0]), "k--", lw=1, label="x sin x")
    for f in fits:
        ax1.plot(grid[:, 0], forward(f.params, grid)[0][:, 0],
                 label=f"{f.name}: loss {f.losses[-1]:.3f}, error {f.curve_error():.3f}")
    ax1.set_ylim(-7.0, 6.0)  # U[-5, 5]'s spikes would flatten the others
    ax1.set_title(f"fits after {len(fits[0].losses) - 1} Adam steps", fontsize=10)
    ax1.legend(fontsize=7)
    width = 0.8 / len(fits)
    for j, f in enumerate(fits):
        sat = [s.saturated for s in f.diagnosis.layers if s.saturated is not None]
        ax2.bar(np.arange(len(sat)) + j * width, [100 * s for s in sat], width,
                label=f"{f.name}: {f.diagnosis.verdict}")
    ax2.axhline(100 * sow._diagnose.SATURATED_FRACTION, color="k", lw=0.8, ls=":")
    ax2.set_xticks(np.arange(3) + width, ["layer 0", "layer 1", "layer 2"])
    ax2.set_ylabel("% of |tanh| > 0.99 at init", fontsize=9)
    ax2.set_title("saturation at init (sow.diagnose)", fontsize=10)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--out", default="tanh_saturation.png", help="figure (needs matplotlib)")
    args = p.parse_args()
    t0 = time.perf_counter()
    fits = [fit(name, args.steps) for name in INITS]
    for f in fits:
        sat = ", ".join(f"{s.saturated:.0%}" for s in f.diagnosis.layers if s.saturated is not None)
        print(f"{f.name:9s} loss {f.losses[0]:8.3f} -> {f.losses[-1]:.4f}  error vs x sin x "
              f"{f.curve_error():.4f}  saturated at init: {sat} ({f.diagnosis.verdict})")
    print(f"{time.perf_counter() - t0:.1f} s")
    try:
        figure(fits, args.out)
        print(f"figure: {args.out}")
    except ImportError:
        print("no figure: pip install matplotlib")


if __name__ == "__main__":
    main()
