"""The forward and backward pass of ``sow.diagnose`` and its statistics (NumPy, float64).

The network: ``z_l = h_{l-1} W_l^T + b_l`` and ``h_l = f_l(z_l)`` for layers l = 1..L, with
``W_l`` of shape ``(widths[l], widths[l-1])`` (torch's ``nn.Linear`` layout, so fans are torch's),
``h_0`` the input batch. The backward pass is that of the loss
``loss = (1/n) sum_i g_i . h_L,i`` for a fixed cotangent ``g`` with i.i.d. N(0, 1) entries
(``sow.normal``, key ``"cotangent"``), so no target is needed and the backward signal starts with
unit variance whatever the output's scale.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._spec import Spec, as_spec
from . import _activations as act

__all__ = ["diagnose", "Diagnosis", "LayerStats", "VERDICTS", "SATURATED_FRACTION",
           "EXPLODING_RATIO", "summarize", "layer_stats", "finish"]

#: The verdicts, in the order they are decided.
VERDICTS = ("exploding", "saturated", "vanishing", "healthy")
#: A tanh/sigmoid layer is saturated when more than this fraction of its activations is in the
#: flat tails (|tanh| > 0.99, sigmoid outside [0.01, 0.99]).
SATURATED_FRACTION = 0.75
#: Exploding (vanishing): the last layer's activation std over the first's, or the first
#: layer's weight-gradient std over the last's, above this ratio (below its inverse).
EXPLODING_RATIO = 100.0
#: A ReLU layer whose units are more than this fraction dead is named in the reasons.
DEAD_FRACTION = 0.5
#: Activation values kept per layer for histograms (an even subsample).
HISTOGRAM_SAMPLES = 20000


@dataclass(frozen=True)
class LayerStats:
    """One layer's statistics over the batch (population std, float64).

    ``name``: ``"layers.{index}"`` (sow.diagnose) or the module's name (sow.torch.diagnose);
    ``pre_*``: of ``z = h W^T + b``; ``act_*``: of ``h = f(z)``; ``saturated``: fraction of
    ``h`` in the flat tails (tanh, sigmoid; None for others); ``dead``: fraction of units never
    positive on the batch (relu; None for others); ``grad_weight_std``: std of dloss/dW;
    ``grad_input_std``: std of the per-example gradient of the layer's input,
    ``n * dloss/dh_{l-1}``."""

    index: int
    name: str
    fan_in: int
    fan_out: int
    activation: str
    init: str
    pre_mean: float
    pre_std: float
    act_mean: float
    act_std: float
    saturated: float | None
    dead: float | None
    grad_weight_std: float
    grad_input_std: float


@dataclass(frozen=True)
class Diagnosis:
    """What ``sow.diagnose`` found: per-layer :class:`LayerStats`, the ``verdict`` (one of
    :data:`VERDICTS`) and the ``reasons`` behind it. ``weights``/``biases`` are the arrays sow
    filled (float64, ``(fan_out, fan_in)``); ``samples`` an even subsample of each layer's
    activations (for histograms). ``str()`` is a table."""

    layers: tuple[LayerStats, ...]
    verdict: str
    reasons: tuple[str, ...]
    batch_size: int
    seed: int | None
    weights: tuple[np.ndarray, ...] = field(default=(), repr=False, compare=False)
    biases: tuple[np.ndarray, ...] = field(default=(), repr=False, compare=False)
    samples: tuple[np.ndarray, ...] = field(default=(), repr=False, compare=False)

    @property
    def healthy(self) -> bool:
        return self.verdict == "healthy"

    def __str__(self) -> str:
        head = ("layer", "name", "shape", "activation", "init", "pre mean", "pre std", "act mean",
                "act std", "saturated", "dead", "grad W std", "grad in std")
        rows = [head]
        for s in self.layers:
            rows.append((str(s.index), s.name, f"{s.fan_in}->{s.fan_out}", s.activation, s.init,
                         _num(s.pre_mean), _num(s.pre_std), _num(s.act_mean), _num(s.act_std),
                         "-" if s.saturated is None else f"{s.saturated:.1%}",
                         "-" if s.dead is None else f"{s.dead:.1%}",
                         _num(s.grad_weight_std), _num(s.grad_input_std)))
        cols = [max(len(r[i]) for r in rows) for i in range(len(head))]
        left = {1, 2, 3, 4}
        lines = ["  ".join(c.ljust(w) if i in left else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, cols))).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in cols))
        lines.append(f"verdict: {self.verdict} (batch {self.batch_size}"
                     + ("" if self.seed is None else f", seed {self.seed}") + ")")
        lines.extend(f"  - {r}" for r in self.reasons)
        return "\n".join(lines)


def _num(x: float) -> str:
    return f"{x:.4g}"


def _check_widths(widths: Any) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes, Mapping)) or not isinstance(widths, Sequence):
        raise TypeError(f"widths must be a sequence of ints, got {type(widths).__name__}")
    out = []
    for i, w in enumerate(widths):
        if isinstance(w, bool) or not isinstance(w, numbers.Integral):
            raise TypeError(f"widths[{i}] must be an int, got {w!r}")
        if w < 1:
            raise ValueError(f"widths[{i}] must be at least 1, got {w}")
        out.append(int(w))
    if len(out) < 2:
        raise ValueError(f"widths needs at least 2 entries (input and output width), got {len(out)}")
    return tuple(out)


def _per_layer(value: Any, n: int, name: str, is_single: Any) -> list[Any]:
    """``value`` once per layer: a single value repeated, or a sequence of exactly ``n``."""
    if is_single(value):
        return [value] * n
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be one value or a sequence of one per layer, got {value!r}")
    if len(value) != n:
        raise ValueError(f"{name} has {len(value)} entries but widths gives {n} layers")
    return list(value)


def _is_spec(value: Any) -> bool:
    if isinstance(value, (str, Spec)):
        return True
    return isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[0], str) \
        and isinstance(value[1], Mapping)


def _check_activation(a: Any, where: str) -> str:
    if not isinstance(a, str):
        raise TypeError(f"{where} must be an activation name (str), got {a!r}")
    name = act.canonical(a)
    if name not in act.ACTIVATIONS:
        hint = " (not elementwise: diagnose its logits with 'linear')" if name == "softmax" else ""
        raise ValueError(f"{where}: unknown activation {a!r}{hint}; choose one of "
                         f"{', '.join(act.ACTIVATIONS)}")
    return name


def _check_slope(param: Any) -> float | None:
    if param is None:
        return None
    if isinstance(param, bool) or not isinstance(param, numbers.Real):
        raise TypeError(f"param (the negative slope of leaky_relu/prelu) must be a real number, "
                        f"got {param!r}")
    if not math.isfinite(float(param)):
        raise ValueError(f"param (the negative slope of leaky_relu/prelu) must be finite, "
                         f"got {param!r}")
    return float(param)


def _check_batch(batch: Any, width: int) -> np.ndarray:
    if isinstance(batch, (str, bytes)):
        raise TypeError(f"batch must be an array of shape (n, {width}), got {type(batch).__name__}")
    mod = type(batch).__module__.split(".")[0]
    if mod == "torch":
        batch = batch.detach().cpu().numpy()
    try:
        arr = np.asarray(batch)
    except (TypeError, ValueError) as e:
        raise TypeError(f"batch must be an array of numbers ({e})") from None
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer)
                                     or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"batch must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"batch must have shape (n, {width}) (widths[0] = {width}), got "
                         f"shape {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"batch needs at least 2 rows for statistics, got {arr.shape[0]}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("batch contains NaN or infinity")
    return arr


def _fill(shape: tuple[int, ...], spec: Spec, seed: int, key: str, where: str) -> np.ndarray:
    from .._batch import init_batch

    try:
        (arr,) = init_batch([(shape, spec, key)], seed=seed, dtype="float64")
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where} ({spec!r}): {e}") from None
    return arr


def _spec_text(spec: Spec) -> str:
    args = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in spec.params.items())
    return f"{spec.name}({args})" if args else spec.name


def diagnose(
    widths: Sequence[int],
    activation: str | Sequence[str] = "relu",
    init: Any = None,
    *,
    bias: Any = "zeros",
    batch: Any = None,
    input: Any = "normal",
    batch_size: int = 256,
    output_activation: str = "linear",
    param: float | None = None,
    seed: int = 0,
) -> Diagnosis:
    """Run a batch through a stack of dense layers initialized by sow and report, per layer,
    how the signal propagates forward and backward, with a verdict for the network.

    * ``widths``: ``[in, h1, ..., out]``, at least 2 entries; layer l maps ``widths[l-1]`` to
      ``widths[l]`` with ``W_l`` of shape ``(widths[l], widths[l-1])``.
    * ``activation``: one name for every hidden layer (the last layer then gets
      ``output_activation``, default ``"linear"``), or one name per layer. Names: linear
      (identity), relu, leaky_relu, prelu, tanh, sigmoid, elu, selu, gelu, silu (swish), mish;
      ``param`` is leaky_relu's (0.01) or prelu's (0.25) negative slope.
    * ``init``: a spec (``sow.Spec``, name or ``(name, {params})``) for every layer, or one per
      layer; default: :func:`sow.recommend` of each layer's activation. ``bias``: the same
      forms, default ``"zeros"``. Weights and biases are filled by sow in float64 with ``seed``,
      keys ``"layers.{l}.weight"`` / ``"layers.{l}.bias"`` (l from 0).
    * ``batch``: the input, shape ``(n, widths[0])``, finite, n >= 2; else ``batch_size`` rows
      drawn from the spec ``input`` (default ``"normal"``: N(0, 1)) with key ``"input"``.

    The backward pass is that of ``loss = (1/n) sum_i g_i . h_L,i``, ``g`` i.i.d. N(0, 1) (key
    ``"cotangent"``). Statistics (:class:`LayerStats`) are over the batch, population std.

    The verdict, decided in this order (thresholds :data:`SATURATED_FRACTION`,
    :data:`EXPLODING_RATIO`):

    1. ``"exploding"``: a non-finite value anywhere (float64 overflow);
    2. ``"saturated"``: a tanh/sigmoid layer with more than 75% of its activations saturated
       (|tanh| > 0.99, sigmoid outside [0.01, 0.99]);
    3. ``"exploding"`` / ``"vanishing"``: ``act_std[last] / act_std[first]`` or
       ``grad_weight_std[first] / grad_weight_std[last]`` above 100 / below 1/100 (a zero std
       is vanishing);
    4. ``"healthy"`` otherwise.

    ReLU layers with more than half their units dead are named in ``reasons``. Bad input
    (widths with fewer than 2 entries or below 1, an unknown activation, a list whose length is
    not the number of layers, a batch of the wrong width or with NaN) is a ``ValueError`` or
    ``TypeError`` naming the argument, raised before anything is computed.
    """
    ws = _check_widths(widths)
    n_layers = len(ws) - 1
    if isinstance(activation, str):
        acts = [activation] * (n_layers - 1) + [output_activation]
    else:
        acts = _per_layer(activation, n_layers, "activation", lambda v: False)
    names = [_check_activation(a, f"activation[{i}]" if not isinstance(activation, str)
                               else ("output_activation" if i == n_layers - 1 else "activation"))
             for i, a in enumerate(acts)]
    slope = _check_slope(param)
    if slope is not None and not any(a in ("leaky_relu", "prelu") for a in names):
        raise ValueError("param is the negative slope of leaky_relu/prelu, and no layer uses one")
    if init is None:
        from ..recommend import recommend

        inits = [recommend(a, param=param if a in ("leaky_relu", "prelu") else None).spec
                 for a in names]
    else:
        inits = [as_spec(s, f"init[{i}]") for i, s in
                 enumerate(_per_layer(init, n_layers, "init", _is_spec))]
    biases = [as_spec(s, f"bias[{i}]") for i, s in
              enumerate(_per_layer(bias, n_layers, "bias", _is_spec))]
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if batch is not None:
        x = _check_batch(batch, ws[0])
    else:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size < 2:
            raise ValueError(f"batch_size must be at least 2, got {batch_size}")
        x = _check_batch(_fill((int(batch_size), ws[0]), as_spec(input, "input"), seed, "input",
                               "input"), ws[0])

    weights = [_fill((ws[i + 1], ws[i]), inits[i], seed, f"layers.{i}.weight", f"init[{i}]")
               for i in range(n_layers)]
    bs = [_fill((ws[i + 1],), biases[i], seed, f"layers.{i}.bias", f"bias[{i}]")
          for i in range(n_layers)]
    g = _fill((x.shape[0], ws[-1]), Spec("normal"), seed, "cotangent", "cotangent")
    return summarize(x, weights, bs, names, [_spec_text(s) for s in inits], g, slope=slope,
                     seed=int(seed))


def summarize(x: np.ndarray, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
              names: Sequence[str], init_text: Sequence[str], g: np.ndarray, *,
              slope: float | None = None, seed: int | None = None) -> Diagnosis:
    """The pass and the statistics for checked inputs (float64 arrays, canonical names)."""
    n = x.shape[0]
    with np.errstate(all="ignore"):  # overflow is a finding (exploding), not an error
        hs, zs = [x], []
        for w, b, name in zip(weights, biases, names):
            z = hs[-1] @ w.T + b
            zs.append(z)
            hs.append(act.forward(name, z, slope))
        delta = g / n
        grad_w: list[np.ndarray] = []
        grad_in: list[np.ndarray] = []
        for i in reversed(range(len(weights))):
            dz = delta * act.derivative(names[i], zs[i], slope)
            grad_w.append(dz.T @ hs[i])
            delta = dz @ weights[i]
            grad_in.append(delta)
        grad_w.reverse()
        grad_in.reverse()
    layers = [layer_stats(i, f"layers.{i}", names[i], init_text[i], zs[i], hs[i + 1],
                          grad_w[i], grad_in[i], n) for i in range(len(weights))]
    return finish(layers, n, seed, tuple(weights), tuple(biases),
                  tuple(_subsample(h) for h in hs[1:]))


def layer_stats(index: int, name: str, activation: str, init: str, z: np.ndarray,
                h: np.ndarray, grad_w: np.ndarray, grad_in: np.ndarray, n: int) -> LayerStats:
    """One layer's :class:`LayerStats` from its pre-activations ``z`` and activations ``h``
    (batch, fan_out), dloss/dW ``grad_w`` (fan_out, fan_in) and dloss/d(input) ``grad_in``."""
    with np.errstate(all="ignore"):
        mask = act.saturated_mask(activation, h)
        dead = float(np.mean(~(z > 0).any(axis=0))) if activation == "relu" else None
        return LayerStats(
            index=index, name=name, fan_in=grad_w.shape[1], fan_out=grad_w.shape[0],
            activation=activation, init=init,
            pre_mean=float(np.mean(z)), pre_std=float(np.std(z)),
            act_mean=float(np.mean(h)), act_std=float(np.std(h)),
            saturated=None if mask is None else float(np.mean(mask)), dead=dead,
            grad_weight_std=float(np.std(grad_w)), grad_input_std=float(np.std(grad_in * n)))


def finish(layers: Sequence[LayerStats], n: int, seed: int | None,
           weights: tuple[np.ndarray, ...] = (), biases: tuple[np.ndarray, ...] = (),
           samples: tuple[np.ndarray, ...] = ()) -> Diagnosis:
    """The :class:`Diagnosis` of per-layer statistics: the verdict and its reasons."""
    verdict, reasons = _verdict(layers)
    return Diagnosis(tuple(layers), verdict, tuple(reasons), n, seed, weights, biases, samples)


def _subsample(h: np.ndarray) -> np.ndarray:
    flat = h.reshape(-1)
    step = max(1, flat.size // HISTOGRAM_SAMPLES)
    return flat[::step].copy()


def _ratio(top: float, bottom: float) -> float:
    if bottom == 0.0:
        return math.inf if top > 0 else 1.0
    return top / bottom


def _verdict(layers: Sequence[LayerStats]) -> tuple[str, list[str]]:
    reasons: list[str] = []
    for s in layers:
        if s.dead is not None and s.dead > DEAD_FRACTION:
            reasons.append(f"layer {s.index}: {s.dead:.0%} of its ReLU units are dead "
                           f"(never positive on the batch)")
    values = [v for s in layers for v in (s.pre_mean, s.pre_std, s.act_mean, s.act_std,
                                          s.grad_weight_std, s.grad_input_std)]
    if not all(math.isfinite(v) for v in values):
        bad = next(s.index for s in layers if not all(math.isfinite(v) for v in (
            s.pre_std, s.act_std, s.grad_weight_std, s.grad_input_std, s.pre_mean, s.act_mean)))
        return "exploding", [f"layer {bad}: values overflow float64 (inf or NaN)"] + reasons
    sat = [s for s in layers if s.saturated is not None and s.saturated > SATURATED_FRACTION]
    if sat:
        return "saturated", [f"layer {s.index} ({s.activation}): {s.saturated:.0%} of its "
                             f"activations saturated (> {SATURATED_FRACTION:.0%})"
                             for s in sat] + reasons
    first, last = layers[0], layers[-1]
    fwd = _ratio(last.act_std, first.act_std)
    bwd = _ratio(first.grad_weight_std, last.grad_weight_std)
    zero = [s.index for s in layers if s.act_std == 0.0 or s.grad_weight_std == 0.0]
    lo, hi = 1.0 / EXPLODING_RATIO, EXPLODING_RATIO
    if fwd > hi:
        return "exploding", [f"activation std grows {fwd:.3g}x from layer 0 to layer "
                             f"{last.index} (> {hi:g}x)"] + reasons
    if bwd > hi:
        return "exploding", [f"weight-gradient std of layer 0 is {bwd:.3g}x that of layer "
                             f"{last.index} (> {hi:g}x)"] + reasons
    if zero:
        return "vanishing", [f"layer {zero[0]}: activations or weight gradients are exactly "
                             f"zero"] + reasons
    if fwd < lo:
        return "vanishing", [f"activation std shrinks to {fwd:.3g}x from layer 0 to layer "
                             f"{last.index} (< {lo:g}x)"] + reasons
    if bwd < lo:
        return "vanishing", [f"weight-gradient std of layer 0 is {bwd:.3g}x that of layer "
                             f"{last.index} (< {lo:g}x)"] + reasons
    return "healthy", [f"activation std changes {fwd:.3g}x and weight-gradient std "
                       f"{1 / bwd:.3g}x from layer 0 to layer {last.index} (within "
                       f"{hi:g}x); no layer saturated"] + reasons
