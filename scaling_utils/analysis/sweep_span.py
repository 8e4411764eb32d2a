"""How far the corrected IsoFLOP sweep's exponents can be trusted: seeds, budgets, one budget left out.

:func:`span` gathers, on :func:`~scaling_utils.analysis.isoflop.three_approaches` of the sweep's
runs, what its lab notes report: the seed-to-seed differences, the same fit on the first five budgets
(the sweep before its sixth), each budget left out in turn, the local exponents between
vertices, and the Kaplan-way sweep's point estimates for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling_utils.analysis.isoflop import ThreeApproaches, three_approaches
from scaling_utils.analysis.porian import setting
from scaling_utils.analysis.recount import leave_one_group_out, point_estimates, vertex_slopes
from scaling_utils.laws import PUBLISHED_T1

__all__ = ["Span", "seed_pairs", "span"]

CHINCHILLA_WINDOW = (0.40, 0.62)
"""The range of ``a`` the lab notes count as Chinchilla-like (its three approaches and their intervals)."""


def seed_pairs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs repeated with a second seed: index ``group, N``; columns ``seed 0, seed 1, difference``."""
    pairs = runs.pivot_table(index=["group", "N"], columns="seed", values="loss").dropna()
    pairs = pairs.rename(columns={0: "seed 0", 1: "seed 1"}).rename_axis(columns=None)
    pairs["difference"] = pairs["seed 1"] - pairs["seed 0"]
    return pairs


@dataclass(frozen=True)
class Span:
    """The corrected sweep's fit against its first five budgets, each budget left out, and its neighbours."""

    own: ThreeApproaches
    own5: ThreeApproaches = field(repr=False)  # the same fit on all budgets but the largest
    loo: pd.DataFrame  # leave_one_group_out(own.runs)
    slopes: pd.DataFrame  # vertex_slopes(own.a2.minima)
    kaplan: dict  # point estimates of the long-warmup Kaplan-way sweep
    pairs: pd.DataFrame  # seed_pairs(own.runs)

    def intervals(self, five: bool = False) -> dict[int, tuple[float, float]]:
        """Each approach's interval, on all budgets or (``five``) on the first five."""
        res = self.own5 if five else self.own
        return {k: res.interval(k) for k in (1, 2, 3)}

    def summary(self) -> dict[str, object]:
        """Seeds, decades, interval widths, the five-budget fit, leave-one-out, local slopes, neighbours' a."""
        runs, first5 = self.own.runs, self.own5.runs
        a_own, lo_hi, lo_hi5 = self.own.exponents, self.intervals(), self.intervals(five=True)
        out: dict[str, object] = {
            "seed_max": float(self.pairs["difference"].abs().max()),
            "widest": float(max(hi - lo for lo, hi in lo_hi.values())),
            "n_wide": sum(hi - lo > 0.25 for lo, hi in lo_hi.values()),
            "decades": float(np.log10(runs["group"].max() / runs["group"].min())),
        }
        low, high = CHINCHILLA_WINDOW
        in_window = {k: low <= a <= high for k, a in a_own.items()}
        out["n_window"] = sum(in_window.values())
        out["out_window"] = (
            "; ".join(f"approach {k} at {a_own[k]:.3f}" for k, ok in in_window.items() if not ok) or "none outside"
        )
        out["n_narrow"] = sum(hi - lo <= 0.25 for lo, hi in lo_hi.values())
        out["five_n"] = first5["group"].nunique()
        out["five_decades"] = float(np.log10(first5["group"].max() / first5["group"].min()))
        out["five_n_wide"] = sum(hi - lo > 0.25 for lo, hi in lo_hi5.values())
        out["five_widest"] = max(hi - lo for lo, hi in lo_hi5.values())
        shift = [a_own[k] - self.own5.exponents[k] for k in (1, 2, 3)]
        out["shift_lo"], out["shift_hi"] = float(min(shift)), float(max(shift))
        loo, top = self.loo, runs["group"].max()
        others = loo[loo["left_out"].notna() & (loo["left_out"] != top)]
        out["loo_other"] = float((others[["a1", "a2", "a3"]] - loo[["a1", "a2", "a3"]].iloc[0]).abs().max().max())
        out["slope_lo"] = float(self.slopes["slope"].min())
        out["slope_hi"] = float(self.slopes["slope"].max())
        out["slope_last"] = float(self.slopes["slope"].iloc[-1])
        out["int_lo"] = float(min(lo for lo, _ in lo_hi.values()))
        out["int_hi"] = float(max(hi for _, hi in lo_hi.values()))
        out["hof_a"] = PUBLISHED_T1[1].a
        out["kap_pub"] = PUBLISHED_T1[3].a
        out["por_a"] = setting("rw/base/short/chinchilla/standard/val").a_paper
        k = self.kaplan
        out["kaplan_min"] = float(min(k["a1"], k["a2"], k["a3"]))
        out["kaplan_max"] = float(max(k["a1"], k["a2"], k["a3"]))
        return out


def span(runs: pd.DataFrame, kaplan_runs: pd.DataFrame, *, window: int = 5, n_resamples: int = 1000,
         seed: int = 0) -> Span:  # fmt: skip
    """:class:`Span` of the corrected sweep's ``runs`` against the Kaplan-way sweep's ``kaplan_runs``.

    Both are :func:`~scaling_utils.analysis.isoflop.final_runs` tables, read from the committed
    runs. Fits the three approaches (with their bootstraps) on all budgets and on all but the
    largest, as the sweep stood before its sixth budget was run, and the Kaplan-way sweep's
    point estimates. It takes the runs rather than fits made from them, so that a cached span
    is keyed by committed data alone: a fit's last digits differ from one processor to another.
    """
    own = three_approaches(runs, window=window, n_resamples=n_resamples, seed=seed)
    first5 = own.runs[own.runs["group"] < own.runs["group"].max()]
    return Span(
        own=own,
        own5=three_approaches(first5, window=window, n_resamples=n_resamples, seed=seed),
        loo=leave_one_group_out(own.runs, window=window),
        slopes=vertex_slopes(own.a2.minima),
        kaplan=point_estimates(kaplan_runs),
        pairs=seed_pairs(own.runs),
    )
