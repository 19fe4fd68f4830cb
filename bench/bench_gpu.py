#!/usr/bin/env python3
"""GPU benchmark: sow's CUDA fills vs the device's write bandwidth and vs torch.nn.init on the GPU.

    python3 bench/bench_gpu.py                      # full run (needs CuPy; torch CUDA optional)
    python3 bench/bench_gpu.py --quick              # fewer repeats, 256 MiB only
    python3 bench/bench_gpu.py --json bench/out/gpu.json

What it measures (medians of CUDA-event timings, all in the same run, same device):

1. Write bandwidth: ``cudaMemsetAsync`` (CuPy ``arr.fill(0)`` / ``cupy.cuda.runtime.memsetAsync``)
   and a plain store kernel (CuPy ElementwiseKernel writing a constant) over the same buffer.
2. sow uniform / normal / trunc_normal fills of >= 256 MiB, float32 (CuPy) and bfloat16 (torch
   tensor, in place), as a fraction of the better of the two bandwidth figures (target >= 90 %
   for uniform and normal).
3. torch.nn.init on the same tensor, dtype and device (target: sow >= 1.5x faster; trunc_normal
   >= 10x).
4. 1,000 tensors of mixed small shapes: one ``sow.init_batch`` call (one launch) vs one
   torch.nn.init call per tensor (target: >= 10x faster).
5. Orthogonal: ``sow.orthogonal_`` (Stewart reflectors + cuSOLVER orgqr) vs
   ``torch.nn.init.orthogonal_`` (geqrf + orgqr) on the same device, float32 square 1024..8192,
   1024x4096, 4096x1024 and float64 4096 (target: sow >= 2x at n >= 4096, float32), with
   max|QᵀQ - I| of both and max|Q_gpu - Q_cpu| against sow's CPU result (agreement to rounding).

Results go into bench/RESULTS.md by hand, with the device named.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from typing import Any, Callable

import numpy as np

import sow

MiB = 1 << 20


def _need_cupy() -> Any:
    try:
        import cupy as cp
    except ImportError:
        sys.exit("bench_gpu.py needs CuPy (pip install cupy-cuda12x)")
    if not sow.cuda_available():
        cuda = sow.show_config(mode="dicts")["cuda"]
        sys.exit("bench_gpu.py needs a CUDA device and a CUDA build of sow "
                 f"(CUDA built: {cuda['built']}, devices: {cuda['devices']} {cuda['unavailable_reason']})")
    return cp


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def time_ms(cp: Any, fn: Callable[[], Any], repeats: int, warmup: int = 2) -> float:
    """Median wall time of fn() on the current stream, measured with CUDA events (ms)."""
    for _ in range(warmup):
        fn()
    cp.cuda.get_current_stream().synchronize()
    times = []
    for _ in range(repeats):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop))
    return statistics.median(times)


def bandwidth(cp: Any, nbytes: int, repeats: int) -> dict[str, float]:
    """GB/s of cudaMemsetAsync and of a plain store kernel writing nbytes."""
    buf = cp.empty(nbytes // 4, dtype=cp.float32)
    stream = cp.cuda.get_current_stream()
    ms_memset = time_ms(cp, lambda: cp.cuda.runtime.memsetAsync(buf.data.ptr, 0, nbytes,
                                                                stream.ptr), repeats)
    store = cp.ElementwiseKernel("", "float32 y", "y = 1.0f", "sow_bench_store")
    ms_store = time_ms(cp, lambda: store(buf), repeats)
    return {"memset_GBps": nbytes / ms_memset / 1e6, "store_GBps": nbytes / ms_store / 1e6}


def big_fills(cp: Any, torch: Any, nbytes: int, repeats: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cases = [("uniform", (-1.0, 1.0)), ("normal", (0.0, 1.0)), ("trunc_normal", (0.0, 1.0, -2.0, 2.0))]
    for dtype in ("float32", "bfloat16"):
        item = 4 if dtype == "float32" else 2
        n = nbytes // item
        side = int(math.isqrt(n))
        shape = (side, n // side)
        if dtype == "float32":
            out: Any = cp.empty(shape, dtype=cp.float32)
        elif torch is not None:
            out = torch.empty(shape, dtype=torch.bfloat16, device="cuda")
        else:
            print("  (no torch with CUDA: bfloat16 rows skipped)")
            continue
        tout = None
        if torch is not None:
            tout = torch.empty(shape, dtype=getattr(torch, dtype), device="cuda")
        for name, args in cases:
            fill = getattr(sow, name + "_")
            ms = time_ms(cp, lambda: fill(out, *args, seed=0, key=1), repeats)
            row: dict[str, Any] = {"init": name, "dtype": dtype, "shape": shape,
                                   "bytes": shape[0] * shape[1] * item, "sow_ms": ms}
            row["sow_GBps"] = row["bytes"] / ms / 1e6
            if tout is not None:
                tfn = {"uniform": lambda: torch.nn.init.uniform_(tout, -1.0, 1.0),
                       "normal": lambda: torch.nn.init.normal_(tout, 0.0, 1.0),
                       "trunc_normal": lambda: torch.nn.init.trunc_normal_(tout, 0.0, 1.0, -2.0,
                                                                            2.0)}[name]
                # torch runs on its current stream; time it with torch's events.
                row["torch_ms"] = _torch_time(torch, tfn, repeats)
                row["speedup"] = row["torch_ms"] / ms
            rows.append(row)
        del out, tout
    return rows


def _torch_time(torch: Any, fn: Callable[[], Any], repeats: int) -> float:
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def many_small(cp: Any, torch: Any, count: int, repeats: int) -> dict[str, Any]:
    """count tensors of mixed small shapes (biases, norm weights, small matrices)."""
    rng = np.random.default_rng(0)
    shapes = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            shapes.append((int(rng.integers(64, 4097)),))  # bias / norm weight
        elif kind == 1:
            shapes.append((int(rng.integers(8, 129)), int(rng.integers(8, 129))))
        elif kind == 2:
            shapes.append((int(rng.integers(8, 65)), int(rng.integers(1, 33)), 3, 3))
        else:
            shapes.append((int(rng.integers(1, 1025)),))
    specs = ["zeros", "ones", "kaiming_uniform", ("normal", {"std": 0.02})]
    arrays = [cp.empty(s, dtype=cp.float32) for s in shapes]
    items = [(a, specs[i % 4], i) for i, a in enumerate(arrays)]  # i % 4 == 2: 4-D (fans)
    ms_batch = time_ms(cp, lambda: sow.init_batch(items, seed=0), repeats)
    result: dict[str, Any] = {"count": count, "elements": int(sum(a.size for a in arrays)),
                              "sow_batch_ms": ms_batch}
    if torch is not None:
        ts = [torch.empty(s, device="cuda") for s in shapes]

        def per_tensor() -> None:
            for i, t in enumerate(ts):
                spec = items[i][1]
                if spec == "zeros":
                    torch.nn.init.zeros_(t)
                elif spec == "ones":
                    torch.nn.init.ones_(t)
                elif spec == "kaiming_uniform":
                    torch.nn.init.kaiming_uniform_(t)
                else:
                    torch.nn.init.normal_(t, 0.0, 0.02)

        result["torch_per_tensor_ms"] = _torch_time(torch, per_tensor, repeats)
        result["speedup"] = result["torch_per_tensor_ms"] / ms_batch
    return result


ORTHO_SHAPES = [((1024, 1024), "float32"), ((2048, 2048), "float32"), ((4096, 4096), "float32"),
                ((8192, 8192), "float32"), ((1024, 4096), "float32"), ((4096, 1024), "float32"),
                ((4096, 4096), "float64")]


def _ortho_error(cp: Any, q: Any) -> float:
    q = q.astype(cp.float64)
    g = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    return float(cp.abs(g - cp.eye(g.shape[0])).max())


def orthogonal_rows(cp: Any, torch: Any, repeats: int, quick: bool) -> list[dict[str, Any]]:
    rows = []
    shapes = ORTHO_SHAPES[:3] if quick else ORTHO_SHAPES
    print(f"cuSOLVER: {sow._cusolver.load_cusolver()}")
    for shape, dtype in shapes:
        out = cp.empty(shape, dtype=dtype)
        reps = max(3, repeats // 4) if shape[0] * shape[1] >= 4096 * 4096 else repeats
        r: dict[str, Any] = {"shape": shape, "dtype": dtype}
        r["sow_ms"] = time_ms(cp, lambda: sow.orthogonal_(out, seed=0), reps)
        r["sow_err"] = _ortho_error(cp, out)
        if shape[0] * shape[1] <= 4096 * 4096:  # CPU reference: seconds at 4096 on a few cores
            r["max_diff_vs_cpu"] = float(np.abs(cp.asnumpy(out) - sow.orthogonal(
                shape, seed=0, dtype=dtype)).max())
        if torch is not None:
            t = torch.empty(shape, device="cuda", dtype=getattr(torch, dtype))
            r["torch_ms"] = _torch_time(torch, lambda: torch.nn.init.orthogonal_(t), reps)
            r["torch_err"] = _ortho_error(cp, cp.asarray(t))
            r["speedup"] = r["torch_ms"] / r["sow_ms"]
        rows.append(r)
        del out
        cp.get_default_memory_pool().free_all_blocks()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--mib", type=int, default=256, help="size of the big fills (MiB, >= 256)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--small", type=int, default=1000, help="tensors in the batched case")
    ap.add_argument("--json", default=None, help="write raw results here")
    args = ap.parse_args(argv)
    cp = _need_cupy()
    torch = _torch()
    repeats = args.repeats or (5 if args.quick else 20)
    nbytes = args.mib * MiB
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    print(f"device: {name}; sow {sow.__version__}; CuPy {cp.__version__}; "
          f"torch {torch.__version__ if torch is not None else '(no CUDA torch)'}")

    bw = bandwidth(cp, nbytes, repeats)
    best = max(bw.values())
    print(f"write bandwidth ({args.mib} MiB): memset {bw['memset_GBps']:.0f} GB/s, "
          f"store kernel {bw['store_GBps']:.0f} GB/s")

    rows = big_fills(cp, torch, nbytes, repeats)
    print("\n| init | dtype | shape | sow ms | GB/s | of bandwidth | torch ms | vs torch |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        frac = r["sow_GBps"] / best
        r["of_bandwidth"] = frac
        t = f"{r['torch_ms']:.3f} | {r['speedup']:.1f}x" if "torch_ms" in r else "- | -"
        print(f"| {r['init']} | {r['dtype']} | {r['shape'][0]}x{r['shape'][1]} | "
              f"{r['sow_ms']:.3f} | {r['sow_GBps']:.0f} | {100 * frac:.0f} % | {t} |")

    small = many_small(cp, torch, args.small, repeats)
    extra = (f"; torch.nn.init per tensor {small['torch_per_tensor_ms']:.3f} ms "
             f"({small['speedup']:.1f}x)" if "speedup" in small else "")
    print(f"\n{small['count']} small tensors ({small['elements']} elements): sow.init_batch "
          f"{small['sow_batch_ms']:.3f} ms{extra}")

    ortho = orthogonal_rows(cp, torch, repeats, args.quick)
    print("\n| orthogonal | dtype | sow ms | torch ms | vs torch | sow max|QᵀQ−I| | torch max|QᵀQ−I| "
          "| max|Q_gpu − Q_cpu| |")
    print("|---|---|---|---|---|---|---|---|")
    for r in ortho:
        t = (f"{r['torch_ms']:.2f} | {r['speedup']:.2f}x" if "torch_ms" in r else "- | -")
        te = f"{r['torch_err']:.1e}" if "torch_err" in r else "-"
        d = f"{r['max_diff_vs_cpu']:.1e}" if "max_diff_vs_cpu" in r else "-"
        print(f"| {r['shape'][0]}x{r['shape'][1]} | {r['dtype']} | {r['sow_ms']:.2f} | {t} | "
              f"{r['sow_err']:.1e} | {te} | {d} |")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": name, "sow_config": sow.show_config(mode="dicts"), "bandwidth": bw, "fills": rows,
                       "small": small, "orthogonal": ortho}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
