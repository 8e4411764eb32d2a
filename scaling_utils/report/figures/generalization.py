"""Figures of the chapter "Generalization" (F1 from the book's runs): drawing only."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from scaling_utils.analysis.measured import ENGLISH_HELD_OUT, Transfer, loss_wide
from scaling_utils.report.figures.style import book_style, palette, plain_log_y, three_panels

__all__ = ["DISTRIBUTION_NAMES", "ENGLISH_HELD_OUT", "generalization_offset"]


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


def generalization_offset(transfer: Transfer, primary: Sequence[str] = ENGLISH_HELD_OUT) -> Figure:
    """F1 from the book's runs, in three panels (``transfer`` from :func:`scaling_utils.analysis.measured.transfer`).

    (a) Loss on every distribution against N (final checkpoints). (b) The article's F1:
    loss on each ``primary`` distribution (English prose not in the training mix) against
    loss on the training distribution, at every checkpoint (filled: end of training, open:
    earlier). (c) The same for the other distributions (code, Spanish, synthetic), apart,
    because they are not the kind of shift Kaplan et al. measured.
    """
    wide, last, dists = loss_wide(transfer.size)
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
        plain_log_y(ax)
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
