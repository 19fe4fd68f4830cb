"""Whole-model init: torch's way vs sow.torch.init_module_ on a Llama-3-style model.

Shapes (``--shape``): ``1.5b`` is dim 2048, 16 layers, FFN 8192, vocab 128256, GQA (8 of 32
heads for K/V), bfloat16 (~1.5 B parameters, ~3 GB); ``8b`` is Llama-3-8B (dim 4096, 32 layers,
FFN 14336, ~16 GB in bfloat16). transformers' LlamaForCausalLM. Each variant runs in its own
process (so its peak RSS is its own):

* ``torch``: ``AutoModelForCausalLM.from_config(cfg)`` in bfloat16 on the CPU (build with
  torch's construction-time init, then HF's init), end to end;
* ``sow``: build on meta, then ``init_module_(model, device="cpu", recipe="hf")``, end to end
  (materialization and the first touch of fresh memory included);
* ``touch``: the first-touch floor: allocate the same bytes and write them once with all
  threads (``sow.zeros_``; torch's ``zero_`` is shown too), twice each, alternating: the first
  large touch of a process also pays for the host reclaiming memory, as the ``sow`` and ``torch``
  variants' runs do;
* ``refill``: the fill phase on already-touched memory: torch's HF re-init
  (``_init_weights`` over the model) vs ``init_module_`` again on the same model, and one large
  tensor's ``sow.normal_`` samples/s for reference (at most 2**30 elements, so that the 8 B
  shape fits);
* ``titan`` (only where torchtitan is installed; it is not a dependency: ``pip install
  --no-deps torchtitan==0.3.0 spmd_types==0.2.3 einops tyro docstring_parser triton``):
  torchtitan's own Llama-3 of the same shape (its ``1B``/``8B`` flavors, untied, bfloat16),
  ``to_empty`` then its ``init_states()`` (torch's RNG, first touch included), ``init_states()``
  again on touched memory, and ``init_module_(recipe="torchtitan_llama3")`` on the same memory.

::

    python bench/bench_model.py                  # all variants, 3 repeats each
    python bench/bench_model.py --layers 2 --repeats 1   # a quick check that it runs
    python bench/bench_model.py --shape 8b --repeats 1 --variants touch,sow,refill,torch
    #   --json PATH   medians and raw timings (default bench/out/model.json)

Values are checked before timing counts: sow's model must hold finite values with the recipe's
std (normal(0, 0.02) weights within 2 %) or the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


#: shape -> (dim, layers, FFN, heads, K/V heads, torchtitan flavor)
SHAPES = {"1.5b": (2048, 16, 8192, 32, 8, "1B"), "8b": (4096, 32, 14336, 32, 8, "8B")}


def _config(shape: str, layers: int | None):
    from transformers import LlamaConfig

    dim, n, ffn, heads, kv, _ = SHAPES[shape]
    return LlamaConfig(vocab_size=128256, hidden_size=dim, intermediate_size=ffn,
                       num_hidden_layers=layers or n, num_attention_heads=heads,
                       num_key_value_heads=kv, tie_word_embeddings=False, torch_dtype="bfloat16")


def _titan(shape: str, layers: int | None):
    import functools

    import torch
    from torchtitan.models.llama3 import llama3_configs

    cfg = llama3_configs[SHAPES[shape][5]](attn_backend="flex")
    cfg.enable_weight_tying = False  # the HF model's untied embedding and lm_head
    cfg.tok_embeddings.param_init = {"weight": functools.partial(torch.nn.init.normal_, std=1.0)}
    if layers:
        cfg.layers = cfg.layers[:layers]
    with torch.device("meta"):
        model = cfg.build()
    # bfloat16 parameters; the complex RoPE cache stays complex (Module.to(bfloat16) would keep
    # only its real part, and torchtitan's init_states would then replace it by a complex one).
    return model._apply(lambda t: t.to(torch.bfloat16) if t.is_floating_point() else t)


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _param_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _check(model) -> None:
    import torch

    w = model.model.layers[0].mlp.up_proj.weight.float()
    if not torch.isfinite(w).all() or abs(float(w.std()) - 0.02) > 0.02 * 0.02:
        raise SystemExit(f"sanity: up_proj std {float(w.std())} (want 0.02)")


def run_variant(variant: str, shape: str, layers: int | None) -> dict:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    # transformers loads its model classes lazily (~150 MB of code and tables for Llama): import
    # them before the baseline RSS is read, so that the growth is the run's own memory.
    from transformers import AutoModelForCausalLM, LlamaForCausalLM  # noqa: F401

    import sow.torch  # noqa: F401

    cfg = _config(shape, layers)
    out: dict = {"variant": variant, "baseline_rss": _peak_rss()}
    if variant == "torch":
        from transformers import AutoModelForCausalLM

        t0 = time.perf_counter()
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
        out["seconds"] = time.perf_counter() - t0
        out["param_bytes"] = _param_bytes(model)
    elif variant == "sow":
        import sow.torch
        from transformers import LlamaForCausalLM

        t0 = time.perf_counter()
        with torch.device("meta"):
            model = LlamaForCausalLM(cfg).to(torch.bfloat16)
        sow.torch.init_module_(model, seed=0, recipe="hf", device="cpu")
        out["seconds"] = time.perf_counter() - t0
        out["param_bytes"] = _param_bytes(model)
        out["peak_rss_init"] = _peak_rss()  # before _check's float32 temporaries
        _check(model)
    elif variant == "touch":
        with torch.device("meta"):
            from transformers import LlamaForCausalLM

            model = LlamaForCausalLM(cfg).to(torch.bfloat16)
        import sow

        n = _param_bytes(model)
        # The first large touch in a process also pays for the host reclaiming memory (its page
        # cache): measured 3x slower than the next on this machine, whichever goes first. So each
        # is timed twice, alternating, and the faster time of each is the floor.
        sow_t, torch_t = [], []
        for _ in range(2):
            t0 = time.perf_counter()
            buf = torch.empty(n // 4, dtype=torch.float32)
            sow.zeros_(buf)  # all threads, as the plan writes
            sow_t.append(time.perf_counter() - t0)
            del buf
            t0 = time.perf_counter()
            buf = torch.empty(n, dtype=torch.uint8)
            buf.zero_()
            torch_t.append(time.perf_counter() - t0)
            del buf
        out["seconds"] = min(sow_t)
        out["torch_zero_seconds"] = min(torch_t)
        out["first_touch_seconds"] = sow_t[0]
        out["param_bytes"] = n
    elif variant == "refill":
        import sow
        import sow.torch
        from transformers import LlamaForCausalLM

        with torch.device("meta"):
            model = LlamaForCausalLM(cfg).to(torch.bfloat16)
        sow.torch.init_module_(model, seed=0, recipe="hf", device="cpu")  # touches the memory
        t0 = time.perf_counter()
        sow.torch.init_module_(model, seed=1, recipe="hf")
        out["sow_refill_seconds"] = time.perf_counter() - t0
        _check(model)
        t0 = time.perf_counter()
        with torch.no_grad():
            for m in model.modules():
                model._init_weights(m)
        out["torch_refill_seconds"] = time.perf_counter() - t0
        out["model_numel"] = sum(p.numel() for p in model.parameters())
        n = min(out["model_numel"], 1 << 30)
        big = torch.empty(n, dtype=torch.bfloat16)
        sow.normal_(big, seed=0)  # touch
        t0 = time.perf_counter()
        sow.normal_(big, std=0.02, seed=1)
        out["one_tensor_seconds"] = time.perf_counter() - t0
        out["numel"] = n
        out["param_bytes"] = _param_bytes(model)
    elif variant == "titan":
        import sow.torch

        model = _titan(shape, layers)
        model.to_empty(device="cpu")
        t0 = time.perf_counter()
        model.init_states(buffer_device=torch.device("cpu"))
        out["titan_first_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.init_states(buffer_device=torch.device("cpu"))
        out["titan_refill_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        sow.torch.init_module_(model, seed=0, recipe="torchtitan_llama3")
        out["sow_refill_seconds"] = time.perf_counter() - t0
        w = model.layers["0"].feed_forward.w1.weight.float()
        if not torch.isfinite(w).all() or abs(float(w.std()) - 0.02) > 0.02 * 0.02:
            raise SystemExit(f"sanity: torchtitan w1 std {float(w.std())} (want 0.02)")
        out["param_bytes"] = _param_bytes(model)
    out["peak_rss"] = _peak_rss()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="1.5b")
    ap.add_argument("--layers", type=int, default=None, help="fewer blocks (default: the shape's)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", default="touch,sow,refill,torch")
    ap.add_argument("--json", default=str(Path(__file__).parent / "out" / "model.json"))
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_variant(a.one, a.shape, a.layers)))
        return 0
    runs: dict[str, list[dict]] = {}
    for v in a.variants.split(","):
        for _ in range(a.repeats):
            cmd = [sys.executable, __file__, "--one", v, "--shape", a.shape]
            r = subprocess.run(cmd + (["--layers", str(a.layers)] if a.layers else []),
                               capture_output=True, text=True, check=True)
            runs.setdefault(v, []).append(json.loads(r.stdout.strip().splitlines()[-1]))
    med = {v: {k: statistics.median(x[k] for x in rs) for k in rs[0] if k != "variant"}
           for v, rs in runs.items()}
    pb = next(iter(med.values()))["param_bytes"]
    layers = a.layers or SHAPES[a.shape][1]
    print(f"Llama-3-style {a.shape}, {layers} layers, bfloat16, {pb / 1e9:.2f} GB of parameters; "
          f"{os.cpu_count()} CPUs; medians of {a.repeats}")
    if "touch" in med:
        print(f"  first-touch floor (allocate + write the bytes once, all threads; faster of two): "
              f"{med['touch']['seconds']:.2f} s (torch zero_: {med['touch']['torch_zero_seconds']:.2f} s; "
              f"the process's first touch: {med['touch']['first_touch_seconds']:.2f} s)")
    if "sow" in med:
        s = med["sow"]
        grown = s["peak_rss_init"] - s["baseline_rss"]
        print(f"  sow init_module_(meta, device='cpu', recipe='hf'): {s['seconds']:.2f} s, "
              f"peak RSS {s['peak_rss_init'] / 1e9:.2f} GB, {grown / 1e9:.2f} GB above the RSS after "
              f"imports ({grown / pb:.3f}x parameter bytes)")
    if "torch" in med:
        t = med["torch"]
        print(f"  torch from_config (build + HF init): {t['seconds']:.2f} s, peak RSS "
              f"{t['peak_rss'] / 1e9:.2f} GB ({(t['peak_rss'] - t['baseline_rss']) / 1e9:.2f} GB "
              f"above the RSS after imports)")
        if "sow" in med:
            print(f"  end to end: sow is {t['seconds'] / med['sow']['seconds']:.2f}x faster")
    if "refill" in med:
        r = med["refill"]
        plan_rate = r["model_numel"] / r["sow_refill_seconds"]
        one_rate = r["numel"] / r["one_tensor_seconds"]
        print(f"  re-init on touched memory: sow {r['sow_refill_seconds']:.2f} s, torch "
              f"{r['torch_refill_seconds']:.2f} s ({r['torch_refill_seconds'] / r['sow_refill_seconds']:.1f}x); "
              f"one {r['numel'] / 1e9:.2f} G-element normal_ {r['one_tensor_seconds']:.2f} s "
              f"(sow's plan, {r['model_numel'] / 1e9:.2f} G elements, reaches "
              f"{plan_rate / one_rate * 100:.0f} % of its samples/s)")
    if "titan" in med:
        r = med["titan"]
        print(f"  torchtitan init_states(): {r['titan_first_seconds']:.2f} s after to_empty, "
              f"{r['titan_refill_seconds']:.2f} s again on touched memory; sow "
              f"init_module_(recipe='torchtitan_llama3') on the same memory "
              f"{r['sow_refill_seconds']:.2f} s "
              f"({r['titan_refill_seconds'] / r['sow_refill_seconds']:.1f}x)")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps({"medians": med, "runs": runs, "shape": a.shape,
                                        "layers": layers}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
