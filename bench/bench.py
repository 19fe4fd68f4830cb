#!/usr/bin/env python3
"""CPU benchmark: sow vs torch.nn.init vs NumPy's Generator, in place, all threads.

    python3 bench/bench.py                 # full run: 1024², 4096², 8192²; float32, bfloat16
    python3 bench/bench.py --quick         # 1024² and 4096² only, 3 repeats
    python3 bench/bench.py --inits normal,trunc_normal --sizes 8192 --dtypes float32

See bench/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import sow

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - sow needs it for bfloat16 anyway
    ml_dtypes = None

try:
    import torch
    TORCH_ERR = None
except Exception as e:  # noqa: BLE001 - any import failure means "no torch columns"
    torch = None
    TORCH_ERR = f"{type(e).__name__}: {e}"

ALL_INITS = (
    "uniform", "normal", "trunc_normal",
    "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
)
ALL_SIZES = (1024, 4096, 8192)
ALL_DTYPES = ("float32", "bfloat16")

# trunc_normal case: std=0.02 cut at ±2σ (absolute bounds, torch convention).
TN_MEAN, TN_STD, TN_A, TN_B = 0.0, 0.02, -0.04, 0.04
TRUNC_STD_FACTOR = 0.87962566103423978  # std of N(0,1) truncated to [-2, 2]

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------------------
# Machine info


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(threads: int, numpy_trunc: str) -> dict:
    cfg = sow.show_config(mode="dicts")
    info = {
        "cpu_model": cpu_model(),
        "os_cpu_count": os.cpu_count(),
        "sow_hardware_threads": cfg["cpu"]["hardware_threads"],
        "sow_isa": cfg["cpu"]["active_isa"],
        "sow_version": sow.__version__,
        "sow_config": cfg,
        "threads": threads,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch_version": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "torch_missing_reason": TORCH_ERR,
        "ml_dtypes_version": getattr(ml_dtypes, "__version__", None),
        "numpy_trunc_normal_method": numpy_trunc,
        "numpy_bfloat16_method": "float32 Generator output, then np.copyto into a "
                                 "preallocated ml_dtypes.bfloat16 array (timed)",
        "numpy_threads": 1,
    }
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return info


# ---------------------------------------------------------------------------------------------
# Expected distributions (for the sanity check)


def expected(init: str, n: int) -> dict:
    """Expected mean/std and hard bounds of the init for an n×n weight (fan_in = fan_out = n)."""
    if init == "uniform":
        return {"mean": 0.0, "std": 1 / math.sqrt(3), "lo": -1.0, "hi": 1.0}
    if init == "normal":
        return {"mean": 0.0, "std": 1.0, "lo": -math.inf, "hi": math.inf}
    if init == "trunc_normal":
        return {"mean": TN_MEAN, "std": TN_STD * TRUNC_STD_FACTOR, "lo": TN_A, "hi": TN_B}
    if init == "xavier_uniform":
        b = math.sqrt(6.0 / (2 * n))
        return {"mean": 0.0, "std": b / math.sqrt(3), "lo": -b, "hi": b}
    if init == "xavier_normal":
        return {"mean": 0.0, "std": math.sqrt(2.0 / (2 * n)), "lo": -math.inf, "hi": math.inf}
    if init == "kaiming_uniform":  # a=0, fan_in, leaky_relu -> gain sqrt(2)
        b = math.sqrt(3.0) * math.sqrt(2.0) / math.sqrt(n)
        return {"mean": 0.0, "std": b / math.sqrt(3), "lo": -b, "hi": b}
    if init == "kaiming_normal":
        return {"mean": 0.0, "std": math.sqrt(2.0) / math.sqrt(n), "lo": -math.inf,
                "hi": math.inf}
    raise ValueError(init)


def stats_of(a: np.ndarray) -> dict:
    """mean/std/min/max/nonzero fraction over a strided sample of <= ~4M elements."""
    flat = a.reshape(-1)
    step = max(1, flat.size // 4_000_000)
    s = np.asarray(flat[::step]).astype(np.float64)
    return {
        "mean": float(s.mean()), "std": float(s.std()),
        "min": float(s.min()), "max": float(s.max()),
        "nonzero": float(np.count_nonzero(s)) / s.size, "sampled": int(s.size),
    }


def check(name: str, init: str, n: int, dtype: str, a: np.ndarray) -> dict:
    e = expected(init, n)
    st = stats_of(a)
    problems = []
    if not math.isfinite(st["mean"]) or not math.isfinite(st["std"]):
        problems.append("non-finite values")
    # 16-bit rounding moves the std by far less than 1%; sampling error at >=1M samples ~0.1%.
    if abs(st["std"] / e["std"] - 1) > 0.02:
        problems.append(f"std {st['std']:.6g} vs expected {e['std']:.6g}")
    if abs(st["mean"] - e["mean"]) > 0.02 * e["std"]:
        problems.append(f"mean {st['mean']:.6g} vs expected {e['mean']:.6g}")
    slack = 1e-6 * max(1.0, abs(e["hi"]) if math.isfinite(e["hi"]) else 1.0)
    if dtype == "bfloat16":
        slack = 2 ** -7 * (abs(e["hi"]) if math.isfinite(e["hi"]) else 1.0)
    if st["min"] < e["lo"] - slack or st["max"] > e["hi"] + slack:
        problems.append(f"range [{st['min']:.6g}, {st['max']:.6g}] outside "
                        f"[{e['lo']:.6g}, {e['hi']:.6g}]")
    if st["nonzero"] < 0.95:
        problems.append(f"only {st['nonzero']:.1%} nonzero")
    st["expected"] = e
    st["ok"] = not problems
    st["problems"] = problems
    if problems:
        print(f"  SANITY FAIL {name} {init} {n}x{n} {dtype}: " + "; ".join(problems),
              file=sys.stderr)
    return st


# ---------------------------------------------------------------------------------------------
# Competitors: each factory returns (run, array_for_check) with all buffers preallocated


def sow_case(init: str, n: int, dtype: str, threads):
    npdt = np.float32 if dtype == "float32" else ml_dtypes.bfloat16
    out = np.empty((n, n), dtype=npdt)
    kw = {"seed": 1234, "key": "bench", "threads": threads}
    calls = {
        "uniform": lambda: sow.uniform_(out, -1.0, 1.0, **kw),
        "normal": lambda: sow.normal_(out, 0.0, 1.0, **kw),
        "trunc_normal": lambda: sow.trunc_normal_(out, TN_MEAN, TN_STD, TN_A, TN_B, **kw),
        "xavier_uniform": lambda: sow.xavier_uniform_(out, **kw),
        "xavier_normal": lambda: sow.xavier_normal_(out, **kw),
        "kaiming_uniform": lambda: sow.kaiming_uniform_(out, **kw),
        "kaiming_normal": lambda: sow.kaiming_normal_(out, **kw),
    }
    return calls[init], (lambda: out)


def torch_case(init: str, n: int, dtype: str):
    tdt = torch.float32 if dtype == "float32" else torch.bfloat16
    t = torch.empty((n, n), dtype=tdt)
    I = torch.nn.init
    calls = {
        "uniform": lambda: I.uniform_(t, -1.0, 1.0),
        "normal": lambda: I.normal_(t, 0.0, 1.0),
        "trunc_normal": lambda: I.trunc_normal_(t, TN_MEAN, TN_STD, TN_A, TN_B),
        "xavier_uniform": lambda: I.xavier_uniform_(t),
        "xavier_normal": lambda: I.xavier_normal_(t),
        "kaiming_uniform": lambda: I.kaiming_uniform_(t),
        "kaiming_normal": lambda: I.kaiming_normal_(t),
    }
    return calls[init], (lambda: t.float().numpy())


def numpy_case(init: str, n: int, dtype: str, rng: np.random.Generator, numpy_trunc: str):
    """NumPy Generator, in place into a float32 buffer (single-threaded: NumPy's generators are).
    For bfloat16 the float32 result is then copied into a preallocated bfloat16 array."""
    buf = np.empty((n, n), dtype=np.float32)
    flat = buf.reshape(-1)
    final = buf if dtype == "float32" else np.empty((n, n), dtype=ml_dtypes.bfloat16)

    def scaled_uniform(bound):
        rng.random(out=buf, dtype=np.float32)        # [0, 1)
        np.multiply(buf, np.float32(2 * bound), out=buf)
        np.subtract(buf, np.float32(bound), out=buf)

    def scaled_normal(std):
        rng.standard_normal(out=buf, dtype=np.float32)
        if std != 1.0:
            np.multiply(buf, np.float32(std), out=buf)

    def trunc_rejection():
        # Exact truncated normal by rejection, in place: draw N(0,1), redraw the ~4.6% outside
        # ±2 (the bounds in σ units) until none is left, then scale. Acceptance 95.4% at ±2σ.
        lo, hi = (TN_A - TN_MEAN) / TN_STD, (TN_B - TN_MEAN) / TN_STD
        rng.standard_normal(out=buf, dtype=np.float32)
        idx = np.flatnonzero((flat < lo) | (flat > hi))
        while idx.size:
            v = rng.standard_normal(idx.size, dtype=np.float32)
            flat[idx] = v
            idx = idx[(v < lo) | (v > hi)]
        np.multiply(buf, np.float32(TN_STD), out=buf)
        if TN_MEAN:
            np.add(buf, np.float32(TN_MEAN), out=buf)

    def trunc_scipy():
        from scipy.stats import truncnorm
        lo, hi = (TN_A - TN_MEAN) / TN_STD, (TN_B - TN_MEAN) / TN_STD
        # scipy has no out=: it allocates float64 (inverse CDF); the copy is timed too.
        np.copyto(buf, truncnorm.rvs(lo, hi, loc=TN_MEAN, scale=TN_STD, size=buf.shape,
                                     random_state=rng), casting="same_kind")

    xb = math.sqrt(6.0 / (2 * n))
    kb = math.sqrt(3.0) * math.sqrt(2.0) / math.sqrt(n)
    gen = {
        "uniform": lambda: scaled_uniform(1.0),
        "normal": lambda: scaled_normal(1.0),
        "trunc_normal": trunc_scipy if numpy_trunc == "scipy" else trunc_rejection,
        "xavier_uniform": lambda: scaled_uniform(xb),
        "xavier_normal": lambda: scaled_normal(math.sqrt(2.0 / (2 * n))),
        "kaiming_uniform": lambda: scaled_uniform(kb),
        "kaiming_normal": lambda: scaled_normal(math.sqrt(2.0) / math.sqrt(n)),
    }[init]
    if dtype == "float32":
        return gen, (lambda: final)

    def run_bf16():
        gen()
        np.copyto(final, buf, casting="unsafe")

    return run_bf16, (lambda: final)


# ---------------------------------------------------------------------------------------------
# Timing


def time_interleaved(runs: dict, repeats: int) -> dict:
    """Warm up each run once, then `repeats` rounds; within a round every competitor runs once,
    in an order rotated each round so drift and noise hit all alike. Returns seconds per run."""
    names = list(runs)
    for nm in names:
        runs[nm]()
    times = {nm: [] for nm in names}
    for r in range(repeats):
        k = r % len(names)
        for nm in names[k:] + names[:k]:
            t0 = time.perf_counter()
            runs[nm]()
            times[nm].append(time.perf_counter() - t0)
    return times


def store_bandwidth(repeats: int) -> dict:
    """Fill a preallocated 8192² float32 array (256 MiB, far beyond any cache): NumPy's
    ndarray.fill (one thread) and torch's Tensor.fill_ (all threads). Bytes written / time."""
    n = 8192
    a = np.empty((n, n), dtype=np.float32)
    runs = {"numpy_fill": lambda: a.fill(1.5)}
    if torch is not None:
        t = torch.empty((n, n), dtype=torch.float32)
        runs["torch_fill_"] = lambda: t.fill_(1.5)
    times = time_interleaved(runs, repeats)  # the warm-up also first-touches the pages
    nbytes = a.nbytes
    res = {"bytes": nbytes, "raw_s": times, "median_s": {}, "gbps": {}}
    for nm, ts in times.items():
        med = statistics.median(ts)
        res["median_s"][nm] = med
        res["gbps"][nm] = nbytes / med / 1e9
    best = max(res["gbps"], key=res["gbps"].get)
    res["best"] = best
    res["store_gbps"] = res["gbps"][best]
    return res


# ---------------------------------------------------------------------------------------------


def parse_list(s: str, allowed, conv=str):
    vals = [conv(x.strip()) for x in s.split(",") if x.strip()]
    bad = [v for v in vals if v not in allowed]
    if bad:
        raise SystemExit(f"unknown value(s) {bad}; choose from {list(allowed)}")
    return vals


def fmt_ms(s):
    return f"{'-':>9}" if s is None else (f"{s * 1e3:9.2f}" if s < 10 else f"{s * 1e3:9.0f}")


def fmt_x(x):
    return "-" if x is None else f"{x:6.2f}x"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="1024² and 4096² only, 3 repeats (unless --sizes/--repeats given)")
    ap.add_argument("--sizes", default=None,
                    help="comma list of square sizes n (n×n), from 1024,4096,8192")
    ap.add_argument("--dtypes", default=",".join(ALL_DTYPES), help="float32,bfloat16")
    ap.add_argument("--inits", default=",".join(ALL_INITS), help=",".join(ALL_INITS))
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed repeats (default 7 for n<=4096, 5 for 8192; --quick: 3)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for sow and torch (default os.cpu_count())")
    ap.add_argument("--json", default=str(HERE / "out" / "cpu.json"), help="output JSON path")
    ap.add_argument("--numpy-trunc", choices=("rejection", "scipy"), default="rejection",
                    help="NumPy trunc_normal method: in-place rejection on standard_normal "
                         "(default, the fastest NumPy gets) or scipy.stats.truncnorm.rvs "
                         "(inverse CDF in float64, allocates, far slower)")
    args = ap.parse_args(argv)

    sizes = parse_list(args.sizes, ALL_SIZES, int) if args.sizes else (
        [1024, 4096] if args.quick else list(ALL_SIZES))
    dtypes = parse_list(args.dtypes, ALL_DTYPES)
    inits = parse_list(args.inits, ALL_INITS)
    threads = args.threads or os.cpu_count() or 1
    if "bfloat16" in dtypes and ml_dtypes is None:
        raise SystemExit("bfloat16 needs ml_dtypes")
    if args.numpy_trunc == "scipy":
        import scipy.stats  # noqa: F401  (fail early)

    def repeats_for(n):
        if args.repeats:
            return args.repeats
        if args.quick:
            return 3
        return 5 if n >= 8192 else 7

    sow_threads = args.threads  # None: all hardware threads (sow's default)
    if torch is not None:
        torch.set_num_threads(threads)
        torch.manual_seed(0)

    info = machine_info(threads, args.numpy_trunc)
    trunc_label = ("scipy.stats.truncnorm.rvs (float64, allocating) + copy to float32"
                   if args.numpy_trunc == "scipy"
                   else "in-place rejection on Generator.standard_normal (float32)")
    print(f"# CPU: {info['cpu_model']}; {info['os_cpu_count']} logical CPUs "
          f"(sow sees {info['sow_hardware_threads']} hardware threads)")
    print(f"# sow {info['sow_version']}: ISA {info['sow_isa']}, threads "
          f"{sow_threads if sow_threads else 'all (' + str(info['sow_hardware_threads']) + ')'}")
    if torch is not None:
        print(f"# torch {info['torch_version']}: {torch.get_num_threads()} threads "
              f"(torch.nn.init.*_, native dtype)")
    else:
        print(f"# torch: not importable ({TORCH_ERR}); torch columns skipped")
    print(f"# numpy {info['numpy_version']}: np.random.default_rng (PCG64), 1 thread, "
          f"in place (random/standard_normal out=); bfloat16 = float32 then copy to "
          f"ml_dtypes.bfloat16; trunc_normal = {trunc_label}")
    print(f"# trunc_normal case: mean {TN_MEAN}, std {TN_STD}, [a, b] = [{TN_A}, {TN_B}] (±2σ); "
          f"xavier/kaiming: torch defaults on an n×n weight")

    bw = store_bandwidth(max(5, min(repeats_for(8192), 7)))
    store = bw["store_gbps"]
    print("# store bandwidth: " + ", ".join(f"{k} {v:.1f} GB/s" for k, v in bw["gbps"].items())
          + f" -> {store:.1f} GB/s (8192² float32 fill, median)")
    print()

    hdr = (f"{'init':<16} {'shape':>10} {'dtype':>8} {'sow ms':>9} {'torch ms':>9} "
           f"{'numpy ms':>9} {'vs torch':>8} {'vs numpy':>8} {'Gsamp/s':>8} {'GB/s':>7} "
           f"{'of store':>8}")
    print(hdr)
    print("-" * len(hdr))

    rng = np.random.default_rng(0)
    cases = []
    all_ok = True
    for n in sizes:
        for dtype in dtypes:
            for init in inits:
                runs, getters = {}, {}
                runs["sow"], getters["sow"] = sow_case(init, n, dtype, sow_threads)
                if torch is not None:
                    runs["torch"], getters["torch"] = torch_case(init, n, dtype)
                runs["numpy"], getters["numpy"] = numpy_case(init, n, dtype, rng,
                                                             args.numpy_trunc)
                # Check results before timing (this call is also an extra warm-up).
                sanity = {}
                for nm in runs:
                    runs[nm]()
                    sanity[nm] = check(nm, init, n, dtype, getters[nm]())
                    all_ok &= sanity[nm]["ok"]
                times = time_interleaved(runs, repeats_for(n))
                med = {nm: statistics.median(ts) for nm, ts in times.items()}
                elems = n * n
                nbytes = elems * (4 if dtype == "float32" else 2)
                s = med["sow"]
                row = {
                    "init": init, "shape": [n, n], "dtype": dtype, "elements": elems,
                    "bytes": nbytes, "repeats": repeats_for(n), "raw_s": times,
                    "median_s": med,
                    "speedup_vs_torch": med["torch"] / s if "torch" in med else None,
                    "speedup_vs_numpy": med["numpy"] / s,
                    "sow_gsamples_per_s": elems / s / 1e9,
                    "sow_gbps": nbytes / s / 1e9,
                    "sow_fraction_of_store_bw": nbytes / s / 1e9 / store,
                    "sanity": sanity,
                    "numpy_label": ("numpy f32->bf16" if dtype == "bfloat16" else "numpy")
                                   + (f" ({args.numpy_trunc})" if init == "trunc_normal" else ""),
                }
                cases.append(row)
                flag = "" if all(v["ok"] for v in sanity.values()) else "  SANITY FAIL"
                print(f"{init:<16} {f'{n}x{n}':>10} {dtype:>8} {fmt_ms(s)} "
                      f"{fmt_ms(med.get('torch'))} {fmt_ms(med['numpy'])} "
                      f"{fmt_x(row['speedup_vs_torch']):>8} {fmt_x(row['speedup_vs_numpy']):>8} "
                      f"{row['sow_gsamples_per_s']:8.2f} {row['sow_gbps']:7.1f} "
                      f"{row['sow_fraction_of_store_bw']:8.0%}{flag}", flush=True)
                del runs, getters

    print()
    print("# vs torch / vs numpy: competitor median time / sow median time (>1: sow faster).")
    print("# numpy bfloat16 rows: float32 generation + conversion (NumPy has no bf16 generator).")
    print("# GB/s: bytes sow wrote / sow median time; 'of store' = that / store bandwidth.")
    if not all_ok:
        print("# WARNING: some sanity checks failed (see stderr and the JSON)")

    out = {
        "benchmark": "sow CPU init benchmark",
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "argv": sys.argv[1:],
        "machine": info,
        "config": {"sizes": sizes, "dtypes": dtypes, "inits": inits,
                   "repeats": {str(n): repeats_for(n) for n in sizes},
                   "trunc_normal": {"mean": TN_MEAN, "std": TN_STD, "a": TN_A, "b": TN_B},
                   "timing": "in place into preallocated outputs; 1 warm-up (+1 sanity-check "
                             "call) then medians; competitors interleaved, order rotated "
                             "each repeat"},
        "store_bandwidth": bw,
        "all_sanity_ok": all_ok,
        "cases": cases,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"# wrote {path}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
