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
from dataclasses import dataclass, replace
from typing import Any, Final, Union

import numpy as np

from . import _core, _device, _fill, _planning, _torch_rules
from ._dtypes import numpy_dtype, parse_dtype
from ._fans import LAYOUTS, calculate_fan_in_and_fan_out, calculate_gain
from ._out import OutBuffer, check_out
from ._orthogonal import delta_orthogonal, delta_orthogonal_, orthogonal, orthogonal_
from ._shard import parse_shard
from ._sparse import sparse_fill
from ._validate import (
    check_key,
    check_positive_int,
    check_real,
    check_seed,
    check_shape,
    check_threads,
    is_int,
)

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

_Dist = tuple[str, tuple[float, ...]]


# --------------------------------------------------------------------------------------------
# Targets: where a call writes


@dataclass(frozen=True)
class _Target:
    global_shape: tuple[int, ...]
    offsets: tuple[int, ...]
    sizes: tuple[int, ...]
    dtype: str
    buf: OutBuffer | None  # None: allocate on materialize()
    device: int | None = None  # where materialize() allocates: None = NumPy, N = CuPy on cuda:N

    def materialize(self) -> OutBuffer:
        if self.buf is not None:
            return self.buf
        if self.device is not None:
            return check_out(_device.cuda_empty(self.sizes, self.dtype, self.device))
        return check_out(np.empty(self.sizes, dtype=numpy_dtype(self.dtype)))


def _new(shape: Any, dtype: Any, shard: Any, device: Any = None) -> _Target:
    gshape = check_shape(shape)
    name = parse_dtype(dtype)
    offsets, sizes = parse_shard(shard, gshape)
    dev = _device.parse_device(device)
    if dev is not None and name == "bfloat16":
        _device.cuda_empty((0,), name, dev)  # raises: CuPy has no bfloat16
    return _Target(gshape, offsets, sizes, name, None, dev)


def _into(out: Any, global_shape: Any, shard: Any, stream: Any = None) -> _Target:
    buf = check_out(out, stream)
    if shard is None:
        if global_shape is None:
            gshape = check_shape(buf.shape, "out.shape")
        else:
            gshape = check_shape(global_shape, "global_shape")
            if gshape != buf.shape:
                raise ValueError(
                    f"global_shape {gshape} differs from out.shape {buf.shape}; pass shard= to "
                    f"fill a block of a larger tensor"
                )
        return _Target(gshape, (0,) * len(gshape), gshape, buf.dtype, buf)
    if global_shape is None:
        raise ValueError("global_shape is required when shard is given")
    gshape = check_shape(global_shape, "global_shape")
    offsets, sizes = parse_shard(shard, gshape)
    if sizes != buf.shape:
        raise ValueError(
            f"out.shape {buf.shape} does not match the shard's sizes {sizes} "
            f"(global_shape {gshape})"
        )
    return _Target(gshape, offsets, sizes, buf.dtype, buf)


def _random(t: _Target, dist: _Dist, seed: Any, key: Any, threads: Any) -> np.ndarray:
    s, k, th = check_seed(seed), check_key(key), check_threads(threads)
    if _planning.active():  # sow.init_batch / meta tensors: the engine's checks, no write
        _core.check_dist(t.dtype, dist[0], tuple(float(p) for p in dist[1]))
        _planning.record((t, dist[0], tuple(dist[1]), s, k, th))
        return None  # type: ignore[return-value]
    buf = t.materialize()
    _fill.fill(buf, t.global_shape, t.offsets, dist[0], dist[1], s, k, th)
    return buf.array


# --------------------------------------------------------------------------------------------
# Distributions (validated parameters -> _core.fill arguments)


# The formulas (fans, gains, scaled stds, the zero-std and overflow rules) and the value checks
# live in C++ (cpp/src/init.cpp, sow/init.hpp) and are reached through _core.init_dist; this
# layer checks types and converts Python numbers, so both languages give the same bits and errors.

_I64_MAX: Final = (1 << 63) - 1


def _core_dist(name: str, t: _Target, args: tuple[Any, ...], fan_in: int | None = None,
               fan_out: int | None = None, layout: str = "torch") -> _Dist:
    """The distribution of initializer ``name`` for ``t``, checked as the engine will check it
    for ``t.dtype`` (parameters, the 38-sigma rule, no value overflowing the dtype), so a call
    is refused while it is planned, before anything is allocated or written, with the
    initializer's own parameter (``gain``, ``scale``, ...) named."""
    dist, params = _core.init_dist(name, t.global_shape, args, fan_in, fan_out, layout, t.dtype)
    return dist, tuple(params)


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


def _scaled(name: str, t: _Target, args: tuple[Any, ...], fan_in: Any, fan_out: Any, layout: Any) -> _Dist:
    fi, fo = _fan_arg(fan_in, "fan_in"), _fan_arg(fan_out, "fan_out")
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a str, one of {list(LAYOUTS)}, got {layout!r}")
    if 0 in t.global_shape and (name.startswith("kaiming") or len(t.global_shape) >= 2):
        return _zero_element(name, t, args, fi, fo, layout)
    return _core_dist(name, t, args, fi, fo, layout)


def _zero_element(name: str, t: _Target, args: tuple[Any, ...], fi: int | None, fo: int | None,
                  layout: str) -> _Dist:
    """A zero-element tensor is a no-op, as in torch: its fans may be 0, so the parameters are
    checked against a (1, 1) stand-in; kaiming_* warn as torch's do ("Initializing zero-element
    tensors is a no-op"), xavier_*, lecun_* and variance_scaling stay silent as torch's xavier_*."""
    import warnings

    _core_dist(name, _Target((1, 1), (0, 0), (1, 1), t.dtype, None), args, fi, fo, layout)
    if name.startswith("kaiming"):
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=4)
    return "constant", (0.0,)


def _uniform_dist(t: _Target, a: Any, b: Any) -> _Dist:
    return _core_dist("uniform", t, (check_real(a, "a"), check_real(b, "b")))


def _normal_dist(t: _Target, mean: Any, std: Any) -> _Dist:
    return _core_dist("normal", t, (check_real(mean, "mean"), check_real(std, "std")))


def _trunc_dist(t: _Target, mean: Any, std: Any, a: Any, b: Any) -> _Dist:
    m, s = check_real(mean, "mean"), check_real(std, "std")
    return _core_dist("trunc_normal", t, (m, s, check_real(a, "a"), check_real(b, "b")))


def _xavier_uniform_dist(t: _Target, gain: Any, fan_in: Any, fan_out: Any, layout: Any) -> _Dist:
    return _scaled("xavier_uniform", t, (check_real(gain, "gain"),), fan_in, fan_out, layout)


def _xavier_normal_dist(t: _Target, gain: Any, fan_in: Any, fan_out: Any, layout: Any) -> _Dist:
    return _scaled("xavier_normal", t, (check_real(gain, "gain"),), fan_in, fan_out, layout)


_KAIMING_MODES: Final = ["fan_in", "fan_out"]


def _kaiming_dist(
    name: str, t: _Target, a: Any, mode: Any, nonlinearity: Any, fan_in: Any, fan_out: Any, layout: Any
) -> _Dist:
    slope = check_real(a, "a")
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, one of {_KAIMING_MODES}, got {mode!r}")
    if not isinstance(nonlinearity, str):
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
    return _scaled(name, t, (slope, mode, nonlinearity), fan_in, fan_out, layout)


_VS_MODES: Final = ("fan_in", "fan_out", "fan_avg")
_VS_DISTRIBUTIONS: Final = ("uniform", "normal", "truncated_normal", "untruncated_normal")


def _variance_scaling_dist(
    t: _Target, scale: Any, mode: Any, distribution: Any, fan_in: Any, fan_out: Any, layout: Any
) -> _Dist:
    s = check_real(scale, "scale")
    for value, what, choices in ((mode, "mode", _VS_MODES), (distribution, "distribution", _VS_DISTRIBUTIONS)):
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a str, one of {list(choices)}, got {value!r}")
    return _scaled("variance_scaling", t, (s, mode, distribution), fan_in, fan_out, layout)


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
    return _random(t, _uniform_dist(t, a, b), seed, key, threads)


def uniform_(
    out: np.ndarray, a: Real = 0.0, b: Real = 1.0, *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`uniform`: fill ``out`` with U(a, b) and return it."""
    t = _into(out, global_shape, shard, stream)
    return _random(t, _uniform_dist(t, a, b), seed, key, threads)


def normal(
    shape: Shape, mean: Real = 0.0, std: Real = 1.0, *, seed: int, key: Key = 0,
    dtype: DType = "float32", shard: Shard = None, threads: int | None = None, device: Any = None,
) -> np.ndarray:
    """Normal values N(mean, std²) (torch ``normal_``; defaults mean=0.0, std=1.0; std >= 0).

    ``v = mean + std · Φ⁻¹(p)`` by inverse CDF, one stream word per float32 element.
    """
    t = _new(shape, dtype, shard, device)
    return _random(t, _normal_dist(t, mean, std), seed, key, threads)


def normal_(
    out: np.ndarray, mean: Real = 0.0, std: Real = 1.0, *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`normal`: fill ``out`` with N(mean, std²) and return it."""
    t = _into(out, global_shape, shard, stream)
    return _random(t, _normal_dist(t, mean, std), seed, key, threads)


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
    return _random(t, _trunc_dist(t, mean, std, a, b), seed, key, threads)


def trunc_normal_(
    out: np.ndarray, mean: Real = 0.0, std: Real = 1.0, a: Real = -2.0, b: Real = 2.0, *,
    seed: int, key: Key = 0, global_shape: Shape | None = None, shard: Shard = None,
    threads: int | None = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`trunc_normal`: fill ``out`` and return it."""
    t = _into(out, global_shape, shard, stream)
    return _random(t, _trunc_dist(t, mean, std, a, b), seed, key, threads)


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
    return _random(t, _xavier_uniform_dist(t, gain, fan_in, fan_out, layout), seed, key, threads)


def xavier_uniform_(
    out: np.ndarray, gain: Real = 1.0, *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    fan_in: int | None = None, fan_out: int | None = None, layout: str = "torch",
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`xavier_uniform`."""
    t = _into(out, global_shape, shard, stream)
    return _random(t, _xavier_uniform_dist(t, gain, fan_in, fan_out, layout), seed, key, threads)


def xavier_normal(
    shape: Shape, gain: Real = 1.0, *, seed: int, key: Key = 0, dtype: DType = "float32",
    shard: Shard = None, threads: int | None = None, fan_in: int | None = None,
    fan_out: int | None = None, layout: str = "torch", device: Any = None,
) -> np.ndarray:
    """Xavier/Glorot normal (torch ``xavier_normal_``, *untruncated*): N(0, std²) with
    ``std = gain·sqrt(2/(fan_in+fan_out))``. Default gain=1.0 (>= 0). (JAX/Keras
    ``glorot_normal`` is truncated: use ``variance_scaling(shape, 1.0, "fan_avg")``.)"""
    t = _new(shape, dtype, shard, device)
    return _random(t, _xavier_normal_dist(t, gain, fan_in, fan_out, layout), seed, key, threads)


def xavier_normal_(
    out: np.ndarray, gain: Real = 1.0, *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    fan_in: int | None = None, fan_out: int | None = None, layout: str = "torch",
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`xavier_normal`."""
    t = _into(out, global_shape, shard, stream)
    return _random(t, _xavier_normal_dist(t, gain, fan_in, fan_out, layout), seed, key, threads)


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
    dist = _kaiming_dist("kaiming_uniform", t, a, mode, nonlinearity, fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


def kaiming_uniform_(
    out: np.ndarray, a: Real = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
    seed: int, key: Key = 0, global_shape: Shape | None = None, shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", stream: Any = None,
) -> np.ndarray:
    """In-place :func:`kaiming_uniform`."""
    t = _into(out, global_shape, shard, stream)
    dist = _kaiming_dist("kaiming_uniform", t, a, mode, nonlinearity, fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


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
    dist = _kaiming_dist("kaiming_normal", t, a, mode, nonlinearity, fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


def kaiming_normal_(
    out: np.ndarray, a: Real = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
    seed: int, key: Key = 0, global_shape: Shape | None = None, shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", stream: Any = None,
) -> np.ndarray:
    """In-place :func:`kaiming_normal`."""
    t = _into(out, global_shape, shard, stream)
    dist = _kaiming_dist("kaiming_normal", t, a, mode, nonlinearity, fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


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
    dist = _variance_scaling_dist(t, scale, mode, distribution, fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


def variance_scaling_(
    out: np.ndarray, scale: Real = 1.0, mode: str = "fan_in",
    distribution: str = "truncated_normal", *, seed: int, key: Key = 0,
    global_shape: Shape | None = None, shard: Shard = None, threads: int | None = None,
    fan_in: int | None = None, fan_out: int | None = None, layout: str = "torch",
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`variance_scaling`."""
    t = _into(out, global_shape, shard, stream)
    dist = _variance_scaling_dist(t, scale, mode, distribution, fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


def lecun_uniform(
    shape: Shape, *, seed: int, key: Key = 0, dtype: DType = "float32", shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", device: Any = None,
) -> np.ndarray:
    """LeCun uniform (JAX/Keras): U(-L, L), ``L = sqrt(3/fan_in)``
    (= ``variance_scaling(shape, 1.0, "fan_in", "uniform")``)."""
    t = _new(shape, dtype, shard, device)
    dist = _variance_scaling_dist(t, 1.0, "fan_in", "uniform", fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


def lecun_uniform_(
    out: np.ndarray, *, seed: int, key: Key = 0, global_shape: Shape | None = None,
    shard: Shard = None, threads: int | None = None, fan_in: int | None = None,
    fan_out: int | None = None, layout: str = "torch", stream: Any = None,
) -> np.ndarray:
    """In-place :func:`lecun_uniform`."""
    t = _into(out, global_shape, shard, stream)
    dist = _variance_scaling_dist(t, 1.0, "fan_in", "uniform", fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


def lecun_normal(
    shape: Shape, *, seed: int, key: Key = 0, dtype: DType = "float32", shard: Shard = None,
    threads: int | None = None, fan_in: int | None = None, fan_out: int | None = None,
    layout: str = "torch", device: Any = None,
) -> np.ndarray:
    """LeCun normal (JAX/Keras/Flax default kernel init): *truncated* normal N(0, σ²) cut at
    ±2σ with ``σ = sqrt(1/fan_in)/0.87962566103423978``
    (= ``variance_scaling(shape, 1.0, "fan_in", "truncated_normal")``)."""
    t = _new(shape, dtype, shard, device)
    dist = _variance_scaling_dist(t, 1.0, "fan_in", "truncated_normal", fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


def lecun_normal_(
    out: np.ndarray, *, seed: int, key: Key = 0, global_shape: Shape | None = None,
    shard: Shard = None, threads: int | None = None, fan_in: int | None = None,
    fan_out: int | None = None, layout: str = "torch", stream: Any = None,
) -> np.ndarray:
    """In-place :func:`lecun_normal`."""
    t = _into(out, global_shape, shard, stream)
    dist = _variance_scaling_dist(t, 1.0, "fan_in", "truncated_normal", fan_in, fan_out, layout)
    return _random(t, dist, seed, key, threads)


# --------------------------------------------------------------------------------------------
# Sparse


def _sparse_prepare(t: _Target, sparsity: Any, std: Any) -> tuple[float, float, _Dist]:
    """(sparsity, std, the values' distribution), checked (rank 2, sparsity in [0, 1), rows <=
    2**32, std >= 0)."""
    if len(t.global_shape) != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (shape {t.global_shape})")
    s, sd = check_real(sparsity, "sparsity"), check_real(std, "std")
    return s, sd, _core_dist("sparse", t, (s, sd))


def _sparse_run(
    t: _Target, sparsity: Any, std: Any, seed: Any, key: Any, threads: Any
) -> np.ndarray:
    s, sd, _ = _sparse_prepare(t, sparsity, std)
    se, k, th = check_seed(seed), check_key(key), check_threads(threads)
    # all checks passed
    if _planning.stop_before_write("sparse"):
        return None  # type: ignore[return-value]
    buf = t.materialize()
    g, o = t.global_shape, t.offsets
    sparse_fill(buf, (g[0], g[1]), (o[0], o[1]), s, sd, se, k, th)
    return buf.array


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
# Deterministic initializers (NumPy writes, no stream words)


def _constant_value(val: Any, dtype: str) -> Any:
    """``val`` rounded to the dtype as _core would: via float32 for the 16-bit formats.

    ValueError ``"val V overflows DTYPE"`` when that rounding gives inf: the engine's own rule
    (``_core.check_dist``), so host writes, device fills and the C ABI refuse the same values."""
    v = check_real(val, "val")
    _core.check_dist(dtype, "constant", (v,))
    return np.float64(v) if dtype == "float64" else np.float32(v)


def _write_constant(t: _Target, value: Any) -> np.ndarray:
    if _planning.active():
        _planning.record((t, "constant", (float(value),), 0, 0, 0))
        return None  # type: ignore[return-value]
    buf = t.materialize()
    if buf.host is None:  # device memory: a constant fill on the device (same rounding)
        _fill.fill(buf, t.global_shape, t.offsets, "constant", (float(value),), 0, 0, 1)
        return buf.array
    buf.host[...] = value
    return buf.array


def constant(
    shape: Shape, val: Real, *, dtype: DType = "float32", shard: Shard = None, device: Any = None,
) -> np.ndarray:
    """Every element ``val`` (torch ``constant_``), rounded to the dtype."""
    t = _new(shape, dtype, shard, device)
    return _write_constant(t, _constant_value(val, t.dtype))


def constant_(
    out: np.ndarray, val: Real, *, global_shape: Shape | None = None, shard: Shard = None,
    stream: Any = None,
) -> np.ndarray:
    """In-place :func:`constant`."""
    t = _into(out, global_shape, shard, stream)
    return _write_constant(t, _constant_value(val, t.dtype))


def ones(
    shape: Shape, *, dtype: DType = "float32", shard: Shard = None, device: Any = None
) -> np.ndarray:
    """Every element 1 (torch ``ones_``)."""
    return _write_constant(_new(shape, dtype, shard, device), 1)


def ones_(
    out: np.ndarray, *, global_shape: Shape | None = None, shard: Shard = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`ones`."""
    return _write_constant(_into(out, global_shape, shard, stream), 1)


def zeros(
    shape: Shape, *, dtype: DType = "float32", shard: Shard = None, device: Any = None
) -> np.ndarray:
    """Every element 0 (torch ``zeros_``)."""
    return _write_constant(_new(shape, dtype, shard, device), 0)


def zeros_(
    out: np.ndarray, *, global_shape: Shape | None = None, shard: Shard = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`zeros`."""
    return _write_constant(_into(out, global_shape, shard, stream), 0)


def _scatter_ones(t: _Target, buf: OutBuffer, local: tuple[np.ndarray, ...]) -> np.ndarray:
    """Device memory: zero the target, then set the given *local* positions (inside the shard)
    to 1 on the device."""
    _write_constant(replace(t, buf=buf), 0)
    offs = np.zeros(len(local[0]), dtype=np.int64)
    for ix, st in zip(local, buf.strides):
        offs += ix * st
    if len(offs):
        _device.require_cuda(buf.device)
        _core.scatter_cuda(buf.addr, buf.dtype, offs.tolist(), 1.0, buf.stream, buf.device)
    return buf.array


def _eye_ones(t: _Target) -> tuple[np.ndarray, ...]:
    """Local indices of eye's ones inside the shard: the diagonal meets the shard's box in the
    d of [max(r0, c0), min(r0 + nr, c0 + nc)), so the work is O(shard)."""
    (r0, c0), (nr, nc) = t.offsets, t.sizes
    d = np.arange(max(r0, c0), max(max(r0, c0), min(r0 + nr, c0 + nc)), dtype=np.int64)
    return (d - r0, d - c0)


def _eye_run(t: _Target) -> np.ndarray:
    if len(t.global_shape) != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (shape {t.global_shape})")
    # all checks passed
    if _planning.stop_before_write("eye"):
        return None  # type: ignore[return-value]
    buf = t.materialize()
    if buf.host is None:
        return _scatter_ones(t, buf, _eye_ones(t))
    if buf.size:
        _core.eye(buf.addr, buf.dtype, buf.shape, buf.strides, t.global_shape, t.offsets)
    return buf.array


def eye(
    shape: Shape, *, dtype: DType = "float32", shard: Shard = None, device: Any = None
) -> np.ndarray:
    """Identity matrix (torch ``eye_``): 1 where row == column, else 0. 2-D only, rectangular
    allowed; other ranks raise ``ValueError("Only tensors with 2 dimensions are supported")``."""
    return _eye_run(_new(shape, dtype, shard, device))


def eye_(
    out: np.ndarray, *, global_shape: Shape | None = None, shard: Shard = None, stream: Any = None,
) -> np.ndarray:
    """In-place :func:`eye`."""
    return _eye_run(_into(out, global_shape, shard, stream))


def _dirac_ones(t: _Target, groups: int) -> tuple[np.ndarray, ...]:
    """Local indices of dirac's ones inside the shard. The ones are
    ``(gi·per_group + d, d, k//2, ...)`` for ``d < min(per_group, shape[1])``; only the groups
    whose rows meet the shard are visited, each with its interval of ``d`` inside the box, so the
    work is O(shard) whatever ``groups`` is."""
    g, off, size = t.global_shape, t.offsets, t.sizes
    per_group = g[0] // groups
    min_dim = min(per_group, g[1])
    (r0, c0), (nr, nc) = off[:2], size[:2]
    empty = tuple(np.empty(0, dtype=np.int64) for _ in g)
    centre = tuple(n // 2 for n in g[2:])
    if nr == 0 or nc == 0 or not all(o <= c < o + n for c, o, n in zip(centre, off[2:], size[2:])):
        return empty
    start = np.arange(r0 // per_group, (r0 + nr - 1) // per_group + 1, dtype=np.int64) * per_group
    lo = np.maximum(np.maximum(r0 - start, c0), 0)
    hi = np.minimum(np.minimum(r0 + nr - start, c0 + nc), min_dim)
    count = np.maximum(hi - lo, 0)
    total = int(count.sum())
    if total == 0:
        return empty
    first = np.repeat(np.cumsum(count) - count, count)  # where each group's run starts
    d = np.arange(total, dtype=np.int64) - first + np.repeat(lo, count)
    rows = np.repeat(start, count) + d
    return (rows - r0, d - c0, *(np.full(total, c - o, dtype=np.int64) for c, o in zip(centre, off[2:])))


def _dirac_run(t: _Target, groups: Any) -> np.ndarray:
    g = t.global_shape
    if len(g) not in (3, 4, 5):
        raise ValueError(f"Only tensors with 3, 4, or 5 dimensions are supported (shape {g})")
    ng = check_positive_int(groups, "groups")
    if g[0] % ng != 0:
        raise ValueError("dim 0 must be divisible by groups")
    # all checks passed
    if _planning.stop_before_write("dirac"):
        return None  # type: ignore[return-value]
    buf = t.materialize()
    if buf.host is None:
        return _scatter_ones(t, buf, _dirac_ones(t, ng))
    if buf.size:
        _core.dirac(buf.addr, buf.dtype, buf.shape, buf.strides, t.global_shape, t.offsets, ng)
    return buf.array


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
