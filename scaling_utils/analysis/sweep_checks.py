"""A sweep checked against a rerun of some of its budgets with one setting changed.

The corrected IsoFLOP sweep takes its batch from a rule that doubles it between two
budgets; a check sweep reruns the upper budgets at the lower batch. Whether the exponent
moves is then a comparison of two sets of runs that differ in those budgets only:
:func:`swap_groups` builds the second set, :func:`compare_settings` fits both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling_utils.analysis.recount import point_estimates
from scaling_utils.fitting import isoflop_minima

__all__ = ["compare_settings", "complete_groups", "swap_groups"]


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
