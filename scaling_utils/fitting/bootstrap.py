"""Percentile bootstraps of the fits, vectorised across resamples (kept apart from fitting)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from scaling_utils._validation import check_int, check_level, group_budgets, paired, positive_scalar
from scaling_utils.fitting._lbfgs import BatchResult, minimize_batch
from scaling_utils.fitting._newton import newton_batch
from scaling_utils.fitting.approaches import _curves, _envelope_table, _window, fit_envelope, fit_isoflop
from scaling_utils.fitting.parametric import CHUNK_ELEMENTS, ChinchillaFit, _make_fun_grad, fit_chinchilla
from scaling_utils.fitting.varpro import from_centred, to_centred

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

    @property
    def n_used(self) -> int:
        """Resamples that gave a fit (rows of ``samples``)."""
        return len(self.samples)

    def interval_note(self, name: str, level: float = 0.95) -> str | None:
        """Why the interval of ``name`` at ``level`` should not be read at face value, or None.

        Two reasons: too few resamples beyond each end (fewer than 5), or an interval that
        excludes the estimate (the resamples that could be fitted are a biased subset, or
        the bootstrap distribution lies to one side of the full-data fit).
        """
        lv = check_level(level)
        if name not in self.samples:
            raise ValueError(f"name must be one of {list(self.samples.columns)}, got {name!r}")
        used = self.n_used
        if used == 0:
            return f"none of the {self.n_resamples} resamples could be fitted: no interval"
        tail = used * (1 - lv) / 2
        if tail < 5:
            need = int(np.ceil(10 / (1 - lv) - 1e-9))
            return (
                f"only {used} of {self.n_resamples} resamples were used: each end of the {100 * lv:.0f}% "
                f"interval rests on {tail:.2g} resamples; use at least {need}"
            )
        lo, hi = self.interval(name, lv)
        est = self.point[name]
        if not lo <= est <= hi:
            return (
                f"the {100 * lv:.0f}% interval of {name} ({lo:.4g} to {hi:.4g}) excludes its estimate {est:.4g}: "
                f"{used} of {self.n_resamples} resamples were used, and those that could be fitted lie to "
                "one side of the full-data fit (a biased subset), so the interval understates the uncertainty"
            )
        return None

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
    take about a second. All resamples advance together through a batched damped Newton
    method with the exact Hessian (:mod:`scaling_utils.fitting._newton`), at most
    :data:`NEWTON_STEPS` steps; the few resamples it leaves unconverged (a flat valley, such as
    E running to 0) continue with the batched L-BFGS, at most ``max_iter`` iterations.

    Returns
    -------
    Bootstrap
        Quantities ``E, A, B, alpha, beta, a, b``; resamples whose fit diverges (a non-finite
        objective or scale, or an exponent <= 0) are dropped and counted in ``n_resamples``;
        resamples whose Newton steps stopped at ``max_iter`` or found no acceptable step without
        converging are dropped and counted in ``n_unconverged``.
    """
    n, d, l = paired(5, N=N, D=D, loss=loss)
    n_resamples = check_int(n_resamples, "n_resamples", 2)
    seed = check_int(seed, "seed", 0)
    delta = positive_scalar(delta, "delta")
    if fit is None:
        fit = fit_chinchilla(n, d, l, delta=delta)
    max_iter = check_int(max_iter, "max_iter", 1)
    rng = np.random.default_rng(seed)
    ln_n, ln_d, ln_l = np.log(n), np.log(d), np.log(l)
    # Refits by a batched damped Newton method in centred coordinates (scaling_utils.fitting._newton):
    # about 8 steps per resample where L-BFGS needed 35-65.
    mn, md = float(ln_n.mean()), float(ln_d.mean())
    theta0 = to_centred(np.asarray(fit.theta), mn, md)
    # Resamples in chunks of about CHUNK_ELEMENTS weights: memory stays bounded at any size, and
    # the counts are drawn from the one generator in order, so the result does not depend on it.
    step = max(1, CHUNK_ELEMENTS // n.size)
    th, fun, conv = [], [], []
    for start in range(0, n_resamples, step):
        counts = _resample_counts(rng, n.size, min(step, n_resamples - start))
        res = _refit(ln_n - mn, ln_d - md, ln_l, delta, counts, theta0, max_iter)
        th.append(from_centred(res.x, mn, md))
        fun.append(res.fun)
        conv.append(res.converged)
    th = np.concatenate(th)
    res_fun, res_converged = np.concatenate(fun), np.concatenate(conv)
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
    ok = np.isfinite(res_fun) & (alpha > 0) & (beta > 0) & np.isfinite(e_a_b).all(axis=1)
    unconverged = ok & ~res_converged
    ok &= res_converged
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


NEWTON_STEPS = 40
"""Newton steps per bootstrap resample before L-BFGS takes over (about 8 are needed at most resamples)."""


def _refit(u, v, ln_l, delta, counts, theta0, max_iter):
    """Newton from ``theta0`` for every resample, then L-BFGS for the ones Newton did not converge."""
    x0 = np.tile(theta0, (counts.shape[0], 1))
    res = newton_batch(u, v, ln_l, delta, counts, x0, max_iter=min(max_iter, NEWTON_STEPS))
    left = np.flatnonzero(~res.converged & np.isfinite(res.fun))
    if left.size == 0:
        return res
    more = minimize_batch(_make_fun_grad(u, v, ln_l, delta, weights=counts[left]), res.x[left], max_iter=max_iter)
    fields = {f: getattr(res, f).copy() for f in BatchResult.__dataclass_fields__}
    for f in fields:
        fields[f][left] = getattr(more, f) + (fields[f][left] if f == "n_iter" else 0)
    return BatchResult(**fields)


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


def _distinct_drawn(x: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.int64]:
    """Per resample (row of ``w``), how many distinct values of ``x`` it drew; O(R k) memory."""
    _, inverse = np.unique(x, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(inverse[order]) > 0])
    return np.maximum.reduceat((w[:, order] > 0).astype(np.int8), starts, axis=1).sum(axis=1)


def _solve_or_nan(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Solve the stacked 3x3 systems ``a x = b``; a singular one gives NaN, not an error.

    Densely sampled sizes give nearly equal ``log N`` and normal equations that are
    singular to working precision for some resamples; those resamples drop that budget.
    """
    try:
        return np.linalg.solve(a, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for i in range(a.shape[0]):
            try:
                out[i] = np.linalg.solve(a[i], b[i])
            except np.linalg.LinAlgError:
                continue
        return out


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
    resampled within. Budgets are grouped as in :func:`isoflop_minima`; a resample whose
    normal equations are singular (densely sampled sizes) drops that budget instead of
    failing. ``Bootstrap.n_used`` says how many resamples were used and
    :meth:`Bootstrap.interval_note` whether the interval can be read at face value.

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
    c = group_budgets(c)
    budgets = np.unique(c)
    n_opt = np.full((n_resamples, budgets.size), np.nan)
    for j, budget in enumerate(budgets):
        sel = c == budget
        x, y = _window(np.log(n[sel]), l[sel], window)
        w = _resample_counts(rng, x.size, n_resamples)
        design = np.stack([np.ones_like(x), x, x * x], axis=1)  # (k, 3)
        xtwx = np.einsum("rk,ki,kj->rij", w, design, design)
        xtwy = np.einsum("rk,ki,k->ri", w, design, y)
        solvable = _distinct_drawn(x, w) >= 3
        coef = np.full((n_resamples, 3), np.nan)
        coef[solvable] = _solve_or_nan(xtwx[solvable], xtwy[solvable])
        with np.errstate(invalid="ignore", divide="ignore"):
            xv = -coef[:, 1] / (2 * coef[:, 2])
        interior = solvable & (coef[:, 2] > 0) & (xv >= x.min()) & (xv <= x.max())
        n_opt[interior, j] = np.exp(xv[interior])
    w = np.isfinite(n_opt).astype(np.float64)
    enough = w.sum(axis=1) >= 3
    slope = _batched_loglog_slope(np.broadcast_to(budgets, n_opt.shape), np.nan_to_num(n_opt, nan=1.0), w)
    a = slope[enough & np.isfinite(slope)]
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
