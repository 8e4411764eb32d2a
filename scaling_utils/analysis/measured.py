"""Analyses of the book's own training runs (``data/experiments``), one function per artefact.

Each takes the tidy results of a sweep (:func:`scaling_utils.analysis.results.load_sweep_results`) and
returns a DataFrame or a fit; :mod:`scaling_utils.report.figures.chinchilla` draws them. Losses are in nats
per byte, sizes are non-embedding parameters (Kaplan's N), compute is ``6 N D`` FLOPs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_utils.analysis.isoflop import final_runs
from scaling_utils.analysis.results import load_sweep_results
from scaling_utils.compute import pf_days
from scaling_utils.fitting import (
    ApproachFit,
    PowerLawFit,
    SaturatingPowerLawFit,
    envelope_minima,
    fit_chinchilla,
    fit_envelope,
    fit_power_law,
    fit_saturating_power_law,
    isoflop_minima,
)

__all__ = [
    "COUNTINGS",
    "SCHEDULE_NAMES",
    "Frontier",
    "approach_inputs",
    "compute_frontier",
    "early_stopped",
    "final",
    "final_train",
    "fit_recounted",
    "irreducible_loss",
    "leave_one_group_out",
    "point_estimates",
    "recount",
    "recounted_minima",
    "schedule_effects",
    "shape_effects",
    "sweep_summary",
    "transfer_table",
    "vertex_slopes",
]


def final(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of each run's last checkpoint (every distribution)."""
    if df.empty:
        raise ValueError("df must hold at least one row")
    last = df.groupby("run_id")["step"].transform("max")
    return df[df["step"] == last].reset_index(drop=True)


def final_train(df: pd.DataFrame) -> pd.DataFrame:
    """Each run's last checkpoint on the training distribution's held-out split, by size."""
    out = final(df)
    return out[out["distribution"] == "train"].sort_values("params_nonembedding").reset_index(drop=True)


ENGLISH_HELD_OUT: tuple[str, ...] = ("austen", "kjv", "web", "fortunes")
"""English prose that is not in the training mix: F1's primary panel."""


def loss_wide(size: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Losses of the size sweep with one column per distribution, one row per checkpoint.

    Returns the table (``run_id, step, params_nonembedding`` and a column per
    distribution), a mask of each run's last checkpoint, and the distributions.
    """
    wide = size.pivot_table(
        index=["run_id", "step", "params_nonembedding"], columns="distribution", values="loss"
    ).reset_index()
    dists = [c for c in wide.columns if c not in ("run_id", "step", "params_nonembedding")]
    last = wide.groupby("run_id")["step"].transform("max") == wide["step"]
    return wide, last, dists


def transfer_table(size: pd.DataFrame) -> pd.DataFrame:
    """F1's table: for each distribution, how its loss follows N and follows the training loss.

    Columns: ``exponent`` of ``L(N) = c N^k`` (final checkpoints), ``offset_small`` and
    ``offset_large`` (loss minus training loss, smallest and largest model), the line
    ``L_dist = slope * L_train + intercept`` fitted over every checkpoint of every run, and
    the RMS residual of that line for end-of-training and mid-training checkpoints
    separately (equal residuals: transfer depends only on the training loss).
    """
    wide, last, dists = loss_wide(size)
    if "train" not in wide:
        raise ValueError("size results must include the 'train' distribution")
    fin = wide[last].sort_values("params_nonembedding")
    rows = []
    for dist in dists:
        pl = fit_power_law(fin["params_nonembedding"], fin[dist])
        slope, intercept = np.polyfit(wide["train"], wide[dist], 1)
        resid = wide[dist] - (slope * wide["train"] + intercept)
        rows.append(
            {
                "distribution": dist,
                "exponent": pl.exponent,
                "exponent_se": pl.exponent_se,
                "final_loss_small": float(fin[dist].iloc[0]),
                "final_loss_large": float(fin[dist].iloc[-1]),
                "offset_small": float(fin[dist].iloc[0] - fin["train"].iloc[0]),
                "offset_large": float(fin[dist].iloc[-1] - fin["train"].iloc[-1]),
                "slope_vs_train": float(slope),
                "intercept": float(intercept),
                "rms_end": float(np.sqrt(np.mean(resid[last] ** 2))),
                "rms_mid": float(np.sqrt(np.mean(resid[~last] ** 2))),
            }
        )
    return pd.DataFrame(rows).set_index("distribution")


@dataclass(frozen=True)
class Frontier:
    """The compute-efficient frontier of a set of learning curves, and its power law in PF-days."""

    points: pd.DataFrame  # C (FLOPs), C_pfd, N_opt, loss_opt
    fit: PowerLawFit  # loss = coefficient * C_pfd ** exponent

    @property
    def C_c(self) -> float:
        """Kaplan's form ``L = (C_c / C)^alpha_C``: ``C_c = coefficient ** (1 / alpha_C)`` PF-days."""
        return float(self.fit.coefficient ** (1.0 / -self.fit.exponent))


def compute_frontier(size: pd.DataFrame, *, n_grid: int = 60) -> Frontier:
    """F2(b), left: the lowest training loss reached at each compute across the size sweep's curves."""
    tr = size[size["distribution"] == "train"]
    env = envelope_minima(tr["params_nonembedding"], tr["flops_6nd"], tr["loss"], run=tr["run_id"], n_grid=n_grid)
    env["C_pfd"] = np.asarray(pf_days(env["C"].to_numpy()))
    return Frontier(points=env, fit=fit_power_law(env["C_pfd"], env["loss_opt"]))


def early_stopped(data: pd.DataFrame) -> pd.DataFrame:
    """F2(b), middle: for each data limit, the best held-out loss over checkpoints (early stopping)."""
    tr = data[data["distribution"] == "train"]
    if "data_limit" not in tr or tr["data_limit"].isna().all():
        raise ValueError("data results need a data_limit column")
    best = tr.loc[tr.groupby("data_limit")["loss"].idxmin()]
    return best[["data_limit", "loss", "step", "tokens"]].rename(columns={"data_limit": "D"}).reset_index(drop=True)


def shape_effects(shape: pd.DataFrame, base: tuple[int, int, int, int] = (4, 64, 4, 256)) -> pd.DataFrame:
    """F3: final loss of each shape (mean and spread over seeds) and its increase over the best.

    Each shape is placed in the groups it belongs to: ``aspect`` (feed-forward ratio 4,
    varying layers and width), ``ff`` (the base's depth, varying feed-forward ratio) and
    ``head`` (the base's depth and width, varying heads); the base shape is in all three.
    """
    fin = final_train(shape)
    g = fin.groupby(["n_layer", "d_model", "n_head", "d_ff"])
    table = g["loss"].agg(["mean", "std", "count"]).reset_index()
    table["params_nonembedding"] = g["params_nonembedding"].first().to_numpy()
    table["aspect"] = table["d_model"] / table["n_layer"]
    table["ff_ratio"] = table["d_ff"] / table["d_model"]
    table["head_dim"] = table["d_model"] / table["n_head"]
    best = table["mean"].min()
    table["increase_pct"] = 100 * (table["mean"] / best - 1)
    table["spread_pct"] = 100 * table["std"] / best
    L, d, h, ff = base
    is_base = (table["n_layer"] == L) & (table["d_model"] == d) & (table["n_head"] == h) & (table["d_ff"] == ff)
    groups = {
        "aspect": (table["ff_ratio"] == 4) & ((table["n_layer"] != L) | (table["d_model"] != d)) | is_base,
        "ff": (table["n_layer"] == L) & (table["ff_ratio"] != 4) | is_base,
        "head": (table["n_layer"] == L) & (table["d_model"] == d) & (table["ff_ratio"] == 4),
    }
    parts = [table[mask].assign(group=name) for name, mask in groups.items()]
    return pd.concat(parts, ignore_index=True)


SCHEDULE_NAMES = {
    "constant": "constant",
    "cosine": "cosine",
    "cosine_to_zero": "cosine to zero",
    "cosine_fast": "cosine over the first half",
    "linear": "linear decay",
    "linear_half": "linear decay to half",
    "step": "step decay",
    "inv_sqrt": "inverse square root",
    "exp_fast": "fast exponential decay",
    "exp_slow": "slow exponential decay",
}
"""How figures and prose name each learning-rate schedule of the schedule sweep."""


def schedule_effects(lr: pd.DataFrame) -> pd.DataFrame:
    """F4: each schedule's final loss (mean and spread over seeds) against its summed learning rate.

    ``label`` is the schedule's human name (:data:`SCHEDULE_NAMES`), marked where it had no warmup.
    """
    fin = final_train(lr)
    names = fin["schedule"].map(lambda s: SCHEDULE_NAMES.get(s, s))
    fin = fin.assign(label=names + np.where(fin["warmup_frac"] > 0, "", " (no warmup)"))
    return (
        fin.groupby("label")
        .agg(
            loss=("loss", "mean"),
            loss_std=("loss", "std"),
            lr_sum=("lr_sum", "mean"),
            schedule=("schedule", "first"),
            warmup_frac=("warmup_frac", "first"),
            seeds=("seed", "nunique"),
        )
        .reset_index()
        .sort_values("lr_sum")
        .reset_index(drop=True)
    )


def irreducible_loss(synthetic: pd.DataFrame, distribution: str) -> SaturatingPowerLawFit:
    """Fit ``L(N) = E + A N^-alpha`` to the final losses on one synthetic ``distribution``.

    Compare ``E`` with the source's exact entropy rate
    (:attr:`scaling_utils.experiment.markov.MarkovSource.entropy_rate`).
    """
    fin = final(synthetic)
    fin = fin[fin["distribution"] == distribution].sort_values("params_nonembedding")
    if fin.empty:
        raise ValueError(f"distribution {distribution!r} is not in the synthetic results")
    return fit_saturating_power_law(fin["params_nonembedding"], fin["loss"])


def approach_inputs(size: pd.DataFrame, isoflop: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The book's runs in the shape of :func:`scaling_utils.report.figures.chinchilla.chinchilla_approaches`' inputs.

    Returns ``curves`` (size sweep, training distribution: ``run, N, flops, loss``) and
    ``runs`` (IsoFLOP sweep, final checkpoints: ``C, N, D, loss``).
    """
    tr = size[size["distribution"] == "train"]
    curves = pd.DataFrame(
        {"run": tr["run_id"], "N": tr["params_nonembedding"], "flops": tr["flops_6nd"], "loss": tr["loss"]}
    )
    fin = final_train(isoflop)
    runs = pd.DataFrame(
        {"C": fin["budget_flops"], "N": fin["params_nonembedding"], "D": fin["tokens"], "loss": fin["loss"]}
    )
    return curves.reset_index(drop=True), runs.sort_values(["C", "N"]).reset_index(drop=True)


def sweep_summary(folder) -> pd.DataFrame:
    """One row per committed sweep: runs, tokens, 6ND FLOPs, and the times its meta file records.

    ``runs`` counts the finished runs in the results file and ``complete`` says whether that
    is every planned run (a sweep still running is committed with what finished). ``wall_s``
    is the wall time of the invocation that last wrote the file, NaN where that invocation
    trained nothing (it only assembled runs finished earlier); ``train_s`` sums the runs' own
    times.
    """
    rows = []
    for meta_file in sorted(Path(folder).glob("*.meta.json")):
        name = meta_file.name.removesuffix(".meta.json")
        meta = json.loads(meta_file.read_text())
        if "n_runs" not in meta:  # a derived table's meta (e.g. repeat_prefix_shift), not a sweep
            continue
        fin = final(load_sweep_results(name, folder)).drop_duplicates("run_id")
        hw = meta.get("hardware", {})
        rows.append(
            {
                "sweep": name,
                "runs": int(meta["n_runs"]) - int(meta.get("n_missing", 0)),
                "complete": not meta.get("n_missing", 0),
                "tokens": float(fin["tokens"].sum()),
                "flops_6nd": float(fin["flops_6nd"].sum()),
                "wall_s": meta.get("wall_s_last_invocation") or float("nan"),
                "train_s": meta.get("train_s_sum_of_runs"),
                "device": hw.get("device", ""),
            }
        )
    return pd.DataFrame(rows).set_index("sweep")


COUNTINGS: dict[str, str] = {
    "kaplan": "non-embedding N, C = 6ND",
    "head": "N + output head, C with head and attention",
    "total": "all parameters, C with head and attention",
}
"""Parameter and compute conventions :func:`recount` knows. Attention adds
``6 n_layer n_ctx d_model`` FLOPs per token (Kaplan et al., Table 1); "all parameters"
counts the input and position embeddings, norms and biases too."""


def recount(isoflop: pd.DataFrame, counting: str) -> pd.DataFrame:
    """Final checkpoints of an IsoFLOP sweep with ``N`` and ``C`` counted by ``counting``.

    Returns ``group`` (the nominal budget the run was planned for), ``N``, ``C`` (the run's
    compute in that convention: runs of one group differ, because the head and attention
    are a larger share of small models) and ``loss``.
    """
    if counting not in COUNTINGS:
        raise ValueError(f"counting must be one of {sorted(COUNTINGS)}, got {counting!r}")
    return final_runs(isoflop, counting)  # the one place the conventions are computed[["group", "N", "C", "loss"]]


def recounted_minima(runs: pd.DataFrame, *, window: int | None = 5) -> pd.DataFrame:
    """Per group (nominal budget) of :func:`recount`'s runs: the vertex ``N_opt`` and its compute ``C``.

    The vertex of a parabola of loss in log N over the ``window`` sizes around the lowest
    loss; its compute is interpolated (linearly in log-log) between the group's runs, which
    no longer share one compute value once the head and attention are counted. ``C`` is NaN
    where the vertex lies outside the group's sizes (``at_edge``).
    """
    rows = []
    for group, g in runs.groupby("group", sort=True):
        g = g.sort_values("N")
        mins = isoflop_minima(g["N"], np.full(len(g), group), g["loss"], window=window)
        n_opt = float(mins["N_opt"].iloc[0])
        at_edge = bool(mins["at_edge"].iloc[0])
        c_opt = np.nan if at_edge else float(np.exp(np.interp(np.log(n_opt), np.log(g["N"]), np.log(g["C"]))))
        rows.append({"group": group, "C": c_opt, "N_opt": n_opt, "at_edge": at_edge})
    return pd.DataFrame(rows)


def fit_recounted(runs: pd.DataFrame, *, window: int | None = 5) -> ApproachFit:
    """Approach 2 on :func:`recount`'s runs: ``N_opt ∝ C^a`` over :func:`recounted_minima`'s interior vertices.

    With a single compute per group this is :func:`scaling_utils.fitting.fit_isoflop`.

    Raises
    ------
    ValueError
        If fewer than 3 groups have an interior vertex.
    """
    minima = recounted_minima(runs, window=window)
    inner = minima[~minima["at_edge"]]
    if len(inner) < 3:
        raise ValueError(f"need at least 3 groups with an interior minimum, got {len(inner)}")
    pl = fit_power_law(inner["C"], inner["N_opt"])
    return ApproachFit(a=pl.exponent, b=1.0 - pl.exponent, power_law=pl, minima=minima)


def point_estimates(runs: pd.DataFrame, *, window: int = 5, min_steps: int = 500) -> dict[str, object]:
    """Approaches 1-3 on :func:`final_runs`' rows, point estimates only (no bootstrap).

    As :func:`~scaling_utils.analysis.isoflop.three_approaches` fits them: approach 1 from each
    size's losses across budgets (seed 0; envelope points won by an edge size left out),
    approach 2 by :func:`fit_recounted` (vertex compute interpolated in the runs' own count,
    so it holds for any counting), approach 3 on runs with at least ``min_steps`` steps. An approach that
    cannot be fitted gives NaN and says why in ``notes``; approach 3 that did not converge
    gives NaN too (never silently used).

    Returns
    -------
    dict
        ``a1, a2, a3`` (floats), ``E`` (approach 3's), ``n_budgets`` (interior vertices of
        approach 2), ``n_long`` (runs approach 3 used), ``notes`` (list of str).
    """
    notes: list[str] = []
    seed0 = runs[runs["seed"] == 0]
    curves = seed0.groupby("N").filter(lambda g: len(g) >= 2)
    try:
        a1 = fit_envelope(curves["N"], curves["C"], curves["loss"], exclude_edges=True).a
    except ValueError as err:
        a1 = float("nan")
        notes.append(f"approach 1: {err}")
    try:
        fit2 = fit_recounted(runs, window=window)
        a2, n_budgets = fit2.a, int((~fit2.minima["at_edge"]).sum())
    except ValueError as err:
        a2, n_budgets = float("nan"), 0
        notes.append(f"approach 2: {err}")
    long = runs[runs["steps"] >= min_steps]
    fit3 = fit_chinchilla(long["N"], long["D"], long["loss"])
    if fit3.converged:
        a3, e = fit3.law.exponents[0], fit3.law.E
    else:
        a3 = e = float("nan")
        notes.append(f"approach 3 did not converge: {fit3.message}")
    return {"a1": a1, "a2": a2, "a3": a3, "E": e, "n_budgets": n_budgets, "n_long": len(long), "notes": notes}


def leave_one_group_out(runs: pd.DataFrame, *, window: int = 5, min_steps: int = 500) -> pd.DataFrame:
    """:func:`point_estimates` on all of :func:`final_runs`' rows, then with each budget left out.

    How much one budget moves the three exponents: a sweep whose ``a`` rests on one budget
    says so here, whatever its bootstrap intervals say.

    Returns
    -------
    DataFrame
        One row per case, ``left_out`` (NaN for none, else the group), ``a1, a2, a3, E``;
        an approach that cannot be fitted is NaN (see :func:`point_estimates`).

    Raises
    ------
    ValueError
        If ``runs`` has fewer than 4 groups (leaving one out must leave three).
    """
    groups = np.sort(runs["group"].unique())
    if groups.size < 4:
        raise ValueError(f"runs: need at least 4 groups (budgets) to leave one out, got {groups.size}")
    rows = []
    for g in [np.nan, *groups]:
        sub = runs if np.isnan(g) else runs[runs["group"] != g]
        est = point_estimates(sub, window=window, min_steps=min_steps)
        rows.append({"left_out": g, **{k: float(est[k]) for k in ("a1", "a2", "a3", "E")}})
    return pd.DataFrame(rows)


def vertex_slopes(minima: pd.DataFrame) -> pd.DataFrame:
    """Local exponents between consecutive IsoFLOP vertices: ``d log N_opt / d log C``.

    ``minima`` has columns ``C, N_opt, at_edge`` (an approach-2 fit's ``minima``); vertices
    at an edge are left out. Over a range where ``N_opt`` follows one power law every
    slope estimates the same ``a``; their scatter is the vertices' noise.

    Returns
    -------
    DataFrame
        ``C_from, C_to, slope``, one row per consecutive pair of interior vertices.
    """
    missing = {"C", "N_opt", "at_edge"} - set(minima.columns)
    if missing:
        raise ValueError(f"minima: missing columns {sorted(missing)}")
    inner = minima[~minima["at_edge"].astype(bool)].sort_values("C")
    c, n = np.log(inner["C"].to_numpy(float)), np.log(inner["N_opt"].to_numpy(float))
    return pd.DataFrame({"C_from": np.exp(c[:-1]), "C_to": np.exp(c[1:]), "slope": np.diff(n) / np.diff(c)})
