"""sow's initializers.

Every random initializer comes in two forms:

* the allocating form, ``f(shape, ..., *, seed, key=0, dtype="float32", shard=None,
  threads=None)``, returns a new NumPy array with the shard's sizes (the whole ``shape`` when
  ``shard`` is None);
* the in-place form, ``f_(out, ..., *, seed, key=0, global_shape=None, shard=None,
  threads=None)``, fills ``out`` (any strides; float32, float64, float16 or bfloat16) and returns
  it. Without ``shard``, ``out.shape`` is the global shape; with ``shard``, ``global_shape`` is
  required and ``out.shape`` must equal the shard's sizes.

Common arguments:

* ``seed`` (required keyword): int in [0, 2**64).
* ``key`` (default 0): int in [0, 2**64), or a str hashed with FNV-1a 64 (:func:`sow.key_hash`).
  Different keys give independent streams; use one key per tensor (e.g. its parameter name).
* ``shard``: a sequence of slices (one per leading dimension) or a pair ``(offsets, sizes)``;
  values never depend on the shard, so the shards of a tensor tile its full fill exactly.
* ``threads``: None (all hardware threads) or an int >= 1; never changes the values.
* ``fan_in``/``fan_out``/``layout`` (scaled initializers): fans come from the *global* shape with
  ``layout="torch"`` (weight ``(out, in, *kernel)``) or ``layout="jax"`` (kernel
  ``(*kernel, in, out)``); ``fan_in=``/``fan_out=`` (positive ints) override them.

Every value is a pure function of (seed, key, initializer and parameters, dtype, global shape,
global element index): see ``docs/stream-format.md``. All arguments are validated before
anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Union

import numpy as np

from . import _core, _torch_rules
from ._fans import LAYOUTS, calculate_fan_in_and_fan_out, calculate_gain
from ._orthogonal import delta_orthogonal, delta_orthogonal_, orthogonal, orthogonal_
from ._run import Target as _Target
from ._run import into_target as _into
from ._run import new_target as _new
from ._run import run as _run
from ._validate import check_real, is_int

__all__ = [
    "uniform", "uniform_", "normal", "normal_", "trunc_normal", "trunc_normal_",
    "constant", "constant_", "ones", "ones_", "zeros", "zeros_", "eye", "eye_",
    "dirac", "dirac_", "xavier_uniform", "xavier_uniform_", "xavier_normal", "xavier_normal_",
    "kaiming_uniform", "kaiming_uniform_", "kaiming_normal", "kaiming_normal_",
    "lecun_uniform", "lecun_uniform_", "lecun_normal", "lecun_normal_",
    "variance_scaling", "variance_scaling_", "sparse", "sparse_",
    "orthogonal", "orthogonal_", "delta_orthogonal", "delta_orthogonal_",
    "calculate_gain", "calculate_fan_in_and_fan_out",
    "RANDOM_INITIALIZERS", "DETERMINISTIC_INITIALIZERS",
]

Shape = Union[int, Sequence[int]]
DType = Any  # "float32" | "float64" | "float16" | "bfloat16" | NumPy / ml_dtypes dtype
Key = Union[int, str]
Shard = Any  # None | Sequence[slice] | tuple[Sequence[int], Sequence[int]]
Real = Union[int, float]

#: std of N(0, 1) truncated to [-2, 2] (JAX/Keras/TF's variance correction).
TRUNCATED_NORMAL_STD: Final = _core.TRUNCATED_NORMAL_STD  # 0.87962566103423978

#: Allocating initializers that take ``seed``/``key``/``threads`` (each also has an in-place form).
#: (The list of initializers is sow::init_names(), sow/plan.hpp, read through _core.init_table().)
RANDOM_INITIALIZERS: Final = tuple(d["name"] for d in _core.init_table() if d["random"])
#: Allocating initializers that use no random stream.
DETERMINISTIC_INITIALIZERS: Final = tuple(d["name"] for d in _core.init_table() if not d["random"])



# --------------------------------------------------------------------------------------------
# Specs: Python checks the types and converts; the formulas (fans, gains, scaled stds, the
# zero-std and overflow rules) and every value check live in C++ (sow/init.hpp, sow/plan.hpp),
# so both languages give the same bits and the same errors.

_I64_MAX: Final = (1 << 63) - 1


def _fan_arg(value: Any, name: str) -> int | None:
    """Type check of a fan override (the value check, >= 1, is the C++ one)."""
    if value is None:
        return None
    if not is_int(value):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    v = int(value)
    if v > _I64_MAX:
        raise ValueError(f"{name} must be at most 2**63 - 1, got {v}")
    if v < -_I64_MAX:
        raise ValueError(f"{name} must be a positive int, got {v}")
    return v


def _fans(params: dict[str, Any], fan_in: Any, fan_out: Any, layout: Any) -> dict[str, Any]:
    fi, fo = _fan_arg(fan_in, "fan_in"), _fan_arg(fan_out, "fan_out")
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a str, one of {list(LAYOUTS)}, got {layout!r}")
    params["layout"] = layout
    if fi is not None:
        params["fan_in"] = fi
    if fo is not None:
        params["fan_out"] = fo
    return params


_KAIMING_MODES: Final = ["fan_in", "fan_out"]


def _kaiming_params(a: Any, mode: Any, nonlinearity: Any, fan_in: Any, fan_out: Any,
                    layout: Any) -> dict[str, Any]:
    slope = check_real(a, "a")
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, one of {_KAIMING_MODES}, got {mode!r}")
    if not isinstance(nonlinearity, str):
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
    return _fans({"a": slope, "mode": mode, "nonlinearity": nonlinearity}, fan_in, fan_out, layout)


_VS_MODES: Final = ("fan_in", "fan_out", "fan_avg")
_VS_DISTRIBUTIONS: Final = ("uniform", "normal", "truncated_normal", "untruncated_normal")


def _variance_scaling_params(scale: Any, mode: Any, distribution: Any, fan_in: Any, fan_out: Any,
                             layout: Any) -> dict[str, Any]:
    sc = check_real(scale, "scale")
    for value, what, choices in ((mode, "mode", _VS_MODES), (distribution, "distribution", _VS_DISTRIBUTIONS)):
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a str, one of {list(choices)}, got {value!r}")
    return _fans({"scale": sc, "mode": mode, "distribution": distribution}, fan_in, fan_out, layout)


def _gain_params(gain: Any, fan_in: Any, fan_out: Any, layout: Any) -> dict[str, Any]:
    return _fans({"gain": check_real(gain, "gain")}, fan_in, fan_out, layout)


def _trunc_params(mean: Any, std: Any, a: Any, b: Any) -> dict[str, Any]:
    return {"mean": check_real(mean, "mean"), "std": check_real(std, "std"),
            "a": check_real(a, "a"), "b": check_real(b, "b")}


# --------------------------------------------------------------------------------------------
# Basic distributions


def uniform(
    shape: Shape, a: Real = 0.0, b: Real = 1.0, *, seed: int, key: Key = 0,
    dtype: DType = "float32", shard: Shard = None, threads: int | None = None, device: Any = None,
) -> np.ndarray:
    """Uniform values in [a, b] (torch ``uniform_``; defaults a=0.0, b=1.0; requires a < b).

    ``v = (a+b)/2 + (b-a)/2 · s`` with ``s`` uniform in (-1, 1) (stream-format.md §5).
    """
    t = _new(shape, dtype, shard, device)
    return _run(t, "uniform", {"a": check_real(a, "a"), "b": check_real(b, "b")}, seed, key, threads)


def uniform_(
    out: np.ndarray, a: Real = 0.0, b: Real = 1.0, *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`uniform`: fill ``out`` with U(a, b) and return it."""
    t = _into(out, global_shape, shard, stream)
    return _run(t, "uniform", {"a": check_real(a, "a"), "b": check_real(b, "b")}, seed, key, threads)


def normal(
    shape: Shape, mean: Real = 0.0, std: Real = 1.0, *, seed: int, key: Key = 0,
    dtype: DType = "float32", shard: Shard = None, threads: int | None = None, device: Any = None,
) -> np.ndarray:
    """Normal values N(mean, std²) (torch ``normal_``; defaults mean=0.0, std=1.0; std >= 0).

    ``v = mean + std · Φ⁻¹(p)`` by inverse CDF, one stream word per float32 element.
    """
    t = _new(shape, dtype, shard, device)
    return _run(t, "normal", {"mean": check_real(mean, "mean"), "std": check_real(std, "std")}, seed, key,
                threads)


def normal_(
    out: np.ndarray, mean: Real = 0.0, std: Real = 1.0, *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`normal`: fill ``out`` with N(mean, std²) and return it."""
    t = _into(out, global_shape, shard, stream)
    return _run(t, "normal", {"mean": check_real(mean, "mean"), "std": check_real(std, "std")}, seed, key,
                threads)


def trunc_normal(
    shape: Shape, mean: Real = 0.0, std: Real = 1.0, a: Real = -2.0, b: Real = 2.0, *,
    seed: int, key: Key = 0, dtype: DType = "float32", shard: Shard = None,
    threads: int | None = None, device: Any = None,
) -> np.ndarray:
    """N(mean, std²) truncated to [a, b] (torch ``trunc_normal_``).

    As in torch, ``a`` and ``b`` are *absolute* bounds (not multiples of std) and ``std`` is the
    standard deviation before truncation. Defaults mean=0.0, std=1.0, a=-2.0, b=2.0; requires
    std > 0 and a < b. Sampled by the exact inverse CDF (no rejection loop), so deep-tail and
    narrow intervals keep full precision.
    """
    t = _new(shape, dtype, shard, device)
    return _run(t, "trunc_normal", _trunc_params(mean, std, a, b), seed, key, threads)


def trunc_normal_(
    out: np.ndarray, mean: Real = 0.0, std: Real = 1.0, a: Real = -2.0, b: Real = 2.0, *,
    seed: int, key: Key = 0, global_shape: Shape | None = None, shard: Shard = None,
    threads: int | None = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`trunc_normal`: fill ``out`` and return it."""
    t = _into(out, global_shape, shard, stream)
    return _run(t, "trunc_normal", _trunc_params(mean, std, a, b), seed, key, threads)


# --------------------------------------------------------------------------------------------
# Xavier / Kaiming (torch) and LeCun / variance scaling (JAX, Keras)


def xavier_uniform(
    shape: Shape, gain: Real = 1.0, *, seed: int, key: Key = 0, dtype: DType = "float32",
    shard: Shard = None, threads: int | None = None, fan_in: int | None = None,
    fan_out: int | None = None, layout: str = "torch", device: Any = None,
) -> np.ndarray:
    """Xavier/Glorot uniform (torch ``xavier_uniform_``): U(-B, B) with
    ``std = gain·sqrt(2/(fan_in+fan_out))`` and ``B = sqrt(3)·std``
    (= gain·sqrt(6/(fan_in+fan_out))). Default gain=1.0 (>= 0)."""
    t = _new(shape, dtype, shard, device)
    return _run(t, "xavier_uniform", _gain_params(gain, fan_in, fan_out, layout), seed, key, threads)


def xavier_uniform_(
    out: np.ndarray, gain: Real = 1.0, *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    fan_in: int | None = None, fan_out: int | None = None, layout: str = "torch",
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`xavier_uniform`."""
    t = _into(out, global_shape, shard, stream)
    return _run(t, "xavier_uniform", _gain_params(gain, fan_in, fan_out, layout), seed, key, threads)


def xavier_normal(
    shape: Shape, gain: Real = 1.0, *, seed: int, key: Key = 0, dtype: DType = "float32",
    shard: Shard = None, threads: int | None = None, fan_in: int | None = None,
    fan_out: int | None = None, layout: str = "torch", device: Any = None,
) -> np.ndarray:
    """Xavier/Glorot normal (torch ``xavier_normal_``, *untruncated*): N(0, std²) with
    ``std = gain·sqrt(2/(fan_in+fan_out))``. Default gain=1.0 (>= 0). (JAX/Keras
    ``glorot_normal`` is truncated: use ``variance_scaling(shape, 1.0, "fan_avg")``.)"""
    t = _new(shape, dtype, shard, device)
    return _run(t, "xavier_normal", _gain_params(gain, fan_in, fan_out, layout), seed, key, threads)


def xavier_normal_(
    out: np.ndarray, gain: Real = 1.0, *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    fan_in: int | None = None, fan_out: int | None = None, layout: str = "torch",
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`xavier_normal`."""
    t = _into(out, global_shape, shard, stream)
    return _run(t, "xavier_normal", _gain_params(gain, fan_in, fan_out, layout), seed, key, threads)


def kaiming_uniform(
    shape: Shape, a: Real = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
    seed: int, key: Key = 0, dtype: DType = "float32", shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", device: Any = None,
) -> np.ndarray:
    """Kaiming/He uniform (torch ``kaiming_uniform_``): U(-bound, bound) with
    ``gain = calculate_gain(nonlinearity, a)``, ``std = gain/sqrt(fan)``, ``bound = sqrt(3)·std``;
    ``fan`` is fan_in or fan_out per ``mode``. Defaults a=0.0 (leaky_relu's negative slope),
    mode="fan_in", nonlinearity="leaky_relu" (so gain = sqrt(2)). torch's ``nn.Linear`` default
    is ``a=math.sqrt(5)``."""
    t = _new(shape, dtype, shard, device)
    params = _kaiming_params(a, mode, nonlinearity, fan_in, fan_out, layout)
    return _run(t, "kaiming_uniform", params, seed, key, threads)


def kaiming_uniform_(
    out: np.ndarray, a: Real = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
    seed: int, key: Key = 0, global_shape: Shape | None = None, shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", stream: Any = None,
) -> np.ndarray:
    """In-place :func:`kaiming_uniform`."""
    t = _into(out, global_shape, shard, stream)
    params = _kaiming_params(a, mode, nonlinearity, fan_in, fan_out, layout)
    return _run(t, "kaiming_uniform", params, seed, key, threads)


def kaiming_normal(
    shape: Shape, a: Real = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
    seed: int, key: Key = 0, dtype: DType = "float32", shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", device: Any = None,
) -> np.ndarray:
    """Kaiming/He normal (torch ``kaiming_normal_``, *untruncated*): N(0, std²) with
    ``std = calculate_gain(nonlinearity, a)/sqrt(fan)``. Defaults as :func:`kaiming_uniform`.
    (JAX/Keras ``he_normal`` is truncated: ``variance_scaling(shape, 2.0, "fan_in")``.)"""
    t = _new(shape, dtype, shard, device)
    params = _kaiming_params(a, mode, nonlinearity, fan_in, fan_out, layout)
    return _run(t, "kaiming_normal", params, seed, key, threads)


def kaiming_normal_(
    out: np.ndarray, a: Real = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
    seed: int, key: Key = 0, global_shape: Shape | None = None, shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", stream: Any = None,
) -> np.ndarray:
    """In-place :func:`kaiming_normal`."""
    t = _into(out, global_shape, shard, stream)
    params = _kaiming_params(a, mode, nonlinearity, fan_in, fan_out, layout)
    return _run(t, "kaiming_normal", params, seed, key, threads)


def variance_scaling(
    shape: Shape, scale: Real = 1.0, mode: str = "fan_in",
    distribution: str = "truncated_normal", *, seed: int, key: Key = 0,
    dtype: DType = "float32", shard: Shard = None, threads: int | None = None,
    fan_in: int | None = None, fan_out: int | None = None, layout: str = "torch",
    device: Any = None,
) -> np.ndarray:
    """Variance scaling (JAX ``variance_scaling`` / Keras ``VarianceScaling``).

    ``n`` = fan_in, fan_out or (fan_in+fan_out)/2 for ``mode`` "fan_in" | "fan_out" |
    "fan_avg"; target variance ``scale/n`` (scale > 0). ``distribution``:

    * ``"truncated_normal"`` (default): N(0, σ²) cut at ±2σ with
      ``σ = sqrt(scale/n)/0.87962566103423978`` (so the truncated std is sqrt(scale/n));
    * ``"normal"`` (JAX meaning; alias ``"untruncated_normal"``, Keras's name): N(0, scale/n);
    * ``"uniform"``: U(-L, L) with ``L = sqrt(3·scale/n)``.

    Note Keras maps ``"normal"`` to truncated; sow follows JAX. Fans default to
    ``layout="torch"``; pass ``layout="jax"`` for JAX/Keras ``(..., in, out)`` kernels.
    """
    t = _new(shape, dtype, shard, device)
    params = _variance_scaling_params(scale, mode, distribution, fan_in, fan_out, layout)
    return _run(t, "variance_scaling", params, seed, key, threads)


def variance_scaling_(
    out: np.ndarray, scale: Real = 1.0, mode: str = "fan_in",
    distribution: str = "truncated_normal", *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    fan_in: int | None = None, fan_out: int | None = None, layout: str = "torch",
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`variance_scaling`."""
    t = _into(out, global_shape, shard, stream)
    params = _variance_scaling_params(scale, mode, distribution, fan_in, fan_out, layout)
    return _run(t, "variance_scaling", params, seed, key, threads)


def lecun_uniform(
    shape: Shape, *, seed: int, key: Key = 0, dtype: DType = "float32", shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", device: Any = None,
) -> np.ndarray:
    """LeCun uniform (JAX/Keras): U(-L, L), ``L = sqrt(3/fan_in)``
    (= ``variance_scaling(shape, 1.0, "fan_in", "uniform")``)."""
    t = _new(shape, dtype, shard, device)
    return _run(t, "lecun_uniform", _fans({}, fan_in, fan_out, layout), seed, key, threads)


def lecun_uniform_(
    out: np.ndarray, *, seed: int, key: Key = 0, global_shape: Shape | None = None,
    shard: Shard = None, threads: int | None = None, fan_in: int | None = None,
    fan_out: int | None = None, layout: str = "torch", stream: Any = None,
) -> np.ndarray:
    """In-place :func:`lecun_uniform`."""
    t = _into(out, global_shape, shard, stream)
    return _run(t, "lecun_uniform", _fans({}, fan_in, fan_out, layout), seed, key, threads)


def lecun_normal(
    shape: Shape, *, seed: int, key: Key = 0, dtype: DType = "float32", shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", device: Any = None,
) -> np.ndarray:
    """LeCun normal (JAX/Keras/Flax default kernel init): *truncated* normal N(0, σ²) cut at
    ±2σ with ``σ = sqrt(1/fan_in)/0.87962566103423978``
    (= ``variance_scaling(shape, 1.0, "fan_in", "truncated_normal")``)."""
    t = _new(shape, dtype, shard, device)
    return _run(t, "lecun_normal", _fans({}, fan_in, fan_out, layout), seed, key, threads)


def lecun_normal_(
    out: np.ndarray, *, seed: int, key: Key = 0, global_shape: Shape | None = None,
    shard: Shard = None, threads: int | None = None, fan_in: int | None = None,
    fan_out: int | None = None, layout: str = "torch", stream: Any = None,
) -> np.ndarray:
    """In-place :func:`lecun_normal`."""
    t = _into(out, global_shape, shard, stream)
    return _run(t, "lecun_normal", _fans({}, fan_in, fan_out, layout), seed, key, threads)


# --------------------------------------------------------------------------------------------
# Sparse


def _sparse_run(
    t: _Target, sparsity: Any, std: Any, seed: Any, key: Any, threads: Any
) -> np.ndarray:
    params = {"sparsity": check_real(sparsity, "sparsity"), "std": check_real(std, "std")}
    return _run(t, "sparse", params, seed, key, threads)


def sparse(
    shape: Shape, sparsity: Real, std: Real = 0.01, *, seed: int, key: Key = 0,
    dtype: DType = "float32", shard: Shard = None, threads: int | None = None, device: Any = None,
) -> np.ndarray:
    """Sparse 2-D matrix (torch ``sparse_``): N(0, std²) values (default std=0.01) with exactly
    ``ceil(sparsity·rows)`` zeros in every column, sparsity in [0, 1).

    Unlike torch, the zero pattern comes from the same (seed, key) (domain 1 of the stream,
    stream-format.md §7), so it is reproducible and shard-independent. Column ``c`` is zero in
    the rows of its ``ceil(sparsity·rows)`` smallest pairs ``(word(r·cols + c), r)``, so a shard
    of ``nr x nc`` elements reads the words of all ``rows`` rows of its ``nc`` columns: cost
    ``O(rows·nc + nr·nc)`` (one streaming pass over the columns, plus at most three more with
    probability < 1e-13 per column), memory O(1) per column plus the pairs of a window around
    each column's threshold (``16·sqrt(k·(rows-k)/rows) + 200`` pairs, ``k`` the zeros per
    column; at most 256 columns and 32 MiB at a time). Nothing is written unless every
    allocation succeeded.
    """
    t = _new(shape, dtype, shard, device)
    return _sparse_run(t, sparsity, std, seed, key, threads)


def sparse_(
    out: np.ndarray, sparsity: Real, std: Real = 0.01, *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`sparse`."""
    t = _into(out, global_shape, shard, stream)
    return _sparse_run(t, sparsity, std, seed, key, threads)


# --------------------------------------------------------------------------------------------
# Deterministic initializers (no stream words)


def _write_constant(t: _Target, val: Any) -> np.ndarray:
    """``val`` rounded to the dtype (via float32 for the 16-bit formats); ValueError when that
    rounding overflows (the engine's rule, the same for host, device and the C ABI)."""
    return _run(t, "constant", {"val": check_real(val, "val")})


def constant(
    shape: Shape, val: Real, *, dtype: DType = "float32", shard: Shard = None, device: Any = None,
) -> np.ndarray:
    """Every element ``val`` (torch ``constant_``), rounded to the dtype."""
    t = _new(shape, dtype, shard, device)
    return _write_constant(t, val)


def constant_(
    out: np.ndarray, val: Real, *, global_shape: Shape | None = None, shard: Shard = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`constant`."""
    t = _into(out, global_shape, shard, stream)
    return _write_constant(t, val)


def ones(
    shape: Shape, *, dtype: DType = "float32", shard: Shard = None, device: Any = None
) -> np.ndarray:
    """Every element 1 (torch ``ones_``)."""
    return _run(_new(shape, dtype, shard, device), "ones", {})


def ones_(
    out: np.ndarray, *, global_shape: Shape | None = None, shard: Shard = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`ones`."""
    return _run(_into(out, global_shape, shard, stream), "ones", {})


def zeros(
    shape: Shape, *, dtype: DType = "float32", shard: Shard = None, device: Any = None
) -> np.ndarray:
    """Every element 0 (torch ``zeros_``)."""
    return _run(_new(shape, dtype, shard, device), "zeros", {})


def zeros_(
    out: np.ndarray, *, global_shape: Shape | None = None, shard: Shard = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`zeros`."""
    return _run(_into(out, global_shape, shard, stream), "zeros", {})


def eye(
    shape: Shape, *, dtype: DType = "float32", shard: Shard = None, device: Any = None
) -> np.ndarray:
    """Identity matrix (torch ``eye_``): 1 where row == column, else 0. 2-D only, rectangular
    allowed; other ranks raise ``ValueError("Only tensors with 2 dimensions are supported")``."""
    return _run(_new(shape, dtype, shard, device), "eye", {})


def eye_(
    out: np.ndarray, *, global_shape: Shape | None = None, shard: Shard = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`eye`."""
    return _run(_into(out, global_shape, shard, stream), "eye", {})


def _dirac_run(t: _Target, groups: Any) -> np.ndarray:
    if not is_int(groups):
        raise TypeError(f"groups must be a positive int, got {type(groups).__name__} {groups!r}")
    return _run(t, "dirac", {"groups": int(groups)})


def dirac(
    shape: Shape, groups: int = 1, *, dtype: DType = "float32", shard: Shard = None,
    device: Any = None,
) -> np.ndarray:
    """Dirac delta for convolution weights (torch ``dirac_``): zeros, then for each group ``g``
    and ``d < min(shape[0]//groups, shape[1])``, ``w[g·(shape[0]//groups) + d, d, k//2, ...] = 1``
    (``k//2`` the centre of each spatial dimension), so the convolution preserves its input
    channels. 3, 4 or 5 dimensions; ``shape[0]`` must be divisible by ``groups`` (default 1)."""
    t = _new(shape, dtype, shard, device)
    return _dirac_run(t, groups)


def dirac_(
    out: np.ndarray, groups: int = 1, *, global_shape: Shape | None = None, shard: Shard = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`dirac`."""
    return _dirac_run(_into(out, global_shape, shard, stream), groups)


# --------------------------------------------------------------------------------------------
# torch's rules for in-place writes (version counter, inference and meta tensors) on every
# in-place form, the ones defined here and orthogonal_/delta_orthogonal_ (sow._torch_rules).

for _name in __all__:
    if _name.endswith("_"):
        globals()[_name] = _torch_rules.inplace_rules(globals()[_name])
del _name
