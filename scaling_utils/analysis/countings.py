"""T1 on the v3 fitting sweep: the exponent ``a`` of ``N_opt ∝ C^a`` by approaches 1-3, in three countings.

The plan counts parameters with the output head and compute with head and attention; it also
asks for T1 in Kaplan's counting (non-embedding parameters, ``C = 6 N D``) and in Chinchilla's
(every parameter, embeddings included). Each counting changes ``N`` of every run and the compute
it is charged; the runs and their clusters (the budgets they were designed at) stay the same.

* Approach 1: per budget, the size with the lowest seed-mean loss, against its compute.
* Approach 2: per budget, the vertex of the parabola in ``ln N`` through the seed means; its
  compute interpolated (log-log) between the budget's runs, which no longer share one compute
  once counted another way.
* Approach 3: ``L = E + A N^-alpha + B D^-beta`` on every branch; ``a = beta / (alpha + beta)``.

In the plan's own counting the compute is the nominal budget, so the exponents equal those of the
committed prediction exactly (tested). Intervals resample whole budgets, then seeds within them
(:func:`~scaling_utils.analysis.predict.cluster_draws`); a leave-one-budget-out jackknife gives
standard errors beside them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling_utils.analysis.predict import cluster_draws
from scaling_utils.fitting import fit_chinchilla, fit_power_law, isoflop_minima

__all__ = ["COUNTINGS", "counted", "countings", "exponents"]

COUNTINGS = {
    "kaplan": "non-embedding (Kaplan)",
    "head": "with the head (the plan's)",
    "total": "every parameter (Chinchilla)",
}
"""Counting -> what it counts, as the table heads it."""

PAIRS = (("a1", "a2"), ("a1", "a3"), ("a2", "a3"))


def counted(points: pd.DataFrame, counting: str) -> pd.DataFrame:
    """Branch points with ``N`` and ``C_count`` in ``counting``.

    ``points`` are :func:`~scaling_utils.analysis.predictable.branch_points`.

    ``C_count`` is the budget scaled by the ratio of the run's compute in this counting to its
    compute as run: Kaplan's ``6 N_ne D``, or with every parameter ``C + 6 D (N_total - N)``.

    >>> p = pd.DataFrame({"N": [100.0], "N_ne": [60.0], "N_total": [160.0], "D": [10.0], "C": [7000.0],
    ...                   "budget": [7000.0]})
    >>> counted(p, "kaplan")[["N", "C_count"]].to_dict("records")
    [{'N': 60.0, 'C_count': 3600.0}]
    >>> counted(p, "total")[["N", "C_count"]].to_dict("records")
    [{'N': 160.0, 'C_count': 10600.0}]
    """
    if counting not in COUNTINGS:
        raise ValueError(f"counting must be one of {sorted(COUNTINGS)}, got {counting!r}")
    missing = sorted({"N", "N_ne", "N_total", "D", "C", "budget"} - set(points.columns))
    if missing:
        raise ValueError(f"points lack columns {missing}")
    budget, run_c, d = (points[c].to_numpy(float) for c in ("budget", "C", "D"))
    if counting == "head":
        return points.assign(C_count=budget)
    if counting == "kaplan":
        n = points["N_ne"].to_numpy(float)
        c = 6.0 * n * d
    else:
        n = points["N_total"].to_numpy(float)
        c = run_c + 6.0 * d * (n - points["N"].to_numpy(float))
    return points.assign(N=n, C_count=budget * c / run_c)


def exponents(points: pd.DataFrame) -> dict[str, float]:
    """``a1, a2, a3`` on :func:`counted` points (NaN where a fit fails or, for approach 3, did not converge)."""
    at = points[points["at_budget"]] if "at_budget" in points.columns else points
    means = at.groupby(["budget", "N"], as_index=False).agg(loss=("loss", "mean"), C_count=("C_count", "mean"))
    out = {"a1": np.nan, "a2": np.nan, "a3": np.nan}
    best = means.loc[means.groupby("budget")["loss"].idxmin()]
    if len(best) >= 3 and best["N"].nunique() >= 2:
        out["a1"] = fit_power_law(best["C_count"], best["N"]).exponent
    minima = isoflop_minima(means["N"], means["budget"], means["loss"])
    inner = minima[~minima["at_edge"]]
    if len(inner) >= 3:
        c_v = []
        for r in inner.itertuples():
            g = means[np.isclose(means["budget"], r.C)].sort_values("N")
            c_v.append(float(np.exp(np.interp(np.log(r.N_opt), np.log(g["N"]), np.log(g["C_count"])))))
        out["a2"] = fit_power_law(np.asarray(c_v), inner["N_opt"]).exponent
    # a run drawn twice must count twice; approach 3 refuses identical rows (as the prediction does)
    loss = points["loss"].to_numpy(float) * (1 + 1e-12 * points.groupby(["N", "D", "loss"]).cumcount().to_numpy())
    fit = fit_chinchilla(points["N"], points["D"], loss)
    if fit.converged:
        out["a3"] = fit.law.beta / (fit.law.alpha + fit.law.beta)
    return out


def _jackknife_se(values: pd.Series, n: int) -> float:
    return float(np.sqrt((n - 1) / n * ((values - values.mean()) ** 2).sum())) if values.notna().all() else np.nan


def countings(points: pd.DataFrame, *, resamples: int = 1000, level: float = 0.8, seed: int = 0) -> pd.DataFrame:
    """One row per (counting, approach): ``a``, its cluster-bootstrap interval and jackknife standard error.

    A row ``approach == "spread"`` per counting gives the largest difference between the three
    approaches' exponents: the pair furthest apart at the point estimate (column ``pair``, e.g.
    ``"a2-a3"``), and that signed difference's interval and standard error from the same resamples.
    """
    if resamples < 10 or not 0 < level < 1:
        raise ValueError(f"resamples must be >= 10 and level in (0, 1), got {resamples!r} and {level!r}")
    budgets = np.sort(points["budget"].unique())
    if len(budgets) < 4:
        raise ValueError(f"points must span at least 4 budgets, got {len(budgets)}")

    def all_countings(p: pd.DataFrame) -> dict[tuple[str, str], float]:
        out = {}
        for counting in COUNTINGS:
            e = exponents(counted(p, counting))
            out |= {(counting, k): v for k, v in e.items()}
            for i, j in PAIRS:
                out[(counting, f"{i}-{j}")] = e[i] - e[j]
        return out

    point = all_countings(points)
    table, dropped = cluster_draws(points, all_countings, resamples, seed)
    jack = pd.DataFrame([all_countings(points[points["budget"] != b]) for b in budgets])
    n, q = len(budgets), (1 - level) / 2
    rows = []
    for (counting, approach), value in point.items():
        if "-" in approach:
            continue
        col = table[(counting, approach)]
        rows.append({
            "counting": counting, "approach": approach, "a": value,
            "lo": float(col.quantile(q)), "hi": float(col.quantile(1 - q)),
            "jackknife_se": _jackknife_se(jack[(counting, approach)], n),
            "resamples": len(table), "dropped": dropped, "failed": int(col.isna().sum()),
        })  # fmt: skip
    for counting in COUNTINGS:
        # the pair of approaches furthest apart at the point estimate, then that signed difference in every
        # resample (the largest of three differences, resampled, would be biased upwards)
        i, j = max(PAIRS, key=lambda pair: abs(point[(counting, f"{pair[0]}-{pair[1]}")]))
        sign = 1.0 if point[(counting, f"{i}-{j}")] >= 0 else -1.0
        col, jk = sign * table[(counting, f"{i}-{j}")], sign * jack[(counting, f"{i}-{j}")]
        rows.append({
            "counting": counting, "approach": "spread", "a": sign * point[(counting, f"{i}-{j}")],
            "lo": float(col.quantile(q)), "hi": float(col.quantile(1 - q)), "jackknife_se": _jackknife_se(jk, n),
            "resamples": len(table), "dropped": dropped, "failed": int(col.isna().sum()),
            "pair": f"{i}-{j}" if sign > 0 else f"{j}-{i}",
        })  # fmt: skip
    return pd.DataFrame(rows)
