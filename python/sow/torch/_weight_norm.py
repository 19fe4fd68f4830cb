"""Weight normalization: ``torch.nn.utils.parametrizations.weight_norm`` (parameters
``<m>.parametrizations.<name>.original0`` = g and ``original1`` = v) and the older hook-based
``torch.nn.utils.weight_norm`` (``<m>.<name>_g``, ``<m>.<name>_v``). The layer computes
``w = g · v / ‖v‖``, the norm over every dim but ``dim`` (the whole tensor for ``dim=None``,
which torch stores as -1).

At construction torch applies weight norm to a layer that has already run its own init, and sets
``v = w`` and ``g = torch.norm_except_dim(w, 2, dim)``, so the layer's weight is still that init.
Hugging Face models build their weight-normed convolutions this way (Wav2Vec2, HuBERT, WavLM
and their relatives' positional convolution, EnCodec, DAC, ...), and their ``_init_weights``
writes only into the computed ``module.weight``, which torch discards: ``from_config`` keeps the
construction-time values.

sow does the same: v gets the layer's construction-time spec (sow.torch._layers, keyed by v's
name) or whatever a rule gives it, and g is a "norm" write, ``‖v‖`` of v's values regenerated
from v's spec and key. Every rank computes just its own entries of g, whichever way v and g are
sharded, with no collective. The arithmetic is sow._norm_of's, shared with checkpoints: summed in
float64 along contiguous rows (an order that does not depend on the shard), rounded to float32,
then to a 16-bit g's dtype as fills are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from .._recipe import Derived
from ._recipe import Target

__all__ = ["WeightNormG", "weight_norm_role", "weight_shape"]


@dataclass(frozen=True)
class WeightNormG(Derived):
    """A weight norm's magnitude g: the norm of ``v_fqn``'s fill (``spec``, resolved by
    plan_module once v's own spec is known) over every dim but ``dim`` (-1: all)."""

    v_fqn: str
    v_shape: tuple[int, ...]
    v_dtype: Any
    dim: int
    spec: Any = None

    def with_spec(self, spec: Any) -> "WeightNormG":
        return replace(self, spec=spec)

    def __str__(self) -> str:
        over = "all dims" if self.dim == -1 else f"all dims but {self.dim}"
        return f"norm of {self.v_fqn} over {over}"

    def __call__(self, local: Any, seed: int, gshape: tuple[int, ...], sets: Any) -> Any:
        """g's entries at index sets ``sets`` (None: all of g) in ``local``'s dtype, a CPU tensor
        of the local shape (sow._norm_of: v regenerated on the CPU, only the slices they need);
        apply_writes' "norm" write."""
        from .._norm_of import norm_of_fill

        picked = None if self.dim == -1 or sets is None else sets[self.dim]
        name = str(local.dtype).replace("torch.", "")
        g = norm_of_fill(seed, self.spec, self.v_fqn, self.v_shape,
                         str(self.v_dtype).replace("torch.", ""), self.dim, name, picked)
        if name == "bfloat16":  # torch cannot take ml_dtypes' bfloat16: its bits
            return torch.from_numpy(g.view(np.uint16).astype(np.int16)).view(torch.bfloat16)
        return torch.from_numpy(g)


def _find_owner(t: Target) -> tuple[Any, str] | None:
    """The module whose ``parametrizations`` holds ``t.module`` (a ParametrizationList), and
    its name."""
    root = t.root
    if root is None:
        return None
    plist = t.module
    for m in root.modules():
        ps = getattr(m, "parametrizations", None)
        if isinstance(ps, torch.nn.ModuleDict):
            for name, p in ps.items():
                if p is plist:
                    return m, name
    return None


def _owner_target(t: Target, owner: Any, pname: str, v_shape: tuple[int, ...]) -> Target:
    parts = t.module_fqn.split(".") if t.module_fqn else []
    prefix = ".".join(parts[:-2])  # drop "parametrizations.<pname>"
    return Target(f"{prefix}.{pname}" if prefix else pname, pname, owner, prefix, v_shape,
                  t.dtype, t.kind, t.root)


def weight_norm_role(t: Target) -> tuple[str, Target, WeightNormG | None] | None:
    """For a weight norm's ``v`` or ``g``: ``("v", target, None)`` with ``target`` the layer's
    own parameter (``conv.weight``) as a rule would see it, or ``("g", target, WeightNormG)``;
    None for any other parameter."""
    from torch.nn.utils import parametrize

    m = t.module
    if isinstance(m, parametrize.ParametrizationList):
        wn = getattr(torch.nn.utils.parametrizations, "_WeightNorm", None)
        if len(m) != 1 or wn is None or not isinstance(m[0], wn) \
                or t.name not in ("original0", "original1"):
            return None
        found = _find_owner(t)
        if found is None:
            return None
        owner, pname = found
        v = m.original1
        v_shape = tuple(int(s) for s in v.shape)
        if not -1 <= int(m[0].dim) < len(v_shape):
            return None  # torch's norm_except_dim reads other negative dims its own way
        layer = _owner_target(t, owner, pname, v_shape)
        if t.name == "original1":
            return "v", layer, None
        return "g", layer, WeightNormG(t.fqn[: -len("0")] + "1", v_shape, v.dtype, int(m[0].dim))
    from torch.nn.utils.weight_norm import WeightNorm

    for hook in getattr(m, "_forward_pre_hooks", {}).values():
        if isinstance(hook, WeightNorm) and t.name in (hook.name + "_g", hook.name + "_v"):
            v = getattr(m, hook.name + "_v")
            v_shape = tuple(int(s) for s in v.shape)
            if not -1 <= int(hook.dim) < len(v_shape):
                return None
            layer = Target(t.fqn[: -2], hook.name, m, t.module_fqn, v_shape, t.dtype, t.kind,
                           t.root)
            if t.name.endswith("_v"):
                return "v", layer, None
            return "g", layer, WeightNormG(t.fqn[: -2] + "_v", v_shape, v.dtype, int(hook.dim))
    return None


def weight_shape(m: Any, name: str) -> tuple[int, ...] | None:
    """The shape of ``m``'s parameter ``name`` without computing a parametrized one (a
    weight-normed layer's weight is v's shape)."""
    ps = getattr(m, "parametrizations", None)
    if isinstance(ps, torch.nn.ModuleDict) and name in ps:
        plist = ps[name]
        orig = getattr(plist, "original", None)
        if orig is None:
            orig = getattr(plist, "original1", None)
        return None if orig is None else tuple(int(s) for s in orig.shape)
    v = m._parameters.get(name + "_v") if hasattr(m, "_parameters") else None
    if v is not None and name not in m._parameters:
        return tuple(int(s) for s in v.shape)
    t = getattr(m, name, None)
    return None if t is None else tuple(int(s) for s in t.shape)
