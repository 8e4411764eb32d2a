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

__all__ = ["backtest_isoflop"]


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
