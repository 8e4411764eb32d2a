"""IsoFLOP sweeps recounted: each convention of N and C, approach 2 on the recounted vertices, point estimates.

:func:`recount` puts a sweep's runs in one counting convention (:data:`COUNTINGS`);
:func:`fit_recounted` fits approach 2 on the vertices wherever their compute falls;
:func:`point_estimates` gives the three approaches without bootstrap, :func:`leave_one_group_out`
each budget's weight and :func:`vertex_slopes` the local exponents between vertices;
:func:`first_sweep` diagnoses the first IsoFLOP sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling_utils.analysis.isoflop import final_runs
from scaling_utils.analysis.measured import final_train
from scaling_utils.fitting import (
    Approaches,
    ApproachFit,
    fit_approaches,
    fit_chinchilla,
    fit_envelope,
    fit_power_law,
    isoflop_minima,
)

__all__ = [
    "COUNTINGS",
    "FirstSweep",
    "approach_inputs",
    "first_sweep",
    "fit_recounted",
    "leave_one_group_out",
    "point_estimates",
    "recount",
    "recounted_minima",
    "vertex_slopes",
]


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


@dataclass(frozen=True)
class FirstSweep:
    """The three approaches on the first IsoFLOP sweep, and the measurements of why they failed."""

    curves: pd.DataFrame = field(repr=False)  # approach_inputs: the size sweep's curves
    runs: pd.DataFrame = field(repr=False)  # approach_inputs: the IsoFLOP sweep's final runs
    fits: Approaches
    steps: pd.DataFrame = field(repr=False)  # final_train of the IsoFLOP sweep (optimiser steps per run)
    window: int
    level: float = 0.8

    @property
    def a1(self) -> ApproachFit:
        """Approach 1."""
        return self.fits.fit1

    @property
    def a2(self) -> ApproachFit:
        """Approach 2."""
        return self.fits.fit2

    @property
    def a3(self):
        """Approach 3 (a :class:`~scaling_utils.fitting.ChinchillaFit`)."""
        return self.fits.fit3

    def approach_inputs(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``curves`` and ``runs`` as the approaches figure draws them."""
        return self.curves, self.runs

    def summary(self) -> dict[str, object]:
        """The sweep, each ``a`` with its interval, approach 3's law, and the diagnosis (edges, short runs)."""
        runs, (m1, m2, m3) = self.runs, (self.a1, self.a2, self.a3)
        interior = ~m2.minima["at_edge"]
        out: dict[str, object] = {
            "n_runs": len(runs),
            "n_budgets": runs["C"].nunique(),
            "c_lo": float(runs["C"].min()),
            "c_hi": float(runs["C"].max()),
            "n_interior": int(interior.sum()),
            "window": self.window,
        }
        for k, b in (("1", self.fits.boot1), ("2", self.fits.boot2), ("3", self.fits.boot3)):
            lo, hi = b.interval("a", self.level)
            out |= {f"a{k}": b.point["a"], f"a{k}_lo": lo, f"a{k}_hi": hi}
        out |= {"E": m3.law.E, "alpha": m3.law.alpha, "beta": m3.law.beta}
        out |= {"edge_wins": int(m1.minima["at_edge"].sum()), "edge_points": len(m1.minima)}
        short = self.steps["step"] < 200
        out["short_runs"] = int(short.sum())
        # Matched by (N, D), not by position: steps and runs are sorted differently.
        short_nd = set(map(tuple, self.steps.loc[short, ["params_nonembedding", "tokens"]].to_numpy(float)))
        keep = np.array([(n, d) not in short_nd for n, d in runs[["N", "D"]].to_numpy(float)])
        out["short_a3"] = fit_chinchilla(runs["N"][keep], runs["D"][keep], runs["loss"][keep]).law.exponents[0]
        best = self.steps.loc[self.steps.groupby("budget_flops")["loss"].idxmin()]
        out["vertex_steps_lo"], out["vertex_steps_hi"] = int(best["step"].min()), int(best["step"].max())
        tpp = m2.minima.loc[interior, "D_opt"] / m2.minima.loc[interior, "N_opt"]
        out["tpp_lo"], out["tpp_hi"] = float(tpp.min()), float(tpp.max())
        return out


def first_sweep(size: pd.DataFrame, isoflop: pd.DataFrame, *, window: int = 5, n_resamples: int = 4000,
                seed: int = 0) -> FirstSweep:  # fmt: skip
    """:class:`FirstSweep` of the size sweep (approach 1's curves) and the first IsoFLOP sweep."""
    curves, runs = approach_inputs(size, isoflop)
    fits = fit_approaches(curves, runs, n_resamples=n_resamples, seed=seed, window=window)
    return FirstSweep(curves=curves, runs=runs, fits=fits, steps=final_train(isoflop), window=window)
