"""Percentile bootstraps of the fits, vectorised across resamples (kept apart from fitting)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from scaling_utils._validation import check_int, check_level, paired, positive_scalar
from scaling_utils.fitting._lbfgs import minimize_batch
from scaling_utils.fitting.approaches import _curves, _envelope_table, _window, fit_envelope, fit_isoflop
from scaling_utils.fitting.parametric import ChinchillaFit, _make_fun_grad, fit_chinchilla

# ------------------------------------------------------------------------ bootstrap


@dataclass(frozen=True)
class Bootstrap:
    """Bootstrap samples of fitted quantities, with percentile intervals.

    Attributes
    ----------
    point : dict of str to float
        Estimates on the full data.
    samples : pandas.DataFrame
        One row per successful resample, one column per quantity.
    n_resamples : int
        Resamples drawn (rows of ``samples`` may be fewer where a resample could not be
        fitted, e.g. a budget without an interior minimum).
    seed : int
    n_unconverged : int
        Resamples whose optimiser stopped before converging; they are dropped from
        ``samples`` (approach 3 only; 0 elsewhere).
    """

    point: dict[str, float]
    samples: pd.DataFrame = field(repr=False)
    n_resamples: int
    seed: int
    n_unconverged: int = 0

    def interval(self, name: str, level: float = 0.95) -> tuple[float, float]:
        """Percentile interval of ``name`` at ``level`` (e.g. 0.8 for Hoffmann's 10th-90th)."""
        lv = check_level(level)
        if name not in self.samples:
            raise ValueError(f"name must be one of {list(self.samples.columns)}, got {name!r}")
        lo, hi = np.percentile(self.samples[name], [50 * (1 - lv), 50 * (1 + lv)])
        return float(lo), float(hi)

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """Estimate and interval of every quantity."""
        rows = []
        for name in self.samples.columns:
            lo, hi = self.interval(name, level)
            rows.append({"quantity": name, "estimate": self.point[name], "low": lo, "high": hi})
        return pd.DataFrame(rows).set_index("quantity")


def _resample_counts(rng: np.random.Generator, n: int, n_resamples: int) -> NDArray[np.float64]:
    """Multinomial counts: how often each of n points appears in each resample."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(np.float64)


def bootstrap_chinchilla(
    N: ArrayLike,
    D: ArrayLike,
    loss: ArrayLike,
    *,
    n_resamples: int = 4000,
    seed: int = 0,
    delta: float = 1e-3,
    fit: ChinchillaFit | None = None,
    max_iter: int = 2000,
) -> Bootstrap:
    """Bootstrap approach 3: refit on ``n_resamples`` resamples of the runs (with replacement).

    Every resample starts from the full-data optimum (``fit``, computed if not given) rather
    than from the whole grid: a resample's optimum lies near it, and this makes 4,000 refits
    take seconds. All resamples advance together through the batched L-BFGS.

    Returns
    -------
    Bootstrap
        Quantities ``E, A, B, alpha, beta, a, b``; resamples whose fit diverges (a non-finite
        objective or scale, or an exponent <= 0) are dropped and counted in ``n_resamples``;
        resamples whose L-BFGS stopped at ``max_iter`` or in a failed line search without
        converging are dropped and counted in ``n_unconverged``.
    """
    n, d, l = paired(5, N=N, D=D, loss=loss)
    n_resamples = check_int(n_resamples, "n_resamples", 2)
    seed = check_int(seed, "seed", 0)
    delta = positive_scalar(delta, "delta")
    if fit is None:
        fit = fit_chinchilla(n, d, l, delta=delta)
    rng = np.random.default_rng(seed)
    counts = _resample_counts(rng, n.size, n_resamples)
    fun_grad = _make_fun_grad(np.log(n), np.log(d), np.log(l), delta, weights=counts)
    x0 = np.tile(np.asarray(fit.theta), (n_resamples, 1))
    res = minimize_batch(fun_grad, x0, max_iter=check_int(max_iter, "max_iter", 1))
    th = res.x
    alpha, beta = th[:, 3], th[:, 4]
    with np.errstate(over="ignore"):  # a resample that ran off to an infinite scale is dropped below
        e_a_b = np.exp(th[:, [2, 0, 1]])
    samples = pd.DataFrame(
        {
            "E": e_a_b[:, 0],
            "A": e_a_b[:, 1],
            "B": e_a_b[:, 2],
            "alpha": alpha,
            "beta": beta,
            "a": beta / (alpha + beta),
            "b": alpha / (alpha + beta),
        }
    )
    ok = np.isfinite(res.fun) & (alpha > 0) & (beta > 0) & np.isfinite(e_a_b).all(axis=1)
    unconverged = ok & ~res.converged
    ok &= res.converged
    law = fit.law
    point = {
        "E": law.E,
        "A": law.A,
        "B": law.B,
        "alpha": law.alpha,
        "beta": law.beta,
        "a": law.exponents[0],
        "b": law.exponents[1],
    }
    return Bootstrap(
        point=point,
        samples=samples[ok].reset_index(drop=True),
        n_resamples=n_resamples,
        seed=seed,
        n_unconverged=int(unconverged.sum()),
    )


def _batched_loglog_slope(x: NDArray[np.float64], y: NDArray[np.float64], w: NDArray[np.float64]):
    """Weighted least-squares slope of log y on log x, row by row (w = 0 drops a point)."""
    lx, ly = np.log(x), np.log(np.where(w > 0, y, 1.0))
    sw = np.maximum(w.sum(axis=1), 1e-300)  # rows with no points give NaN below and are dropped by callers
    mx = (w * lx).sum(axis=1) / sw
    my = (w * ly).sum(axis=1) / sw
    sxx = (w * (lx - mx[:, None]) ** 2).sum(axis=1)
    sxy = (w * (lx - mx[:, None]) * (ly - my[:, None])).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sxy / sxx


def bootstrap_isoflop(
    N: ArrayLike,
    C: ArrayLike,
    loss: ArrayLike,
    *,
    n_resamples: int = 4000,
    seed: int = 0,
    window: int | None = None,
) -> Bootstrap:
    """Bootstrap approach 2: resample runs within each budget, refit every parabola and the power law.

    A resample whose parabola for some budget has no interior minimum drops that budget;
    a resample left with fewer than 3 budgets is discarded (counted in ``n_resamples``).
    With ``window``, each budget's window of sizes is chosen once, on the full data, and
    resampled within.

    Returns
    -------
    Bootstrap
        Quantities ``a, b``.
    """
    n, c, l = paired(3, N=N, C=C, loss=loss)
    n_resamples = check_int(n_resamples, "n_resamples", 2)
    seed = check_int(seed, "seed", 0)
    point = fit_isoflop(n, c, l, window=window)
    rng = np.random.default_rng(seed)
    budgets = np.unique(c)
    n_opt = np.full((n_resamples, budgets.size), np.nan)
    for j, budget in enumerate(budgets):
        sel = c == budget
        x, y = _window(np.log(n[sel]), l[sel], window)
        w = _resample_counts(rng, x.size, n_resamples)
        design = np.stack([np.ones_like(x), x, x * x], axis=1)  # (k, 3)
        xtwx = np.einsum("rk,ki,kj->rij", w, design, design)
        xtwy = np.einsum("rk,ki,k->ri", w, design, y)
        distinct = ((w > 0)[:, :, None] & (x[None, :, None] == np.unique(x)[None, None, :])).any(axis=1).sum(axis=1)
        solvable = distinct >= 3
        coef = np.full((n_resamples, 3), np.nan)
        coef[solvable] = np.linalg.solve(xtwx[solvable], xtwy[solvable][:, :, None])[:, :, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            xv = -coef[:, 1] / (2 * coef[:, 2])
        interior = solvable & (coef[:, 2] > 0) & (xv >= x.min()) & (xv <= x.max())
        n_opt[interior, j] = np.exp(xv[interior])
    w = np.isfinite(n_opt).astype(np.float64)
    enough = w.sum(axis=1) >= 3
    slope = _batched_loglog_slope(np.broadcast_to(budgets, n_opt.shape), np.nan_to_num(n_opt, nan=1.0), w)
    a = slope[enough]
    samples = pd.DataFrame({"a": a, "b": 1.0 - a})
    return Bootstrap(point={"a": point.a, "b": point.b}, samples=samples, n_resamples=n_resamples, seed=seed)


def bootstrap_envelope(
    N: ArrayLike,
    flops: ArrayLike,
    loss: ArrayLike,
    *,
    run: ArrayLike | None = None,
    n_grid: int = 100,
    n_resamples: int = 4000,
    seed: int = 0,
) -> Bootstrap:
    """Bootstrap approach 1: resample whole training curves (runs) with replacement.

    A resample with fewer than 2 distinct runs, or whose envelope has a single model size
    throughout (no slope to fit), is discarded.

    Returns
    -------
    Bootstrap
        Quantities ``a, b``.
    """
    n, f, l = paired(4, N=N, flops=flops, loss=loss)
    n_resamples = check_int(n_resamples, "n_resamples", 2)
    seed = check_int(seed, "seed", 0)
    point = fit_envelope(n, f, l, run=run, n_grid=n_grid)
    runs = n if run is None else np.asarray(run)
    curves, sizes = _curves(n, f, l, runs)
    grid, table = _envelope_table(curves, n_grid)
    rng = np.random.default_rng(seed)
    present = _resample_counts(rng, len(curves), n_resamples) > 0  # (R, runs)
    masked = np.where(present[:, :, None] & ~np.isnan(table)[None], table[None], np.inf)  # (R, runs, G)
    best = masked.argmin(axis=1)  # (R, G)
    valid = np.isfinite(masked.min(axis=1))
    n_opt = np.where(valid, sizes[best], 1.0)
    w = valid.astype(np.float64)
    varied = np.array([np.unique(row[v]).size > 1 for row, v in zip(n_opt, valid, strict=True)])
    ok = (w.sum(axis=1) >= 3) & varied
    slope = _batched_loglog_slope(np.broadcast_to(grid, n_opt.shape), n_opt, w)[ok]
    samples = pd.DataFrame({"a": slope, "b": 1.0 - slope})
    return Bootstrap(point={"a": point.a, "b": point.b}, samples=samples, n_resamples=n_resamples, seed=seed)
