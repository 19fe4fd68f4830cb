"""``sow diagnose``: the per-layer table and verdict of :func:`sow.diagnose` for one or more
initializers, optionally at a swept depth and with a figure (the ``sow`` command: sow/cli.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["run"]

_EPILOG = """examples:
  sow diagnose --widths 1 100 100 100 1 --activation tanh --init uniform --param a=-5 --param b=5
  sow diagnose --widths 1 100 100 100 1 --activation tanh --init uniform --param a=-5 \\
      --param b=5 --compare uniform:a=-1,b=1 xavier_uniform --plot tanh.png
  sow diagnose --widths 100 100 100 --activation relu --init normal --param std=1 \\
      --compare kaiming_normal xavier_uniform --depth-sweep 50 --plot relu.png

Verdicts (sow.diagnose): exploding (overflow, or activation / weight-gradient std changing by
more than 100x from the first layer to the last), saturated (a tanh/sigmoid layer with more than
75% of its activations in the tails), vanishing (below 1/100x), else healthy."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sow diagnose", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Signal propagation at initialization: run a batch forward and backward "
                    "through dense layers filled by sow and print per-layer statistics and a "
                    "verdict.", epilog=_EPILOG)
    p.add_argument("--widths", type=int, nargs="+", required=True, metavar="N",
                   help="layer widths: input, hidden..., output (at least 2)")
    p.add_argument("--activation", nargs="+", default=["relu"], metavar="NAME",
                   help="one activation for the hidden layers, or one per layer (default relu)")
    p.add_argument("--output-activation", default="linear",
                   help="the last layer's activation with one --activation (default linear)")
    p.add_argument("--init", default=None,
                   help="initializer of every layer (default: sow.recommend per activation)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="an --init argument, e.g. --param a=-5 --param b=5")
    p.add_argument("--compare", nargs="+", default=[], metavar="INIT",
                   help="more initializers, each NAME or NAME:k=v,k=v (e.g. uniform:a=-1,b=1)")
    p.add_argument("--bias", default="zeros", metavar="INIT", help="bias spec (default zeros), "
                   "NAME or NAME:k=v,...")
    p.add_argument("--input", default="normal", metavar="INIT",
                   help="input distribution (default normal), NAME or NAME:k=v,...")
    p.add_argument("--batch-size", type=int, default=256, help="input rows (default 256)")
    p.add_argument("--slope", type=float, default=None,
                   help="negative slope of leaky_relu (0.01) / prelu (0.25)")
    p.add_argument("--depth-sweep", type=int, default=None, metavar="D",
                   help="use D hidden layers of width widths[1] (input and output widths kept)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, input and cotangent")
    p.add_argument("--plot", default=None, metavar="OUT.png",
                   help="write activation histograms and std-vs-depth curves (needs matplotlib)")
    return p


def _spec(text: str, where: str) -> Any:
    """``NAME`` or ``NAME:k=v,k=v`` as a sow.Spec."""
    from .. import Spec
    from ..cli import _parse_params

    name, _, rest = text.partition(":")
    if not name:
        raise ValueError(f"{where}: empty initializer name in {text!r}")
    try:
        params = _parse_params([item for item in rest.split(",") if item]) if rest else {}
    except ValueError as e:
        raise ValueError(f"{where} {text!r}: {str(e).replace('--param ', '')}") from None
    return Spec(name, **params)


def _label(spec: Any) -> str:
    if spec is None:
        return "recommended"
    args = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in spec.params.items())
    return f"{spec.name}({args})" if args else spec.name


def run(argv: Sequence[str]) -> int:
    """Run ``sow diagnose``; 0 on success, 2 on any error (one line on stderr)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        return _run(args)
    except (TypeError, ValueError, ImportError, OSError) as e:
        print(f"sow diagnose: error: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from .. import Spec
    from ..cli import _parse_params
    from ._network import diagnose

    widths = list(args.widths)
    if args.depth_sweep is not None:
        if args.depth_sweep < 1:
            raise ValueError(f"--depth-sweep must be at least 1, got {args.depth_sweep}")
        if len(widths) < 3:
            raise ValueError("--depth-sweep needs a hidden width: --widths IN HIDDEN ... OUT")
        widths = [widths[0]] + [widths[1]] * args.depth_sweep + [widths[-1]]
    activation: Any = args.activation[0] if len(args.activation) == 1 else args.activation
    if args.param and args.init is None:
        raise ValueError("--param needs --init")
    main = None if args.init is None else Spec(args.init, **_parse_params(args.param))
    specs = [main] + [_spec(t, "--compare") for t in args.compare]
    bias, inp = _spec(args.bias, "--bias"), _spec(args.input, "--input")
    if args.plot is not None:
        from ._plot import _pyplot

        _pyplot()  # a missing matplotlib is reported before any work
    results = {}
    for spec in specs:
        label = _label(spec)
        if label in results:
            raise ValueError(f"--compare: {label} is given twice")
        results[label] = diagnose(widths, activation, spec, bias=bias, input=inp,
                                  batch_size=args.batch_size,
                                  output_activation=args.output_activation,
                                  param=args.slope, seed=args.seed)
    for label, d in results.items():
        print(f"== init: {label}")
        print(d)
        print()
    if len(results) > 1:
        print("summary: " + "; ".join(f"{label}: {d.verdict}" for label, d in results.items()))
    if args.plot is not None:
        from ._plot import plot

        act = activation if isinstance(activation, str) else "/".join(activation)
        plot(results, args.plot, title=f"{act}, widths {widths[0]}-{widths[1]}x"
                                       f"{len(widths) - 2}-{widths[-1]}")
        print(f"plot: {args.plot}")
    return 0
