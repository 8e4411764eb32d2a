"""``scaling-book fit``: the three approaches of Hoffmann et al. (2022) on a table of runs."""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_utils._validation import group_budgets
from scaling_utils.cli.runs import InputError, read_runs

__all__ = ["fit_runs", "plot_fit", "print_fit", "versions"]


def _finals(runs: pd.DataFrame) -> pd.DataFrame:
    """One point per run: the last row of each learning curve (or every row)."""
    if "run" not in runs:
        return runs
    return runs.loc[runs.groupby("run")["D"].idxmax()].reset_index(drop=True)


def _budgets(c: pd.Series) -> pd.Series:
    """Compute values grouped within 0.5%, labelled by the smallest to 3 significant figures.

    IsoFLOP budgets are nominal: ``C`` recomputed as ``6ND`` varies in the last digits.
    """
    grouped = pd.Series(group_budgets(c.to_numpy(dtype=float), rtol=5e-3), index=c.index)
    return grouped.map(lambda v: float(f"{v:.3g}"))


def _approach2(finals: pd.DataFrame, window: int | None, n_resamples: int, seed: int, level: float):
    from scaling_utils import fitting  # imported when a fit runs: --help and plan stay fast

    c = _budgets(finals["C"])
    sizes = finals.assign(B=c).groupby("B")["N"].nunique()
    usable = sizes[sizes >= 3].index
    if len(usable) < 3:
        return None, (
            f"approach 2 needs >= 3 compute budgets with >= 3 sizes each; this file has {len(usable)} "
            f"(budgets are compute values within 0.5%, to 3 significant figures: {len(sizes)} distinct)"
        )
    sel = c.isin(usable)
    minima = fitting.isoflop_minima(finals["N"][sel], c[sel], finals["loss"][sel], window=window)
    edge = minima[minima["at_edge"]]
    if len(minima) - len(edge) < 3:
        where = []
        for _, m in edge.iterrows():
            g = finals[sel & (c == m["C"])]
            low = g.loc[g["loss"].idxmin(), "N"]
            side = "smallest" if low == g["N"].min() else "largest" if low == g["N"].max() else "an interior"
            where.append(f"{m['C']:.3g} (lowest loss at the {side} size)")
        return None, (
            f"approach 2 needs >= 3 budgets with an interior minimum; {len(minima) - len(edge)} have one, "
            f"and the parabola's vertex lies outside the sizes at budgets {', '.join(where)}"
        )
    try:
        fit = fitting.fit_isoflop(finals["N"][sel], c[sel], finals["loss"][sel], window=window)
        boot = fitting.bootstrap_isoflop(
            finals["N"][sel], c[sel], finals["loss"][sel], window=window, n_resamples=n_resamples, seed=seed
        )
    except ValueError as err:
        return None, f"approach 2 cannot run: {err}"
    return (fit, boot), None


def _approach1(runs: pd.DataFrame, n_resamples: int, seed: int):
    from scaling_utils import fitting  # imported when a fit runs: --help and plan stay fast

    curve = runs["run"] if "run" in runs else runs["N"].astype(str)
    counts = curve.value_counts()
    keep = curve.isin(counts[counts >= 2].index)
    if curve[keep].nunique() < 3:
        return None, (
            "approach 1 needs >= 3 training curves of >= 2 points: learning curves (a run column), or "
            f"sizes trained at several budgets; this file has {curve[keep].nunique()}"
        )
    r, c = runs[keep], curve[keep]
    try:
        fit = fitting.fit_envelope(r["N"], r["C"], r["loss"], run=c)
        boot = fitting.bootstrap_envelope(r["N"], r["C"], r["loss"], run=c, n_resamples=n_resamples, seed=seed)
    except ValueError as err:
        return None, f"approach 1 cannot run: {err}"
    return (fit, boot), None


def _approach3(finals: pd.DataFrame, n_resamples: int, seed: int):
    from scaling_utils import fitting  # imported when a fit runs: --help and plan stay fast

    if len(finals) < 10:
        return None, f"approach 3 fits 5 constants and needs >= 10 runs; this file has {len(finals)}"
    try:
        fit = fitting.fit_chinchilla(finals["N"], finals["D"], finals["loss"])
        boot = fitting.bootstrap_chinchilla(
            finals["N"], finals["D"], finals["loss"], n_resamples=n_resamples, seed=seed, fit=fit
        )
    except ValueError as err:
        return None, f"approach 3 cannot run: {err}"
    return (fit, boot), None


def fit_runs(args: argparse.Namespace) -> dict:
    """Read the runs file named in ``args`` and fit what it asks; a JSON-ready summary."""
    columns = {"N": args.params_column, "D": args.tokens_column, "C": args.compute_column, "loss": args.loss_column}
    runs = read_runs(args.runs, columns, getattr(args, "compute_count", "full"))
    finals = _finals(runs)
    at = args.at_compute if args.at_compute is not None else float(finals["C"].max())
    wanted = ["1", "2", "3"] if args.approach == "all" else [args.approach]
    result: dict = {
        "file": str(args.runs),
        "runs": len(finals),
        "rows": len(runs),
        "at_compute": at,
        "level": args.level,
        "resamples": args.resamples,
        "seed": args.seed,
        "approaches": {},
        "skipped": {},
    }
    for name in wanted:
        if name == "1":
            out, why = _approach1(runs, args.resamples, args.seed)
        elif name == "2":
            out, why = _approach2(finals, args.window, args.resamples, args.seed, args.level)
        else:
            out, why = _approach3(finals, args.resamples, args.seed)
        if out is None:
            result["skipped"][name] = why
            continue
        fit, boot = out
        if len(boot.samples) == 0:
            result["skipped"][name] = (
                f"none of the {boot.n_resamples} bootstrap resamples could be fitted, so there is no interval"
            )
            continue
        rec: dict = {"resamples_used": len(boot.samples), "notes": []}
        names = ["a", "b"] if name != "3" else ["a", "b", "E", "A", "B", "alpha", "beta"]
        for q in names:
            lo, hi = boot.interval(q, args.level)
            rec[q] = {"estimate": float(boot.point[q]), "low": lo, "high": hi}
            note = boot.interval_note(q, args.level)
            if note and q in ("a", "E"):
                rec["notes"].append(note)
        uncovered = fit.minima.attrs.get("uncovered") if name == "1" else None
        if uncovered:
            spans = ", ".join(f"{lo:.3g} to {hi:.3g}" for lo, hi in uncovered)
            rec["notes"].append(f"no training curve covers compute {spans} FLOPs: the envelope skips it")
        if name == "3":
            law = fit.law
            rec["converged"] = bool(fit.converged)
            if not fit.converged:
                rec["notes"].append(fit.message)
            n_opt, d_opt = law.compute_optimal(at)
        else:
            rec["converged"] = True
            n_opt = float(fit.power_law.predict(at))
            d_opt = at / (6.0 * n_opt)
        if not (np.isfinite(n_opt) and np.isfinite(d_opt) and n_opt > 0 and d_opt > 0):
            raise InputError(
                f"{args.runs}: approach {name}'s law gives a non-finite optimum at --at-compute {at:.3g} "
                f"(N = {n_opt:.3g}, D = {d_opt:.3g}); the fit is degenerate"
            )
        rec["optimum"] = {"N": float(n_opt), "D": float(d_opt), "tokens_per_parameter": float(d_opt / n_opt)}
        result["approaches"][name] = rec
        result.setdefault("_fits", {})[name] = fit
    result["_runs"], result["_finals"] = runs, finals
    return result


def print_fit(result: dict, out) -> None:
    """Write the summary of :func:`fit_runs` as text to ``out``."""
    lv = f"{100 * result['level']:.0f}%"
    print(f"{result['file']}: {result['runs']} runs ({result['rows']} rows)", file=out)
    for name, why in result["skipped"].items():
        print(f"  approach {name}: skipped. {why}", file=out)
    if not result["approaches"]:
        return
    print(f"\n{'approach':<9} {'quantity':<8} {'estimate':>11}   {lv} interval", file=out)
    for name, rec in result["approaches"].items():
        for q in ("a", "b", "E", "A", "B", "alpha", "beta"):
            if q in rec:
                r = rec[q]
                print(f"{name:<9} {q:<8} {r['estimate']:>11.4g}   {r['low']:.4g} to {r['high']:.4g}", file=out)
        if not rec["converged"]:
            print(f"{name:<9} NOT CONVERGED: do not use these numbers", file=out)
    print(f"\nResamples used (of {result['resamples']}):", file=out)
    for name, rec in result["approaches"].items():
        print(f"  approach {name}: {rec['resamples_used']}", file=out)
        for note in rec["notes"]:
            print(f"  approach {name}: note: {note}", file=out)
    print(f"\nCompute-optimal allocation at C = {result['at_compute']:.3g} FLOPs:", file=out)
    print(f"{'approach':<9} {'N_opt':>11} {'D_opt':>11} {'D/N':>8}", file=out)
    for name, rec in result["approaches"].items():
        o = rec["optimum"]
        print(f"{name:<9} {o['N']:>11.4g} {o['D']:>11.4g} {o['tokens_per_parameter']:>8.3g}", file=out)


def versions() -> dict:
    """Versions of Python and the numerical libraries, recorded with each fit."""
    import scipy

    from scaling_utils import __version__

    return {
        "scaling_utils": __version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
    }


def plot_fit(result: dict, path: Path) -> None:
    """Save a figure of the runs and the fitted law to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from scaling_utils.report.figures.chinchilla import chinchilla_approaches

    fits = result.get("_fits", {})
    if set(fits) != {"1", "2", "3"}:
        missing = "; ".join(f"approach {k}: {v}" for k, v in result["skipped"].items())
        raise InputError(f"--plot draws the book's three-approach figure, which needs all three ({missing})")
    runs, finals = result["_runs"], result["_finals"]
    curve = runs["run"] if "run" in runs else runs["N"].astype(str)
    curves = pd.DataFrame({"run": curve, "N": runs["N"], "flops": runs["C"], "loss": runs["loss"]})
    iso = pd.DataFrame({"C": _budgets(finals["C"]), "N": finals["N"], "D": finals["D"], "loss": finals["loss"]})
    fig = chinchilla_approaches(curves, iso, fits["1"], fits["2"], fits["3"], label=Path(result["file"]).name)
    fig.savefig(path)
