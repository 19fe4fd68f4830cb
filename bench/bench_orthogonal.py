"""Orthogonal initialization: sow.orthogonal vs torch.nn.init.orthogonal_ on the CPU.

    python bench/bench_orthogonal.py                 # the issue's shapes, float32, 2 threads
    python bench/bench_orthogonal.py --threads 1 --big --dtypes float32 float64 bfloat16

Both sides run with the same thread count (torch.set_num_threads / sow's threads=, which sets
OpenBLAS's). Runs come in blocks (sow, torch, sow, torch) so that load from other processes hits
both alike; the table shows medians. Also reports max|QᵀQ − I| (QQᵀ for wide) of sow's result,
computed in float64. Writes bench/out/orthogonal.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import sow

SHAPES = [(256, 256), (1024, 1024), (2048, 2048), (4096, 4096), (1024, 4096), (4096, 1024)]
BIG = [(8192, 8192)]


def ortho_error(q: np.ndarray) -> float:
    m = q.reshape(q.shape[0], -1).astype(np.float64)
    r, c = m.shape
    g = m.T @ m if r >= c else m @ m.T
    g[np.diag_indices_from(g)] -= 1.0
    return float(np.abs(g).max())


def reps_for(n_elems: int, override: int | None) -> int:
    if override:
        return override
    if n_elems <= 1 << 18:
        return 21
    if n_elems <= 1 << 22:
        return 5
    if n_elems <= 1 << 24:
        return 3
    return 2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", nargs="+", default=["float32"])
    ap.add_argument("--big", action="store_true", help="also 8192 x 8192")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "orthogonal.json"))
    args = ap.parse_args()

    torch = None
    if not args.no_torch:
        try:
            import torch as _t

            torch = _t
            torch.set_num_threads(args.threads)
        except ImportError:
            print("torch not installed: sow only", file=sys.stderr)

    shapes = SHAPES + (BIG if args.big else [])
    rows = []
    lapack = sow.show_config(mode="dicts")["lapack"]["info"]
    print(f"threads={args.threads}  sow {sow.__version__}  LAPACK: {lapack}")
    if torch is not None:
        print(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    hdr = f"{'shape':>12} {'dtype':>8} {'sow ms':>9} {'torch ms':>9} {'speedup':>8} {'sow err':>9} {'torch err':>9}"
    print(hdr)
    print("-" * len(hdr))
    for dt in args.dtypes:
        for shape in shapes:
            n = shape[0] * shape[1]
            reps = reps_for(n, args.reps)
            tdt = None
            if torch is not None:
                tdt = {"float32": torch.float32, "float64": torch.float64}.get(dt)
            t_sow, t_torch = [], []
            tt = torch.empty(shape, dtype=tdt) if tdt is not None else None
            q = None
            # Blocks of runs (sow, torch, sow, torch) rather than strict alternation, so that
            # one library's idle-spinning worker threads hit the other's runs as little as
            # possible; the first run of each block warms up and is not counted.
            for _round in range(2):
                for i in range(reps + 1):
                    t0 = time.perf_counter()
                    q = sow.orthogonal(shape, seed=0, key=i, dtype=dt, threads=args.threads)
                    t1 = time.perf_counter()
                    if i:
                        t_sow.append(t1 - t0)
                if tt is not None:
                    for i in range(reps + 1):
                        t0 = time.perf_counter()
                        torch.nn.init.orthogonal_(tt)
                        t1 = time.perf_counter()
                        if i:
                            t_torch.append(t1 - t0)
            err = ortho_error(np.asarray(q, dtype=np.float64) if dt in ("float16", "bfloat16") else q)
            terr = ortho_error(tt.numpy()) if tt is not None else None
            ms = statistics.median(t_sow) * 1e3
            tms = statistics.median(t_torch) * 1e3 if t_torch else None
            row = {
                "shape": list(shape), "dtype": dt, "threads": args.threads, "reps": reps,
                "sow_ms": ms, "torch_ms": tms, "speedup": (tms / ms) if tms else None,
                "sow_err": err, "torch_err": terr,
                "sow_all_ms": [t * 1e3 for t in t_sow], "torch_all_ms": [t * 1e3 for t in t_torch],
            }
            rows.append(row)
            sp = f"{tms / ms:7.2f}x" if tms else f"{'-':>8}"
            tstr = f"{tms:9.1f}" if tms else f"{'-':>9}"
            testr = f"{terr:9.1e}" if terr is not None else f"{'-':>9}"
            print(f"{'x'.join(map(str, shape)):>12} {dt:>8} {ms:9.1f} {tstr} {sp} {err:9.1e} {testr}",
                  flush=True)
    meta = {
        "machine": platform.machine(), "processor": platform.processor(), "cpus": os.cpu_count(),
        "python": sys.version.split()[0], "sow": sow.__version__, "lapack": lapack,
        "torch": torch.__version__ if torch is not None else None, "threads": args.threads,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
