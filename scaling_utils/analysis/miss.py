"""Why the prediction of the lowest loss missed: the frontier's resamples and its local slopes.

A diagnosis made after the target runs (the chapter flags it as such), in two parts:

* :func:`frontier_draws`: the primary frontier ``L_min(C) = E' + k C^-gamma`` refitted on each
  of the plan's cluster resamples (budgets, then seeds), with its parameters, so that the share
  of resamples whose ``E'`` sits at its bound, zero, can be counted;
* :func:`local_slopes` and :func:`miss_summary`: the slope of ``ln L_min`` against ``ln C``
  between neighbouring fitting budgets, the fitted exponent, and the slope the target runs
  observed over the decade they extrapolate, with the numbers the chapter quotes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling_utils.analysis.predict import cluster_draws
from scaling_utils.fitting import fit_saturating_power_law, isoflop_minima

__all__ = ["frontier_draws", "frontier_fit", "local_slopes", "miss_summary"]

BOUND_TOL = 1e-9
"""An ``E'`` at or below this counts as at its bound (the fit clips it at zero exactly)."""


def frontier_fit(runs: pd.DataFrame, target: float) -> dict[str, float]:
    """The frontier through approach 2's vertices of ``runs``, as the prediction fitted it, and its value at ``target``.

    ``runs`` has columns ``budget, N, D, loss`` and optionally the boolean ``at_budget`` (only
    those rows give vertices); the vertices at an edge of their budget's sizes are left out, as
    in :func:`scaling_utils.analysis.predict.point_prediction`. Returns ``E``, ``A``, ``alpha``,
    ``loss`` (at ``target``) and ``converged`` (1.0 or 0.0).
    """
    at = runs[runs["at_budget"]] if "at_budget" in runs.columns else runs
    means = at.groupby(["budget", "N"], as_index=False)["loss"].mean()
    minima = isoflop_minima(means["N"], means["budget"], means["loss"])
    inner = minima[~minima["at_edge"]]
    if len(inner) < 3:
        return {"E": np.nan, "A": np.nan, "alpha": np.nan, "loss": np.nan, "converged": 0.0}
    fit = fit_saturating_power_law(inner["C"], inner["loss_opt"])
    return {"E": fit.E, "A": fit.A, "alpha": fit.alpha, "loss": float(fit.predict([target])[0]),
            "converged": float(fit.converged)}  # fmt: skip


def frontier_draws(runs: pd.DataFrame, target: float, resamples: int, seed: int) -> pd.DataFrame:
    """:func:`frontier_fit` on ``resamples`` two-stage cluster resamples of ``runs`` (the prediction's own).

    The same resamples as the committed prediction's interval when ``resamples`` and ``seed``
    are the plan's (:func:`scaling_utils.analysis.predict.cluster_draws`). One row per kept
    resample; ``attrs["dropped"]`` counts those with fewer than 3 distinct budgets.

    Raises
    ------
    ValueError
        When ``resamples`` is below 10 or ``runs`` lacks a column.
    """
    if resamples < 10:
        raise ValueError(f"resamples must be at least 10, got {resamples!r}")
    if missing := sorted({"budget", "N", "D", "loss", "seed"} - set(runs.columns)):
        raise ValueError(f"runs lacks columns {missing}")
    draws, dropped = cluster_draws(runs, lambda sample: frontier_fit(sample, target), resamples, seed)
    draws.attrs["dropped"] = dropped
    return draws


def local_slopes(vertices: pd.DataFrame, target: float, observed_loss: float) -> pd.DataFrame:
    """``d ln L_min / d ln C`` between neighbouring fitting budgets, and from the largest to the target.

    ``vertices`` has ``C`` and ``loss_opt`` (approach 2's vertices, as in the record's ``laws``).
    Returns ``C_from, C_to, slope, observed_at_target`` (True on the last row, whose far end is
    the target runs' vertex).

    Raises
    ------
    ValueError
        With fewer than 2 vertices, or a non-positive loss or budget.
    """
    v = vertices.sort_values("C")
    c = np.append(v["C"].to_numpy(float), float(target))
    loss = np.append(v["loss_opt"].to_numpy(float), float(observed_loss))
    if len(v) < 2:
        raise ValueError(f"local slopes need at least 2 vertices, got {len(v)}")
    if (c <= 0).any() or (loss <= 0).any():
        raise ValueError("budgets and losses must be positive for a slope on log-log axes")
    slope = np.diff(np.log(loss)) / np.diff(np.log(c))
    return pd.DataFrame({"C_from": c[:-1], "C_to": c[1:], "slope": slope,
                         "observed_at_target": np.arange(len(slope)) == len(slope) - 1})  # fmt: skip


def miss_summary(draws: pd.DataFrame, slopes: pd.DataFrame, record: dict, observed: dict) -> dict[str, float]:
    """The numbers of the diagnosis: where the resamples put ``E'``, how far the target fell, in which units.

    ``draws`` is :func:`frontier_draws`, ``slopes`` :func:`local_slopes`, ``record`` the committed
    prediction and ``observed`` :func:`scaling_utils.analysis.verify.observed_target`.
    ``miss_slope_sd`` is the standard deviation of the fitting budgets' local slopes (their
    scatter), ``miss_slope_gap`` the observed slope less the committed exponent and
    ``miss_gap_in_sd`` that gap in units of the scatter; ``miss_slope_effect`` is the fraction of
    loss the gap makes over the span from the largest fitting budget to the target.
    """
    pred, (lo, _hi) = record["point"]["loss_frontier"], record["interval"]["loss_frontier"]
    se = record["jackknife_se"]["loss_frontier"]
    fitting = slopes[~slopes["observed_at_target"]]
    at_bound = draws["E"] <= BOUND_TOL
    slope_obs = float(-slopes.loc[slopes["observed_at_target"], "slope"].iloc[0])
    slope_sd = float(fitting["slope"].std(ddof=1)) if len(fitting) > 1 else float("nan")
    gap = slope_obs - float(record["laws"]["frontier"]["alpha"])
    return {
        "miss_share_bound": float(at_bound.mean()),
        "miss_draws": len(draws),
        "miss_draw_min": float(draws["loss"].min()),
        "miss_share_below_obs": float((draws["loss"] <= observed["obs_loss"]).mean()),
        "miss_lower_half": float(pred - lo),
        "miss_gamma": float(record["laws"]["frontier"]["alpha"]),
        "miss_slope_lo": float(-fitting["slope"].max()),
        "miss_slope_hi": float(-fitting["slope"].min()),
        "miss_slope_obs": slope_obs,
        "miss_slope_sd": slope_sd,
        "miss_slope_gap": gap,
        "miss_gap_in_sd": gap / slope_sd,
        "miss_slope_effect": float(1 - np.exp(-gap * np.log(slopes["C_to"].iloc[-1] / slopes["C_from"].iloc[-1]))),
        "miss_se": float(se),
        "miss_in_se": float((observed["obs_loss"] - pred) / se),
    }
