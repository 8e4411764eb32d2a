"""Figures of the book's own runs in the article's chapters (F1-F4): drawing only."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from scaling_utils.fitting import PowerLawFit
from scaling_utils.measured import ENGLISH_HELD_OUT, loss_wide
from scaling_utils.plotting import _plain_log_y, book_style, latex_sci, palette, three_panels

__all__ = [
    "DISTRIBUTION_NAMES",
    "ENGLISH_HELD_OUT",
    "generalization_offset",
    "kaplan_measured",
    "lr_schedules",
    "shape_effects",
]


DISTRIBUTION_NAMES = {
    "train": "train (held-out split)",
    "austen": "Jane Austen",
    "kjv": "King James Bible",
    "web": "World English Bible",
    "fortunes": "fortunes",
    "spanish": "Spanish",
    "code": "code",
}
"""How a figure's legend names each distribution of the corpus (its id in the data, otherwise)."""


def _dist_name(d: str) -> str:
    return DISTRIBUTION_NAMES.get(d, d)


def _dist_colors(names: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    others = [n for n in names if n != "train"]
    return {"train": (0.0, 0.0, 0.0)} | dict(zip(others, palette(len(others)), strict=True))


def generalization_offset(size: pd.DataFrame, primary: Sequence[str] = ENGLISH_HELD_OUT) -> Figure:
    """F1 from the book's runs, in three panels.

    (a) Loss on every distribution against N (final checkpoints). (b) The article's F1:
    loss on each ``primary`` distribution (English prose not in the training mix) against
    loss on the training distribution, at every checkpoint (filled: end of training, open:
    earlier). (c) The same for the other distributions (code, Spanish, synthetic), apart,
    because they are not the kind of shift Kaplan et al. measured.
    """
    wide, last, dists = loss_wide(size)
    colors = _dist_colors(dists)
    fin = wide[last].sort_values("params_nonembedding")
    with book_style():
        fig, axes, spare = three_panels(height=7.2)
        ax = axes[0]
        for d in dists:
            ax.plot(
                fin["params_nonembedding"],
                fin[d],
                "o-",
                ms=3.5,
                color=colors[d],
                lw=2.4 if d == "train" else 1.3,
                label=_dist_name(d),
            )
        ax.set_xscale("log")
        _plain_log_y(ax)
        ax.set_xlabel("Non-embedding parameters $N$")
        ax.set_ylabel("Loss (nats/byte), end of training")
        ax.set_title("(a) every distribution")
        spare.legend(*ax.get_legend_handles_labels(), loc="center", ncols=2, frameon=False)
        lims = [wide["train"].min(), wide["train"].max()]
        groups = (
            ("(b) English prose not in the training mix", [d for d in dists if d in primary]),
            ("(c) other kinds of text", [d for d in dists if d not in primary and d != "train"]),
        )
        for ax, (title, group) in zip(axes[1:], groups, strict=True):
            for d in group:
                ax.plot(wide.loc[~last, "train"], wide.loc[~last, d], "o", ms=3, mfc="none", color=colors[d], alpha=0.6)
                ax.plot(wide.loc[last, "train"], wide.loc[last, d], "o", ms=4.5, color=colors[d], label=_dist_name(d))
            ax.plot(lims, lims, "k:", lw=1, label="equal loss")
            ax.set_xlabel("Loss on the training distribution")
            ax.set_ylabel("Loss on the other distribution")
            ax.set_title(title)
            ax.legend(frameon=False)
    return fig


def kaplan_measured(
    size: pd.DataFrame, frontier, early: pd.DataFrame, fit_d: PowerLawFit, fit_n: PowerLawFit
) -> Figure:
    """F2(b): the book's runs as Kaplan's three panels, with the power laws fitted to them.

    ``frontier`` is a :class:`scaling_utils.measured.Frontier`; ``early`` comes from
    :func:`scaling_utils.measured.early_stopped`; ``fit_d`` and ``fit_n`` are
    :func:`~scaling_utils.fitting.fit_power_law` fits of ``early`` and of the final losses
    against non-embedding parameters (computed by the caller, drawn here).
    """
    from scaling_utils.compute import pf_days as _pfd

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
            _plain_log_y(ax)
    return fig


def shape_effects(effects: pd.DataFrame) -> Figure:
    """F3 from the book's runs: loss increase over the best shape, at fixed N, per shape parameter.

    ``effects`` comes from :func:`scaling_utils.measured.shape_effects`; error bars are the
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

    ``effects`` comes from :func:`scaling_utils.measured.schedule_effects`.
    """
    from scaling_utils.experiment.schedules import lr_multiplier

    colors = dict(zip(effects["label"], sns.color_palette("tab20", len(effects)), strict=True))
    with book_style():
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
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
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=4, frameon=False)
        ax = axes[1]
        for _, r in effects.iterrows():
            ax.errorbar(r["lr_sum"], r["loss"], yerr=r["loss_std"], fmt="o", color=colors[r["label"]], capsize=3)
        ax.set_xlabel("Sum of the learning rate over training")
        ax.set_ylabel("Final loss (nats/byte)")
    return fig
