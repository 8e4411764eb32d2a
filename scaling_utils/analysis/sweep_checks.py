"""A sweep checked against a rerun of some of its budgets with one setting changed.

The corrected IsoFLOP sweep takes its batch from a rule that doubles it between two
budgets; a check sweep reruns the upper budgets at the lower batch. Whether the exponent
moves is then a comparison of two sets of runs that differ in those budgets only:
:func:`swap_groups` builds the second set, :func:`compare_settings` fits both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling_utils.analysis.isoflop import final_runs
from scaling_utils.analysis.porian import setting
from scaling_utils.analysis.recount import point_estimates
from scaling_utils.fitting import isoflop_minima

__all__ = [
    "Batch8",
    "Batch16",
    "SettingChecks",
    "batch8",
    "batch16",
    "compare_settings",
    "complete_groups",
    "setting_checks",
    "swap_groups",
    "vertices_by_setting",
]


def complete_groups(reference: pd.DataFrame, check: pd.DataFrame) -> list[float]:
    """Groups (budgets) of ``check`` that hold every size ``reference`` ran there (seed 0).

    Both are :func:`~scaling_utils.analysis.isoflop.final_runs` rows. A check sweep still running
    has some budgets partly done; only complete ones can replace the reference's.
    """
    for name, df in (("reference", reference), ("check", check)):
        missing = {"group", "N", "seed", "loss"} - set(df.columns)
        if missing:
            raise ValueError(f"{name}: missing columns {sorted(missing)}")
    ref = reference[reference["seed"] == 0]
    chk = check[check["seed"] == 0]
    done = []
    for group, g in chk.groupby("group", sort=True):
        wanted = set(ref.loc[ref["group"] == group, "N"])
        if wanted and wanted <= set(g["N"]):
            done.append(float(group))
    return done


def swap_groups(reference: pd.DataFrame, check: pd.DataFrame) -> pd.DataFrame:
    """Seed-0 runs of ``reference`` with each of :func:`complete_groups` taken from ``check``.

    Raises
    ------
    ValueError
        If no group of ``check`` is complete.
    """
    done = complete_groups(reference, check)
    if not done:
        raise ValueError("check: no budget has every size of the reference sweep yet")
    ref = reference[(reference["seed"] == 0) & ~reference["group"].isin(done)]
    chk = check[(check["seed"] == 0) & check["group"].isin(done)]
    return pd.concat([ref, chk]).sort_values(["group", "N"]).reset_index(drop=True)


def compare_settings(
    reference: pd.DataFrame, check: pd.DataFrame, *, window: int = 5, min_steps: int = 500
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The three exponents and each budget's vertex, with and without the check's budgets.

    Both sets use seed 0 only and the same budgets: the reference's budgets up to the
    largest complete one of ``check`` (a check still running covers fewer budgets).

    Returns
    -------
    estimates : DataFrame
        Index ``reference`` and ``check``; columns ``a1, a2, a3, E`` (see
        :func:`~scaling_utils.analysis.recount.point_estimates`) and ``budgets``.
    vertices : DataFrame
        Per budget: ``group``, ``swapped`` (whether the check's runs replace the
        reference's), the vertex ``N_opt`` and lowest loss of each set
        (``N_opt_reference``, ``N_opt_check``, ``loss_reference``, ``loss_check``).
    """
    done = complete_groups(reference, check)
    swapped = swap_groups(reference, check)
    ref = reference[(reference["seed"] == 0) & (reference["group"] <= max(done))]
    swapped = swapped[swapped["group"] <= max(done)]
    rows, vert = {}, {}
    for name, runs in (("reference", ref), ("check", swapped)):
        est = point_estimates(runs, window=window, min_steps=min_steps)
        rows[name] = {k: float(est[k]) for k in ("a1", "a2", "a3", "E")} | {"budgets": runs["group"].nunique()}
        mins = isoflop_minima(runs["N"], runs["group"], runs["loss"], window=window)
        best = runs.groupby("group")["loss"].min()
        vert[name] = pd.DataFrame(
            {
                "group": mins["C"].to_numpy(float),
                f"N_opt_{name}": np.where(mins["at_edge"], np.nan, mins["N_opt"].to_numpy(float)),
                f"loss_{name}": best.loc[mins["C"]].to_numpy(float),
            }
        )
    vertices = vert["reference"].merge(vert["check"], on="group")
    vertices.insert(1, "swapped", vertices["group"].isin(done))
    return pd.DataFrame.from_dict(rows, orient="index"), vertices


def vertices_by_setting(settings: dict[str, pd.DataFrame], *, window: int = 5) -> pd.DataFrame:
    """Each budget's approach-2 vertex and lowest loss under several settings (seed 0).

    ``settings`` maps a label to :func:`~scaling_utils.analysis.isoflop.final_runs` rows; only the
    budgets every setting ran are kept.

    Returns
    -------
    DataFrame
        One row per budget (``group``) and setting (``setting``, in the order given):
        ``N_opt`` (NaN at an edge), ``loss_min``, and ``slope``, the local exponent
        ``d log N_opt / d log C`` from the previous budget of the same setting (NaN for
        the first).

    Raises
    ------
    ValueError
        If no budget is common to all settings.
    """
    common = None
    for runs in settings.values():
        groups = set(runs.loc[runs["seed"] == 0, "group"])
        common = groups if common is None else common & groups
    if not common:
        raise ValueError(f"settings {list(settings)}: no budget common to all of them")
    rows = []
    for label, runs in settings.items():
        runs = runs[(runs["seed"] == 0) & runs["group"].isin(common)]
        mins = isoflop_minima(runs["N"], runs["group"], runs["loss"], window=window)
        n_opt = np.where(mins["at_edge"], np.nan, mins["N_opt"].to_numpy(float))
        c = mins["C"].to_numpy(float)
        slope = np.concatenate([[np.nan], np.diff(np.log(n_opt)) / np.diff(np.log(c))])
        best = runs.groupby("group")["loss"].min()
        rows.append(
            pd.DataFrame(
                {"group": c, "setting": label, "N_opt": n_opt, "loss_min": best.loc[c].to_numpy(float), "slope": slope}
            )
        )
    return pd.concat(rows, ignore_index=True)


@dataclass(frozen=True)
class SettingChecks:
    """The check sweep: single runs of the corrected sweep rerun with the rate or the batch changed."""

    checks: pd.DataFrame  # final_runs of the check sweep, with each run's lr and batch_size
    main_lr: pd.Series  # the corrected sweep's rate per budget
    main_batch: pd.Series  # and its batch per budget
    table: pd.DataFrame  # one row per check: budget, N, change; loss and its difference to the main run

    def summary(self) -> dict[str, object]:
        """The range of the loss gained by halving the batch."""
        halved = self.table[self.table.index.get_level_values("change").str.startswith("batch")]
        return {
            "batch_gain_lo": float(-halved["minus main run"].max()),
            "batch_gain_hi": float(-halved["minus main run"].min()),
        }


def setting_checks(main: pd.DataFrame, runs: pd.DataFrame, checks: pd.DataFrame) -> SettingChecks:
    """Compare each run of the check sweep with the main run of its budget and size (seed 0).

    ``main`` and ``checks`` are the tidy results of the corrected sweep and of its check sweep;
    ``runs`` is the corrected sweep's :func:`~scaling_utils.analysis.isoflop.final_runs`.
    """
    fin = final_runs(checks, "head").join(checks.groupby("run_id")[["lr", "batch_size"]].first(), on="run_id")
    main0 = runs[runs["seed"] == 0].set_index(["group", "N"])["loss"]
    main_lr = main.groupby("budget_flops")["lr"].first()
    main_batch = main.groupby("budget_flops")["batch_size"].first()
    rows = []
    for _, r in fin.iterrows():
        change = (
            f"lr x{r['lr'] / main_lr[r['group']]:.1f}"
            if r["batch_size"] == main_batch[r["group"]]
            else f"batch {int(r['batch_size'])} (main {int(main_batch[r['group']])})"
        )
        rows.append(
            {
                "budget (FLOPs)": f"{r['group']:.0e}",
                "N": f"{r['N']:,.0f}",
                "change": change,
                "loss": round(r["loss"], 4),
                "minus main run": round(r["loss"] - main0[(r["group"], r["N"])], 4),
            }
        )
    table = pd.DataFrame(rows).set_index(["budget (FLOPs)", "N", "change"])
    return SettingChecks(checks=fin, main_lr=main_lr, main_batch=main_batch, table=table)


@dataclass(frozen=True)
class Batch16:
    """The upper budgets rerun at batch 16 (the rule's batch below its doubling), to see whether ``a`` moves."""

    runs: pd.DataFrame = field(repr=False)  # the corrected sweep's final runs
    b16: pd.DataFrame = field(repr=False)  # the batch-16 sweep's final runs
    done: list[float]  # its complete budgets
    planned: int  # its planned budgets
    estimates: pd.DataFrame  # compare_settings: a1..a3, E of reference and check
    vertices: pd.DataFrame  # compare_settings: each budget's vertex in both
    five: pd.DataFrame  # the estimates on the first five budgets only
    settings: SettingChecks
    slopes: pd.DataFrame  # vertex slopes of the corrected sweep
    own_exponents: dict[int, float]  # the corrected sweep's a of approaches 1-3

    def summary(self) -> dict[str, object]:
        """Status, where the batch doubles, each estimate with both batches, and how far the vertices move."""
        est, main_batch, n_done = self.estimates, self.settings.main_batch, len(self.done)
        out: dict[str, object] = {
            "status": f"all {self.planned} of its budgets are complete"
            if n_done == self.planned
            else f"{n_done} of its {self.planned} budgets "
            f"{'is' if n_done == 1 else 'are'} complete (the rest was still running when"
            " its runs were committed; the comparison stops at the largest complete one)"
        }
        jump = main_batch[main_batch.diff() > 0].index[0]
        before = main_batch.index[list(main_batch.index).index(jump) - 1]
        out |= {"batch_lo": int(main_batch[before]), "batch_hi": int(main_batch[jump])}
        out |= {"c_before": float(before), "c_jump": float(jump)}
        out["slope_jump"] = float(self.slopes.loc[np.isclose(self.slopes["C_to"], jump), "slope"].iloc[0])
        out["c_max"] = max(self.done)
        out["n_budgets"] = int(est.loc["check", "budgets"])
        for k in ("a1", "a2", "a3"):
            out[f"ref_{k}"] = float(est.loc["reference", k])
            out[f"chk_{k}"] = float(est.loc["check", k])
            out[f"d{k}"] = float(est.loc["check", k] - est.loc["reference", k])
        # The batch-halved check at 8e12 is the same run as this sweep's: same loss?
        checks = self.settings.checks
        same = checks[checks["batch_size"] < checks["group"].map(main_batch)]
        same = same.merge(self.b16, on=["group", "N", "seed"], suffixes=("_check", "_b16"))
        out["repro"] = (
            "to every digit"
            if (same["loss_check"] == same["loss_b16"]).all()
            else f"to {float((same['loss_check'] - same['loss_b16']).abs().max()):.1e} nats"
        )
        d_est = [float(est.loc["check", k] - est.loc["reference", k]) for k in ("a1", "a2", "a3")]
        out["dir"] = (
            "raises every estimate"
            if min(d_est) > 0
            else "lowers every estimate"
            if max(d_est) < 0
            else "moves the estimates both ways"
        )
        out["d_lo"], out["d_hi"] = min(abs(d) for d in d_est), max(abs(d) for d in d_est)
        moved = self.vertices[self.vertices["swapped"]]
        v_shift = 100 * (moved["N_opt_check"] / moved["N_opt_reference"] - 1)
        l_shift = moved["loss_check"] - moved["loss_reference"]
        out |= {"v_lo": float(v_shift.min()), "v_hi": float(v_shift.max())}
        out |= {"l_lo": float(l_shift.min()), "l_hi": float(l_shift.max())}
        for k in ("a1", "a2", "a3"):
            out[f"five_{k}"] = float(self.five.loc["check", k])
            out[f"five_ref_{k}"] = float(self.five.loc["reference", k])
        both = [*self.own_exponents.values(), *est.loc["check", ["a1", "a2", "a3"]]]
        out["all_lo"], out["all_hi"] = float(min(both)), float(max(both))
        return out


def batch16(
    runs: pd.DataFrame, b16: pd.DataFrame, meta: dict, settings: SettingChecks, slopes: pd.DataFrame,
    own_exponents: dict[int, float], *, window: int = 5,
) -> Batch16:  # fmt: skip
    """:class:`Batch16` of the batch-16 sweep's tidy results ``b16`` and its meta file's ``meta``."""
    fin = final_runs(b16, "head")
    est, vert = compare_settings(runs, fin, window=window)
    top = runs["group"].max()
    five, _ = compare_settings(runs[runs["group"] < top], fin[fin["group"] < top], window=window)
    return Batch16(
        runs=runs,
        b16=fin,
        done=complete_groups(runs, fin),
        planned=len({g["budget_flops"] for g in meta["config"]["grid"]}),
        estimates=est,
        vertices=vert,
        five=five,
        settings=settings,
        slopes=slopes,
        own_exponents=own_exponents,
    )


@dataclass(frozen=True)
class Batch8:
    """The vertices at the rule's batch, at 16 and at 8, on the budgets all three ran."""

    wide: pd.DataFrame  # vertices_by_setting, one column per (quantity, setting)
    main_batch: pd.Series

    def best_batch(self) -> dict[float, int]:
        """Each budget's batch with the lowest loss among those tried."""
        batch_of = {"rule": self.main_batch, "16": 16, "8": 8}
        best = self.wide["loss_min"].idxmin(axis=1)
        return {c: int(batch_of[k][c] if k == "rule" else batch_of[k]) for c, k in best.items()}

    def summary(self) -> dict[str, object]:
        """The budgets' range, the last local slope per setting, batch 8 against 16, the best batch's slope."""
        wide = self.wide
        lo, hi = wide.index.min(), wide.index.max()
        out: dict[str, object] = {"c_lo": float(lo), "c_hi": float(hi)}
        for label in ("rule", "16", "8"):
            out[f"slope_{label}"] = float(wide.loc[hi, ("slope", label)])
        for c, tag in ((lo, "lo"), (hi, "hi")):
            out[f"move_{tag}"] = float(100 * (wide.loc[c, ("N_opt", "8")] / wide.loc[c, ("N_opt", "16")] - 1))
            out[f"dloss_{tag}"] = float(wide.loc[c, ("loss_min", "8")] - wide.loc[c, ("loss_min", "16")])
        best_batch = self.best_batch()
        out["best_lo"], out["best_hi"] = best_batch[lo], best_batch[hi]
        best = wide["loss_min"].idxmin(axis=1)
        n_best = [wide.loc[c, ("N_opt", k)] for c, k in best.items()]
        out["slope_best"] = float(np.log(n_best[-1] / n_best[0]) / np.log(hi / lo))
        out["por_tuned"] = setting("rw/tuned/short/const/standard/val").a_paper
        return out


def batch8(runs: pd.DataFrame, b16: Batch16, b8: pd.DataFrame, *, window: int = 5) -> Batch8:
    """:class:`Batch8` of the batch-8 sweep's tidy results, beside the rule's and batch 16's runs."""
    by_batch = vertices_by_setting(
        {"rule": runs, "16": swap_groups(runs, b16.b16), "8": final_runs(b8, "head")}, window=window
    )
    return Batch8(wide=by_batch.pivot(index="group", columns="setting"), main_batch=b16.settings.main_batch)
