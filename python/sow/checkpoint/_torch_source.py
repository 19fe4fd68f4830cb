"""A torch model as a checkpoint source: its own init code, recorded on meta, never materialized.

``source`` is one of:

* a ``torch.nn.Module`` (built on meta, or anywhere: its values are never read);
* a transformers model class with a config: ``(LlamaForCausalLM, cfg)``, or the class with
  ``config=cfg`` (``cfg`` a ``PretrainedConfig`` or a dict of its fields); an ``AutoModel*``
  class works too;
* a ``PretrainedConfig`` alone: the class its ``architectures[0]`` names in transformers, else
  ``AutoModelForCausalLM``.

The model is built under ``torch.device("meta")`` and :func:`sow.torch.plan_module` decides each
tensor as ``sow.torch.init_module_`` would (recipe rules, the model's own init code run on meta
stand-ins); no parameter leaves meta. Each record becomes a :class:`Tensor`:

* names and order: ``state_dict()``'s, wrapper components dropped; non-persistent buffers and
  ``_keys_to_ignore_on_save`` left out; a tied tensor stored once, under its tie source's name
  (``save_pretrained`` drops ``lm_head.weight`` when it is tied to the embedding), keyed by
  ``init_module_``'s key (its first name);
* floating tensors take the checkpoint's ``dtype``; integer and bool tensors (BatchNorm's
  ``num_batches_tracked``) keep their own, and must be constants;
* the spec, plus the padding rows set to zero. Values a Plan item cannot hold (a copied buffer
  value, an integer tensor that is not a constant, other deterministic writes) are a ValueError
  naming the tensor.

A Hugging Face model also gets its ``config.json`` (``architectures`` set to the class, as
``save_pretrained`` does).
"""

from __future__ import annotations

import json
from typing import Any

from ._format import INT_DTYPES
from ._layout import NORM_OF
from ._source import Resolved
from ._tensors import Tensor

__all__ = ["from_torch", "is_torch_source"]


def _transformers() -> Any:
    import sys

    return sys.modules.get("transformers")


def is_config(obj: Any) -> bool:
    tf = _transformers()
    return tf is not None and isinstance(obj, tf.PretrainedConfig)


def is_torch_source(obj: Any) -> bool:
    """A torch module, a model class, a ``(class, config)`` pair or a ``PretrainedConfig``."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.nn.Module):
        return True
    if is_config(obj) or _is_class(obj):
        return True
    return isinstance(obj, tuple) and len(obj) == 2 and _is_class(obj[0])


def _is_class(obj: Any) -> bool:
    if not isinstance(obj, type):
        return False
    names = {c.__name__ for c in obj.__mro__}
    return "Module" in names or (hasattr(obj, "from_config") and obj.__module__.startswith(
        "transformers"))


def _as_config(cls: Any, config: Any) -> Any:
    if is_config(config):
        return config
    if isinstance(config, dict):
        cc = getattr(cls, "config_class", None)
        if cc is None:
            tf = _transformers()
            mt = config.get("model_type")
            if tf is None or not isinstance(mt, str):
                raise TypeError(f"config: a dict needs a model class with a config_class, or a "
                                f"'model_type' field; got {cls.__name__} and {sorted(config)}")
            return tf.AutoConfig.for_model(**config)
        return cc(**config)
    raise TypeError(f"config must be a transformers PretrainedConfig or a dict of its fields, got "
                    f"{type(config).__name__}")


def _build(source: Any, config: Any) -> Any:
    """The model on meta."""
    import torch

    if isinstance(source, torch.nn.Module):
        if config is not None:
            raise TypeError("config= goes with a model class, not a model instance")
        return source
    if isinstance(source, tuple):
        if config is not None:
            raise TypeError("config= and a (class, config) source: give the config once")
        source, config = source
    if is_config(source):
        if config is not None:
            raise TypeError("config= and a PretrainedConfig source: give the config once")
        config = source
        tf = _transformers()
        archs = getattr(config, "architectures", None) or []
        cls = getattr(tf, archs[0], None) if archs else None
        if archs and cls is None:
            raise ValueError(f"source: the config's architectures[0] = {archs[0]!r} is no "
                             f"transformers class; pass (model class, config)")
        source = cls or tf.AutoModelForCausalLM
    cls = source
    if config is None:
        if getattr(cls, "config_class", None) is not None or hasattr(cls, "from_config"):
            raise TypeError(f"source: the model class {cls.__name__} needs a config: pass "
                            f"({cls.__name__}, config) or config=")
        with torch.device("meta"):
            return cls()
    cfg = _as_config(cls, config)
    with torch.device("meta"):
        if hasattr(cls, "_from_config"):
            return cls._from_config(cfg)
        if hasattr(cls, "from_config"):  # the AutoModel* classes
            return cls.from_config(cfg)
        return cls(cfg)


def _stored_names(model: Any) -> list[str]:
    """``state_dict()`` keys in order, wrapper components dropped."""
    from sow.torch._module import _clean

    out = []
    for k in model.state_dict(keep_vars=True):
        mod, _, name = k.rpartition(".")
        c = _clean(mod)
        out.append(f"{c}.{name}" if c else name)
    return out


def _config_dict(model: Any) -> dict[str, Any] | None:
    cfg = getattr(model, "config", None)
    if not is_config(cfg):
        return None
    out = json.loads(cfg.to_json_string(use_diff=True))
    out["architectures"] = [type(model).__name__]
    return out


def from_torch(source: Any, recipe: Any, config: Any = None) -> Resolved:
    """``source`` (module doc) -> :class:`Resolved`."""
    try:
        import torch
    except ImportError:  # pragma: no cover - a torch object implies torch
        raise ImportError("a torch source needs PyTorch (pip install torch)") from None
    from sow.torch._fill import _FLOAT_DTYPES
    from sow.torch._module import plan_module

    model = _build(source, config)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"source: the model class built a {type(model).__name__}, not a "
                        f"torch.nn.Module")

    def not_stored(t: Any) -> bool:
        return t.kind == "buffer" and t.name in getattr(t.module, "_non_persistent_buffers_set", ())

    mp = plan_module(model, recipe=recipe, skip=not_stored, what="sow.checkpoint")
    by_name = {}
    stored = {}  # key (first name) -> the name the checkpoint stores it under
    for r in mp.records:
        stored[r.fqn] = r.stored_name
        for n in r.names:
            by_name[n] = r
    ignore = set(getattr(model, "_keys_to_ignore_on_save", None) or ())
    out: list[Tensor] = []
    bad: list[str] = []
    for name in _stored_names(model):
        r = by_name.get(name)
        if r is None or name != r.stored_name or name in ignore or not r.persistent:
            continue  # a non-persistent buffer, or a tie target stored under its source's name
        rows = r.zero_rows
        own = str(r.dtype).replace("torch.", "")
        if r.dtype not in _FLOAT_DTYPES and (own not in INT_DTYPES or r.spec is None or rows):
            bad.append(f"{name} ({own}: a checkpoint holds integer and bool tensors as "
                       f"constants only)")
        elif r.dtype not in _FLOAT_DTYPES:
            out.append(Tensor(name, r.shape, own, r.spec, key=None if r.fqn == name else r.fqn))
        elif r.spec is None and len(r.writes) == 1 and r.writes[0][1] == "norm":
            g = r.writes[0][2]  # a weight norm's g: the norm of its v's fill
            out.append(Tensor(name, r.shape, None, (NORM_OF, {"tensor": stored[g.v_fqn],
                                                              "dim": g.dim})))
        elif r.spec is None or rows is None:
            what = "a copied value" if r.spec is None else \
                "an elementwise function of its fill" if any(w[1] == "map" for w in r.writes) \
                else "deterministic writes other than zero rows"
            bad.append(f"{name} ({what}; a checkpoint holds specs only)")
        else:
            out.append(Tensor(name, r.shape, None, r.spec, key=None if r.fqn == name else r.fqn,
                              zero_rows=rows))
    if bad:
        raise ValueError("sow.checkpoint: tensors a checkpoint cannot hold: " + "; ".join(bad))
    rname = recipe if isinstance(recipe, str) else mp.recipe.name
    return Resolved(out, _config_dict(model), rname)
