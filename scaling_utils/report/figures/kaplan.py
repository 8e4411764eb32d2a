"""Figures of the chapter "Kaplan" (F2-F4): the published laws and the book's runs, drawing only."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from scaling_utils.analysis.measured import KaplanRuns
from scaling_utils.laws import KAPLAN_2020, KAPLAN_2020_FIGURE1_C_C, KaplanLaw
from scaling_utils.report.figures.style import MAX_WIDTH_IN, book_style, latex_sci, palette, plain_log_y, three_panels

__all__ = ["kaplan_measured", "kaplan_power_laws", "lr_schedules", "shape_effects"]


def kaplan_power_laws(law: KaplanLaw = KAPLAN_2020, *, show_figure1_label: bool = True) -> Figure:
    """F2(a): Kaplan's three power laws L(C_min), L(D), L(N) over the paper's axis ranges.

    Parameters
    ----------
    law : KaplanLaw
        Constants to draw (default: the paper's).
    show_figure1_label : bool
        Also draw L(C) with the constant printed in the paper's Figure 1 (2.3e8 PF-days),
        dotted, beside the one of Eq. 1.3.
    """
    c = np.logspace(-9, 1, 200)
    d = np.logspace(7, 10, 200)
    n = np.logspace(5, 9, 200)
    with book_style():
        fig, axes, spare = three_panels(sharey=True)
        colors = palette(3)
        ax = axes[0]
        ax.plot(
            c,
            law.loss_c(c),
            color=colors[0],
            label=rf"$L=(C_{{min}}/{latex_sci(law.C_c)})^{{-{law.alpha_C}}}$ (Eq. 1.3)",
        )
        if show_figure1_label:
            alt = KaplanLaw(C_c=KAPLAN_2020_FIGURE1_C_C)
            ax.plot(
                c, alt.loss_c(c), ":", color="0.4", label=rf"$C_c={latex_sci(KAPLAN_2020_FIGURE1_C_C)}$ (Fig. 1 label)"
            )
        ax.set_xscale("log")
        ax.set_xlabel("Compute $C_{min}$ (PF-days, non-embedding)")
        ax.set_ylabel("Test loss (nats/token)")
        ax = axes[1]
        ax.plot(d, law.loss_d(d), color=colors[1], label=rf"$L=(D/{latex_sci(law.D_c)})^{{-{law.alpha_D}}}$")
        ax.set_xscale("log")
        ax.set_xlabel("Dataset size $D$ (tokens)")
        ax = axes[2]
        ax.plot(n, law.loss_n(n), color=colors[2], label=rf"$L=(N/{latex_sci(law.N_c)})^{{-{law.alpha_N}}}$")
        ax.set_xscale("log")
        ax.set_xlabel("Parameters $N$ (non-embedding)")
        ax.set_ylabel("Test loss (nats/token)")
        handles, labels = [], []
        for ax in axes:
            plain_log_y(ax)
            h, lab = ax.get_legend_handles_labels()
            handles, labels = handles + h, labels + lab
        spare.legend(handles, labels, loc="center", frameon=False)
    return fig


def kaplan_measured(runs: KaplanRuns) -> Figure:
    """F2(b): the book's runs as Kaplan's three panels, with the power laws fitted to them.

    ``runs`` comes from :func:`scaling_utils.analysis.measured.kaplan_runs`: the size sweep, its
    compute frontier, the early-stopped data sweep and the power laws fitted to them (computed
    there, drawn here).
    """
    from scaling_utils.compute import pf_days as _pfd

    size, frontier, early, fit_d, fit_n = runs.size, runs.frontier, runs.early, runs.fit_d, runs.fit_n

    tr = size[size["distribution"] == "train"]
    sizes = sorted(tr["params_nonembedding"].unique())
    cols = sns.color_palette("viridis", len(sizes))
    with book_style():
        fig, axes, _spare = three_panels(sharey=True)
        ax = axes[0]
        for n, col in zip(sizes, cols, strict=True):
            c = tr[tr["params_nonembedding"] == n].sort_values("step")
            ax.plot(np.asarray(_pfd(c["flops_6nd"].to_numpy())), c["loss"], color=col, lw=1)
        p = frontier.points
        f = frontier.fit
        ax.plot(
            p["C_pfd"],
            f.predict(p["C_pfd"]),
            "--",
            color="tab:red",
            lw=1.6,
            label=rf"$L=(C/{latex_sci(frontier.C_c)})^{{{f.exponent:.3f}}}$",
        )
        ax.set_xscale("log")
        ax.set_xlabel("Compute (PF-days, 6ND)")
        ax.set_ylabel("Loss (nats/byte)")
        ax.legend(frameon=False)
        ax = axes[1]
        fd = fit_d
        ax.plot(early["D"], early["loss"], "o", color=palette(2)[1])
        ax.plot(
            early["D"], fd.predict(early["D"]), "--", color=palette(2)[1], label=rf"$L \propto D^{{{fd.exponent:.3f}}}$"
        )
        ax.set_xscale("log")
        ax.set_xlabel("Dataset size $D$ (bytes, early-stopped)")
        ax.legend(frameon=False)
        ax = axes[2]
        fin = tr[tr["step"] == tr.groupby("run_id")["step"].transform("max")].sort_values("params_nonembedding")
        fn = fit_n
        ax.plot(fin["params_nonembedding"], fin["loss"], "o", color=palette(3)[2])
        ax.plot(
            fin["params_nonembedding"],
            fn.predict(fin["params_nonembedding"]),
            "--",
            color=palette(3)[2],
            label=rf"$L \propto N^{{{fn.exponent:.3f}}}$",
        )
        ax.set_xscale("log")
        ax.set_xlabel("Non-embedding parameters $N$")
        ax.set_ylabel("Loss (nats/byte)")
        ax.legend(frameon=False)
        for ax in axes:
            plain_log_y(ax)
    return fig


def shape_effects(effects: pd.DataFrame) -> Figure:
    """F3 from the book's runs: loss increase over the best shape, at fixed N, per shape parameter.

    ``effects`` comes from :func:`scaling_utils.analysis.measured.shape_effects`; error bars are the
    spread over seeds.
    """
    panels = [
        ("ff", "ff_ratio", "Feed-forward ratio $d_{ff}/d_{model}$"),
        ("aspect", "aspect", "Aspect ratio $d_{model}/n_{layer}$"),
        ("head", "head_dim", "Head dimension $d_{model}/n_{head}$"),
    ]
    with book_style():
        fig, axes, _spare = three_panels(sharey=True, height=6.0)
        for ax, (group, x, label) in zip(axes, panels, strict=True):
            g = effects[effects["group"] == group].sort_values(x)
            ax.errorbar(g[x], g["increase_pct"], yerr=g["spread_pct"], fmt="o-", color=palette(1)[0], capsize=3)
            ax.set_xscale("log")
            ax.set_xticks(g[x].to_numpy(), [f"{v:.0f}" if v >= 10 else f"{v:.2g}" for v in g[x]])
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(label)
        for ax in (axes[0], axes[2]):  # the left column of the 2 x 2 grid: short, so the two fit
            ax.set_ylabel("Loss increase (%)")
    return fig


def lr_schedules(effects: pd.DataFrame, steps: int = 1000) -> Figure:
    """F4 from the book's runs: the schedules (left) and final loss against summed learning rate (right).

    ``effects`` comes from :func:`scaling_utils.analysis.measured.schedule_effects`.
    """
    from scaling_utils.experiment.schedules import lr_multiplier

    colors = dict(zip(effects["label"], sns.color_palette("tab20", len(effects)), strict=True))
    with book_style():
        fig, axes = plt.subplots(1, 2, figsize=(MAX_WIDTH_IN, 4.6), layout="constrained")
        ax = axes[0]
        t = np.arange(steps)
        for _, r in effects.iterrows():
            ax.plot(
                t / steps,
                [lr_multiplier(r["schedule"], s, steps, r["warmup_frac"]) for s in t],
                color=colors[r["label"]],
                lw=1.3,
                label=r["label"],
            )
        ax.set_xlabel("Fraction of training")
        ax.set_ylabel("Learning rate / peak")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
        ax = axes[1]
        for _, r in effects.iterrows():
            ax.errorbar(r["lr_sum"], r["loss"], yerr=r["loss_std"], fmt="o", color=colors[r["label"]], capsize=3)
        ax.set_xlabel("Sum of the learning rate over training")
        ax.set_ylabel("Final loss (nats/byte)")
    return fig
