"""Figures of the chapter "Chinchilla" and its lab notes (F5 and the approaches): drawing only.

Each function takes the laws or results it draws and returns a :class:`matplotlib.figure.Figure`
created through pyplot, so that a notebook cell ``fig = figures.chinchilla.<name>(...)`` shows
it exactly once. Nothing here computes a result the book reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from scaling_utils._validation import positive_scalar
from scaling_utils.fitting import ApproachFit, ChinchillaFit, runs_for_width
from scaling_utils.laws import ChinchillaLaw
from scaling_utils.report.figures.style import MAX_WIDTH_IN, book_style, palette, plain_log_y, three_panels

__all__ = [
    "chinchilla_approaches",
    "chinchilla_contours",
    "interval_width",
    "objective_profile",
    "own_approaches",
    "synthetic_approaches",
]


def chinchilla_contours(
    laws: Sequence[ChinchillaLaw],
    *,
    budgets: Sequence[float] = (6e18, 1e20, 1e21, 1e22, 5.76e23),
    highlight_flops: float = 5.76e23,
    flops_range: tuple[float, float] = (1e18, 1e26),
    n_range: tuple[float, float] = (1e7, 1e13),
) -> Figure:
    """F5: iso-loss contours, efficient frontier and isoFLOP slices, one row per law.

    Left: contours of ``L(N, D = C / 6N)`` over training FLOPs and parameters, the
    efficient frontier ``N_opt(C)`` (the fewest-FLOPs point of each contour), the isoFLOP
    slices (dashed) and the optimum at ``highlight_flops`` (Gopher's budget by default).
    Right: loss against N along each slice, each slice's minimum marked.
    """
    if len(laws) == 0:
        raise ValueError("laws must hold at least one ChinchillaLaw")
    highlight = positive_scalar(highlight_flops, "highlight_flops")
    c_grid = np.logspace(*np.log10(flops_range), 300)
    n_grid = np.logspace(*np.log10(n_range), 300)
    cc, nn = np.meshgrid(c_grid, n_grid)
    colors = palette(len(budgets))
    with book_style():
        fig, axes = plt.subplots(
            len(laws), 2, figsize=(MAX_WIDTH_IN, 3.9 * len(laws) + 0.6), layout="constrained", squeeze=False
        )
        for row, law in zip(axes, laws, strict=True):
            ax = row[0]
            loss = np.asarray(law.loss(nn, cc / (6.0 * nn)))
            levels = np.round(np.geomspace(law.E + 0.05, min(float(loss.max()), law.E + 4.0), 14), 3)
            cs = ax.contourf(cc, nn, loss, levels=levels, cmap="viridis_r", extend="max")
            fig.colorbar(cs, ax=ax, label="Loss (nats/token)", format="%.2f")
            n_opt, _ = law.compute_optimal(c_grid)
            ax.plot(c_grid, n_opt, color="tab:red", label="Efficient frontier")
            for b, col in zip(budgets, colors, strict=True):
                ax.axvline(b, color=col, ls="--", lw=1.2)
            nh, _ = law.compute_optimal(highlight)
            ax.plot(
                [highlight],
                [nh],
                "*",
                ms=14,
                color="white",
                mec="black",
                zorder=5,
                label=f"{nh / 1e9:.0f}B at {highlight:.3g} FLOPs",
            )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlim(flops_range)
            ax.set_ylim(n_range)
            ax.set_xlabel("Training FLOPs")
            ax.set_ylabel("Parameters $N$")
            ax.set_title(law.name)
            ax.legend(loc="lower right", frameon=True, framealpha=0.85, handlelength=1.2)
            ax.grid(False)
            ax = row[1]
            for b, col in zip(budgets, colors, strict=True):
                ns = np.logspace(np.log10(n_range[0]), np.log10(n_range[1]), 300)
                ns = ns[b / (6.0 * ns) >= 1.0]
                ax.plot(ns, law.loss(ns, b / (6.0 * ns)), color=col, label=f"{b:.3g} FLOPs")
                nb, db = law.compute_optimal(b)
                ax.plot([nb], [law.loss(nb, db)], "o", color=col, mec="black")
            ax.set_xscale("log")
            plain_log_y(ax)
            ax.set_ylim(law.E * 0.98, law.E + 2.5)
            ax.set_xlabel("Parameters $N$")
            ax.set_ylabel("Loss (nats/token)")
            ax.set_title("IsoFLOP slices (dot: minimum)")
        fig.legend(*axes[-1][1].get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
    return fig


def chinchilla_approaches(
    curves: pd.DataFrame,
    runs: pd.DataFrame,
    approach1: ApproachFit,
    approach2: ApproachFit,
    approach3: ChinchillaFit,
    truth: ChinchillaLaw | None = None,
    *,
    label: str = "synthetic",
) -> Figure:
    """The three approaches of Hoffmann et al. (2022) on one set of runs.

    (a) Approach 1: training curves (loss against FLOPs) and their lower envelope.
    (b) Approach 2: IsoFLOP runs, the parabola fitted per budget and its vertex.
    (c) ``N_opt`` against compute from each approach, beside the truth where known.

    ``curves`` has columns ``run, N, flops, loss``; ``runs`` has ``C, N, loss``.
    """
    with book_style():
        fig, axes, spare = three_panels()
        ax = axes[0]
        sizes = sorted(curves["N"].unique())
        cols = sns.color_palette("viridis", len(sizes))
        for size, col in zip(sizes, cols, strict=True):
            c = curves[curves["N"] == size]
            ax.plot(c["flops"], c["loss"], color=col, lw=1.2)
        env = approach1.minima
        ax.plot(env["C"], env["loss_opt"], ".", color="black", ms=3, label="envelope")
        ax.set_xscale("log")
        plain_log_y(ax)
        ax.set_xlabel("Training FLOPs")
        ax.set_ylabel("Loss")
        ax.set_title(f"(a) Approach 1\n{len(sizes)} training curves ({label})")  # one line overlaps (b)
        ax.legend(frameon=False)
        ax = axes[1]
        minima = approach2.minima
        cols = palette(len(minima))
        for (_, m), col in zip(minima.iterrows(), cols, strict=True):
            r = runs[runs["C"] == m["C"]]
            ax.plot(r["N"], r["loss"], "o", color=col, ms=3.5)
            x = np.linspace(np.log(m["N_lo"]), np.log(m["N_hi"]), 100)
            ax.plot(np.exp(x), m["p0"] + m["p1"] * x + m["p2"] * x * x, color=col, lw=1.2, label=f"{m['C']:.2g}")
            if not m["at_edge"]:
                ax.plot([m["N_opt"]], [m["loss_opt"]], "D", color=col, mec="black", ms=5)
        ax.set_xscale("log")
        plain_log_y(ax)
        ax.set_xlabel("Parameters $N$")
        ax.set_title(f"(b) Approach 2\nIsoFLOP profiles ({label})")
        spare.legend(*ax.get_legend_handles_labels(), title="FLOPs", loc="center", ncols=2, frameon=False)
        ax = axes[2]
        c_line = np.geomspace(min(runs["C"].min(), env["C"].min()), max(runs["C"].max(), env["C"].max()), 50)
        ax.plot(env["C"], env["N_opt"], ".", color=palette(3)[0], ms=3)
        ax.plot(c_line, approach1.power_law.predict(c_line), color=palette(3)[0], label=f"1: a = {approach1.a:.3f}")
        inner = minima[~minima["at_edge"]]
        ax.plot(inner["C"], inner["N_opt"], "D", color=palette(3)[1], ms=5)
        ax.plot(c_line, approach2.power_law.predict(c_line), color=palette(3)[1], label=f"2: a = {approach2.a:.3f}")
        ax.plot(
            c_line,
            approach3.law.compute_optimal(c_line)[0],
            color=palette(3)[2],
            label=f"3: a = {approach3.law.exponents[0]:.3f}",
        )
        if truth is not None:
            ax.plot(
                c_line, truth.compute_optimal(c_line)[0], "k--", lw=1.2, label=f"truth: a = {truth.exponents[0]:.3f}"
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("Training FLOPs")
        ax.set_ylabel("$N_{opt}$")
        ax.set_title("(c) Compute-optimal size")
        ax.legend(frameon=False)
    return fig


def interval_width(study: pd.DataFrame, target_width: float, *, target_label: str = "T1, approach 3") -> Figure:
    """Bootstrap interval width of ``a`` against the number of runs, extrapolated to a target.

    ``study`` comes from :func:`scaling_utils.fitting.interval_width_study`. Two
    extrapolations: the rate fitted to the points, and the ``n**-1/2`` rate of
    independent noise.
    """
    n_free, fit_free = runs_for_width(study, target_width)
    n_half, fit_half = runs_for_width(study, target_width, exponent=-0.5)
    with book_style():
        fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
        ax.plot(study["n_runs"], study["width"], "o", color=palette(1)[0], label="bootstrap on synthetic runs")
        for n_needed, fit, style, name in ((n_free, fit_free, "--", "fitted"), (n_half, fit_half, ":", "theory")):
            n_line = np.geomspace(study["n_runs"].min(), n_needed * 1.5, 100)
            ax.plot(
                n_line,
                fit.predict(n_line),
                style,
                color="0.35",
                label=rf"{name}: width $\propto n^{{{fit.exponent:.2f}}}$, {n_needed:,.0f} runs",
            )
        ax.axhline(target_width, color="tab:red", lw=1, label=f"{target_label}: width {target_width:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("Number of runs")
        ax.set_ylabel(f"Width of the {100 * study['level'].iloc[0]:.0f}% interval for $a$")
        ax.legend(frameon=False)
    return fig


def objective_profile(profile: pd.DataFrame, *, free_E: float, min_loss: float) -> Figure:
    """Approach 3's objective with E held fixed (:func:`scaling_utils.analysis.isoflop.profile_E`).

    Left: the objective against E, with the free fit's E and the lowest observed loss
    marked. Right: the exponent a = beta / (alpha + beta) of each constrained fit.
    """
    with book_style():
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
        ax = axes[0]
        ax.plot(profile["E"], profile["objective"], "o-", color="C0")
        ax.axvline(free_E, color="k", ls="--", lw=1, label=f"free fit, E = {free_E:.2f}")
        ax.axvline(min_loss, color="C3", ls=":", lw=1.2, label=f"lowest observed loss {min_loss:.2f}")
        ax.set_xlabel("E held fixed (nats/byte)")
        ax.set_ylabel("Huber objective\nat the optimum")
        ax = axes[1]
        ax.plot(profile["E"], profile["a"], "o-", color="C1")
        ax.axvline(free_E, color="k", ls="--", lw=1)
        ax.axvline(min_loss, color="C3", ls=":", lw=1.2)
        # Below the panels: inside, the legend would sit on the vertical lines.
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
        ax.set_xlabel("E held fixed (nats/byte)")
        ax.set_ylabel(r"$a = \beta/(\alpha+\beta)$")
    return fig


def synthetic_approaches(syn) -> Figure:
    """:func:`chinchilla_approaches` of a :class:`~scaling_utils.analysis.isoflop.SyntheticApproaches`, truth dashed."""
    f = syn.fits
    return chinchilla_approaches(syn.curves, syn.runs, f.fit1, f.fit2, f.fit3, syn.truth)


def own_approaches(result, *, label: str = "our runs") -> Figure:
    """:func:`chinchilla_approaches` of an analysis of the book's runs (``approach_inputs()``, ``a1, a2, a3``).

    ``result`` is a :class:`~scaling_utils.analysis.isoflop.ThreeApproaches` or a
    :class:`~scaling_utils.analysis.recount.FirstSweep`.
    """
    curves, runs = result.approach_inputs()
    return chinchilla_approaches(curves, runs, result.a1, result.a2, result.a3, None, label=label)
