"""Initial checkpoints: sow's streamed write against the disk's own write bandwidth (issue 12).

    python bench/bench_checkpoint.py [--dir /tmp/sow-bench] [--models qwen2.5-1.5b,llama3-8b]
                                     [--torch qwen2.5-1.5b] [--threads N]

In one run, on the same filesystem, for each model (bfloat16, recipe "hf", one shard per 5 GB):

* ``disk``: sequential ``os.pwrite`` of the same byte count in 64 MiB blocks (one block of random
  bytes written again and again) into one file, then ``fsync``: the disk's write + fsync
  bandwidth for these bytes;
* ``sow``: ``sow.checkpoint.write`` (its files are fsynced before they are renamed);
* ``torch`` (models in ``--torch``): the torch way: ``AutoModelForCausalLM.from_config`` in
  bfloat16 on the CPU (transformers' own init), then ``save_pretrained``.

Each runs in a fresh subprocess: wall time, GB/s and the subprocess's peak RSS (``wait4``). The
output folder is removed after each; ``--dir`` needs free space for the largest model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

_DISK = r"""
import os, sys, time
import numpy as np
path, total = sys.argv[1], int(sys.argv[2])
block = np.random.default_rng(0).integers(0, 256, 64 << 20, dtype=np.uint8).tobytes()
t0 = time.perf_counter()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
off = 0
view = memoryview(block)
while off < total:
    n = min(len(block), total - off)
    off += os.pwrite(fd, view[:n], off)
os.fsync(fd)
os.close(fd)
print(time.perf_counter() - t0)
"""

_SOW = r"""
import sys, time, json
import sow.checkpoint as ck
t0 = time.perf_counter()
threads = None if sys.argv[3] == "none" else int(sys.argv[3])
rep = ck.write(sys.argv[1], sys.argv[2], seed=0, progress=False, threads=threads)
print(time.perf_counter() - t0)
"""

_TORCH = r"""
import sys, time, logging
import torch, transformers
import sow.checkpoint as ck
logging.getLogger("transformers").setLevel(logging.ERROR)
cfg = dict(ck.PRESETS[sys.argv[1]])
t0 = time.perf_counter()
conf = transformers.AutoConfig.for_model(**cfg)
model = transformers.AutoModelForCausalLM.from_config(conf, dtype=torch.bfloat16)
t1 = time.perf_counter()
model.save_pretrained(sys.argv[2])
print(time.perf_counter() - t0, t1 - t0)
"""


def _run(code: str, *args: str) -> tuple[list[float], int]:
    """(floats printed, peak RSS bytes) of ``python -c code args`` in a fresh process."""
    p = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    out, err = p.stdout.read(), p.stderr.read()  # type: ignore[union-attr]
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"subprocess failed ({p.returncode}):\n{err}")
    return [float(x) for x in out.split()], int(usage.ru_maxrss) * 1024


def _bytes(model: str) -> int:
    import sow.checkpoint as ck

    ts = ck.tensors(model)
    return sum(t.numel * 2 for t in ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/sow-bench")
    ap.add_argument("--models", default="qwen2.5-1.5b,llama3-8b")
    ap.add_argument("--torch", default="qwen2.5-1.5b", help="models also written the torch way")
    ap.add_argument("--threads", default="none")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    import sow

    os.makedirs(args.dir, exist_ok=True)
    print(f"# sow {sow.__version__}, {os.cpu_count()} CPUs, dir {args.dir} "
          f"({shutil.disk_usage(args.dir).free / 1e9:.0f} GB free)")
    print("| model | GB | what | s | GB/s | of disk | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for model in args.models.split(","):
        nbytes = _bytes(model)
        gb = nbytes / 1e9
        path = os.path.join(args.dir, "disk.bin")
        (t_disk,), rss_disk = _run(_DISK, path, str(nbytes))
        os.remove(path)
        out = os.path.join(args.dir, "sow")
        shutil.rmtree(out, ignore_errors=True)
        (t_sow,), rss_sow = _run(_SOW, model, out, args.threads)
        shutil.rmtree(out)
        disk_bw = nbytes / t_disk / 1e9
        rows.append(dict(model=model, bytes=nbytes, what="disk write+fsync", s=t_disk,
                         gbps=disk_bw, rss=rss_disk))
        rows.append(dict(model=model, bytes=nbytes, what="sow.checkpoint.write", s=t_sow,
                         gbps=nbytes / t_sow / 1e9, rss=rss_sow))
        if model in args.torch.split(","):
            out = os.path.join(args.dir, "torch")
            shutil.rmtree(out, ignore_errors=True)
            (t_torch, t_build), rss_torch = _run(_TORCH, model, out)
            shutil.rmtree(out)
            rows.append(dict(model=model, bytes=nbytes, what=f"torch: from_config (init "
                             f"{t_build:.1f} s) + save_pretrained", s=t_torch,
                             gbps=nbytes / t_torch / 1e9, rss=rss_torch))
        for r in rows:
            if r["model"] == model:
                print(f"| {model} | {gb:.2f} | {r['what']} | {r['s']:.2f} | {r['gbps']:.2f} | "
                      f"{100 * r['gbps'] / disk_bw:.0f} % | {r['rss'] / 2**20:.0f} |", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
