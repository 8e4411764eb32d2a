"""The book's one figure style, shared by every chapter's figures.

:func:`book_style` applies :data:`STYLE` and caps a figure's width at :data:`MAX_WIDTH_IN`;
:func:`three_panels`, :func:`palette`, :func:`latex_sci` and :func:`plain_log_y` are the
layout, colours and labels the chapters' figures have in common.
"""

from __future__ import annotations

from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

__all__ = ["MAX_WIDTH_IN", "STYLE", "book_style", "latex_sci", "palette", "plain_log_y", "three_panels"]


STYLE: dict[str, object] = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    # The book's text column is ~768 px at 1400 px (captions 16 px). A figure W inches wide
    # is shown at 768 / (110 W) of its size, so s points render at s x 768 / (72 W) px: with
    # W capped at MAX_WIDTH_IN (8.5 in), 13 pt is 16.3 px and 12 pt 15.1 px.
    "font.size": 13,
    "axes.titlesize": 13,
    "axes.labelsize": 13,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "legend.fontsize": 12,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    "svg.hashsalt": "scaling-laws-reproduced",
    "image.cmap": "viridis",
}
"""rcParams shared by every figure of the book (fixed SVG hash salt for byte-identical files)."""


MAX_WIDTH_IN = 8.5
"""No book figure is wider than this (inches): a wider one would be shrunk below legible type."""


@contextmanager
def book_style():
    """Context manager applying :data:`STYLE` on top of seaborn's ``ticks`` theme.

    Figures made inside are capped at :data:`MAX_WIDTH_IN` inches wide (their height is
    kept), so that their type renders as large as the caption's at the book's width.

    Leaving an ``rc_context`` restores every rcParam, ``interactive`` included. In Jupyter
    the inline backend turns interactive mode on when the first figure is made, inside the
    context; restoring the old value would stop later figures from being shown. So the
    interactive flag set inside the context is kept.
    """
    before = set(plt.get_fignums())
    with sns.axes_style("ticks"), mpl.rc_context(STYLE):
        yield
        interactive = mpl.is_interactive()
    mpl.interactive(interactive)
    for num in sorted(set(plt.get_fignums()) - before):  # figures made inside: cap their width
        fig = plt.figure(num)
        width, height = fig.get_size_inches()
        if width > MAX_WIDTH_IN:
            fig.set_size_inches(MAX_WIDTH_IN, height)


def three_panels(*, sharey: bool = False, height: float = 6.6):
    """Three panels in a 2 x 2 grid, :data:`MAX_WIDTH_IN` wide; the fourth cell is for a legend.

    Returns ``(fig, axes, spare)``: ``axes`` the three panels in reading order, ``spare`` the
    empty fourth cell (axis turned off).
    """
    fig, grid = plt.subplots(2, 2, figsize=(MAX_WIDTH_IN, height), sharey=sharey, layout="constrained")
    spare = grid.flat[3]
    spare.axis("off")
    return fig, np.array(list(grid.flat[:3])), spare


def palette(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours from the colour-blind-safe palette used throughout the book."""
    return sns.color_palette("colorblind", n) if n <= 10 else sns.color_palette("viridis", n)


def latex_sci(x: float, digits: int = 2) -> str:
    r"""``x`` as LaTeX scientific notation, e.g. ``3.1\times10^{8}``."""
    mantissa, exp = f"{x:.{digits - 1}e}".split("e")
    return rf"{mantissa}\times10^{{{int(exp)}}}"


def plain_log_y(ax) -> None:
    """Loss axes in log scale, labelled with plain numbers (as in the papers)."""
    ax.set_yscale("log")
    fmt = ScalarFormatter()
    fmt.set_scientific(False)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)))
    ax.yaxis.set_major_formatter(fmt)
    ax.yaxis.set_minor_formatter(NullFormatter())
