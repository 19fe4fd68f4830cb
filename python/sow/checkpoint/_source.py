"""What ``source`` may be, turned into tensors (and the config.json to write, if any).

* a preset name (:data:`sow.checkpoint.PRESETS`), a ``config.json`` path (or a folder holding
  one) or a config dict: a built-in architecture (:mod:`._arch`) under an embedded recipe;
* a list of :class:`Tensor` or ``(name, shape, dtype, spec)`` tuples;
* a torch ``nn.Module`` (built on meta), a transformers model class with its config
  (``(LlamaForCausalLM, cfg)`` or ``config=cfg``) or a ``PretrainedConfig``: the specs its own
  init code gives, recorded on meta by ``sow.torch.plan_module`` (needs torch;
  :mod:`._torch_source`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import key_hash
from ._arch import ARCHITECTURES, architecture
from ._presets import PRESETS, preset
from ._tensors import Tensor, arch_tensors

__all__ = ["Resolved", "resolve", "load_config", "config_text"]


@dataclass
class Resolved:
    tensors: list[Tensor]
    config: dict[str, Any] | None  # the config.json to write (None: none)
    recipe: str


def load_config(path: str) -> dict[str, Any]:
    """A config.json (or a folder with one) as a dict; errors name the file."""
    p = os.path.join(path, "config.json") if os.path.isdir(path) else path
    try:
        with open(p, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except FileNotFoundError:
        raise ValueError(f"source {path!r}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"source {path!r}: not a readable config.json ({e})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"source {path!r}: config.json must hold a JSON object")
    return cfg


def config_text(cfg: Mapping[str, Any], dtype: str) -> str:
    """config.json as written: the source config with ``architectures``/``model_type`` filled in
    and ``dtype`` set to the checkpoint's dtype (``torch_dtype``, its old name, dropped);
    transformers' layout (indent 2, sorted keys, newline)."""
    out = dict(cfg)
    out.pop("torch_dtype", None)
    out["dtype"] = dtype
    mt = out.get("model_type")
    if isinstance(mt, str) and mt in ARCHITECTURES:
        out.setdefault("architectures", [ARCHITECTURES[mt]])
    return json.dumps(out, indent=2, sort_keys=True) + "\n"


def resolve(source: Any, recipe: Any, config: Any = None) -> Resolved:
    """``source`` (module doc) -> :class:`Resolved`."""
    from ._torch_source import from_torch, is_torch_source

    if is_torch_source(source):
        return from_torch(source, recipe, config)
    if config is not None:
        raise TypeError("config= goes with a model class source only")
    if isinstance(source, (str, os.PathLike)) and not (isinstance(source, str) and source in PRESETS):
        path = os.fspath(source)
        if not os.path.exists(path):
            names = ", ".join(PRESETS)
            raise ValueError(f"source {path!r} is neither a preset ({names}) nor a config.json "
                             f"path")
        return _from_config(load_config(path), recipe)
    if isinstance(source, str):
        return _from_config(preset(source), recipe)
    if isinstance(source, Mapping):
        return _from_config(dict(source), recipe)
    from ..plan import Plan

    if isinstance(source, Plan):
        if not isinstance(recipe, str):
            raise TypeError("recipe must be a str (a label recorded in the files) for a Plan source")
        return Resolved(plan_tensors(source), None, recipe)
    if isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        if not isinstance(recipe, str):
            raise TypeError("recipe must be a str (a label recorded in the files) for a list source")
        return Resolved(list(source), None, recipe)
    raise TypeError(f"source must be a preset name, a config.json path or dict, a list of "
                    f"(name, shape, dtype, spec), a torch nn.Module, a model class with its "
                    f"config, or a transformers PretrainedConfig; got "
                    f"{type(source).__name__}")


def _from_config(cfg: dict[str, Any], recipe: Any) -> Resolved:
    if not isinstance(recipe, str):
        raise TypeError(f"recipe must be a str for a config source (embedded recipes: hf, torch, "
                        f"gpt2), got {type(recipe).__name__}; a sow.Recipe needs the torch model")
    c, tensors = architecture(cfg)
    out = dict(cfg)
    out.setdefault("model_type", c["model_type"])
    return Resolved(arch_tensors(c, tensors, recipe), out, recipe)


def plan_tensors(plan: Any) -> list[Tensor]:
    """The tensors of a :class:`sow.Plan` source: each item a whole tensor (a checkpoint stores
    whole tensors: a shard or an index-set item is refused, naming it), under its name, with its
    dtype, spec and key. The plan's seed must be the checkpoint's (checked by ``write``)."""
    out = []
    for i in range(len(plan)):
        it = plan.item(i)
        label = f"source items[{i}]" + (f" ({it['name']})" if it["name"] else "")
        if not it["name"]:
            raise ValueError(f"{label}: a checkpoint stores tensors by name; add the item with name=")
        whole = (not it["global_shape"] or tuple(it["global_shape"]) == tuple(it["shape"])) and \
            not any(it["offsets"]) and not it["indexed"]
        if not whole:
            raise ValueError(f"{label}: a checkpoint stores whole tensors; this item is a shard of "
                             f"{tuple(it['global_shape'])}")
        key = None if it["key"] == key_hash(it["name"]) else int(it["key"])  # keyed by its name
        out.append(Tensor(it["name"], tuple(it["shape"]), it["dtype"],
                          (it["spec"], dict(it["params"])), key=key))
    return out
