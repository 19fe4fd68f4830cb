"""Plans of many tensors against one large fill, init_batch and a loop of single calls (issue 10).

    python bench/bench_plan.py [--models small,1.5b-f32,7b-bf16] [--repeats 3]

For each parameter list, the samples/s of: building a ``sow.Plan`` of every tensor (``Plan.add``
per tensor, or ``Plan.add_many`` per distinct spec), ``Plan.execute`` of a built plan, the two end
to end (build + execute), ``sow.init_batch``, and a Python loop of single in-place calls; each
against the samples/s of a single 8192 x 8192 fill of the same distribution and dtype, and against
the store bandwidth of the same bytes (``ndarray.fill``). A build row's samples/s is the tensors'
elements over the build time (how fast the build would be as a share of the fill). Memory is
allocated and touched once before timing (the fill phase, not page faults). Medians over
``--repeats`` runs, all in one process. The single fill is timed again right before every timed
run of every row, and a row's "% of the single fill" is the median of its runs' ratios to those
neighbouring fills: on a shared machine whose speed drifts between rows, a ratio of neighbours
holds still where one reference measured at the start would not.
"""

from __future__ import annotations

import argparse
import statistics
import time

import ml_dtypes
import numpy as np

import sow

NP = {"float32": np.float32, "bfloat16": ml_dtypes.bfloat16}


def llama_params(dim, layers, ffn, vocab, kv_dim, biases=False):
    """(name, shape, spec) of a Llama-style decoder: norms ones, everything else normal(0, 0.02)."""
    w = ("normal", {"std": 0.02})
    out = [("embed_tokens.weight", (vocab, dim), w)]
    for i in range(layers):
        p = f"layers.{i}."
        for n, shape in [("self_attn.q_proj", (dim, dim)), ("self_attn.k_proj", (kv_dim, dim)),
                         ("self_attn.v_proj", (kv_dim, dim)), ("self_attn.o_proj", (dim, dim)),
                         ("mlp.gate_proj", (ffn, dim)), ("mlp.up_proj", (ffn, dim)),
                         ("mlp.down_proj", (dim, ffn))]:
            out.append((p + n + ".weight", shape, w))
            if biases:
                out.append((p + n + ".bias", (shape[0],), "zeros"))
        out.append((p + "input_layernorm.weight", (dim,), "ones"))
        out.append((p + "post_attention_layernorm.weight", (dim,), "ones"))
    out.append(("norm.weight", (dim,), "ones"))
    out.append(("lm_head.weight", (vocab, dim), w))
    return out


MODELS = {
    "small": ("float32", [(f"t{i}", (4096,), ("normal", {"std": 0.02})) for i in range(10_000)]),
    "1.5b-f32": ("float32", llama_params(2048, 16, 8192, 128256, 512)),
    "1.5b-f32-bias": ("float32", llama_params(2048, 16, 8192, 128256, 512, biases=True)),
    "7b-bf16": ("bfloat16", llama_params(4096, 32, 11008, 32000, 4096)),
    "7b-bf16-bias": ("bfloat16", llama_params(4096, 32, 11008, 32000, 4096, biases=True)),
}


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_time(fn, repeats, ref=None):
    """Median seconds of fn over repeats runs; with ref (the reference fill), also the median of
    the per-run ratios t(ref) / t(fn), ref timed right before each run of fn."""
    times, ratios = [], []
    for _ in range(repeats):
        t_ref = timed(ref) if ref is not None else None
        t = timed(fn)
        times.append(t)
        if ref is not None:
            ratios.append(t_ref / t)
    return statistics.median(times), (statistics.median(ratios) if ratios else None)


def bench(model, repeats):
    dtype, params = MODELS[model]
    arrays = [np.zeros(shape, NP[dtype]) for _, shape, _ in params]  # allocated and touched
    n = sum(a.size for a in arrays)
    nbytes = sum(a.nbytes for a in arrays)

    def build_add():
        plan = sow.Plan(seed=0)
        for a, (name, _, spec) in zip(arrays, params):
            plan.add(a, spec, key=name)
        return plan

    groups = {}  # one add_many per distinct spec, in first-seen order
    for a, (name, _, spec) in zip(arrays, params):
        groups.setdefault(repr(spec), (spec, [], []))
        groups[repr(spec)][1].append(a)
        groups[repr(spec)][2].append(name)

    def build_add_many():
        plan = sow.Plan(seed=0)
        for spec, outs, keys in groups.values():
            plan.add_many(outs, spec, keys=keys)
        return plan

    built = build_add_many()
    kept = []  # built plans are freed after the timing, not inside it

    def run_batch():
        sow.init_batch([(a, spec, name) for a, (name, _, spec) in zip(arrays, params)], seed=0)

    def run_loop():
        for a, (name, _, spec) in zip(arrays, params):
            if spec == "ones":
                sow.ones_(a)
            elif spec == "zeros":
                sow.zeros_(a)
            else:
                sow.normal_(a, 0.0, 0.02, seed=0, key=name)

    def run_store():
        for a in arrays:
            a.fill(0)

    big = np.zeros((8192, 8192), NP[dtype])

    def run_big():
        sow.normal_(big, 0.0, 0.02, seed=0)

    t_big, _ = median_time(run_big, repeats)
    rows = {}
    def then_execute(build):
        plan = build()
        plan.execute()
        kept.append(plan)

    for label, fn in [("plan: build, add x each", lambda: kept.append(build_add())),
                      ("plan: build, add_many", lambda: kept.append(build_add_many())),
                      ("plan: execute", built.execute),
                      ("plan: add_many + execute", lambda: then_execute(build_add_many)),
                      ("plan: add x each + execute", lambda: then_execute(build_add)),
                      ("init_batch", run_batch), ("loop of single calls", run_loop),
                      ("store (ndarray.fill)", run_store)]:
        rows[label] = median_time(fn, repeats, run_big)
        kept.clear()
    del big
    print(f"\n{model}: {len(params)} tensors, {n / 1e9:.3f} G elements, {nbytes / 1e9:.2f} GB {dtype}")
    ref = 8192 * 8192 / t_big
    print(f"  single 8192x8192 normal fill: {t_big * 1e3:8.1f} ms  {ref / 1e9:6.2f} G samples/s")
    for label, (t, ratio) in rows.items():
        # samples/s of the row over samples/s of its neighbouring single fills
        share = ratio * n / (8192 * 8192)
        print(f"  {label:28s} {t * 1e3:8.1f} ms  {n / t / 1e9:6.2f} G samples/s  "
              f"{share * 100:6.1f} % of the single fill  {nbytes / t / 1e9:6.1f} GB/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="small,1.5b-f32")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cpu = sow.show_config(mode="dicts")["cpu"]
    print(f"sow {sow.__version__}, ISA {cpu['active_isa']}, {cpu['hardware_threads']} hardware threads")
    for m in args.models.split(","):
        bench(m, args.repeats)


if __name__ == "__main__":
    main()
