"""Part of a fill, made apart from the tensor it belongs to: the values that the fill of ``spec``
under ``(seed, key)`` over a tensor of global shape ``gshape`` has at given index sets, in a
fresh host array. For values derived from another tensor's fill or from a draw in another dtype
(a weight norm's g; a draw torch makes in float32 for a bfloat16 tensor), each rank makes just
the part it needs, with no collective."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._dtypes import numpy_dtype

__all__ = ["fill_part"]


def fill_part(seed: int, spec: Any, key: Any, gshape: Sequence[int],
              sets: Sequence[Sequence[int] | range] | None, dtype: str) -> np.ndarray:
    """The fill's values at ``sets`` (per dim a range or an increasing list of global indices;
    None: everywhere) as an array of those sets' lengths in ``dtype`` (a sow dtype name)."""
    from .plan import Plan

    gshape = tuple(int(n) for n in gshape)
    if sets is None:
        sets = [range(n) for n in gshape]
    out = np.empty([len(s) for s in sets], numpy_dtype(dtype))
    if out.size:
        whole = [isinstance(s, range) and s.start == 0 and len(s) == n for s, n in zip(sets, gshape)]
        extra = {} if all(whole) else \
            {"global_shape": gshape, "index": [None if w else [int(i) for i in s]
                                               for w, s in zip(whole, sets)]}
        plan = Plan(seed)
        plan.add(out, spec, key=key, name=key if isinstance(key, str) else None, **extra)
        plan.execute()
    return out
