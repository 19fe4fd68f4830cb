"""The ``sow`` console command.

::

    sow checkpoint llama3-8b -o ckpt --seed 0           # a whole model to safetensors, streamed
    sow checkpoint config.json -o ckpt --seed 0 --max-shard-size 2GB --threads 8
    torchrun --nproc-per-node 8 -m sow.cli checkpoint llama3-8b -o ckpt --seed 0   # 8 writers
    sow verify ckpt --seed 0                            # header + a sample of every tensor
    sow presets                                         # the built-in architectures
    sow tensor kaiming_uniform --shape 4096 4096 --seed 0 --key layers.0.w -o w.npy
    sow kaiming_uniform --shape 4096 4096 --seed 0 --key layers.0.w --param a=2.2360679 -o w.npy
    sow --list
    sow diagnose --widths 1 100 100 100 1 --activation tanh --init uniform --param a=-5 ...

``sow tensor INIT`` (or ``sow INIT``) generates one tensor and saves it as .npy, printing the
shape, dtype, mean, std and timings. Errors are one line on stderr, exit status 2 (``verify``:
exit status 1 when the checkpoint differs).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["main"]

_INT = re.compile(r"[+-]?[0-9]+")
_DIGITS = re.compile(r"[0-9]+")


def _parse_value(text: str) -> Any:
    """``--param`` values: ints, then floats, else the string (modes, nonlinearities, ...)."""
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        pass
    if text in ("None", "none"):
        return None
    return text


def _parse_params(items: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"--param expects name=value, got {item!r}")
        if name in params:
            raise ValueError(f"--param {name} given twice")
        params[name] = _parse_value(value)
    return params


def _stats(a: np.ndarray, chunk: int = 1 << 22) -> tuple[float, float]:
    """Mean and (population) std in float64, in chunks so memory stays bounded."""
    flat = a.reshape(-1)
    n = flat.size
    if n == 0:
        return float("nan"), float("nan")
    total = 0.0
    for i in range(0, n, chunk):
        total += float(flat[i:i + chunk].astype(np.float64).sum())
    mean = total / n
    sq = 0.0
    for i in range(0, n, chunk):
        d = flat[i:i + chunk].astype(np.float64) - mean
        sq += float(np.dot(d, d))
    return mean, (sq / n) ** 0.5


def _initializers() -> dict[str, Any]:
    from . import init

    names = init.RANDOM_INITIALIZERS + init.DETERMINISTIC_INITIALIZERS
    return {name: getattr(init, name) for name in sorted(names)}


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sow tensor",
        description="Generate a neural-network weight tensor with a sow initializer "
                    "(sow --help: the other commands).",
        epilog="Example: sow tensor xavier_uniform --shape 4096 4096 --seed 0 --key w -o w.npy "
               "(or sow xavier_uniform ...)",
    )
    p.add_argument("init", nargs="?", metavar="INIT", help="initializer name (see --list)")
    p.add_argument("--list", action="store_true", help="list the initializers and exit")
    p.add_argument("--shape", type=int, nargs="+", metavar="N", help="global shape")
    p.add_argument("--seed", type=int, help="seed, an int in [0, 2**64) (random initializers)")
    p.add_argument("--key", default=None, help="key: a name, or an int (all digits); default 0")
    p.add_argument("--dtype", default="float32",
                   help="float32 (default), float64, float16 or bfloat16")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="initializer argument, e.g. --param gain=2 --param mode=fan_out")
    p.add_argument("-o", "--output", metavar="OUT.npy", help="write the tensor to this .npy file")
    return p


def _list(out: Any) -> None:
    """One line per initializer: its name and the --param names it takes, with defaults."""
    import inspect

    from . import init

    skip = {"shape", "seed", "key", "dtype", "shard", "threads"}
    for name, fn in _initializers().items():
        params = []
        for p in inspect.signature(fn).parameters.values():
            if p.name in skip:
                continue
            if p.default is inspect.Parameter.empty:
                params.append(p.name)
            else:
                params.append(f"{p.name}={p.default!r}")
        kind = "random" if name in init.RANDOM_INITIALIZERS else "fixed"
        print(f"{name:17s} {kind:6s}  {', '.join(params)}".rstrip(), file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sow`` command; return its exit status (0; 1: ``verify`` found mismatches;
    2: any error)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    first = args_in[0] if args_in else None
    if first in _COMMANDS:
        from .checkpoint import _cli

        return _cli.run(first, args_in[1:])
    if first == "diagnose":
        from ._diagnose import _cli as _diagnose_cli

        return _diagnose_cli.run(args_in[1:])
    if first in ("-h", "--help"):
        print(_TOP_HELP)
        return 0
    if first == "tensor":
        args_in = args_in[1:]
    elif first is None:
        print("sow: error: missing a command: checkpoint SOURCE -o DIR, verify DIR, presets, "
              "diagnose --widths ..., or tensor INIT (see sow --help)", file=sys.stderr)
        return 2
    return _tensor_main(args_in)


_COMMANDS = ("checkpoint", "verify", "presets")

_TOP_HELP = """usage: sow COMMAND ...

commands:
  checkpoint SOURCE -o DIR --seed N   write a whole model's initial checkpoint (safetensors)
  verify DIR --seed N                 recompute a sample of every tensor of a checkpoint
  presets                             list the built-in architectures
  tensor INIT --shape ...             one tensor to .npy (also: sow INIT ...; sow --list)
  diagnose --widths N N ...           signal propagation at init: per-layer table and verdict

examples:
  pip install . && sow checkpoint llama-tiny -o ckpt --seed 0
  sow checkpoint llama3-8b -o llama3-8b-init --seed 0 --max-shard-size 5GB
  sow checkpoint path/to/config.json -o ckpt --seed 0 --dtype float32
  torchrun --nproc-per-node 4 -m sow.cli checkpoint llama3-8b -o ckpt --seed 0
  sow verify ckpt --seed 0
  sow xavier_uniform --shape 4096 4096 --seed 0 --key w -o w.npy
  sow diagnose --widths 1 100 100 100 1 --activation tanh --init uniform --param a=-5 --param b=5

sow COMMAND --help shows a command's options."""


def _tensor_main(argv: Sequence[str]) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed usage/errors
        return int(e.code or 0)
    try:
        return _run(args, parser)
    except (TypeError, ValueError, OSError, ImportError) as e:
        print(f"sow: error: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import init

    if args.list:
        _list(sys.stdout)
        return 0
    if args.init is None:
        raise ValueError("missing INIT (see sow --list)")
    inits = _initializers()
    if args.init not in inits:
        raise ValueError(f"unknown command or initializer {args.init!r} (commands: "
                         f"{', '.join(_COMMANDS)}, diagnose, tensor; initializers: "
                         f"{', '.join(inits)})")
    if args.shape is None:
        raise ValueError("--shape is required")
    fn = inits[args.init]
    kwargs = _parse_params(args.param)
    for reserved in ("shape", "seed", "key", "dtype", "threads", "shard"):
        if reserved in kwargs:
            raise ValueError(f"pass {reserved} with --{reserved}, not --param")
    if args.init in init.RANDOM_INITIALIZERS:
        if args.seed is None:
            raise ValueError(f"--seed is required for {args.init}")
        key: Any = 0 if args.key is None else args.key
        if isinstance(key, str) and _DIGITS.fullmatch(key):
            key = int(key)  # an all-digits key is an integer key
        kwargs.update(seed=args.seed, key=key, threads=args.threads)
    else:
        for flag in ("seed", "key", "threads"):
            if getattr(args, flag) is not None:
                raise ValueError(f"{args.init} uses no random stream; --{flag} does not apply")

    t0 = time.perf_counter()
    arr = fn(tuple(args.shape), dtype=args.dtype, **kwargs)
    t_gen = time.perf_counter() - t0
    mean, std = _stats(arr)
    print(f"shape: {arr.shape}")
    print(f"dtype: {arr.dtype}")
    print(f"mean:  {mean:.6g}")
    print(f"std:   {std:.6g}")
    rate = arr.size / t_gen / 1e6 if t_gen > 0 else float("inf")
    print(f"generate: {t_gen * 1e3:.2f} ms ({rate:.1f} M elements/s)")
    if args.output:
        t1 = time.perf_counter()
        np.save(args.output, arr)
        print(f"save:     {(time.perf_counter() - t1) * 1e3:.2f} ms -> {args.output}")
        if arr.dtype.name == "bfloat16":
            # .npy has no bfloat16 type code: the file holds the raw 2-byte values.
            print("note:     bfloat16 is stored as raw 2-byte values; load with "
                  "np.load(path).view(ml_dtypes.bfloat16)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
