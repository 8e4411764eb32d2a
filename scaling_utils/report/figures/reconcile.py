"""Figures of the chapter "Kaplan vs Chinchilla" (R1, R2): drawing only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from scaling_utils.report.figures.style import book_style, palette

__all__ = ["ladder_profiles", "local_exponent_curves"]


def ladder_profiles(
    panels: Sequence[tuple[str, pd.DataFrame, pd.DataFrame, float]], *, ncols: int = 2, xlabel: str = "parameters N"
) -> Figure:
    """IsoFLOP profiles, one panel per rung of a ladder.

    Parameters
    ----------
    panels : sequence of (title, points, minima, a)
        ``points`` has columns ``n, flops, loss`` (one row per run), ``minima`` is
        :func:`~scaling_utils.fitting.isoflop_minima`'s table for them (vertices drawn where
        interior), ``a`` the fitted exponent shown in the title.
    """
    budgets = np.unique(np.concatenate([p[1]["flops"].to_numpy() for p in panels]))
    norm = LogNorm(budgets.min(), budgets.max())
    cmap = plt.get_cmap("viridis")
    nrows = -(-len(panels) // ncols)
    with book_style():
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(10, 3.1 * nrows), sharey=True, layout="constrained", squeeze=False
        )
        for ax, (title, pts, minima, a) in zip(axes.flat, panels, strict=False):
            for budget, g in pts.groupby("flops"):
                g = g.sort_values("n")
                ax.plot(g["n"], g["loss"], "o-", ms=3, lw=1, color=cmap(norm(budget)))
            inner = minima[~minima["at_edge"]]
            ax.plot(inner["N_opt"], inner["loss_opt"], "k*", ms=8, label="vertex (window 5)")
            ax.set_xscale("log")
            ax.set_title(f"{title}\na = {a:.3f}")
            ax.set_xlabel(xlabel)
        # Show the profiles near their minima: the far sides of the largest models at small
        # budgets rise to several nats and would flatten everything else.
        low = min(p[1]["loss"].min() for p in panels)
        high = max(p[2]["loss_opt"][~p[2]["at_edge"]].max() for p in panels)
        axes.flat[0].set_ylim(0.97 * low, 1.25 * high)
        for ax in axes.flat[len(panels) :]:
            ax.set_visible(False)
        for row in axes:
            row[0].set_ylabel("loss (nats/token)")
        axes.flat[0].legend(loc="upper right")
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label="budget (FLOPs)", shrink=0.8)
    return fig


def local_exponent_curves(
    n_nonembedding: np.ndarray,
    curves: Mapping[str, np.ndarray],
    limits: Mapping[str, tuple[float, float]],
    *,
    kaplan_range: tuple[float, float],
    chinchilla_range: tuple[float, float],
    kaplan_a: float = 0.73,
) -> Figure:
    """Pearce & Song's local exponent ``g(N_E)`` for several laws, with the papers' model ranges shaded.

    Parameters
    ----------
    n_nonembedding : array
        Non-embedding sizes (the x axis).
    curves : mapping of law name to array
        ``g`` at those sizes.
    limits : mapping of law name to (small, large)
        The two limits of ``g``, drawn as dotted lines.
    kaplan_range, chinchilla_range : (low, high)
        Non-embedding sizes of the two papers' models.
    """
    colors = palette(len(curves))
    with book_style():
        fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
        ax.axvspan(*kaplan_range, color="0.85", label="Kaplan's models")
        ax.axvspan(*chinchilla_range, color="#cfe3f3", alpha=0.7, label="Chinchilla's models")
        for color, (name, g) in zip(colors, curves.items(), strict=True):
            ax.plot(n_nonembedding, g, color=color, label=name)
            lo, hi = limits[name]
            ax.axhline(lo, color=color, ls=":", lw=1)
            ax.axhline(hi, color=color, ls="--", lw=1)
        ax.axhline(kaplan_a, color="k", lw=0.8)
        ax.text(n_nonembedding[0], kaplan_a + 0.008, f"Kaplan's a = {kaplan_a}")
        ax.set_xscale("log")
        ax.set_xlabel("non-embedding parameters $N_E$")
        ax.set_ylabel(r"local exponent $g = d\log N_E^*/d\log C_E$")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig
