"""The pre-registered prediction: from the fitting budgets, the lowest loss and N_opt at the target budget.

As the plan (``data/plans/predictable.toml``, with its amendment) fixes it: approach 2's
parabola vertices per budget give ``N_opt(C) = G C^a`` (the primary N_opt) and the frontier
``L_min(C) = E' + k C^-gamma`` through their losses (the primary lowest loss); approach 3's
parametric fit on every point is the secondary prediction, its lowest loss taken on the
target budget's profile of the sizes the target would train. Intervals resample whole
budgets (two-stage: budgets with replacement, then each chosen budget's seeds with
replacement; resamples with fewer than 3 distinct budgets are counted and dropped), and a
leave-one-budget-out jackknife gives standard errors beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling_utils.fitting import fit_chinchilla, fit_power_law, fit_saturating_power_law, isoflop_minima

__all__ = ["Prediction", "cluster_draws", "cluster_resample", "point_prediction", "predict_target"]

Profile = Callable[[float], tuple[np.ndarray, np.ndarray]]
"""``profile(C) -> (N, D)``: the sizes a budget would train and their token counts."""


def _seed_means(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.groupby(["budget", "N"], as_index=False).agg(D=("D", "mean"), loss=("loss", "mean"))


def _d_at(n_opt: float, points: pd.DataFrame) -> float:
    """Tokens at ``n_opt`` on one budget: ``D`` interpolated linearly in ``log N`` through its points."""
    p = points.sort_values("N")
    if not np.isfinite(n_opt) or p.empty:
        return np.nan
    return float(np.exp(np.interp(np.log(n_opt), np.log(p["N"]), np.log(p["D"]))))


def point_prediction(runs: pd.DataFrame, target: float, profile: Profile | None = None, *,
                     approach3: bool = True) -> dict[str, float]:  # fmt: skip
    """The prediction at ``target`` from ``runs`` (columns ``budget, N, D, loss, seed``); NaN where a fit fails.

    With a boolean column ``at_budget``, approaches 1 and 2 use only the rows at their budget
    (the others, branches between budgets, enter approach 3 only).

    ``approach3=False`` skips the parametric fit (the slow part: about 1 s per fit here).
    """
    at = runs[runs["at_budget"]] if "at_budget" in runs.columns else runs
    means = _seed_means(at)
    minima = isoflop_minima(means["N"], means["budget"], means["loss"])
    # D at each vertex from the budget's own (N, D) points (the FLOPs per token include attention,
    # so C / 6 N_opt would overstate D by up to a fifth at these sizes).
    minima["D_opt"] = [_d_at(r.N_opt, means[np.isclose(means["budget"], r.C)]) for r in minima.itertuples()]
    inner = minima[~minima["at_edge"]]
    out = {"a1": np.nan, "n_opt1": np.nan, "d_opt1": np.nan, "a2": np.nan, "n_opt2": np.nan, "d_opt2": np.nan,
           "loss_frontier": np.nan, "loss3": np.nan, "n_opt3": np.nan, "d_opt3": np.nan, "a3": np.nan,
           "n_budgets": float(len(inner))}  # fmt: skip
    # Approach 1 (amendment 3): at each budget the size with the lowest seed-mean loss.
    best = means.loc[means.groupby("budget")["loss"].idxmin()]
    if len(best) >= 3 and best["N"].nunique() >= 2:
        pl1 = fit_power_law(best["budget"], best["N"])
        out |= {"a1": pl1.exponent, "n_opt1": float(pl1.predict(target)),
                "d_opt1": float(fit_power_law(best["budget"], best["D"]).predict(target))}  # fmt: skip
    if len(inner) >= 3:
        pl = fit_power_law(inner["C"], inner["N_opt"])
        out |= {"a2": pl.exponent, "n_opt2": float(pl.predict(target)),
                "d_opt2": float(fit_power_law(inner["C"], inner["D_opt"]).predict(target))}  # fmt: skip
    if len(inner) >= 4:
        fr = fit_saturating_power_law(inner["C"], inner["loss_opt"])
        if fr.converged:
            out["loss_frontier"] = float(fr.predict(target))
    fit = None
    if approach3:
        # a run drawn twice (or two seeds that agree) must count twice, and approach 3 refuses
        # identical rows: the copies differ in the loss by 1e-12 relative, far below any effect
        loss = runs["loss"].to_numpy(float) * (1 + 1e-12 * runs.groupby(["N", "D", "loss"]).cumcount().to_numpy())
        fit = fit_chinchilla(runs["N"], runs["D"], loss)
    if fit is not None and fit.converged:
        law = fit.law
        out["a3"] = law.beta / (law.alpha + law.beta)
        if profile is not None:
            n, d = profile(target)
            m = isoflop_minima(n, np.full(len(n), target), law.loss(n, d), window=min(5, len(n))).iloc[0]
            d_opt3 = _d_at(float(m["N_opt"]), pd.DataFrame({"N": n, "D": d}))
            out |= {"loss3": float(m["loss_opt"]), "n_opt3": float(m["N_opt"]), "d_opt3": d_opt3}
    return out


@dataclass(frozen=True)
class Prediction:
    """Point estimates at the target, their 80% cluster-bootstrap intervals and jackknife standard errors."""

    target: float
    point: dict[str, float]
    interval: dict[str, tuple[float, float]]
    jackknife_se: dict[str, float]
    resamples_used: int
    resamples_dropped: int
    budgets: tuple[float, ...] = field(default=())

    def summary(self) -> dict[str, float]:
        """Flat numbers for the chapter (``<key>``, ``<key>_lo``, ``<key>_hi``, ``<key>_se``)."""
        out: dict[str, float] = {"target": self.target, "resamples_used": self.resamples_used,
                                 "resamples_dropped": self.resamples_dropped}  # fmt: skip
        for k, v in self.point.items():
            out[k] = v
            if k in self.interval:
                out[f"{k}_lo"], out[f"{k}_hi"] = self.interval[k]
            if k in self.jackknife_se:
                out[f"{k}_se"] = self.jackknife_se[k]
        return out


def cluster_resample(by_budget: dict[float, pd.DataFrame], rng: np.random.Generator) -> pd.DataFrame | None:
    """One two-stage cluster resample: budgets with replacement, then each chosen budget's seeds.

    ``by_budget`` maps each budget to its rows (columns ``budget, N, D``, ...). Returns None
    when fewer than 3 distinct budgets were drawn (the caller counts it as dropped). A budget
    drawn twice becomes two budgets 0.01% apart, so that its vertex counts twice.
    """
    budgets = np.asarray(list(by_budget), dtype=float)
    chosen = rng.choice(budgets, size=len(budgets), replace=True)
    if len(set(chosen)) < 3:
        return None
    parts = []
    for j, b in enumerate(chosen):
        pick = []
        for _, cell in by_budget[b].groupby(["N", "D"]):  # each point's seeds (a budget's midpoint branches too)
            pick.append(cell.iloc[rng.integers(0, len(cell), len(cell))])
        parts.append(pd.concat(pick).assign(budget=b * (1 + 1e-4 * j)))
    return pd.concat(parts, ignore_index=True)


def cluster_draws(runs: pd.DataFrame, statistic: Callable[[pd.DataFrame], dict], resamples: int,
                  seed: int) -> tuple[pd.DataFrame, int]:  # fmt: skip
    """``statistic`` on ``resamples`` two-stage cluster resamples of ``runs`` (:func:`cluster_resample`).

    Returns one row per kept resample and the number dropped (fewer than 3 distinct budgets).
    """
    budgets = np.sort(runs["budget"].unique())
    by_budget = {b: runs[runs["budget"] == b] for b in budgets}
    rng = np.random.default_rng(seed)
    draws, dropped = [], 0
    for _ in range(resamples):
        sample = cluster_resample(by_budget, rng)
        if sample is None:
            dropped += 1
            continue
        draws.append(statistic(sample))
    return pd.DataFrame(draws), dropped


def predict_target(runs: pd.DataFrame, target: float, *, profile: Profile | None = None, resamples: int = 2000,
                   level: float = 0.8, seed: int = 0, approach3: bool = True) -> Prediction:  # fmt: skip
    """:func:`point_prediction` with a two-stage cluster bootstrap over budgets and a jackknife over budgets."""
    need = {"budget", "N", "D", "loss", "seed"}
    if missing := sorted(need - set(runs.columns)):
        raise ValueError(f"runs lacks columns {missing}")
    budgets = np.sort(runs["budget"].unique())
    if len(budgets) < 4:
        raise ValueError(f"a prediction needs at least 4 budgets, got {len(budgets)}")
    if not 0 < level < 1 or resamples < 10:
        raise ValueError(f"level must be in (0, 1) and resamples >= 10, got {level!r} and {resamples!r}")
    point = point_prediction(runs, target, profile, approach3=approach3)
    keys = [k for k in point if k != "n_budgets"]
    table, dropped = cluster_draws(
        runs, lambda sample: point_prediction(sample, target, profile, approach3=approach3), resamples, seed
    )
    q = (1 - level) / 2
    interval = {k: (float(table[k].quantile(q)), float(table[k].quantile(1 - q))) for k in keys
                if table[k].notna().sum() >= 10}  # fmt: skip
    jack = pd.DataFrame(
        [point_prediction(runs[runs["budget"] != b], target, profile, approach3=approach3) for b in budgets]
    )
    n = len(budgets)
    se = {
        k: float(np.sqrt((n - 1) / n * ((jack[k] - jack[k].mean()) ** 2).sum())) for k in keys if jack[k].notna().all()
    }
    return Prediction(target, point, interval, se, len(table), dropped, tuple(float(b) for b in budgets))
