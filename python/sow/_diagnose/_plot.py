"""The figure of ``sow diagnose --plot``: per-layer activation histograms for each init compared,
and activation / weight-gradient std against depth (matplotlib, Agg backend, imported here only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._network import Diagnosis

__all__ = ["plot", "MISSING_MATPLOTLIB", "HISTOGRAM_LAYERS"]

MISSING_MATPLOTLIB = ("--plot needs matplotlib, an optional extra of sow: "
                      "pip install 'sow[plot]' (or pip install matplotlib)")
#: At most this many hidden layers get a histogram (evenly spaced, first and last included).
HISTOGRAM_LAYERS = 6


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError(MISSING_MATPLOTLIB) from None
    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt

    return plt


def _shown_layers(n: int) -> list[int]:
    if n <= HISTOGRAM_LAYERS:
        return list(range(n))
    return sorted({round(i * (n - 1) / (HISTOGRAM_LAYERS - 1)) for i in range(HISTOGRAM_LAYERS)})


def _positive(values: list[float]) -> list[float]:
    # log axes: zero (dead) and non-finite (overflowed) points are left out as NaN
    return [v if v > 0 and math.isfinite(v) else math.nan for v in values]


def plot(diagnoses: Mapping[str, Diagnosis], path: str, *, title: str = "") -> None:
    """Write the figure for ``diagnoses`` (label -> Diagnosis) to ``path`` (PNG by suffix)."""
    plt = _pyplot()
    k = len(diagnoses)
    cols = max(k, 2)
    fig = plt.figure(figsize=(3.2 * cols, 6.0), dpi=90)
    grid = fig.add_gridspec(2, cols * 2)
    for j, (label, d) in enumerate(diagnoses.items()):
        ax = fig.add_subplot(grid[0, 2 * j:2 * j + 2])
        # hidden layers only: the output layer's scale is the task's, not the signal's
        hidden = len(d.samples) - 1 if len(d.samples) > 1 else 1
        shown = _shown_layers(hidden)
        stds = [d.layers[i].act_std for i in shown]
        finite = [v for v in stds if v > 0 and math.isfinite(v)]
        # layers whose scales differ by orders of magnitude share no useful x axis: each is
        # then drawn in units of its own std (the scales are in the std-vs-depth panel)
        scaled = bool(finite) and max(finite) / min(finite) > 100.0
        for i, sd in zip(shown, stds):
            v = d.samples[i]
            v = v[np.isfinite(v)]
            if scaled:
                if not (sd > 0 and math.isfinite(sd)):
                    continue
                v = v / sd
            if v.size == 0:
                continue
            ax.hist(v, bins=60, histtype="step", density=True, label=f"layer {i}")
        ax.set_xlabel("hidden activation / its layer's std" if scaled else "hidden activation",
                      fontsize=8)
        ax.set_title(f"{label}: {d.verdict}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    half = cols
    for col, (field, ylabel) in enumerate((("act_std", "activation std"),
                                           ("grad_weight_std", "weight-gradient std"))):
        ax = fig.add_subplot(grid[1, col * half:(col + 1) * half])
        for label, d in diagnoses.items():
            ys = _positive([getattr(s, field) for s in d.layers])
            ax.plot([s.index for s in d.layers], ys, marker=".", label=label)
        ax.set_yscale("log")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("layer", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
