"""Analyses of the book's own training runs (``data/experiments``), one function per artefact.

Each takes the tidy results of a sweep (:func:`scaling_utils.analysis.results.load_sweep_results`) and
returns a result, a DataFrame or a fit; :mod:`scaling_utils.report.figures` draws them. Losses are in nats
per byte, sizes are non-embedding parameters (Kaplan's N), compute is ``6 N D`` FLOPs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_utils.analysis.results import load_sweep_results
from scaling_utils.compute import flops_per_token_with_head, pf_days
from scaling_utils.fitting import (
    PowerLawFit,
    SaturatingPowerLawFit,
    envelope_minima,
    fit_power_law,
    fit_saturating_power_law,
)

__all__ = [
    "ENGLISH_HELD_OUT",
    "SCHEDULE_NAMES",
    "Frontier",
    "KaplanRuns",
    "Robustness",
    "Saturation",
    "Transfer",
    "compute_frontier",
    "early_stopped",
    "final",
    "final_train",
    "irreducible_loss",
    "kaplan_runs",
    "robustness",
    "saturation",
    "schedule_effects",
    "shape_effects",
    "sweep_summary",
    "transfer",
    "transfer_table",
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


def sweep_summary(folder) -> pd.DataFrame:
    """One row per committed sweep: runs, seeds, epochs, tokens, 6ND FLOPs, and the times its meta file records.

    ``runs`` counts the finished runs in the results file and ``complete`` says whether that
    is every planned run (a sweep still running is committed with what finished). ``wall_s``
    is the wall time of the invocation that last wrote the file, NaN where that invocation
    trained nothing (it only assembled runs finished earlier); ``train_s`` sums the runs' own
    times. ``seeds`` is how many seeds the sweep ran (at its most repeated point) and
    ``max_epochs`` the most passes any run made over its training text (its ``data_limit``
    bytes where set, else the training distribution's size in ``experiments/corpus.lock.json``).
    """
    from scaling_utils._paths import repo_root

    sizes = json.loads((repo_root() / "experiments" / "corpus.lock.json").read_text())["distributions"]
    rows = []
    for meta_file in sorted(Path(folder).glob("*.meta.json")):
        name = meta_file.name.removesuffix(".meta.json")
        meta = json.loads(meta_file.read_text())
        if "n_runs" not in meta:  # a derived table's meta (e.g. repeat_prefix_shift), not a sweep
            continue
        fin = final(load_sweep_results(name, folder)).drop_duplicates("run_id")
        hw = meta.get("hardware", {})
        text = sizes.get(meta.get("config", {}).get("train_dist", ""), {}).get("bytes", float("nan"))
        limit = pd.to_numeric(fin.get("data_limit"), errors="coerce") if "data_limit" in fin else None
        n_bytes = limit.where(limit > 0, text) if limit is not None else pd.Series(text, index=fin.index)
        windows = ((n_bytes - 1) // fin["n_ctx"]) * fin["n_ctx"]
        point = [c for c in ("params_nonembedding", "budget_flops", "tokens") if c in fin]
        rows.append(
            {
                "sweep": name,
                "runs": int(meta["n_runs"]) - int(meta.get("n_missing", 0)),
                "complete": not meta.get("n_missing", 0),
                "seeds": int(fin.groupby(point, dropna=False)["seed"].nunique().max()) if "seed" in fin else 1,
                "max_epochs": float((fin["tokens"] / windows).max()),
                "tokens": float(fin["tokens"].sum()),
                "flops_6nd": float(fin["flops_6nd"].sum()),
                "wall_s": meta.get("wall_s_last_invocation") or float("nan"),
                "train_s": meta.get("train_s_sum_of_runs"),
                "device": hw.get("device", ""),
            }
        )
    return pd.DataFrame(rows).set_index("sweep")


# Results that carry the numbers their chapter reports: each ``summary()`` maps the names the
# chapter glues (less its prefix) to their values.


@dataclass(frozen=True)
class Transfer:
    """F1 and N6: how each distribution's loss follows N and the training loss (:func:`transfer`)."""

    size: pd.DataFrame = field(repr=False)  # the size sweep's tidy results
    table: pd.DataFrame  # transfer_table(size)
    english: list[str]  # the English held-out distributions present

    def summary(self) -> dict[str, object]:
        """F1's numbers: exponents, offsets (smallest and largest model), Spanish, RMS residuals."""
        t, en = self.table, self.english
        return {
            "n_models": self.size["run_id"].nunique(),
            "train_exp": float(-t.loc["train", "exponent"]),
            "en_exp_lo": float(-t.loc[en, "exponent"].max()),
            "en_exp_hi": float(-t.loc[en, "exponent"].min()),
            "off_small_lo": float(t.loc[en, "offset_small"].min()),
            "off_small_hi": float(t.loc[en, "offset_small"].max()),
            "off_large_lo": float(t.loc[en, "offset_large"].min()),
            "off_large_hi": float(t.loc[en, "offset_large"].max()),
            "code_exp": float(-t.loc["code", "exponent"]),
            "spanish_small": float(t.loc["spanish", "final_loss_small"]),
            "spanish_large": float(t.loc["spanish", "final_loss_large"]),
            "rms_end": float(t.loc[en, "rms_end"].mean()),
            "rms_mid": float(t.loc[en, "rms_mid"].mean()),
        }


def transfer(size: pd.DataFrame) -> Transfer:
    """F1 on the size sweep: :func:`transfer_table` with the English held-out texts named."""
    table = transfer_table(size)
    return Transfer(size=size, table=table, english=[d for d in ENGLISH_HELD_OUT if d in table.index])


@dataclass(frozen=True)
class KaplanRuns:
    """F2(b) and N3 on the book's runs: the three power laws in compute, data and size (:func:`kaplan_runs`)."""

    size: pd.DataFrame = field(repr=False)
    frontier: Frontier
    early: pd.DataFrame  # early_stopped(data)
    final: pd.DataFrame = field(repr=False)  # final_train(size)
    fit_n: PowerLawFit
    fit_d: PowerLawFit

    def summary(self) -> dict[str, object]:
        """The exponents, the sizes and tokens, and how much the head and attention add to ``6N``."""
        fin = self.final
        head_ratio = flops_per_token_with_head(fin["n_layer"], fin["d_model"], fin["n_ctx"]) / (
            6 * fin["params_nonembedding"]
        )
        return {
            "head_ratio_lo": float(head_ratio.min()),
            "head_ratio_hi": float(head_ratio.max()),
            "alpha_N": -self.fit_n.exponent,
            "alpha_N_se": self.fit_n.exponent_se,
            "alpha_D": -self.fit_d.exponent,
            "alpha_C": -self.frontier.fit.exponent,
            "n_sizes": len(fin),
            "tokens": float(fin["tokens"].iloc[0]),
            "n_min": float(fin["params_nonembedding"].min()),
            "n_max": float(fin["params_nonembedding"].max()),
        }


def kaplan_runs(size: pd.DataFrame, data: pd.DataFrame) -> KaplanRuns:
    """L(C) from the size sweep's frontier, L(D) from the data sweep (early-stopped), L(N) from final losses."""
    frontier = compute_frontier(size)
    early = early_stopped(data)
    fin = final_train(size)
    return KaplanRuns(
        size=size,
        frontier=frontier,
        early=early,
        final=fin,
        fit_n=fit_power_law(fin["params_nonembedding"], fin["loss"]),
        fit_d=fit_power_law(early["D"], early["loss"]),
    )


SEED_WORDS = {1: "one seed", 2: "two seeds", 3: "three seeds", 4: "four seeds"}


@dataclass(frozen=True)
class Robustness:
    """F3, F4 and N5: what shape and learning-rate schedule do to the final loss (:func:`robustness`)."""

    shape: pd.DataFrame  # shape_effects(...)
    schedules: pd.DataFrame  # schedule_effects(...)

    @property
    def warm(self) -> pd.DataFrame:
        """The schedules with a warmup."""
        return self.schedules[self.schedules["warmup_frac"] > 0]

    def summary(self) -> dict[str, object]:
        """Largest increase per shape group, aspect ranges, seed spread, the schedules' range and warmup's cost."""
        shape, schedules, warm = self.shape, self.schedules, self.warm
        out: dict[str, object] = {"shape_n": float(shape["params_nonembedding"].median())}
        for g in ("aspect", "ff", "head"):
            out[f"shape_max_{g}"] = float(shape.loc[shape["group"] == g, "increase_pct"].max())
        aspect = shape[shape["group"] == "aspect"]
        out["aspect_range"] = float(aspect["aspect"].max() / aspect["aspect"].min())
        near = aspect[aspect["increase_pct"] < 3]
        out["aspect_near_range"] = float(near["aspect"].max() / near["aspect"].min())
        out["seed_spread"] = float(shape["spread_pct"].mean())
        out["shape_seeds"] = int(shape["count"].max())
        out["shape_seeds_words"] = SEED_WORDS.get(int(shape["count"].min()), "several seeds")
        out["sched_loss_lo"] = float(warm["loss"].min())
        out["sched_loss_hi"] = float(warm["loss"].max())
        out["sched_best"] = str(warm.loc[warm["loss"].idxmin(), "label"])
        out["sched_worst"] = str(warm.loc[warm["loss"].idxmax(), "label"])
        nowarm = schedules[schedules["warmup_frac"] == 0]
        gap = nowarm.set_index("schedule")["loss"] - warm.set_index("schedule").loc[nowarm["schedule"], "loss"]
        out["nowarm_gap"] = float(gap.mean())
        out["sched_std"] = float(schedules["loss_std"].mean())
        return out


def robustness(shape: pd.DataFrame, lr: pd.DataFrame) -> Robustness:
    """:func:`shape_effects` of the shape sweep and :func:`schedule_effects` of the schedule sweep."""
    return Robustness(shape=shape_effects(shape), schedules=schedule_effects(lr))


@dataclass(frozen=True)
class Saturation:
    """Irreducible loss checked against a known entropy rate, on the synthetic sources (:func:`saturation`)."""

    table: pd.DataFrame  # final loss, one row per size, one column per synthetic source
    fit1: SaturatingPowerLawFit  # L(N) = E + A N^-alpha on markov1
    H1: float  # entropy rate of markov1 (16 symbols, order 1)
    H32: float  # entropy rate of markov (32 symbols, order 2)

    def summary(self) -> dict[str, object]:
        """E against the truth, the uniform bounds ln 16 and ln 32, the other sources' range."""
        return {
            "H1": self.H1,
            "H32": self.H32,
            "E1": self.fit1.E,
            "E1_se": self.fit1.E_se,
            "E1_gap": self.fit1.E - self.H1,
            "ln16": math.log(16),
            "ln32": math.log(32),
            "m32_best": float(self.table["markov"].min()),
            "m2_lo": float(self.table["markov2"].min()),
            "m2_hi": float(self.table["markov2"].max()),
        }


def saturation(synthetic: pd.DataFrame, entropy_rates: Mapping[str, float]) -> Saturation:
    """The synthetic sweep's final losses and ``E`` fitted on markov1; ``entropy_rates`` by source name.

    The rates come from the sources' definitions (``scaling_utils.experiment.corpus.MARKOV_SOURCES``),
    which the caller passes in: analysis does not import the training engine.
    """
    table = final(synthetic).pivot_table(index="params_nonembedding", columns="distribution", values="loss")
    return Saturation(
        table=table,
        fit1=irreducible_loss(synthetic, "markov1"),
        H1=entropy_rates["markov1"],
        H32=entropy_rates["markov"],
    )
