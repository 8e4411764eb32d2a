"""Porian et al.'s ladder rebuilt on the book's own runs (R3): each rung a sweep and a counting convention.

:func:`own_ladder` counts each of the book's IsoFLOP sweeps in each convention, fits approach 2
with two windows, takes the three approaches' point estimates on the rungs of the ladder, and
measures the warmup's share of the runs near each budget's optimum, which is what separates
Kaplan's method from the corrected one on these models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from scaling_utils.analysis.isoflop import final_runs
from scaling_utils.analysis.measured import final_train
from scaling_utils.analysis.porian import SETTINGS, select
from scaling_utils.analysis.recount import (
    COUNTINGS,
    fit_recounted,
    leave_one_group_out,
    point_estimates,
    recounted_minima,
)

__all__ = ["RUNGS", "SWEEPS", "OwnLadder", "countings", "jackknife_se", "own_ladder"]

SWEEPS = (
    ("first IsoFLOP sweep", "isoflop", False),
    ("short-warmup Kaplan-way sweep", "kaplan_isoflop", True),
    ("long-warmup Kaplan-way sweep", "kaplan_isoflop_v2", True),
    ("corrected IsoFLOP sweep", "chinchilla_isoflop", False),
)
"""(label, results file, counted per checkpoint): the Kaplan-way sweeps place checkpoints at budgets."""

RUNGS = {
    "v2": ("long-warmup Kaplan-way sweep", "kaplan"),
    "v2_head": ("long-warmup Kaplan-way sweep", "head"),
    "v1_head": ("short-warmup Kaplan-way sweep", "head"),
    "corrected": ("corrected IsoFLOP sweep", "head"),
    "v1": ("short-warmup Kaplan-way sweep", "kaplan"),
    "corrected_kaplan": ("corrected IsoFLOP sweep", "kaplan"),
}
"""Each rung's key: (sweep, counting)."""

_LADDER_ROWS = (
    ("Kaplan's method", "v2", "Kaplan's warmup, non-embedding N, 6ND", 0),
    ("+ count the last layer", "v2_head", "Kaplan's warmup, head and attention", 1),
    ("+ short warmup", "v1_head", "short warmup, head and attention", 2),
    ("+ cosine matched; lr, batch, beta2 by rule", "corrected", "corrected training, head and attention", 3),
    ("(short warmup, Kaplan's count)", "v1", "short warmup, 6ND", None),
    ("(corrected training, Kaplan's count)", "corrected_kaplan", "corrected, 6ND", None),
)  # (rung, key, the book's runs, Porian et al.'s RefinedWeb rung or None)


@dataclass(frozen=True)
class OwnLadder:
    """R3: approach 2 per sweep and counting, the ladder's rungs on the book's runs, the warmup's share."""

    recounted: pd.DataFrame  # a per (sweep, counting, window), with the interior budgets used
    ladder: pd.DataFrame  # one row per rung: approaches 1-3 and Porian et al.'s a
    warm: pd.DataFrame  # per Kaplan-way sweep and budget: the lowest-loss run's steps and warmup share
    values: Mapping[str, object]  # the numbers the lab notes report (see summary)

    def summary(self) -> dict[str, object]:
        """Each rung's ``<key>_a1..a3``, the like-for-like and first-sweep fits, warmup shares, steps."""
        return dict(self.values)


def jackknife_se(estimates: pd.Series) -> float:
    """The jackknife standard error from leave-one-out estimates (the first, unlabelled row is the full fit).

    ``estimates`` is a column of :func:`~scaling_utils.analysis.recount.leave_one_group_out`:
    row 0 fits every budget, each other row leaves one out; ``sqrt((n-1)/n * sum (x_i - mean)^2)``
    over the ``n`` leave-one-out rows.

    Examples
    --------
    >>> round(jackknife_se(pd.Series([0.5, 0.4, 0.5, 0.6])), 4)  # n = 3 left-out fits
    0.1155
    """
    loo = estimates.iloc[1:].to_numpy(dtype=float)
    n = len(loo)
    if n < 2:
        raise ValueError(f"a jackknife needs at least 2 leave-one-out fits; got {n}")
    return float(((n - 1) / n * ((loo - loo.mean()) ** 2).sum()) ** 0.5)


def countings(results: pd.DataFrame, *, window: int = 5) -> pd.DataFrame:
    """Approaches 1-3 on one sweep in each counting of :data:`~scaling_utils.analysis.recount.COUNTINGS`.

    ``results`` is a sweep's tidy results (``load_sweep_results``); point estimates of ``a``
    (:func:`~scaling_utils.analysis.recount.point_estimates`), one row per approach, one column
    per counting: Kaplan's (non-embedding), the book's (with the output head) and Chinchilla's
    (every parameter, embeddings included).
    """
    est = {c: point_estimates(final_runs(results, c), window=window) for c in COUNTINGS}
    rows = [{"approach": k, **{c: float(est[c][f"a{k}"]) for c in COUNTINGS}} for k in (1, 2, 3)]
    return pd.DataFrame(rows).set_index("approach")


def own_ladder(sweeps: Mapping[str, pd.DataFrame], porian_points: pd.DataFrame, *, window: int | None = 5) -> OwnLadder:
    """:class:`OwnLadder` of the book's sweeps (``sweeps``: results file -> tidy results, see :data:`SWEEPS`)."""
    counted = {
        (label, counting): final_runs(sweeps[name], counting, checkpoints=ckpt)
        for label, name, ckpt in SWEEPS
        for counting in COUNTINGS
    }
    rows = []
    for (label, counting), runs in counted.items():
        for w in (5, 7):
            minima = recounted_minima(runs, window=w)
            used = int((~minima["at_edge"]).sum())
            a = f"{fit_recounted(runs, window=w).a:.3f}" if used >= 3 else "no fit"
            rows.append({"sweep": label, "counting": COUNTINGS[counting], "window": w, "a": a,
                         "budgets with an interior vertex": f"{used} of {len(minima)}"})  # fmt: skip
    recounted = pd.DataFrame(rows).set_index(["sweep", "counting", "window"])
    est = {k: point_estimates(counted[pair], window=window) for k, pair in RUNGS.items()}
    values: dict[str, object] = {f"{k}_{a}": float(e[a]) for k, e in est.items() for a in ("a1", "a2", "a3")}
    # Like for like with kaplan_isoflop: the long-warmup sweep on the short one's budgets and sizes.
    v1_head, v2_head = counted[RUNGS["v1_head"]], counted[RUNGS["v2_head"]]
    same = v2_head[(v2_head["group"] <= v1_head["group"].max()) & v2_head["N"].isin(v1_head["N"])]
    values["v2_same_a2"] = float(point_estimates(same, window=window)["a2"])
    # How large the rungs' shifts are against the noise: approach 2's jackknife standard error over
    # the corrected sweep's budgets (the Kaplan-way sweeps have three budgets, too few for their own).
    se = jackknife_se(leave_one_group_out(counted[RUNGS["corrected"]], window=window or 5)["a2"])
    values["corrected_jk_se2"] = se
    values["warmup_shift"] = values["v2_same_a2"] - values["v1_head_a2"]
    values["head_shift"] = values["v1_a2"] - values["v1_head_a2"]
    values["warmup_shift_se"] = values["warmup_shift"] / se
    values["head_shift_se"] = values["head_shift"] / se
    values["first_kaplan_a"] = fit_recounted(counted[("first IsoFLOP sweep", "kaplan")], window=window).a
    rw = {s.rung: s.a_paper for s in SETTINGS if s.ladder == "RefinedWeb"}
    ladder = pd.DataFrame(
        [
            {"rung": rung, "this book's runs": runs, "approach 1": est[k]["a1"], "approach 2": est[k]["a2"],
             "approach 3": est[k]["a3"], "Porian et al. (RefinedWeb)": float("nan") if r is None else rw[r]}
            for rung, k, runs, r in _LADDER_ROWS
        ]
    )  # fmt: skip
    # Kaplan's warmup against the runs near the optimum, per budget, in both Kaplan-way sweeps.
    warm_rows = []
    for name, df in (("short warmup", sweeps["kaplan_isoflop"]), ("Kaplan's warmup", sweeps["kaplan_isoflop_v2"])):
        kw = final_runs(df, "kaplan", checkpoints=True)
        warm = int(df["warmup_steps_used"].iloc[0])
        near = kw.loc[kw.groupby("group")["loss"].idxmin()]
        largest_steps = kw.loc[kw.groupby("group")["N"].idxmax(), "steps"].to_numpy()
        for (_, r), big in zip(near.iterrows(), largest_steps, strict=True):
            warm_rows.append(
                {
                    "sweep": name,
                    "budget": f"{r['group']:.0e}",
                    "lowest-loss N": f"{r['N']:,.0f}",
                    "its steps": f"{r['steps']:,}",
                    "warmup steps": f"{warm:,}",
                    "warmup share": f"{min(warm / r['steps'], 1):.0%}",
                    "largest N's steps": f"{big:,}",
                }
            )
        tag = "v2" if "Kaplan" in name else "v1"
        shares = [min(warm / st, 1.0) for st in near["steps"]]
        values |= {f"warm_{tag}": warm, f"share_{tag}_lo": 100 * min(shares), f"share_{tag}_hi": 100 * max(shares)}
        values[f"budgets_{tag}"] = kw["group"].nunique()
    por_k = select(porian_points, SETTINGS[0])
    por_best = por_k.loc[por_k.groupby("flops")["loss"].idxmin()]
    por_share = 3000 * 2**19 / por_best["tokens"]
    values |= {"por_share_lo": 100 * float(por_share.min()), "por_share_hi": 100 * float(por_share.max())}
    # Why recounting is not enough: optimiser steps of each budget's best and largest run.
    fin = final_train(sweeps["isoflop"])
    best_runs = fin.loc[fin.groupby("budget_flops")["loss"].idxmin()]
    largest = fin.loc[fin.groupby("budget_flops")["params_nonembedding"].idxmax()]
    values |= {"own_best_steps_lo": int(best_runs["step"].min()), "own_best_steps_hi": int(best_runs["step"].max())}
    values |= {"own_largest_steps_lo": int(largest["step"].min()), "own_largest_steps_hi": int(largest["step"].max())}
    return OwnLadder(recounted=recounted, ladder=ladder, warm=pd.DataFrame(warm_rows), values=values)
