"""``scaling-book``: fit your own runs, plan a compute budget; the top floor.

May import every wing; nothing imports it but ``scaling_utils.__main__``.

scaling-book fit RUNS.csv [--approach all|1|2|3] [--resamples 4000] [--seed 0] ...
scaling-book plan --compute C [--law NAME|FILE.json] [--unique-tokens U] [--inference-tokens D]

Bad input stops with one line naming the file, row or column, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from scaling_utils._validation import COMPUTE_COUNTS
from scaling_utils.cli.plan import DATA_CONSTRAINED, LAWS, make_plan, print_plan
from scaling_utils.cli.runs import InputError, read_runs

__all__ = ["LAWS", "InputError", "build_parser", "main", "read_runs"]


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be finite and > 0, got a negative number {text!r}")
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be finite and > 0, got {text!r}")
    return v


def _nonneg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"must be finite and >= 0, got {text!r}")
    return v


def _count(low: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {v}")
        return v

    return parse


def _level(text: str) -> float:
    v = _positive(text)
    if not v < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (its help texts are shown in the book)."""
    parser = argparse.ArgumentParser(
        prog="scaling-book",
        description="Fit compute-optimal scaling laws to your own runs, or plan a compute budget "
        "with a published law. The fits are the three approaches of Hoffmann et al. (2022), "
        "with bootstrap intervals, as in the book 'Scaling Laws, Reproduced'.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{fit,plan}")
    f = sub.add_parser(
        "fit",
        help="fit approaches 1-3 to a CSV or JSON of runs",
        description="Fit N_opt ∝ C^a (approaches 1 and 2) and L = E + A/N^alpha + B/D^beta (approach 3) "
        "to runs. Columns: (N, D, loss), (N, C, loss) or learning curves (run, N, tokens, loss); C = 6ND "
        "fills the missing one. Approach 1 uses learning curves, or each size's final losses across "
        "budgets; approach 2 groups runs by compute (within 0.5%, to 3 significant figures); approach 3 uses "
        "each run's final point. Values must be plausible (parameters 1-1e16, tokens 1-1e18, loss up to "
        "100), and C/6ND within --compute-count's range.",
    )
    f.add_argument("runs", type=Path, help="CSV (or JSON records) of runs")
    f.add_argument("--approach", choices=("all", "1", "2", "3"), default="all")
    f.add_argument(
        "--resamples", type=_count(MIN_RESAMPLES), default=4000, help="bootstrap resamples (default 4000, at least 10)"
    )
    f.add_argument("--seed", type=_count(0), default=0, help="bootstrap seed (default 0)")
    f.add_argument("--level", type=_level, default=0.8, help="interval level (default 0.8, Hoffmann's 10th-90th)")
    f.add_argument("--window", type=_count(3), default=5, help="approach 2: sizes around each minimum (default 5)")
    f.add_argument("--at-compute", type=_positive, help="FLOPs for the optimum (default: the largest in the file)")
    f.add_argument("--params-column", help="column of parameters (default: N, params, Model Size, ...)")
    f.add_argument("--tokens-column", help="column of training tokens (default: D, tokens)")
    f.add_argument("--compute-column", help="column of compute in FLOPs (default: C, flops, compute_budget, ...)")
    f.add_argument("--loss-column", help="column of losses (default: loss, final_loss)")
    f.add_argument(
        "--compute-count",
        choices=tuple(COMPUTE_COUNTS),
        default="full",
        help="how the file's compute counts, where it has both C and D: 6nd (C = 6ND within 5%%), full "
        "(head, attention, embeddings: 0.95 <= C/6ND <= 4; default) or any (unchecked)",
    )
    f.add_argument("--plot", type=Path, help="write the three-approach figure (PNG/SVG/PDF)")
    f.add_argument("--json", type=Path, help="write every number and the versions used as JSON")
    p = sub.add_parser(
        "plan",
        help="the compute-optimal model for a budget, from a published law",
        description="The compute-optimal N and D for a compute budget under a Chinchilla law "
        "L = E + A/N^alpha + B/D^beta with C = 6ND (Hoffmann et al. 2022, Appendix D.2).",
    )
    p.add_argument("--compute", type=_positive, required=True, help="training compute in FLOPs")
    p.add_argument(
        "--law",
        default="hoffmann2022-unrounded",
        help=f"one of {', '.join(LAWS)} (default hoffmann2022-unrounded); "
        f"{', '.join(DATA_CONSTRAINED)} (data-constrained, with --unique-tokens); "
        "or a FILE.json with E, A, B, alpha, beta",
    )
    p.add_argument(
        "--unique-tokens",
        type=_positive,
        help="unique tokens available: the epochs the plan needs (with muennighoff2023, the optimum under that cap)",
    )
    p.add_argument("--inference-tokens", type=_nonneg, help="tokens the model will serve (inference-aware plan)")
    p.add_argument("--loss", type=_positive, help="a target loss: prints the compute the law needs for it")
    p.add_argument("--json", type=Path, help="write the plan as JSON")
    return parser


MIN_RESAMPLES = 10
"""Fewer resamples cannot give a percentile interval (the CLI refuses them)."""

_VALUED = ("--compute", "--unique-tokens", "--inference-tokens", "--loss", "--at-compute", "--level")
_PLOT_FORMATS = (".png", ".svg", ".pdf")


def _join_negatives(argv: list[str]) -> list[str]:
    """``--compute -1e23`` as ``--compute=-1e23``, so that the value is checked, not taken for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _VALUED and i + 1 < len(argv) and argv[i + 1].startswith("-") and len(argv[i + 1]) > 1:
            try:
                float(argv[i + 1])
            except ValueError:
                pass
            else:
                out.append(f"{a}={argv[i + 1]}")
                i += 2
                continue
        out.append(a)
        i += 1
    return out


def _check_output(path: Path | None, flag: str, formats: tuple[str, ...] | None = None) -> None:
    """An output path that can be written: its folder exists, it is not a folder, its format is known."""
    if path is None:
        return
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a directory; give a file name")
    if not path.parent.is_dir():
        raise InputError(f"{flag} {path}: the folder {path.parent} does not exist")
    if formats is not None and path.suffix.lower() not in formats:
        raise InputError(f"{flag} {path}: unknown format {path.suffix or '(none)'!r}; use one of {', '.join(formats)}")
    if not os.access(path.parent, os.W_OK):
        raise InputError(f"{flag} {path}: the folder {path.parent} is not writable")


def _run(args: argparse.Namespace, out) -> int:
    """Check the outputs, compute, write the files, then print."""
    _check_output(args.json, "--json")
    if args.command == "fit":
        from scaling_utils.cli.fit import fit_runs, plot_fit, print_fit  # pandas: imported for a fit only

        _check_output(args.plot, "--plot", _PLOT_FORMATS)
        result = fit_runs(args)
        if not result["approaches"]:
            reasons = " ".join(result["skipped"].values())
            raise InputError(f"{args.runs}: no approach can run on these runs. {reasons}")
        public = {k: v for k, v in result.items() if not k.startswith("_")}
    else:
        public = make_plan(args)
    if args.json:
        from scaling_utils.cli.fit import versions

        public["versions"] = versions()
        args.json.write_text(json.dumps(public, indent=2, sort_keys=True) + "\n")
    if args.command == "fit":
        print_fit(result, out)
        if args.plot:
            plot_fit(result, args.plot)
    else:
        print_plan(public, out)
    out.flush()
    return 0


def main(argv: list[str] | None = None, out=None) -> int:
    """Run the command line; return the exit status (2 for bad input).

    Bad input, and a fit the library refuses, end with one line on stderr; a closed
    output pipe (``scaling-book fit ... | head``) ends quietly.
    """
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(_join_negatives(list(sys.argv[1:] if argv is None else argv)))
    try:
        return _run(args, out)
    except (ValueError, TypeError, np.linalg.LinAlgError, OSError) as err:
        if isinstance(err, BrokenPipeError):
            return _quiet_pipe(out)
        where = "" if isinstance(err, InputError) else f"{getattr(args, 'runs', None) or 'plan'}: "
        print(f"scaling-book: error: {where}{err}", file=sys.stderr)
        return 2


def _quiet_pipe(out) -> int:
    """The reader closed the pipe: stop writing, without a traceback at interpreter exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    except (OSError, AttributeError, ValueError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
