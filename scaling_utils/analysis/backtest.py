"""Backtests: refit a law without its largest budgets, predict them, report the relative error.

As Choshen et al. 2024 (arXiv 2410.11840) score scaling-law predictions: each law is fitted
on the smallest budgets only and asked for the held-out ones; the table gives the absolute
relative error of each prediction. For IsoFLOP data (``N``, ``C``, ``loss`` and, for
approach 3, ``D``):

* approach 2: the power law through the fitted budgets' parabola vertices, asked for the
  held-out vertices' ``N_opt``;
* the frontier: ``L_min(C) = E + k C^-gamma`` through the fitted vertices' losses, asked
  for the held-out vertex losses;
* approach 3: ``L(N, D)`` fitted on the fitted budgets' runs, asked for every held-out
  run's loss, and for each held-out budget's ``N_opt`` (the vertex of its predicted
  profile at the sizes that were run).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling_utils.fitting import fit_chinchilla, fit_power_law, fit_saturating_power_law, isoflop_minima

__all__ = ["backtest_isoflop", "backtest_kaplan", "backtest_v3"]


def _rel(pred, obs) -> float:
    pred, obs = np.asarray(pred, float), np.asarray(obs, float)
    return float(np.mean(np.abs(pred - obs) / np.abs(obs)))


def backtest_isoflop(runs: pd.DataFrame, n_fit: int, *, label: str = "", window: int | None = None) -> pd.DataFrame:
    """Fit on the ``n_fit`` smallest budgets of ``runs`` (``N, C, loss``, optionally ``D``); predict the rest.

    Returns one row per law: what was predicted, how many budgets were fitted and held out,
    and the mean absolute relative error over the held-out budgets (or runs).
    """
    missing = [c for c in ("N", "C", "loss") if c not in runs.columns]
    if missing:
        raise ValueError(f"runs lacks columns {missing}")
    minima = isoflop_minima(runs["N"], runs["C"], runs["loss"], window=window)
    budgets = np.sort(minima["C"].to_numpy())
    if not 3 <= n_fit < len(budgets):
        raise ValueError(f"n_fit must be in [3, {len(budgets) - 1}] for {len(budgets)} budgets, got {n_fit!r}")
    fit_c, held_c = budgets[:n_fit], budgets[n_fit:]
    m_fit = minima[minima["C"].isin(fit_c) & ~minima["at_edge"]]
    m_held = minima[minima["C"].isin(held_c) & ~minima["at_edge"]]
    rows = []

    def row(law, what, pred, obs):
        rows.append({"data": label, "law": law, "predicts": what, "fitted budgets": n_fit,
                     "held-out budgets": len(held_c), "abs. rel. error": _rel(pred, obs)})  # fmt: skip

    if len(m_fit) >= 3 and len(m_held):
        pl = fit_power_law(m_fit["C"], m_fit["N_opt"])
        row("approach 2", "N_opt", pl.predict(m_held["C"]), m_held["N_opt"])
    if len(m_fit) >= 4 and len(m_held):
        fr = fit_saturating_power_law(m_fit["C"], m_fit["loss_opt"])
        if fr.converged:
            row("frontier E + k C^-gamma", "lowest loss", fr.predict(m_held["C"]), m_held["loss_opt"])
    if "D" in runs.columns:
        small = runs[runs["C"].isin(fit_c)]
        big = runs[runs["C"].isin(held_c)]
        fit = fit_chinchilla(small["N"], small["D"], small["loss"])
        if fit.converged:
            pred = fit.law.loss(big["N"].to_numpy(float), big["D"].to_numpy(float))
            row("approach 3", "every run's loss", pred, big["loss"])
            pm = isoflop_minima(big["N"], big["C"], pred, window=window)
            both = pm.merge(m_held, on="C", suffixes=("_pred", ""))
            both = both[~both["at_edge_pred"]]
            if len(both):
                row("approach 3", "N_opt", both["N_opt_pred"], both["N_opt"])
                row("approach 3", "lowest loss", both["loss_opt_pred"], both["loss_opt"])
    return pd.DataFrame(rows)


def _held_out_decade(x, y, law: str, what: str, label: str) -> dict:
    """Fit ``y = k x^p`` on ``x <= max(x) / 10``; the error of its prediction on the last decade."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    fit_mask = x <= x.max() / 10
    if fit_mask.sum() < 3 or (~fit_mask).sum() < 1:
        raise ValueError(f"{law}: need at least 3 points below a tenth of the largest and 1 above, "
                         f"got {int(fit_mask.sum())} and {int((~fit_mask).sum())}")  # fmt: skip
    pl = fit_power_law(x[fit_mask], y[fit_mask])
    err = _rel(pl.predict(x[~fit_mask]), y[~fit_mask])
    return {"data": label, "law": law, "predicts": what, "fitted budgets": int(fit_mask.sum()),
            "held-out budgets": int((~fit_mask).sum()), "abs. rel. error": err}  # fmt: skip


def backtest_kaplan(size: pd.DataFrame, data: pd.DataFrame, *, label: str = "Kaplan-way sweeps") -> pd.DataFrame:
    """Kaplan's three laws on the book's size and data sweeps, the last decade of each held out.

    Each law is fitted as :func:`~scaling_utils.analysis.measured.kaplan_runs` fits it, on the
    points below a tenth of the largest ``N``, ``D`` or ``C``, and asked for the rest:

    * ``L(N)``: the final losses of the size sweep's models (non-embedding ``N``);
    * ``L(D)``: the data sweep's early-stopped losses per data limit;
    * ``L(C_min)``: the size sweep's compute frontier (the lowest loss at each compute).

    The "budgets" columns count sizes, data limits and frontier points.
    """
    from scaling_utils.analysis.measured import compute_frontier, early_stopped, final_train

    fin = final_train(size)
    early = early_stopped(data)
    frontier = compute_frontier(size).points
    rows = [
        _held_out_decade(fin["params_nonembedding"], fin["loss"], "Kaplan L(N)", "final loss of larger models", label),
        _held_out_decade(early["D"], early["loss"], "Kaplan L(D)", "early-stopped loss on more data", label),
        _held_out_decade(frontier["C_pfd"], frontier["loss_opt"], "Kaplan L(C_min)", "lowest loss at more compute",
                         label),
    ]  # fmt: skip
    return pd.DataFrame(rows)


def backtest_v3(points: pd.DataFrame, *, label: str = "v3 fitting sweep") -> pd.DataFrame:
    """The pre-registered laws refitted without the fitting sweep's largest budget, asked for it.

    ``points`` are :func:`~scaling_utils.analysis.predictable.branch_points` (every seed). The
    fit uses every branch of the smaller budgets, as the prediction did; the held-out budget's
    observed values come from its own branches: the vertex of the parabola through its seed
    means (``N_opt`` and lowest loss) and its best size (approach 1's ``N_opt``). Approach 3 is
    also asked for every held-out branch's loss.
    """
    from scaling_utils.analysis.predict import point_prediction
    from scaling_utils.analysis.predictable import ladder_profile

    budgets = np.sort(points["budget"].unique())
    if len(budgets) < 5:
        raise ValueError(f"points must span at least 5 budgets (4 fitted, 1 held out), got {len(budgets)}")
    last = float(budgets[-1])
    fit, held = points[points["budget"] < last], points[(points["budget"] == last) & points["at_budget"]]
    pred = point_prediction(fit, last, ladder_profile)
    means = held.groupby("N", as_index=False)["loss"].mean()
    obs = isoflop_minima(means["N"], np.full(len(means), last), means["loss"]).iloc[0]
    if obs["at_edge"]:
        raise ValueError(f"the held-out budget {last:.2g} has its vertex at the edge of its sizes")
    best_n = float(means.loc[means["loss"].idxmin(), "N"])
    rows = []

    def row(law, what, p, o):
        rows.append({"data": label, "law": law, "predicts": what, "fitted budgets": len(budgets) - 1,
                     "held-out budgets": 1, "abs. rel. error": _rel(p, o)})  # fmt: skip

    row("approach 1", "N_opt", pred["n_opt1"], best_n)
    row("approach 2", "N_opt", pred["n_opt2"], obs["N_opt"])
    row("frontier E + k C^-gamma", "lowest loss", pred["loss_frontier"], obs["loss_opt"])
    loss = fit["loss"].to_numpy(float) * (1 + 1e-12 * fit.groupby(["N", "D", "loss"]).cumcount().to_numpy())
    law3 = fit_chinchilla(fit["N"], fit["D"], loss)
    if law3.converged:
        row("approach 3", "every run's loss", law3.law.loss(held["N"].to_numpy(float), held["D"].to_numpy(float)),
            held["loss"])  # fmt: skip
        row("approach 3", "N_opt", pred["n_opt3"], obs["N_opt"])
        row("approach 3", "lowest loss", pred["loss3"], obs["loss_opt"])
    return pd.DataFrame(rows)
