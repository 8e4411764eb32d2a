"""After the prediction: the checks that test it against runs it did not see.

* :func:`cosine_check`: each full cosine run of the check sweep beside the cooldown branch of the
  fitting sweep it matches; :func:`cosine_summary` its numbers, with the seed noise beside them;
* :func:`target_points` and :func:`observed_target`: the target sweep's branches, their observed
  vertex with a seed bootstrap, and the plan's criteria applied to the committed prediction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling_utils.analysis.predictable import branch_points
from scaling_utils.fitting import isoflop_minima

__all__ = [
    "PRIMARY_KEYS",
    "backtest_summary",
    "cosine_check",
    "cosine_summary",
    "observed_target",
    "seed_spread",
    "t1_summary",
    "target_curve",
    "target_points",
]


def cosine_check(cosine: pd.DataFrame, points: pd.DataFrame, plan: dict) -> pd.DataFrame:
    """Each full cosine run of the check sweep beside the cooldown branch it matches (same shape, seed, tokens).

    ``cosine`` holds the check sweep's rows (run files or assembled), ``points`` the fitting
    sweep's :func:`branch_points`. Returns one row per cosine run: ``n_layer, d_model, N, D,
    budget, seed, cosine, branch`` (the final held-out losses), ``diff = branch - cosine`` and
    ``rel = diff / cosine``.

    Raises
    ------
    ValueError
        When a cosine run has no branch of the same shape and seed within 2% of its tokens.
    """
    rows = cosine[cosine["distribution"] == plan["corpus"]["eval_dist"]]
    last = rows.sort_values("step").groupby("run_id", as_index=False).tail(1)
    out = []
    for r in last.itertuples():
        m = points[(points["n_layer"] == r.n_layer) & (points["d_model"] == r.d_model) & (points["seed"] == r.seed)
                   & (np.abs(points["D"] / r.tokens - 1) <= 0.02)]  # fmt: skip
        if m.empty:
            raise ValueError(f"cosine run {r.run_id}: no branch of shape L{r.n_layer}-d{r.d_model}, seed {r.seed} "
                             f"within 2% of {r.tokens:.0f} tokens")  # fmt: skip
        b = m.iloc[0]
        out.append({"n_layer": r.n_layer, "d_model": r.d_model, "N": b["N"], "D": float(r.tokens),
                    "budget": b["budget"], "seed": int(r.seed), "cosine": float(r.loss),
                    "branch": float(b["loss"])})  # fmt: skip
    t = pd.DataFrame(out).sort_values(["budget", "seed"]).reset_index(drop=True)
    t["diff"] = t["branch"] - t["cosine"]
    t["rel"] = t["diff"] / t["cosine"]
    return t


def cosine_summary(check: pd.DataFrame) -> dict[str, float]:
    """The cosine check's numbers: how far the branches end below the cosine runs, and the seed noise beside it.

    ``cos_below_pct`` and ``cos_below`` are the mean of ``cosine - branch`` over the points (seed
    means as the unit), in percent of the cosine loss and in nats; ``cos_below_se`` the standard
    error of that mean over the points; ``cos_seed_noise`` the mean difference between the two
    seeds of a point (in either schedule), the yardstick beside it.
    """
    per_point = check.groupby(["N", "D"])[["diff", "rel"]].mean()
    spread = pd.concat([check.groupby(["N", "D"])[c].agg(lambda v: v.max() - v.min()) for c in ("cosine", "branch")])
    n = len(per_point)
    return {
        "cos_points": n, "cos_runs": len(check),
        "cos_below_pct": float(-100 * per_point["rel"].mean()), "cos_below": float(-per_point["diff"].mean()),
        "cos_below_se": float(per_point["diff"].std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
        "cos_branch_lower_runs": int((check["diff"] < 0).sum()),
        "cos_seed_noise": float(spread.mean()),
    }  # fmt: skip


def backtest_summary(v3: pd.DataFrame, kaplan: pd.DataFrame, porian: pd.DataFrame | None = None) -> dict[str, float]:
    """The chapter's backtest numbers, in percent: the v3 sweep's largest budget and Kaplan's laws' last decade.

    ``v3`` is :func:`~scaling_utils.analysis.backtest.backtest_v3`'s table, ``kaplan``
    :func:`~scaling_utils.analysis.backtest.backtest_kaplan`'s; with ``porian`` (the table of
    Porian et al.'s settings) also the mean over its settings (``bt_porian_*``).
    """
    bt = v3.set_index(["law", "predicts"])["abs. rel. error"]
    kb = kaplan.set_index("law")["abs. rel. error"]
    out = {}
    if porian is not None:
        pm = porian.groupby(["law", "predicts"])["abs. rel. error"].mean()
        out = {"bt_porian_frontier": float(100 * pm[("frontier E + k C^-gamma", "lowest loss")]),
               "bt_porian_loss3": float(100 * pm[("approach 3", "lowest loss")]),
               "bt_porian_n2": float(100 * pm[("approach 2", "N_opt")]),
               "bt_porian_n3": float(100 * pm[("approach 3", "N_opt")])}  # fmt: skip
    return out | {
        "bt_v3_frontier": float(100 * bt[("frontier E + k C^-gamma", "lowest loss")]),
        "bt_v3_n2": float(100 * bt[("approach 2", "N_opt")]),
        "bt_v3_n3": float(100 * bt[("approach 3", "N_opt")]),
        "bt_kaplan_n": float(100 * kb["Kaplan L(N)"]),
        "bt_kaplan_d": float(100 * kb["Kaplan L(D)"]),
        "bt_kaplan_c": float(100 * kb["Kaplan L(C_min)"]),
    }


def seed_spread(points: pd.DataFrame, budget: float, stat: str = "max") -> float:
    """The difference between seeds of one (N, D) point at ``budget``: its largest (``stat="max"``) or median.

    Raises
    ------
    ValueError
        When no point at ``budget`` has two seeds, or ``stat`` is neither ``"max"`` nor ``"median"``.
    """
    if stat not in ("max", "median"):
        raise ValueError(f"stat must be 'max' or 'median', got {stat!r}")
    at = points[points["at_budget"] & np.isclose(points["budget"], budget)]
    g = at.groupby(["N", "D"])["loss"].agg(["max", "min", "size"])
    g = g[g["size"] >= 2]
    if g.empty:
        raise ValueError(f"no point at the budget {budget:.3g} has two seeds")
    d = g["max"] - g["min"]
    return float(d.max() if stat == "max" else d.median())


def t1_summary(countings: pd.DataFrame, plan: dict) -> dict[str, float]:
    """T1 on the v3 sweep for the chapter: ``t1_<counting>_<approach>`` with ``_lo``, ``_hi`` and ``_w`` (width).

    ``countings`` is :func:`~scaling_utils.analysis.countings.countings`' table; ``approach`` is
    ``a1``, ``a2``, ``a3`` or ``spread``. Also the plan's criteria (``crit_agree``, ``crit_width``),
    the resamples used, and ``t1_head_miss_se``: by how many jackknife standard errors the
    largest difference in the plan's counting exceeds the agreement the plan asks.
    """
    out: dict[str, float] = {}
    for r in countings.itertuples():
        key = f"t1_{r.counting}_{r.approach}"
        out |= {key: float(r.a), f"{key}_lo": float(r.lo), f"{key}_hi": float(r.hi), f"{key}_w": float(r.hi - r.lo)}
    crit = plan["criteria"]
    head = countings[(countings["counting"] == "head") & (countings["approach"] == "spread")].iloc[0]
    out |= {
        "t1_resamples": int(countings["resamples"].iloc[0]),
        "crit_agree": float(crit["approaches_agree_in_a"]), "crit_width": float(crit["interval_width_a_max"]),
        "t1_head_miss_se": float((head["a"] - crit["approaches_agree_in_a"]) / head["jackknife_se"]),
    }  # fmt: skip
    return out


PRIMARY_KEYS = {"approach2_frontier": "loss_frontier", "approach3": "loss3", "approach1": "n_opt1",
                "approach2": "n_opt2"}  # fmt: skip
"""The record's primary approaches (``primary.loss``, ``primary.n_opt``) -> their keys in ``point``."""


def target_points(df: pd.DataFrame, plan: dict) -> pd.DataFrame:
    """:func:`branch_points` of the target sweep's rows: each size's branch at the target budget."""
    at_target = {**plan, "fitting": {**plan["fitting"], "budgets": [float(plan["target"]["budget"])]}}
    return branch_points(df, at_target)


def _parabola(means: pd.DataFrame, target: float) -> pd.Series:
    """The plan's parabola in ``ln N`` through every size's seed mean at the target (isoflop_minima's row)."""
    return isoflop_minima(means["N"], np.full(len(means), target), means["loss"], window=len(means)).iloc[0]


def _residual_max(at: pd.DataFrame, target: float) -> float:
    """The largest distance of a size's seed mean from the plan's parabola through them (nats)."""
    means = at.groupby("N", as_index=False)["loss"].mean()
    v, ln = _parabola(means, target), np.log(means["N"].to_numpy(float))
    return float(np.abs(means["loss"].to_numpy(float) - (v["p0"] + v["p1"] * ln + v["p2"] * ln**2)).max())


def target_curve(points: pd.DataFrame, plan: dict, n_grid: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The target budget's IsoFLOP profile: each size's seed mean, and the parabola through them.

    The same parabola in ``ln N`` as :func:`observed_target`'s vertex (every target size, seed
    means). Returns ``(means, curve)``: ``means`` has ``N, loss, n_seeds``; ``curve`` has ``N,
    loss`` on ``n_grid`` sizes spanning those trained.

    Raises
    ------
    ValueError
        With fewer than 3 sizes at the target.
    """
    at = points[points["at_budget"]]
    if at["N"].nunique() < 3:
        raise ValueError(f"the target's profile needs at least 3 sizes, got {at['N'].nunique()}")
    means = at.groupby("N", as_index=False).agg(loss=("loss", "mean"), n_seeds=("loss", "size"))
    v = _parabola(means, float(plan["target"]["budget"]))
    ln = np.linspace(np.log(means["N"].min()), np.log(means["N"].max()), n_grid)
    curve = pd.DataFrame({"N": np.exp(ln), "loss": v["p0"] + v["p1"] * ln + v["p2"] * ln**2})
    return means, curve


def observed_target(points: pd.DataFrame, record: dict, plan: dict, *, resamples: int = 2000,
                    seed: int = 0) -> dict[str, float | bool]:  # fmt: skip
    """The observed lowest loss and N_opt at the target budget, against the committed prediction.

    As the plan fixes it: the vertex of a parabola in ``ln N`` through the seed-mean losses of the
    target sizes, and a seed bootstrap of it (each size's seeds drawn with replacement; a size
    with one seed keeps it). Then the plan's criteria: the observed lowest loss inside the
    primary prediction's interval and within ``loss_rel_error_max`` of it; the observed ``N_opt``
    within a factor ``n_opt_factor_max`` of the predicted one. The loss error is also given in
    units of the interval: the error over the interval's half-width on the side it falls.
    ``obs_sizes_seeded`` counts the sizes with two seeds or more (the only ones the bootstrap
    varies) and ``obs_seed_spread`` is the largest difference between seeds of one size;
    ``obs_best_loss`` and ``obs_best_n`` are the lowest single run, and ``obs_resid_max`` the
    largest distance of a size's seed mean from the parabola (what limits the vertex when most
    sizes have one seed).

    Raises
    ------
    ValueError
        With fewer than 3 sizes, or when the vertex falls outside the sizes trained.
    """
    target = float(plan["target"]["budget"])
    at = points[points["at_budget"]]
    if at["N"].nunique() < 3:
        raise ValueError(f"the observed vertex needs at least 3 sizes at the target, got {at['N'].nunique()}")

    def vertex(p: pd.DataFrame) -> tuple[float, float, bool]:
        v = _parabola(p.groupby("N", as_index=False)["loss"].mean(), target)
        return float(v["N_opt"]), float(v["loss_opt"]), bool(v["at_edge"])

    n_obs, loss_obs, edge = vertex(at)
    if edge:
        raise ValueError(f"the observed vertex at the target lies outside the sizes trained ({n_obs:.3g})")
    rng = np.random.default_rng(seed)
    cells = [g for _, g in at.groupby("N")]
    draws = []
    for _ in range(resamples):
        sample = pd.concat([g.iloc[rng.integers(0, len(g), len(g))] for g in cells])
        draws.append(vertex(sample)[:2])
    draws = np.array(draws)
    q = (1 - record["interval_level"]) / 2
    p, iv, crit = record["point"], record["interval"], plan["criteria"]
    try:
        key_loss, key_n = PRIMARY_KEYS[record["primary"]["loss"]], PRIMARY_KEYS[record["primary"]["n_opt"]]
    except KeyError as err:
        raise ValueError(f"the record's primary approach {err} is not one of {sorted(PRIMARY_KEYS)}") from None
    pred_loss, (lo, hi), pred_n = p[key_loss], iv[key_loss], p[key_n]
    half = (hi - pred_loss) if loss_obs >= pred_loss else (pred_loss - lo)
    out: dict[str, float | bool] = {
        "obs_loss": loss_obs, "obs_loss_lo": float(np.quantile(draws[:, 1], q)),
        "obs_loss_hi": float(np.quantile(draws[:, 1], 1 - q)),
        "obs_n": n_obs, "obs_n_lo": float(np.quantile(draws[:, 0], q)),
        "obs_n_hi": float(np.quantile(draws[:, 0], 1 - q)),
        "obs_sizes": int(at["N"].nunique()), "obs_runs": len(at),
        "obs_loss_err": (loss_obs - pred_loss) / pred_loss, "obs_loss_err_units": (loss_obs - pred_loss) / half,
        "obs_loss_inside": bool(lo <= loss_obs <= hi),
        "obs_n_inside": bool(iv[key_n][0] <= n_obs <= iv[key_n][1]) if key_n in iv else False,
        "obs_n_factor": max(pred_n / n_obs, n_obs / pred_n),
        "obs_loss3_err": (loss_obs - p["loss3"]) / p["loss3"] if "loss3" in p else float("nan"),
        "obs_n3_factor": max(p["n_opt3"] / n_obs, n_obs / p["n_opt3"]) if "n_opt3" in p else float("nan"),
        "obs_sizes_seeded": int(sum(len(g) >= 2 for g in cells)),
        "obs_best_loss": float(at["loss"].min()), "obs_best_n": float(at.loc[at["loss"].idxmin(), "N"]),
        "obs_resid_max": _residual_max(at, target),
        "obs_seed_spread": max((float(g["loss"].max() - g["loss"].min()) for g in cells if len(g) >= 2),
                               default=float("nan")),
    }  # fmt: skip
    out["obs_pass_loss"] = bool(out["obs_loss_inside"]) and abs(out["obs_loss_err"]) <= crit["loss_rel_error_max"]
    out["obs_pass_n"] = out["obs_n_factor"] <= crit["n_opt_factor_max"]
    return out
