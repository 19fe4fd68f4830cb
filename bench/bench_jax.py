"""sow.jax against JAX's own initializers on the same 8-device CPU mesh (issue 14).

    python bench/bench_jax.py [--repeats 5] [--size 4096]

Rows, each a median of ``--repeats`` timed runs after one warm-up (JAX's warm-up compiles):

* one ``size x size`` float32 weight sharded ``P("x", "y")`` on a (2, 4) mesh:
  ``sow.jax.make_array`` (xavier_uniform, normal) against ``jax.nn.initializers``
  (glorot_uniform, normal) under ``jax.jit(..., out_shardings=...)`` on the same mesh;
* a small NNX transformer's parameters (d 512, 4 blocks, FFN 2048, vocab 8192, kernels
  annotated ("x", "y") / ("y", "x")): ``sow.jax.init_tree`` of the abstract state against Flax's
  own init of the same model jitted with the same shardings (warm; its first call with
  compilation is reported separately);
* the floor: a NumPy host store (``ndarray.fill``) of the same bytes, preallocated.

Every output is checked before timing (std within 3% of the target for the weight). Results are
printed as a Markdown table. JAX's CPU devices are virtual (``--xla_force_host_platform_device_count
=8``): all eight share this machine's cores, as sow's threads do.
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=8").strip()

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import sow  # noqa: E402
import sow.jax  # noqa: E402


def median_time(fn, repeats):
    fn()  # warm-up (JAX: compilation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def floor(nbytes, repeats):
    buf = np.empty(nbytes // 4, dtype=np.float32)
    buf.fill(0.0)  # touched once: the store, not page faults, is timed
    return median_time(lambda: buf.fill(1.0), repeats)


class Block(nnx.Module):
    def __init__(self, d, ffn, rngs):
        self.norm1 = nnx.LayerNorm(d, rngs=rngs)
        self.qkv = nnx.Linear(d, 3 * d, rngs=rngs, kernel_metadata={"out_sharding": ("x", "y")})
        self.proj = nnx.Linear(d, d, rngs=rngs, kernel_metadata={"out_sharding": ("y", "x")})
        self.norm2 = nnx.LayerNorm(d, rngs=rngs)
        self.up = nnx.Linear(d, ffn, rngs=rngs, kernel_metadata={"out_sharding": ("x", "y")})
        self.down = nnx.Linear(ffn, d, rngs=rngs, kernel_metadata={"out_sharding": ("y", "x")})


class Transformer(nnx.Module):
    def __init__(self, rngs, d=512, layers=4, ffn=2048, vocab=8192):
        self.embed = nnx.Embed(vocab, d, rngs=rngs, embedding_metadata={"out_sharding": ("x", None)})
        self.blocks = nnx.List([Block(d, ffn, rngs) for _ in range(layers)])
        self.head = nnx.Linear(d, vocab, rngs=rngs, kernel_metadata={"out_sharding": ("y", "x")})


def weight_rows(size, repeats):
    mesh = jax.make_mesh((2, 4), ("x", "y"))
    sh = NamedSharding(mesh, P("x", "y"))
    shape = (size, size)
    nbytes = size * size * 4
    rows = []
    cases = [
        ("xavier_uniform", "glorot_uniform", jax.nn.initializers.glorot_uniform(),
         np.sqrt(2.0 / (2 * size))),
        ("normal", "normal(1.0)", jax.nn.initializers.normal(1.0), 1.0),
    ]
    for sow_spec, jname, jinit, std in cases:
        def ours():
            return sow.jax.make_array(sow_spec, shape, sh, seed=0, key="w")

        theirs = jax.jit(lambda k: jinit(k, shape, np.float32), out_shardings=sh)
        key = jax.random.key(0)
        for name, out in (("sow", ours()), ("jax", theirs(key))):
            got = float(np.asarray(out).std())
            assert abs(got / std - 1) < 0.03, (name, sow_spec, got, std)
        t_sow = median_time(ours, repeats)
        t_jax = median_time(lambda: theirs(key), repeats)
        rows.append((f"{size}² f32 `{sow_spec}` / jax `{jname}`, P('x','y') on (2,4)", nbytes,
                     t_sow, t_jax))
    return rows


def tree_rows(repeats):
    mesh = jax.make_mesh((2, 4), ("x", "y"))
    gdef, abstract = nnx.get_abstract_model(lambda: Transformer(nnx.Rngs(0)), mesh)
    params, _ = nnx.split_state(abstract, nnx.Param, ...)
    leaves = jax.tree_util.tree_leaves(params)
    nbytes = sum(int(np.prod(a.shape)) * 4 for a in leaves)
    shardings = jax.tree_util.tree_map(lambda a: a.sharding, params)

    def ours():
        return sow.jax.init_tree(params, seed=0, recipe="flax")

    def flax_state():
        return nnx.state(Transformer(nnx.Rngs(0)), nnx.Param)

    with jax.set_mesh(mesh):
        theirs = jax.jit(flax_state, out_shardings=shardings)
        t0 = time.perf_counter()
        jax.block_until_ready(theirs())
        t_first = time.perf_counter() - t0
        t_jax = median_time(theirs, repeats)
    ours()
    t_sow = median_time(ours, repeats)
    n = sum(int(np.prod(a.shape)) for a in leaves)
    return [(f"NNX transformer ({n / 1e6:.1f} M params, {len(leaves)} leaves) `init_tree` / "
             f"Flax init under jit", nbytes, t_sow, t_jax)], t_first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", type=int, default=4096)
    args = ap.parse_args()
    cpu = sow.show_config(mode="dicts")["cpu"]
    print(f"# sow.jax vs jax.nn.initializers; jax {jax.__version__}, {len(jax.devices())} CPU "
          f"devices, {cpu['hardware_threads']} hardware threads, ISA {cpu['active_isa']}, load "
          f"{os.getloadavg()[0]:.1f}; "
          f"medians of {args.repeats}")
    rows = weight_rows(args.size, args.repeats)
    trows, t_first = tree_rows(args.repeats)
    rows += trows
    print("\n| what | bytes | sow s | jax s | sow vs jax | floor s (NumPy fill) | sow vs floor |")
    print("|---|---|---|---|---|---|---|")
    for what, nbytes, t_sow, t_jax in rows:
        t_floor = floor(nbytes, args.repeats)
        print(f"| {what} | {nbytes / 2**20:.0f} MiB | {t_sow:.4f} | {t_jax:.4f} | "
              f"{t_jax / t_sow:.2f}x | {t_floor:.4f} | {t_floor / t_sow * 100:.0f} % |")
    print(f"\nFlax init's first call (trace + compile + run): {t_first:.2f} s")


if __name__ == "__main__":
    main()
