"""Initialize a small transformer's weights by parameter name, then show what that buys.

Every tensor is keyed by its name, so adding, removing or reordering layers never changes the
others, and a tensor-parallel shard generated alone equals the same slice of the full tensor.

    python examples/python/init_by_name.py
"""

from __future__ import annotations

import math

import numpy as np

import sow

SEED = 2026
D, HIDDEN, LAYERS = 512, 2048, 4


def init_model(layers: int) -> dict[str, np.ndarray]:
    params: dict[str, np.ndarray] = {}
    for i in range(layers):
        p = f"layers.{i}."
        params[p + "attn.qkv.weight"] = sow.xavier_uniform((3 * D, D), seed=SEED, key=p + "attn.qkv.weight")
        # GPT-2 style scaled output projection: std 0.02 / sqrt(2 * layers), truncated at 2 sigma.
        std = 0.02 / math.sqrt(2 * LAYERS)
        params[p + "attn.out.weight"] = sow.trunc_normal(
            (D, D), std=std, a=-2 * std, b=2 * std, seed=SEED, key=p + "attn.out.weight")
        params[p + "mlp.up.weight"] = sow.kaiming_uniform((HIDDEN, D), a=math.sqrt(5), seed=SEED, key=p + "mlp.up.weight")
        params[p + "mlp.down.weight"] = sow.kaiming_uniform((D, HIDDEN), a=math.sqrt(5), seed=SEED, key=p + "mlp.down.weight")
        params[p + "norm.weight"] = sow.ones((D,))
        params[p + "mlp.up.bias"] = sow.zeros((HIDDEN,))
    return params


def main() -> None:
    small, large = init_model(LAYERS), init_model(LAYERS + 2)
    same = all(np.array_equal(small[k], large[k]) for k in small)
    print(f"{len(small)} tensors; adding two layers changed none of the others: {same}")

    # Tensor parallelism: rank r of 4 owns a block of rows of the up projection, generated alone.
    name = "layers.0.mlp.up.weight"
    full = small[name]
    rows = HIDDEN // 4
    shards = [sow.kaiming_uniform((HIDDEN, D), a=math.sqrt(5), seed=SEED, key=name,
                                  shard=[slice(r * rows, (r + 1) * rows)]) for r in range(4)]
    print("4 shards generated alone == the full tensor:", np.array_equal(np.concatenate(shards), full))
    print("fans come from the global shape: std", float(shards[0].std()), "vs full", float(full.std()))

    # A bfloat16 copy is the float32 tensor rounded, bit for bit.
    bf16 = sow.kaiming_uniform((HIDDEN, D), a=math.sqrt(5), seed=SEED, key=name, dtype="bfloat16")
    print("bfloat16 == float32 rounded:", np.array_equal(bf16, full.astype(bf16.dtype)))

    try:
        import torch
    except ImportError:
        return
    # Fill torch tensors in place through NumPy views (CPU); no copy.
    w = torch.empty(HIDDEN, D)
    sow.kaiming_uniform_(w.numpy(), a=math.sqrt(5), seed=SEED, key=name)
    print("torch tensor filled in place equals the NumPy result:", np.array_equal(w.numpy(), full))


if __name__ == "__main__":
    main()
