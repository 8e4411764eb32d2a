"""Figures of the chapter "Beyond power-law scaling" and its lab notes (drawing only; numbers come in)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from scaling_utils.analysis.repeated import RepeatStudy
from scaling_utils.laws.allocation import InferencePlan
from scaling_utils.laws.data_constrained import DataConstrainedView
from scaling_utils.report.figures.style import book_style, palette, three_panels
from scaling_utils.simulations.pruning import PruningStudy

__all__ = ["data_constrained", "inference_shares", "pruning_curves", "repeat_runs"]


def data_constrained(view: DataConstrainedView) -> Figure:
    """Left: what repeated tokens are worth; right: the allocation under a unique-data cap.

    ``view`` is :func:`~scaling_utils.laws.data_constrained.data_constrained_view`'s: the
    repetition value on a grid of epochs (with the saturation ``(1 + R_D*) / epochs``), and
    the allocation curve under its unique-token cap (a horizontal line on the right).
    """
    epochs, value, rd_star = view.epochs, view.value, view.law.rd_star
    curve, unique_tokens = view.curve, view.unique_tokens
    c = palette(3)
    with book_style():
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
        ax0.plot(epochs, value, color=c[0], label="repeated data, $D'/D$")
        ax0.plot(
            epochs, np.minimum(1.0, (1 + rd_star) / epochs), ":", color="0.4", label="saturation $(1+R_D^*)/$epochs"
        )
        ax0.axvline(4, color="0.6", lw=1)
        ax0.text(4.4, 0.55, "4 epochs", color="0.35")
        ax0.set_xscale("log")
        ax0.set_ylim(0, 1.05)
        ax0.set_xlabel("epochs over the same unique data")
        ax0.set_ylabel("worth of a repeated token\n(fraction of a new one)")
        ax0.legend(loc="lower left", frameon=False, handlelength=1.5)
        ax1.plot(curve["C"], curve["N"], color=c[0], label="parameters N (data-constrained)")
        ax1.plot(curve["C"], curve["D"], color=c[1], label="tokens D (data-constrained)")
        ax1.plot(curve["C"], curve["N_free"], "--", color=c[0], lw=1, label="N, unlimited data")
        ax1.plot(curve["C"], curve["D_free"], "--", color=c[1], lw=1, label="D, unlimited data")
        ax1.axhline(unique_tokens, color="0.5", lw=1, ls=":")
        ax1.text(curve["C"].iloc[0], unique_tokens * 1.3, "unique tokens", color="0.35")
        ax1.set_xscale("log")
        ax1.set_yscale("log")
        ax1.set_xlabel("training compute C (FLOPs)")
        ax1.set_ylabel("N or D")
        fig.legend(*ax1.get_legend_handles_labels(), loc="outside lower center", ncols=2, frameon=False)
    return fig


def inference_shares(plan: InferencePlan) -> Figure:
    """Parameters, tokens and total FLOPs of the inference-aware model, as shares of Chinchilla's.

    ``plan`` is :func:`~scaling_utils.laws.allocation.inference_plan`'s (demand > 0 rows are drawn).
    """
    table, loss = plan.table, plan.loss
    t = table[table["inference_tokens"] > 0]
    c = palette(3)
    with book_style():
        fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
        ax.plot(t["inference_tokens"], t["N_share"], "o-", color=c[0], label="parameters N")
        ax.plot(t["inference_tokens"], t["D_share"], "s-", color=c[1], label="training tokens D")
        ax.plot(t["inference_tokens"], t["flops_share"], "^-", color=c[2], label="total FLOPs (training + inference)")
        ax.axhline(1.0, color="0.5", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("inference demand (tokens served over the model's life)")
        ax.set_ylabel("share of the Chinchilla-optimal model")
        ax.set_title(f"same loss ({loss:g} nats/token)")
        ax.legend(loc="upper left")
    return fig


def pruning_curves(study: PruningStudy) -> Figure:
    """Three panels of the perceptron: keep hard, keep easy, an imperfect probe.

    ``study`` is :func:`~scaling_utils.simulations.pruning.pruning_study`'s: its learning curves
    (mean over repetitions drawn), and the power law fitted to the unpruned curve, drawn in
    every panel with the perfect metric's frontier.
    """
    hard, easy, probe, fit_line, probe_label = study.hard, study.easy, study.probe, study.fit_line(), study.probe_label
    with book_style():
        fig, axes, spare = three_panels(sharey=True)
        frontier, _ = hard.frontier()
        for ax, curves, title in zip(
            axes,
            (hard, easy, probe),
            ("keep hard examples", "keep easy examples", f"keep hard, {probe_label}"),
            strict=True,
        ):
            colors = palette(curves.fractions.size)
            for f, mean, col in zip(curves.fractions, curves.mean, colors, strict=True):
                ax.plot(curves.alphas, mean, "o-", ms=3, lw=1.2, color=col, label=f"f = {f:g}")
            ax.plot(*fit_line, "--", color="0.3", lw=1, label="power law (f = 1)")
            ax.plot(hard.alphas, frontier, ":", color="k", lw=1.5, label="best f, perfect metric")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(title)
            ax.set_xlabel(r"examples kept per dimension $\alpha_{\rm prune}$")
        for ax in (axes[0], axes[2]):  # the left column of the 2 x 2 grid
            ax.set_ylabel("test error")
        spare.legend(*axes[0].get_legend_handles_labels(), loc="center", frameon=False)
    return fig


def repeat_runs(study: RepeatStudy) -> Figure:
    """The book's repeated-data runs: loss against epochs (left) and the fresh-data law (right).

    ``study`` is :func:`~scaling_utils.analysis.repeated.repeat_study`'s: the repeated runs
    (``size, epochs, seed, loss``), the fresh-data runs with the base law's ``fit``, the fitted
    data-constrained law on a fine grid (with ``loss_fresh``, the base law at the same tokens
    if they were all new), and the sizes in legend order.
    """
    repeated, fresh, predicted, sizes = study.repeated, study.fresh, study.predicted(), study.sizes
    colors = dict(zip(sizes, palette(len(sizes)), strict=True))
    with book_style():
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
        for size in sizes:
            r = repeated[repeated["size"] == size]
            ax0.plot(r["epochs"], r["loss"], "o", ms=4, color=colors[size], label=f"{size}, runs")
            p = predicted[predicted["size"] == size]
            ax0.plot(p["epochs"], p["loss"], "-", color=colors[size], lw=1.2, label=f"{size}, fitted $R_D^*$")
            ax0.plot(p["epochs"], p["loss_fresh"], ":", color=colors[size], lw=1, label=f"{size}, if all new")
            f = fresh[fresh["size"] == size].sort_values("tokens")
            ax1.plot(f["tokens"], f["loss"], "o", ms=4, color=colors[size], label=f"{size}, runs")
            ax1.plot(f["tokens"], f["fit"], "-", color=colors[size], lw=1.2, label=f"{size}, fit")
        ax0.set_xscale("log", base=2)
        ax0.set_xlabel("epochs (same training tokens, fewer unique)")
        ax0.set_ylabel("held-out loss (nats/byte)")
        fig.legend(*ax0.get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
        ax1.set_xscale("log")
        ax1.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log axis collide
        ax1.set_xlabel("training tokens, all new (one epoch)")
        ax1.set_ylabel("held-out loss (nats/byte)")
        ax1.legend(loc="upper right", frameon=False)
    return fig
