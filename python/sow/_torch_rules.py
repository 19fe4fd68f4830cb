"""What an in-place fill of a torch tensor owes torch, done as ``torch.nn.init`` does it.

* **Version counter.** torch.nn.init writes under ``no_grad`` (so leaf Parameters can be filled)
  and its in-place ops bump the tensor's version counter, which is how autograd notices that a
  tensor saved for backward has changed. sow writes through raw pointers, so it bumps the counter
  itself (``torch.autograd.graph.increment_version``) after a successful write:
  ``y = (x * x).sum(); sow.normal_(x, seed=0); y.backward()`` then raises as with torch.
* **Inference tensors** may only be updated in place inside ``torch.inference_mode()``; outside,
  sow refuses them before writing, as torch does.
* **Meta tensors** have no memory: the call is validated and nothing is written (torch.nn.init is
  a no-op on meta).

torch is never imported here: a tensor can only reach sow if torch is already loaded.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["InferenceTensorError", "is_torch_tensor", "inplace_rules", "bump_version"]

F = TypeVar("F", bound=Callable[..., Any])


class InferenceTensorError(ValueError, RuntimeError):
    """An inference tensor filled in place outside ``torch.inference_mode()``.

    A ``ValueError`` like every refusal of sow's, and a ``RuntimeError`` like torch's own."""


def is_torch_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _is_meta(x: Any) -> bool:
    return x.device.type == "meta"


def check_writable(out: Any) -> None:
    """Refuse an inference tensor outside inference mode (torch's rule for in-place updates)."""
    torch = sys.modules["torch"]
    if out.is_inference() and not torch.is_inference_mode_enabled():
        raise InferenceTensorError(
            "out is an inference tensor: an in-place update to an inference tensor outside "
            "torch.inference_mode() is not allowed (clone it first, or fill it inside "
            "torch.inference_mode())"
        )


def bump_version(out: Any) -> None:
    """Tell autograd that ``out`` was modified in place."""
    if is_torch_tensor(out) and not _is_meta(out):
        sys.modules["torch"].autograd.graph.increment_version(out)


def inplace_rules(fn: F) -> F:
    """Wrap an in-place initializer ``fn(out, ...)`` with the rules above (no-op for others)."""

    @functools.wraps(fn)
    def wrapper(out: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_torch_tensor(out):
            return fn(out, *args, **kwargs)
        if _is_meta(out):  # checked as a memory-less plan item, never written
            fn(out, *args, **kwargs)
            return out
        check_writable(out)
        result = fn(out, *args, **kwargs)
        bump_version(out)
        return result

    return wrapper  # type: ignore[return-value]
