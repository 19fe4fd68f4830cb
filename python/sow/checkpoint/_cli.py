"""``sow checkpoint``, ``sow verify`` and ``sow presets`` (the ``sow`` command: sow/cli.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["run"]

_CKPT_EPILOG = """examples:
  sow checkpoint llama-tiny -o ckpt --seed 0                 # seconds; then:
    python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('ckpt')"
  sow checkpoint llama3-8b -o llama3-8b-init --seed 0        # 16 GB in bf16, bounded memory
  sow checkpoint path/to/config.json -o ckpt --seed 0 --dtype float32 --max-shard-size 2GB
  sow checkpoint qwen2.5-0.5b -o ckpt --seed 0 --rank 0 --world-size 2 &   # two writers,
  sow checkpoint qwen2.5-0.5b -o ckpt --seed 0 --rank 1 --world-size 2     # same command
  torchrun --nproc-per-node 8 -m sow.cli checkpoint llama3-8b -o ckpt --seed 0

SOURCE is a preset (sow presets), a config.json, or a folder holding one (LlamaForCausalLM
family: llama, mistral, qwen2, qwen3; and gpt2). Every rank runs the same command; rank 0 creates
the files and writes the index last; on several hosts DIR must be one shared filesystem."""


def _checkpoint_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sow checkpoint", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a model's initial weights as a Hugging Face safetensors checkpoint, "
                    "streamed (never a whole tensor in memory).", epilog=_CKPT_EPILOG)
    p.add_argument("source", metavar="SOURCE", help="a preset name or a config.json path")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--seed", type=int, required=True, help="seed, an int in [0, 2**64)")
    p.add_argument("--recipe", default="hf",
                   help="hf (transformers' _init_weights, default), torch, gpt2")
    p.add_argument("--dtype", default="bfloat16",
                   help="bfloat16 (default), float16, float32, float64")
    p.add_argument("--max-shard-size", default="5GB", metavar="SIZE",
                   help="largest shard, e.g. 5GB (default), 500MB, or bytes")
    p.add_argument("--rank", type=int, default=None, help="this writer's rank (default: $RANK, 0)")
    p.add_argument("--world-size", type=int, default=None,
                   help="number of writers (default: $WORLD_SIZE, 1)")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a checkpoint (or an unfinished run) in a non-empty DIR")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds a rank waits for the others (default 600)")
    p.add_argument("--quiet", action="store_true", help="no progress line and no summary")
    return p


def _verify_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sow verify", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check a sow checkpoint: every header byte for byte, and the first, last and "
                    "a random sample of elements of every tensor recomputed. Exit status 1 when "
                    "anything differs.",
        epilog="example:\n  sow verify ckpt --seed 0 --sample 4096")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--recipe", default=None, help="default: the one the files record")
    p.add_argument("--sample", type=int, default=1024, help="random elements per tensor (1024)")
    p.add_argument("--threads", type=int, default=None)
    return p


def _presets(out: object = None) -> int:
    from . import tensors
    from ._presets import PRESETS

    for name, cfg in PRESETS.items():
        ts = tensors(name)
        n = sum(t.numel for t in ts)
        size = f"{n / 1e9:.3f} B" if n >= 1e8 else f"{n / 1e6:.3f} M"
        print(f"{name:14s} {cfg['model_type']:8s} {size:>9s} parameters  "
              f"{2 * n / 1e9:8.3f} GB in bf16", file=sys.stdout)
    return 0


def run(command: str, argv: Sequence[str]) -> int:
    """Run one of the checkpoint commands; the exit status."""
    if command == "presets":
        if argv and argv[0] in ("-h", "--help"):
            print("usage: sow presets\n\nThe built-in architectures: name, model_type, "
                  "parameters, size in bfloat16.")
            return 0
        if argv:
            print(f"sow: error: presets takes no arguments, got {' '.join(argv)}", file=sys.stderr)
            return 2
        return _presets()
    parser = _checkpoint_parser() if command == "checkpoint" else _verify_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        if command == "checkpoint":
            return _checkpoint(args)
        return _verify(args)
    except KeyboardInterrupt:
        print("sow: interrupted; the output folder holds no complete checkpoint (rerun with "
              "--overwrite)", file=sys.stderr)
        return 130
    except (TypeError, ValueError, OSError, ImportError, RuntimeError) as e:
        msg = str(e) if not isinstance(e, OSError) or not e.strerror else e.strerror
        print(f"sow: error: {msg}", file=sys.stderr)
        return 2


def _checkpoint(args: argparse.Namespace) -> int:
    from . import write

    rep = write(args.source, args.output, seed=args.seed, recipe=args.recipe, dtype=args.dtype,
                max_shard_size=_size_arg(args.max_shard_size), rank=args.rank,
                world_size=args.world_size, threads=args.threads, progress=not args.quiet,
                overwrite=args.overwrite, timeout=args.timeout)
    if not args.quiet:
        print(rep)
    return 0


def _size_arg(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _verify(args: argparse.Namespace) -> int:
    from . import verify

    rep = verify(args.dir, seed=args.seed, recipe=args.recipe, sample=args.sample,
                 threads=args.threads)
    print(rep)
    return 0 if rep.ok else 1
