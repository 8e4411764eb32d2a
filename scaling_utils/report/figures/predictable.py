"""Figures of the chapter "Predicting a run before training it" (R6): drawing only."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from scaling_utils.report.figures.style import MAX_WIDTH_IN, book_style, latex_sci, palette

__all__ = ["fitting_progress", "hp_grid", "prediction", "target_profile"]


def hp_grid(points: pd.DataFrame, optima: Sequence[dict]) -> Figure:
    """The learning-rate x batch grid: final loss against the peak rate, one line per batch, one panel per budget.

    ``points`` has columns ``budget_flops, lr, batch_tokens, seed, loss`` (one row per run);
    ``optima`` the grid's optima (``budget, lr, batch_tokens, interior``), marked with a star.
    """
    budgets = sorted(points["budget_flops"].unique())
    with book_style():
        fig, axes = plt.subplots(1, len(budgets), figsize=(MAX_WIDTH_IN, 3.6), sharey=False, layout="constrained")
        axes = np.atleast_1d(axes)
        batches = sorted(points["batch_tokens"].unique())
        colours = dict(zip(batches, palette(len(batches)), strict=True))
        for ax, b in zip(axes, budgets, strict=True):
            sub = points[points["budget_flops"] == b]
            for bt, cell in sub.groupby("batch_tokens"):
                ax.scatter(cell["lr"], cell["loss"], s=14, color=colours[bt], alpha=0.5)
                mean = cell.groupby("lr")["loss"].mean()
                ax.plot(mean.index, mean.to_numpy(), color=colours[bt], marker="o", ms=4)
            o = next(o for o in optima if np.isclose(o["budget"], b))
            ax.plot([o["lr"]], [o["loss"]], marker="*", ms=14, color="black", ls="none")
            ax.set_xscale("log")
            rates = sorted(sub["lr"].unique())
            ax.set_xticks(rates, [f"{r:.2g}" for r in rates], rotation=30)
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_title(f"$C = {latex_sci(b)}$ FLOPs")
            ax.set_xlabel("peak learning rate")
        axes[0].set_ylabel("final loss (nats per byte)")
        keys = [Line2D([], [], color=colours[bt], marker="o", ms=4, label=f"{bt:,}") for bt in batches]
        keys.append(Line2D([], [], color="black", marker="*", ms=12, ls="none", label="optimum"))
        fig.legend(handles=keys, loc="outside lower center", ncols=len(keys), title="batch (tokens)")
    return fig


def fitting_progress(points: pd.DataFrame, budgets: Sequence[float]) -> Figure:
    """The fitting sweep's branch endpoints: loss against N, one colour per budget, every seed shown.

    Filled markers sit at a budget; hollow ones are the branches between budgets (approach 3 only).
    Lines join the seed means at each budget.
    """
    with book_style():
        fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 4.0), layout="constrained")
        colours = dict(zip(budgets, palette(len(budgets)), strict=True))
        for b in budgets:
            sub = points[points["budget"] == b]
            if sub.empty:
                continue
            at, mid = sub[sub["at_budget"]], sub[~sub["at_budget"]]
            ax.scatter(at["N"], at["loss"], s=16, color=colours[b], alpha=0.6)
            ax.scatter(mid["N"], mid["loss"], s=16, facecolors="none", edgecolors=colours[b], alpha=0.6)
            mean = at.groupby("N")["loss"].mean()
            ax.plot(mean.index, mean.to_numpy(), color=colours[b], label=f"${latex_sci(b)}$")
        ax.set_xscale("log")
        ax.set_xlabel("parameters N (with the output head)")
        ax.set_ylabel("final loss (nats per byte)")
        ax.legend(title="budget (FLOPs)", loc="lower left")
    return fig


def prediction(vertices: pd.DataFrame, curves: pd.DataFrame, record: dict, observed: dict | None = None) -> Figure:
    """The pre-registered prediction, as the GPT-4 report drew its own: the fitting budgets, the laws, the target.

    (a) The lowest loss of each fitting budget (approach 2's vertices), the frontier law fitted to
    them and carried to the target budget, and the prediction there with its interval; approach
    3's prediction beside it. (b) The same for the compute-optimal size ``N_opt``.
    ``vertices`` and ``curves`` come from :func:`scaling_utils.analysis.predictable.prediction_view`;
    ``observed`` (:func:`~scaling_utils.analysis.verify.observed_target`), once the target runs
    exist, adds the observed vertex with its seed-bootstrap interval.
    """
    target, fit_hi = record["target_flops"], max(record["budgets"])
    p, iv = record["point"], record["interval"]
    c = palette(3)
    with book_style():
        fig, axes = plt.subplots(1, 2, figsize=(MAX_WIDTH_IN, 3.9), layout="constrained")
        panels = [
            ("loss_opt", "loss_frontier", "loss3", "(a) lowest loss", "lowest loss (nats per byte)"),
            ("N_opt", "n_opt2", "n_opt3", "(b) compute-optimal size", "$N_{opt}$ (parameters with the head)"),
        ]
        for ax, (col, primary, third, title, ylabel) in zip(axes, panels, strict=True):
            curve = curves["loss_frontier"] if col == "loss_opt" else curves["N_opt"]
            fitted = curves["C"] <= fit_hi * 1.0001
            ax.plot(curves["C"][fitted], curve[fitted], color=c[0], label="law fitted to the budgets")
            ax.plot(curves["C"][~fitted], curve[~fitted], "--", color=c[0], label="carried to the target")
            ax.plot(vertices["C"], vertices[col], "o", color=c[0], ms=6, label="fitting budgets")
            lo, hi = iv[primary]
            ax.errorbar([target], [p[primary]], yerr=[[p[primary] - lo], [hi - p[primary]]], fmt="s", ms=8,
                        color=c[1], capsize=4, label="prediction (80% interval)")  # fmt: skip
            if third in p:
                lo3, hi3 = iv.get(third, (p[third], p[third]))
                ax.errorbar([target * 1.25], [p[third]], yerr=[[p[third] - lo3], [hi3 - p[third]]], fmt="D", ms=6,
                            color=c[2], capsize=3, label="approach 3")  # fmt: skip
            if observed is not None:
                key = "obs_loss" if col == "loss_opt" else "obs_n"
                v, vlo, vhi = observed[key], observed[f"{key}_lo"], observed[f"{key}_hi"]
                ax.errorbar([target * 0.8], [v], yerr=[[v - vlo], [vhi - v]], fmt="*", ms=12, color="black",
                            capsize=3, label="observed at the target")  # fmt: skip
            ax.set_xscale("log")
            if col == "N_opt":
                ax.set_yscale("log")
            ax.set_title(title)
            ax.set_xlabel("compute C (FLOPs)")
            ax.set_ylabel(ylabel)
        axes[0].legend(loc="upper right", fontsize=10)
    return fig


def target_profile(points: pd.DataFrame, means: pd.DataFrame, curve: pd.DataFrame, record: dict,
                   observed: dict) -> Figure:  # fmt: skip
    """The target budget's runs against the committed prediction: loss against N.

    Every target run (one marker per seed), the parabola through the seed means and its vertex
    (``observed``, :func:`~scaling_utils.analysis.verify.observed_target`, with its seed-bootstrap
    interval); the primary prediction as bands (its 80% interval of the lowest loss across, of
    ``N_opt`` down) with its point; approach 3's prediction beside it. ``means`` and ``curve``
    come from :func:`~scaling_utils.analysis.verify.target_curve`.
    """
    p, iv = record["point"], record["interval"]
    c = palette(3)
    with book_style():
        fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 5.0), layout="constrained")
        (lo, hi), (nlo, nhi) = iv["loss_frontier"], iv["n_opt2"]
        ax.axhspan(lo, hi, color=c[1], alpha=0.15, lw=0, label="predicted lowest loss (80% interval)")
        ax.axvspan(nlo, nhi, color=c[1], alpha=0.15, lw=0, hatch="//", label="predicted $N_{opt}$ (80% interval)")
        ax.plot([p["n_opt2"]], [p["loss_frontier"]], "s", ms=8, color=c[1], label="prediction")
        if "loss3" in p and "n_opt3" in p:
            ax.plot([p["n_opt3"]], [p["loss3"]], "D", ms=6, color=c[2], label="approach 3's prediction")
        at = points[points["at_budget"]]
        ax.scatter(at["N"], at["loss"], s=22, color=c[0], alpha=0.7, zorder=3, label="target runs (each seed)")
        ax.plot(curve["N"], curve["loss"], color=c[0], label="parabola through the seed means")
        v, vlo, vhi = observed["obs_loss"], observed["obs_loss_lo"], observed["obs_loss_hi"]
        n, n_lo, n_hi = observed["obs_n"], observed["obs_n_lo"], observed["obs_n_hi"]
        ax.errorbar([n], [v], xerr=[[n - n_lo], [n_hi - n]], yerr=[[v - vlo], [vhi - v]], fmt="*", ms=13,
                    color="black", capsize=3, zorder=4, label="observed vertex (seed bootstrap)")  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("parameters N (with the output head)")
        ax.set_ylabel("loss after the cooldown (nats per byte)")
        # below the axes: inside, it would hide approach 3's prediction at the top of the range
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    return fig
