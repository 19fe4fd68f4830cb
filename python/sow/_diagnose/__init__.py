"""``sow.diagnose``: signal propagation through a stack of dense layers at initialization.

* :mod:`._activations`: the elementwise activations and their derivatives (NumPy, float64);
* :mod:`._network`: the forward/backward pass, the per-layer statistics and the verdict;
* :mod:`._plot`: the figures of ``sow diagnose --plot`` (matplotlib, imported lazily).
"""

from __future__ import annotations

from ._network import (
    EXPLODING_RATIO,
    SATURATED_FRACTION,
    VERDICTS,
    Diagnosis,
    LayerStats,
    diagnose,
)

__all__ = ["diagnose", "Diagnosis", "LayerStats", "VERDICTS", "SATURATED_FRACTION",
           "EXPLODING_RATIO"]
