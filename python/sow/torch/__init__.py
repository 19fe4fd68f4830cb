"""sow for whole PyTorch models: meta device, recipes, DTensor/FSDP2 shards.

::

    import sow.torch
    with torch.device("meta"):
        model = build_model()
    fully_shard(model)                         # optional: FSDP2, TP, or both
    report = sow.torch.init_module_(model, seed=0, recipe="hf", device="cuda")

* :func:`init_module_` initializes every parameter and buffer of a module as one
  :class:`sow.Plan`, keyed by fully-qualified names (docs/torch.md).
* :func:`plan_module`: the same decisions as a list of :class:`TensorRecord` (name, global
  shape, dtype, spec, deterministic writes, tied names), materializing and writing nothing.
* :func:`fill_` fills one tensor, plain or DTensor, with exactly its slice of the global fill.
* :class:`Recipe`: ``(FQN glob or callable -> spec)`` rules, first match wins; built-ins in
  :data:`RECIPES` (``"torch"``, ``"hf"``, ``"torchtitan_llama3"``, ``"gpt2"``);
  :func:`recipe` gives one with chosen biases (zeros, a small positive constant, a prior).
* :func:`diagnose`: signal-propagation statistics of a module's Linear layers on a batch
  (:func:`sow.diagnose` for torch).
* :func:`patch_init`: run a module's own init code with torch.nn.init (and
  transformers.initialization) routed through sow.

Importing this package does not import torch; its functions do, on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._recipe import HF_INIT, MODULE_CODE, Recipe, Target

__all__ = ["fill_", "init_module_", "plan_module", "ModulePlan", "TensorRecord", "patch_init",
           "Recipe", "Target", "MODULE_CODE", "HF_INIT", "RECIPES",
           "InitReport", "TensorReport", "torchtitan_llama3", "gpt2", "recipe", "diagnose"]

_LAZY = {
    "fill_": "._fill",
    "init_module_": "._module",
    "plan_module": "._module",
    "ModulePlan": "._module",
    "TensorRecord": "._module",
    "InitReport": "._module",
    "TensorReport": "._module",
    "patch_init": "._patch",
    "RECIPES": "._recipes",
    "torchtitan_llama3": "._recipes",
    "gpt2": "._recipes",
    "recipe": "._recipes",
    "diagnose": "._diagnose",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'sow.torch' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(mod, __name__), name)
    except ImportError as e:
        if e.name == "torch":
            raise ImportError(f"sow.torch.{name} needs PyTorch (pip install torch)") from e
        raise
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
