"""The v3 fitting sweep's points, the committed prediction file, and the target sweep written from it.

The plan (``data/plans/predictable.toml``, with its amendments) fixes each step:

* :func:`branch_points`: the final evaluation of every cooldown branch, with its budget (or, for
  a branch between two budgets, the budget below it as its cluster: amendment 3);
* :func:`make_prediction`: approaches 1-3 and the frontier at the target budget, each with an 80%
  cluster-bootstrap interval and a jackknife standard error (:func:`predict.predict_target`),
  plus the laws' parameters and what they were made from;
* :func:`target_sweep_toml`: the target sweep, 5 rungs around the predicted N_opt, which refuses
  to start until the prediction file is committed (``requires_prediction``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scaling_utils.analysis.design import LADDER, N_CTX
from scaling_utils.analysis.predict import predict_target
from scaling_utils.compute import flops_per_token_with_head
from scaling_utils.fitting import fit_chinchilla, fit_power_law, fit_saturating_power_law, isoflop_minima

__all__ = [
    "Progress",
    "branch_points",
    "fitting_points",
    "ladder_profile",
    "load_branch_points",
    "make_prediction",
    "prediction_summary",
    "prediction_view",
    "progress",
    "target_rungs",
    "target_sweep_toml",
]


def _rung_n(rung: tuple[int, int, int]) -> float:
    """Parameters with the head of a ladder rung (the count the plan's N uses)."""
    from scaling_utils.compute import params_with_head

    n_layer, d_model, _ = rung
    return float(params_with_head(n_layer, d_model, 4 * d_model))


def ladder_profile(budget: float) -> tuple[np.ndarray, np.ndarray]:
    """``(N, D)`` of every ladder rung trained at ``budget`` FLOPs (D = C / its FLOPs per token)."""
    n = np.array([_rung_n(r) for r in LADDER])
    d = np.array([budget / flops_per_token_with_head(r[0], r[1], N_CTX, 4 * r[1]) for r in LADDER])
    return n, d


def branch_points(df: pd.DataFrame, plan: dict) -> pd.DataFrame:
    """One row per cooldown branch: its last evaluation on the plan's held-out distribution.

    Columns ``run_id, trunk_id, seed, n_layer, d_model, N`` (with the head), ``N_ne, N_total, D,
    C`` (FLOPs with head and attention), ``loss, epochs, at_budget`` (within the plan's tolerance
    of a fitting budget) and ``budget`` (that budget, or for a branch between budgets the
    budget below it, its cluster).
    """
    need = {
        "phase",
        "run_id",
        "trunk_id",
        "step",
        "distribution",
        "loss",
        "tokens",
        "flops_with_head",
        "params_with_head",
        "params_nonembedding",
        "params_total",
        "seed",
        "epochs",
    }
    if missing := sorted(need - set(df.columns)):
        raise ValueError(f"the sweep's rows lack columns {missing}: not an engine-v3 sweep with cooldown branches")
    rows = df[(df["phase"] == "cooldown") & (df["distribution"] == plan["corpus"]["eval_dist"])]
    if rows.empty:
        raise ValueError(f"no cooldown rows on {plan['corpus']['eval_dist']!r}")
    last = rows.sort_values("step").groupby("run_id", as_index=False).tail(1)
    out = pd.DataFrame(
        {
            "run_id": last["run_id"],
            "trunk_id": last["trunk_id"],
            "seed": last["seed"].astype(int),
            "n_layer": last["n_layer"],
            "d_model": last["d_model"],
            "N": last["params_with_head"].astype(float),
            "N_ne": last["params_nonembedding"].astype(float),
            "N_total": last["params_total"].astype(float),
            "D": last["tokens"].astype(float),
            "C": last["flops_with_head"].astype(float),
            "loss": last["loss"].astype(float),
            "epochs": last["epochs"].astype(float),
        }
    )
    if not np.isfinite(out["loss"]).all():
        bad = out.loc[~np.isfinite(out["loss"]), "run_id"].tolist()
        raise ValueError(f"branches with a non-finite loss: {bad}")
    budgets = np.asarray(plan["fitting"]["budgets"], dtype=float)
    tol = plan["counting"]["budget_rel_tolerance"]
    rel = np.abs(out["C"].to_numpy()[:, None] / budgets[None, :] - 1)
    out["at_budget"] = (rel <= tol).any(axis=1)
    below = np.array(
        [budgets[budgets <= c * (1 + tol)].max() if (budgets <= c * (1 + tol)).any() else np.nan for c in out["C"]]
    )
    out["budget"] = np.where(out["at_budget"], budgets[rel.argmin(axis=1)], below)
    if out["budget"].isna().any():
        raise ValueError(f"branches below the smallest budget: {out.loc[out['budget'].isna(), 'run_id'].tolist()}")
    return out.sort_values(["budget", "N", "D", "seed"]).reset_index(drop=True)


def make_prediction(points: pd.DataFrame, plan: dict, *, resamples: int | None = None) -> dict:
    """The prediction at the plan's target budget, as committed to ``predictable_prediction.json``."""
    target = float(plan["target"]["budget"])
    resamples = plan["prediction"]["resamples"] if resamples is None else resamples
    pred = predict_target(
        points,
        target,
        profile=ladder_profile,
        resamples=resamples,
        level=plan["prediction"]["interval"],
        seed=plan["prediction"]["seed"],
    )
    laws = _laws(points, target)
    return {
        "target_flops": target,
        "interval_level": plan["prediction"]["interval"],
        "primary": {
            "loss": plan["prediction"]["primary_after_amendment"]["loss"],
            "n_opt": plan["prediction"]["primary_after_amendment"]["n_opt"],
        },
        "point": pred.point,
        "interval": {k: list(v) for k, v in pred.interval.items()},
        "jackknife_se": pred.jackknife_se,
        "resamples": {"used": pred.resamples_used, "dropped": pred.resamples_dropped},
        "budgets": list(pred.budgets),
        "laws": laws,
        "n_points": {"branches": len(points), "at_budgets": int(points["at_budget"].sum())},
    }


def _laws(points: pd.DataFrame, target: float) -> dict:
    """The fitted laws behind the point prediction (parameters, for the record and the figure)."""
    at = points[points["at_budget"]]
    means = at.groupby(["budget", "N"], as_index=False).agg(D=("D", "mean"), loss=("loss", "mean"))
    minima = isoflop_minima(means["N"], means["budget"], means["loss"])
    inner = minima[~minima["at_edge"]]
    n_law = fit_power_law(inner["C"], inner["N_opt"])
    d_law = fit_power_law(inner["C"], inner["D_opt"])
    fr = fit_saturating_power_law(inner["C"], inner["loss_opt"])
    fit3 = fit_chinchilla(
        points["N"], points["D"], points["loss"] * (1 + 1e-12 * points.groupby(["N", "D", "loss"]).cumcount())
    )
    law = fit3.law
    return {
        "approach2_n_opt": {"form": "N_opt = G C^a", "G": n_law.coefficient, "a": n_law.exponent},
        "approach2_d_opt": {"form": "D_opt = G C^b", "G": d_law.coefficient, "b": d_law.exponent},
        "frontier": {
            "form": "L_min = E + A C^-alpha",
            "E": fr.params["E"],
            "A": fr.params["A"],
            "alpha": fr.params["alpha"],
            "converged": bool(fr.converged),
        },
        "approach3": {
            "form": "L = E + A N^-alpha + B D^-beta",
            "E": law.E,
            "A": law.A,
            "B": law.B,
            "alpha": law.alpha,
            "beta": law.beta,
            "converged": bool(fit3.converged),
            "message": fit3.message,
        },
        "vertices": inner[["C", "N_opt", "D_opt", "loss_opt"]].to_dict(orient="list"),
        "edge_budgets": minima.loc[minima["at_edge"], "C"].tolist(),
    }


def target_rungs(n_opt: float, k: int = 5) -> list[int]:
    """The ``k`` consecutive ladder rungs centred on the rung nearest ``n_opt`` (in log N).

    The rungs are about 1.45x apart, so the outer ones sit near the plan's 1.5x and 2.25x.
    """
    logs = np.log([_rung_n(r) for r in LADDER])
    centre = int(np.argmin(np.abs(logs - math.log(n_opt))))
    lo = min(max(centre - k // 2, 0), len(LADDER) - k)
    return list(range(lo, lo + k))


def target_sweep_toml(prediction: dict, plan: dict, rule, rule_source: str) -> str:
    """The text of ``experiments/v3/predictable_target.toml`` (one WSD trunk with one branch per size)."""
    target = float(plan["target"]["budget"])
    n_opt = float(prediction["point"]["n_opt2"])
    rungs = target_rungs(n_opt)
    centre = rungs[len(rungs) // 2]
    lr, batch = float(f"{rule.lr(target):.4g}"), rule.batch(target, N_CTX)
    lines = [
        "# Predictable scaling, step 4: the target budget (written by scaling_utils.analysis.predictable from the",
        f"# committed prediction {plan['target']['prediction_file']} and the rule {rule_source}; do not edit by hand).",
        f"# Predicted N_opt {n_opt:.4g} (approach 2); 5 rungs around it, 2 seeds at the centre.",
        f'sweep = "{plan["target"]["sweep"]}"',
        f'train_dist = "{plan["corpus"]["train_dist"]}"',
        f'eval_dists = ["{plan["corpus"]["eval_dist"]}"]',
        f'requires_prediction = "{plan["target"]["prediction_file"]}"',
        "",
        "[defaults]",
        f"n_ctx = {N_CTX}",
        'flops_count = "head_attn"\nsampling = "permute"\nschedule = "wsd"',
        "beta1 = 0.9\nbeta2 = 0.99\nweight_decay = 0.1\ngrad_clip = 1.0",
        'warmup_steps = 20\nwarmup_tokens = "params"\nwarmup_frac = 0.05',
        f"eval_sequences = {plan['corpus']['eval_windows']}",
        "n_checkpoints = 3",
        f"cooldown_frac = {plan['fitting']['cooldown']['frac']}",
        f"lr = {lr}",
        f"batch_size = {batch}",
    ]
    for r in rungs:
        n_layer, d_model, n_head = LADDER[r]
        tokens = int(target / flops_per_token_with_head(n_layer, d_model, N_CTX, 4 * d_model))
        seeds = list(range(plan["target"]["seeds_at_optimum"])) if r == centre else [0]
        lines += [
            "",
            f"[[grid]]  # rung {r}, N {_rung_n(LADDER[r]):.4g}",
            f"shape = [[{n_layer}, {d_model}, {n_head}]]",
            f"branch_tokens = [{tokens}]",
            f"seed = {seeds}",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m scaling_utils.analysis.predictable [PLAN] [RESULTS]``: write the prediction and the target sweep.

    Refuses to overwrite a committed prediction: the prediction is made once, before its runs.
    """
    import json
    import subprocess
    import sys
    from pathlib import Path

    from scaling_utils._paths import repo_root, sha256_file
    from scaling_utils.analysis.hyperparams import HyperparameterRule
    from scaling_utils.analysis.preregistration import load_plan

    args = sys.argv[1:] if argv is None else argv
    plan_path = Path(args[0] if args else "data/plans/predictable.toml")
    results = Path(args[1] if len(args) > 1 else "data/experiments")
    plan = load_plan(plan_path)
    out = Path(plan["target"]["prediction_file"])
    root = repo_root()

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=root, capture_output=True, text=True, check=False).stdout.strip()

    if out.exists() and git("log", "-1", "--format=%H", "--", out.as_posix()):
        print(f"{out} is committed: the prediction is made once, before its runs; not overwritten", file=sys.stderr)
        return 1
    csv = results / f"{plan['fitting']['sweep']}.csv"
    if not csv.is_file():
        print(f"{csv} is absent: assemble the fitting sweep first", file=sys.stderr)
        return 1
    points = branch_points(pd.read_csv(csv), plan)
    if (over := points[points["epochs"] > plan["corpus"]["max_epochs"]]).shape[0]:
        print(f"branches over {plan['corpus']['max_epochs']} epoch: {over['run_id'].tolist()}", file=sys.stderr)
        return 1
    record = make_prediction(points, plan)
    dirty = bool(git("status", "--porcelain", "--", "scaling_utils"))
    record["made_by"] = "python -m scaling_utils.analysis.predictable"
    record["code_commit"] = git("rev-parse", "HEAD") + ("+dirty" if dirty else "")
    record["inputs"] = {csv.as_posix(): sha256_file(csv), plan_path.as_posix(): sha256_file(plan_path)}
    out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    raw = json.loads((results / "hp_grid_rule.json").read_text())
    intervals = tuple(raw["lr_exp_interval"]), tuple(raw["batch_exp_interval"])
    rule = HyperparameterRule(raw["lr_coef"], raw["lr_exp"], raw["batch_coef"], raw["batch_exp"], *intervals, (), 0)
    target_toml = Path("experiments/v3") / f"{plan['target']['sweep']}.toml"
    target_toml.write_text(target_sweep_toml(record, plan, rule, (results / "hp_grid_rule.json").as_posix()))
    p = record["point"]
    print(f"wrote {out} and {target_toml}: N_opt {p['n_opt2']:.4g} (approach 2), lowest loss {p['loss_frontier']:.4f}")
    return 0


def load_branch_points(folder, plan: dict) -> pd.DataFrame:
    """:func:`branch_points` of the fitting sweep's finished run files (the sweep need not be assembled)."""
    import json
    from pathlib import Path

    files = sorted((Path(folder) / "runs" / plan["fitting"]["sweep"]).glob("*.json"))
    rows = [r for f in files for r in json.loads(f.read_text())["rows"]]
    if not rows:
        return pd.DataFrame(columns=["run_id", "N", "D", "C", "loss", "seed", "budget", "at_budget", "epochs"])
    return branch_points(pd.DataFrame(rows), plan)


def fitting_points(folder, plan: dict) -> pd.DataFrame:
    """:func:`branch_points` of the assembled fitting sweep (``<folder>/<sweep>.csv``), as the prediction read them.

    The run files hold more digits than the assembled file; analyses of the finished sweep read
    the assembled file, so that they see the numbers the committed prediction was made from.
    """
    from pathlib import Path

    csv = Path(folder) / f"{plan['fitting']['sweep']}.csv"
    if not csv.is_file():
        raise FileNotFoundError(f"{csv} is absent: assemble the fitting sweep first")
    return branch_points(pd.read_csv(csv), plan)


def prediction_view(record: dict, n: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the prediction figure draws, from the committed record alone (no refit).

    Returns the fitting budgets' approach-2 vertices (``C, N_opt, loss_opt``) and the fitted laws
    on a grid of compute from the smallest fitting budget to the target (``C, loss_frontier,
    N_opt``): the frontier ``E + A C^-alpha`` and approach 2's ``N_opt = G C^a``.
    """
    laws = record["laws"]
    v = laws["vertices"]
    vertices = pd.DataFrame({"C": v["C"], "N_opt": v["N_opt"], "loss_opt": v["loss_opt"]})
    c = np.geomspace(min(record["budgets"]), record["target_flops"], n)
    fr, n2 = laws["frontier"], laws["approach2_n_opt"]
    curves = pd.DataFrame(
        {"C": c, "loss_frontier": fr["E"] + fr["A"] * c ** -fr["alpha"], "N_opt": n2["G"] * c ** n2["a"]}
    )
    return vertices, curves


class Progress:
    """Where "Predictable scaling" stands: the grid's rule, the fitting sweep so far, prediction and target.

    ``summary()`` holds the numbers the chapter glues.
    """

    def __init__(self, plan: dict, rule: dict, points: pd.DataFrame, n_trunk_seeds: int, n_done: int,
                 prediction: dict | None, n_target: int):  # fmt: skip
        self.plan, self.rule, self.points = plan, rule, points
        self.n_trunk_seeds, self.n_done, self.prediction, self.n_target = n_trunk_seeds, n_done, prediction, n_target

    def summary(self) -> dict[str, float | str]:
        """The numbers the chapter glues: the rule against DeepSeek's, the plan, the sweeps' progress."""
        r, plan = self.rule, self.plan
        fit = plan["fitting"]
        out: dict[str, float | str] = {
            "lr_exp": r["lr_exp"], "lr_exp_lo": r["lr_exp_interval"][0], "lr_exp_hi": r["lr_exp_interval"][1],
            "batch_exp": r["batch_exp"], "batch_exp_lo": r["batch_exp_interval"][0],
            "batch_exp_hi": r["batch_exp_interval"][1], "ds_lr_exp": r["deepseek"]["lr_exp"],
            "ds_batch_exp": r["deepseek"]["batch_exp"],
            "n_edge_optima": sum(not o["interior"] for o in r["optima"]),
            "fit_budget_lo": min(fit["budgets"]), "fit_budget_hi": max(fit["budgets"]),
            "n_fit_budgets": len(fit["budgets"]), "target": plan["target"]["budget"],
            "target_ratio": plan["target"]["budget"] / max(fit["budgets"]),
            "n_trunk_seeds": self.n_trunk_seeds, "n_done": self.n_done,
            "n_branches_done": len(self.points), "n_target_runs": self.n_target,
            "n_amendments": len(plan["amendment"]) - 1,
            "n_amendments_after": sum(bool(a["after_results"]) for a in plan["amendment"]),
            "prediction_made": "yes" if self.prediction else "not yet",
        }  # fmt: skip
        if len(self.points):
            out["max_epochs"] = float(self.points["epochs"].max())
            spread = self.points.groupby(["N", "D"])["loss"].agg(["max", "min", "size"])
            spread = spread[spread["size"] > 1]
            out["seed_spread_max"] = float((spread["max"] - spread["min"]).max()) if len(spread) else float("nan")
        if self.prediction:
            out |= prediction_summary(self.prediction)
        return out


def prediction_summary(record: dict) -> dict[str, float | str]:
    """The committed prediction's numbers the chapter glues (``pred_*``): each approach's point and interval.

    ``pred_loss`` and ``pred_n`` are the plan's primary predictions (the frontier's lowest loss and
    approach 2's N_opt); ``pred_code`` is the short commit of the code that made them.
    """
    p, iv = record["point"], record["interval"]
    out: dict[str, float | str] = {
        "pred_code": record.get("code_commit", "")[:10],
        "pred_resamples": record["resamples"]["used"],
        "pred_dropped": record["resamples"]["dropped"],
        "pred_n_budgets": len(record["budgets"]),
    }
    names = {"loss": "loss_frontier", "loss3": "loss3", "n": "n_opt2", "n1": "n_opt1", "n3": "n_opt3",
             "d": "d_opt2", "a2": "a2", "a3": "a3"}  # fmt: skip
    for short, key in names.items():
        if key in p:
            out[f"pred_{short}"] = float(p[key])
            if key in iv:
                out[f"pred_{short}_lo"], out[f"pred_{short}_hi"] = (float(x) for x in iv[key])
            if key in record.get("jackknife_se", {}):
                out[f"pred_{short}_se"] = float(record["jackknife_se"][key])
    return out


def progress(plan: dict, folder) -> Progress:
    """The chapter's state from committed files: the rule, the finished fitting runs, the prediction, the target."""
    import json
    import tomllib
    from pathlib import Path

    from scaling_utils._paths import repo_root

    folder = Path(folder)
    rule = json.loads((folder / "hp_grid_rule.json").read_text())
    points = load_branch_points(folder, plan)
    fit_toml = repo_root() / "experiments" / "v3" / f"{plan['fitting']['sweep']}.toml"
    n_total = sum(len(g["seed"]) for g in tomllib.loads(fit_toml.read_text())["grid"])
    n_done = len(list((folder / "runs" / plan["fitting"]["sweep"]).glob("*.json")))
    pred_file = repo_root() / plan["target"]["prediction_file"]
    prediction = json.loads(pred_file.read_text()) if pred_file.is_file() else None
    n_target = len(list((folder / "runs" / plan["target"]["sweep"]).glob("*.json")))
    return Progress(plan, rule, points, n_total, n_done, prediction, n_target)


if __name__ == "__main__":
    raise SystemExit(main())
