"""The three approaches on the book's corrected IsoFLOP sweeps (experiment v2), computed once.

:func:`final_runs` turns a sweep's tidy results into one row per run (or per checkpoint of
a Kaplan-style run) under a counting convention; :func:`three_approaches` fits approaches
1-3 with their bootstraps and returns them in one :class:`ThreeApproaches`, whose fields
the chapters glue; :func:`profile_E` shows how well approach 3's ``E`` is identified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling_utils.compute import params_with_head
from scaling_utils.fitting import (
    Approaches,
    ApproachFit,
    Bootstrap,
    ChinchillaFit,
    bootstrap_chinchilla,
    bootstrap_isoflop,
    default_grid,
    fit_approaches,
    fit_chinchilla,
    fit_envelope,
    fit_isoflop,
)
from scaling_utils.fitting._lbfgs import minimize_batch
from scaling_utils.fitting.parametric import _make_fun_grad
from scaling_utils.laws import ChinchillaLaw
from scaling_utils.simulations import synthetic

__all__ = [
    "SyntheticApproaches",
    "ThreeApproaches",
    "final_runs",
    "profile_E",
    "seed_spread",
    "synthetic_approaches",
    "three_approaches",
]

COUNTS = ("head", "kaplan", "total")


def final_runs(df: pd.DataFrame, counting: str = "head", *, checkpoints: bool = False) -> pd.DataFrame:
    """One row per run (its last checkpoint), or per checkpoint with ``checkpoints=True``.

    Columns: ``run_id, seed, group`` (the nominal budget: the run's ``budget_flops``, or for
    a checkpoint the budget it was placed at, ``6 N_ne D`` to 2 significant figures, since
    checkpoints fall on whole steps),
    ``N`` and ``C`` in the ``counting`` convention (``"head"``: non-embedding plus output
    head, compute with head and attention; ``"kaplan"``: non-embedding, ``6 N D``;
    ``"total"``: every parameter, compute with head and attention), ``D`` (tokens), ``loss``
    (held-out, nats per byte) and ``steps``.
    """
    if counting not in COUNTS:
        raise ValueError(f"counting must be one of {COUNTS}, got {counting!r}")
    tr = df[df["distribution"] == "train"]
    if not checkpoints:
        tr = tr.loc[tr.groupby("run_id")["step"].idxmax()]
    nl, dm, ctx = (tr[c].to_numpy(float) for c in ("n_layer", "d_model", "n_ctx"))
    d = tr["tokens"].to_numpy(float)
    n_ne = tr["params_nonembedding"].to_numpy(float)
    if counting == "kaplan":
        n, c = n_ne, 6.0 * n_ne * d
    else:
        n = np.asarray(params_with_head(nl, dm), float) if counting == "head" else tr["params_total"].to_numpy(float)
        c = d * (6.0 * n + 6.0 * nl * ctx * dm)
    group = np.array([float(f"{v:.2g}") for v in 6.0 * n_ne * d]) if checkpoints else tr["budget_flops"].to_numpy(float)
    out = pd.DataFrame(
        {
            "run_id": tr["run_id"].to_numpy(),
            "seed": tr["seed"].to_numpy(int),
            "group": group,
            "N": n,
            "C": c,
            "D": d,
            "loss": tr["loss"].to_numpy(float),
            "steps": tr["step"].to_numpy(int),
        }
    )
    return out.sort_values(["group", "N", "seed"]).reset_index(drop=True)


@dataclass(frozen=True)
class ThreeApproaches:
    """Approaches 1-3 on one sweep, with bootstraps; every field a chapter reports.

    Attributes
    ----------
    runs : DataFrame
        :func:`final_runs`' rows used.
    a1, a2, a2_wide : ApproachFit
        Approach 1 (each size's final losses across budgets as its curve, envelope points
        won by an edge size left out), approach 2 with ``window`` sizes and with
        ``window + 2``.
    a3 : ChinchillaFit
        Approach 3 on runs with at least ``min_steps`` optimiser steps.
    boot1, boot2, boot3 : Bootstrap
        Bootstraps: each final loss perturbed by the measured seed spread (1; resampling
        whole size curves is ``boot1_curves``: with ~10 curves a resample keeps ~6 distinct
        ones, a ladder no experiment would use, so it is shown, not used), runs within
        budgets (2), runs (3).
    sigma : float
        Seed-to-seed spread of one run's loss (:func:`seed_spread`).
    a1_excluded, a1_points : int
        Envelope grid values won by an edge size, and all grid values.
    level : float
        Interval level of :meth:`table`.
    """

    runs: pd.DataFrame = field(repr=False)
    a1: ApproachFit
    a2: ApproachFit
    a2_wide: ApproachFit
    a3: ChinchillaFit
    boot1: Bootstrap = field(repr=False)
    boot2: Bootstrap = field(repr=False)
    boot3: Bootstrap = field(repr=False)
    boot1_curves: Bootstrap = field(repr=False)
    sigma: float
    a1_excluded: int
    a1_points: int
    window: int
    min_steps: int
    level: float = 0.8

    def interval(self, approach: int) -> tuple[float, float]:
        """Bootstrap interval of ``a`` for approach 1, 2 or 3 at :attr:`level`."""
        boot = {1: self.boot1, 2: self.boot2, 3: self.boot3}[approach]
        return boot.interval("a", self.level)

    @property
    def exponents(self) -> dict[int, float]:
        """``a`` of approaches 1, 2 and 3."""
        return {1: self.a1.a, 2: self.a2.a, 3: self.a3.law.exponents[0]}

    def summary(self) -> dict[str, object]:
        """What the chapter and its lab notes report: the sweep's extent, each ``a`` with its interval, E.

        Keys: ``n_runs, n_budgets, c_lo, c_hi, min_steps, resamples``, ``a1..a3`` with
        ``_lo``/``_hi``, ``spread, a_lo, a_hi, a2_wide, E, min_loss, a3_state``, and approach 1's
        diagnostics ``sigma, a1_excluded, a1_points, a1_curves_lo, a1_curves_hi``.
        """
        runs, a = self.runs, self.exponents
        out: dict[str, object] = {
            "n_runs": len(runs),
            "n_budgets": runs["group"].nunique(),
            "c_lo": float(runs["group"].min()),
            "c_hi": float(runs["group"].max()),
            "min_steps": int(runs["steps"].min()),
            "resamples": self.boot1.n_resamples,
        }
        for k in (1, 2, 3):
            lo, hi = self.interval(k)
            out |= {f"a{k}": float(a[k]), f"a{k}_lo": lo, f"a{k}_hi": hi}
        out |= {
            "spread": float(max(a.values()) - min(a.values())),
            "a_lo": float(min(a.values())),
            "a_hi": float(max(a.values())),
            "a2_wide": self.a2_wide.a,
            "E": self.a3.law.E,
            "min_loss": float(runs["loss"].min()),
            "a3_state": "converged" if self.a3.converged else "did NOT converge",
            "sigma": self.sigma,
            "a1_excluded": self.a1_excluded,
            "a1_points": self.a1_points,
        }
        out["a1_curves_lo"], out["a1_curves_hi"] = self.boot1_curves.interval("a", 0.8)
        return out

    def approach_inputs(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The runs as the approaches figure draws them: seed-0 ``curves`` (run, N, flops, loss) and ``runs``."""
        seed0 = self.runs[self.runs["seed"] == 0]
        curves = pd.DataFrame(
            {"run": seed0["N"].astype(str), "N": seed0["N"], "flops": seed0["C"], "loss": seed0["loss"]}
        )
        runs = pd.DataFrame(
            {"C": self.runs["group"], "N": self.runs["N"], "D": self.runs["D"], "loss": self.runs["loss"]}
        )
        return curves, runs

    def table(self) -> pd.DataFrame:
        """``approach, a, low, high, width`` and what each used."""
        used = {
            1: f"{self.a1_points - self.a1_excluded} of {self.a1_points} envelope points (edge wins left out); "
            f"losses perturbed by the seed spread {self.sigma:.3f}",
            2: f"{int((~self.a2.minima['at_edge']).sum())} budgets, window {self.window}; "
            f"window {self.window + 2}: a = {self.a2_wide.a:.3f}",
            3: f"{self.a3.n_points} runs with >= {self.min_steps} steps; E = {self.a3.law.E:.3f}",
        }
        rows = []
        for k, a in self.exponents.items():
            lo, hi = self.interval(k)
            rows.append({"approach": k, "a": a, "low": lo, "high": hi, "width": hi - lo, "used": used[k]})
        return pd.DataFrame(rows).set_index("approach")


def seed_spread(runs: pd.DataFrame) -> float:
    """Seed-to-seed spread of one run's loss: RMS of the paired differences over sqrt(2).

    From the runs repeated with another seed at the same budget and size (NaN if none).
    """
    wide = runs.pivot_table(index=["group", "N"], columns="seed", values="loss")
    if wide.shape[1] < 2:
        return float("nan")
    diff = (wide.iloc[:, 1] - wide.iloc[:, 0]).dropna().to_numpy()
    return float(np.sqrt(np.mean(diff**2) / 2.0)) if diff.size else float("nan")


def _bootstrap_approach1(
    curves: pd.DataFrame, n_resamples: int, seed: int, point: float, sigma: float, *, resample_curves: bool = False
) -> Bootstrap:
    """Approach 1's interval by a bootstrap.

    Each loss is perturbed by the measured seed spread ``sigma`` (default), or whole size
    curves are resampled with replacement (``resample_curves``).
    """
    rng = np.random.default_rng(seed)
    sizes = np.unique(curves["N"])
    out = []
    for _ in range(n_resamples):
        if resample_curves:
            sub = curves[curves["N"].isin(np.unique(rng.choice(sizes, size=sizes.size, replace=True)))]
            loss = sub["loss"]
        else:
            sub = curves
            loss = sub["loss"] * np.exp(rng.normal(0.0, sigma / sub["loss"].to_numpy()))
        try:
            out.append(fit_envelope(sub["N"], sub["C"], loss, exclude_edges=True).a)
        except ValueError:  # too few curves, or a single winner: no slope
            continue
    a = np.array(out)
    return Bootstrap(point={"a": point, "b": 1 - point}, samples=pd.DataFrame({"a": a, "b": 1 - a}),
                     n_resamples=n_resamples, seed=seed)  # fmt: skip


def three_approaches(
    runs: pd.DataFrame, *, window: int = 5, min_steps: int = 500, n_resamples: int = 1000, seed: int = 0,
    level: float = 0.8, sigma: float | None = None,
) -> ThreeApproaches:  # fmt: skip
    """Approaches 1-3 and their bootstraps on :func:`final_runs`' rows of an IsoFLOP sweep.

    Approach 1 uses, as each size's curve, its final losses at the budgets it was run at
    (each a run with its own matched schedule, as Hoffmann et al. did) against compute; grid
    values won by the smallest or largest curve present are left out. Approach 2 fits each
    budget (``group``; the runs of a budget share its compute). Approach 3 fits runs with at
    least ``min_steps`` optimiser steps.
    """
    seed0 = runs[runs["seed"] == 0]
    curves = seed0.groupby("N").filter(lambda g: len(g) >= 2)
    a1 = fit_envelope(curves["N"], curves["C"], curves["loss"], exclude_edges=True)
    sigma = seed_spread(runs) if sigma is None else float(sigma)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(
            "approach 1's interval perturbs each loss by the seed-to-seed spread, which needs runs repeated "
            "with another seed (none here); pass sigma= explicitly"
        )
    boot1 = _bootstrap_approach1(curves, n_resamples, seed, a1.a, sigma)
    boot1_curves = _bootstrap_approach1(curves, n_resamples, seed, a1.a, sigma, resample_curves=True)
    a2 = fit_isoflop(runs["N"], runs["group"], runs["loss"], window=window)
    a2_wide = fit_isoflop(runs["N"], runs["group"], runs["loss"], window=window + 2)
    boot2 = bootstrap_isoflop(runs["N"], runs["group"], runs["loss"], window=window, n_resamples=n_resamples, seed=seed)
    long = runs[runs["steps"] >= min_steps]
    a3 = fit_chinchilla(long["N"], long["D"], long["loss"])
    boot3 = bootstrap_chinchilla(long["N"], long["D"], long["loss"], n_resamples=n_resamples, seed=seed, fit=a3)
    return ThreeApproaches(
        runs=runs,
        a1=a1,
        a2=a2,
        a2_wide=a2_wide,
        a3=a3,
        boot1=boot1,
        boot2=boot2,
        boot3=boot3,
        boot1_curves=boot1_curves,
        sigma=sigma,
        a1_excluded=int(a1.minima["at_edge"].sum()),
        a1_points=len(a1.minima),
        window=window,
        min_steps=min_steps,
        level=level,
    )


def profile_E(N, D, loss, E_values, *, delta: float = 1e-3) -> pd.DataFrame:
    """Approach 3's objective with ``E`` held fixed at each of ``E_values``.

    A flat profile means the data do not identify ``E`` (the committed v1 runs: 1.40e-3 to
    1.54e-3 over E = 0 ... 1.2). Each value is fitted from the default grid's starts for
    ``(a, b, alpha, beta)`` with ``e = log E`` frozen.
    """
    n, d, l = (np.asarray(v, float) for v in (N, D, loss))
    base = _make_fun_grad(np.log(n), np.log(d), np.log(l), delta)

    def frozen(theta, rows):
        f, g = base(theta, rows)
        g = g.copy()
        g[:, 2] = 0.0
        return f, g

    grid = default_grid()
    grid = grid[grid[:, 2] == 0.0]  # one e per (a, b, alpha, beta); replaced below
    rows = []
    for e_val in E_values:
        if not e_val > 0:
            raise ValueError(f"E_values must be > 0, got {e_val!r}")
        x0 = grid.copy()
        x0[:, 2] = np.log(e_val)
        res = minimize_batch(frozen, x0, max_iter=500, ftol=1e-10, gtol=1e-7)
        f = np.where(np.isfinite(res.fun), res.fun, np.inf)
        k = int(np.argmin(f))
        alpha, beta = res.x[k, 3], res.x[k, 4]
        rows.append({"E": float(e_val), "objective": float(f[k]) * delta, "alpha": alpha, "beta": beta,
                     "a": beta / (alpha + beta)})  # fmt: skip
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SyntheticApproaches:
    """The three approaches on synthetic runs drawn from a known law (:func:`synthetic_approaches`)."""

    truth: ChinchillaLaw
    runs: pd.DataFrame = field(repr=False)  # IsoFLOP runs (C, N, D, loss)
    curves: pd.DataFrame = field(repr=False)  # training curves (run, N, flops, loss)
    fits: Approaches
    n_resamples: int
    level: float = 0.8

    def summary(self) -> dict[str, object]:
        """The synthetic data's extent, the truth's ``a``, each approach's ``a`` and interval, approach 3's E."""
        out: dict[str, object] = {
            "n_runs": len(self.runs),
            "n_budgets": self.runs["C"].nunique(),
            "n_curves": self.curves["run"].nunique(),
            "truth_a": self.truth.exponents[0],
        }
        for k, boot in (("1", self.fits.boot1), ("2", self.fits.boot2), ("3", self.fits.boot3)):
            lo, hi = boot.interval("a", self.level)
            out |= {f"a{k}": boot.point["a"], f"a{k}_lo": lo, f"a{k}_hi": hi}
        return out | {"E3": self.fits.fit3.law.E, "n_resamples": self.n_resamples}


def synthetic_approaches(truth: ChinchillaLaw, *, noise: float, seed: int, n_resamples: int) -> SyntheticApproaches:
    """Synthetic IsoFLOP runs and training curves (half the noise) from ``truth``, and the three approaches on them."""
    runs = synthetic.isoflop_runs(truth, noise=noise, seed=seed)
    curves = synthetic.training_curves(truth, noise=noise / 2, seed=seed)
    fits = fit_approaches(curves, runs, n_resamples=n_resamples, seed=seed)
    return SyntheticApproaches(truth=truth, runs=runs, curves=curves, fits=fits, n_resamples=n_resamples)
