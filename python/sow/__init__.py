"""sow: neural-network initial weights from a counter-based RNG.

Every value is a pure function of (seed, key, initializer and its parameters, dtype, global
shape, global element index), so results do not depend on thread count, SIMD instruction set,
device, or how a tensor is split into shards (``docs/stream-format.md``, format
:data:`STREAM_FORMAT`).

::

    import sow
    w = sow.kaiming_uniform((4096, 1024), a=5 ** 0.5, seed=0, key="layers.0.w")
    sow.xavier_uniform_(out, seed=0, key="proj", global_shape=(8192, 1024),
                        shard=(slice(2048, 4096),))   # this rank's rows only
    g = sow.Generator(seed=0); g.normal_(b1); g.normal_(b2)   # keys 0, 1

See :mod:`sow.init` for the arguments all initializers share.
"""

from __future__ import annotations

try:  # loads libscipy_openblas.so (the LAPACK of orthogonal) before _core, whatever the layout
    import scipy_openblas32 as _scipy_openblas32  # noqa: F401
except ImportError:  # pragma: no cover - a dependency; _core's RPATH may still find it
    pass

try:
    from . import _core
except ImportError as _e:  # pragma: no cover - depends on the installation
    if _e.name == f"{__name__}._core":
        raise ImportError(
            "sow's compiled extension is missing; reinstall with pip install ."
        ) from _e
    raise ImportError(
        f"sow's compiled extension failed to load ({_e}); reinstall with pip install ."
    ) from _e

from typing import Final

from ._fans import calculate_fan_in_and_fan_out, calculate_gain
from ._batch import Spec, init_batch
from ._config import show_config
from ._torch_rules import InferenceTensorError
from .plan import ItemReport, Plan
from .recommend import Recommendation, recommend
from ._diagnose import Diagnosis, LayerStats, diagnose
from ._bias import log_odds_bias, log_odds_bias_
from .generator import Generator
from .init import (
    constant,
    constant_,
    delta_orthogonal,
    delta_orthogonal_,
    dirac,
    dirac_,
    eye,
    eye_,
    kaiming_normal,
    kaiming_normal_,
    kaiming_uniform,
    kaiming_uniform_,
    lecun_normal,
    lecun_normal_,
    lecun_uniform,
    lecun_uniform_,
    normal,
    normal_,
    ones,
    ones_,
    orthogonal,
    orthogonal_,
    sparse,
    sparse_,
    trunc_normal,
    trunc_normal_,
    uniform,
    uniform_,
    variance_scaling,
    variance_scaling_,
    xavier_normal,
    xavier_normal_,
    xavier_uniform,
    xavier_uniform_,
    zeros,
    zeros_,
)

#: sow's version, defined once in cpp/include/sow/config.hpp (SOW_VERSION_*), read from _core.
__version__: Final = _core.__version__
#: The element-to-value mapping version (docs/stream-format.md); equals C++ SOW_STREAM_FORMAT.
STREAM_FORMAT: Final = 3

if getattr(_core, "STREAM_FORMAT", STREAM_FORMAT) != STREAM_FORMAT:  # pragma: no cover
    raise ImportError(
        f"sow's compiled extension implements stream format {_core.STREAM_FORMAT}, but this "
        f"Python package expects {STREAM_FORMAT}; reinstall with pip install ."
    )


def cuda_available() -> bool:
    """True when this build of sow has CUDA kernels and a CUDA device is visible (then
    ``device="cuda"`` and in-place fills of CUDA arrays work)."""
    from ._device import cuda_available as _available

    return _available()


def key_hash(s: str) -> int:
    """The 64-bit key a string names: FNV-1a 64 over its UTF-8 bytes
    (``h = 0xcbf29ce484222325; h = (h ^ byte) * 0x100000001b3 mod 2**64`` per byte)."""
    if not isinstance(s, str):
        raise TypeError(f"key_hash takes a str, got {type(s).__name__}")
    from ._validate import check_key

    return check_key(s)


__all__ = [
    "__version__",
    "STREAM_FORMAT",
    "Generator",
    "Spec", "init_batch", "cuda_available",
    "InferenceTensorError", "Plan", "ItemReport",
    "show_config",
    "key_hash",
    "calculate_gain",
    "calculate_fan_in_and_fan_out",
    # sow.log_odds_bias_ is public but not listed: a listed name ending in _ is a Plan initializer
    "Recommendation", "recommend", "log_odds_bias",
    "Diagnosis", "LayerStats", "diagnose",
    "uniform", "uniform_",
    "normal", "normal_",
    "trunc_normal", "trunc_normal_",
    "constant", "constant_",
    "ones", "ones_",
    "zeros", "zeros_",
    "eye", "eye_",
    "dirac", "dirac_",
    "xavier_uniform", "xavier_uniform_",
    "xavier_normal", "xavier_normal_",
    "kaiming_uniform", "kaiming_uniform_",
    "kaiming_normal", "kaiming_normal_",
    "lecun_uniform", "lecun_uniform_",
    "lecun_normal", "lecun_normal_",
    "variance_scaling", "variance_scaling_",
    "sparse", "sparse_",
    "orthogonal", "orthogonal_",
    "delta_orthogonal", "delta_orthogonal_",
]


def __getattr__(name: str) -> object:
    """``sow.torch`` (whole PyTorch models), ``sow.jax`` (sharded jax.Arrays, pytrees),
    ``sow.flax`` (NNX modules) and ``sow.Recipe`` load on first access, so that ``import sow``
    never imports torch, jax or flax."""
    if name in ("torch", "jax", "flax"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "Recipe":
        from ._recipe import Recipe

        return Recipe
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
