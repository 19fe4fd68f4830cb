"""``sow.checkpoint``: a whole model's initial weights written to safetensors, streamed.

::

    import sow.checkpoint
    sow.checkpoint.write("llama3-8b", "ckpt", seed=0)          # 16 GB, never in memory
    sow.checkpoint.verify("ckpt", seed=0)                      # header + a sample of every tensor

The files are Hugging Face's layout (``model.safetensors`` or ``model-0000i-of-0000n.safetensors``
with ``model.safetensors.index.json``, and ``config.json``), loadable by
``safetensors.safe_open`` and ``AutoModelForCausalLM.from_pretrained``. Every tensor is keyed by
its name, so its values are a function of (seed, name, index, spec, dtype): the bytes are the same
for any thread count, chunk size and number of writing processes. Memory stays bounded (two
64 MiB buffers) whatever the model size. See docs/checkpoint.md.

torch and transformers are never imported for presets and config.json sources.
"""

from __future__ import annotations

from ._api import VerifyReport, WriteReport, tensors, verify, write
from ._arch import ARCHITECTURES, MODEL_TYPES
from ._format import parse_size
from ._presets import PRESETS
from ._tensors import EMBEDDED_RECIPES, Tensor
from ._writer import STATE_DIR, CheckpointError

__all__ = ["write", "verify", "tensors", "Tensor", "WriteReport", "VerifyReport",
           "CheckpointError", "PRESETS", "MODEL_TYPES", "ARCHITECTURES", "EMBEDDED_RECIPES",
           "STATE_DIR", "parse_size"]
