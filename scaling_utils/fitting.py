"""Fitting scaling laws the way the papers did, fast enough to bootstrap in a notebook.

* :func:`fit_power_law`: ``y = coefficient * x**exponent`` by least squares in log-log space.
* :func:`fit_saturating_power_law`: ``y = E + A * x**-alpha`` (a loss curve with a floor).
* :func:`fit_chinchilla`: approach 3 of Hoffmann et al. (2022), the parametric loss fitted
  with a Huber loss on log-loss from a grid of 4,500 starting points, as in Hoffmann et al.
  and Besiroglu et al. (2024).
* :func:`isoflop_minima`: approach 2, the vertex of a parabola in ``log N`` per budget.
* :func:`envelope_minima`: approach 1, the lower envelope of training curves.
* :func:`bootstrap_chinchilla`, :func:`bootstrap_isoflop`, :func:`bootstrap_envelope`:
  percentile intervals by resampling, vectorised across resamples.

Speed: all starts (or all resamples) of approach 3 advance together through a batched
L-BFGS (:mod:`scaling_utils._lbfgs`) with analytic gradients; the best start is then polished
by :func:`scipy.optimize.minimize` (L-BFGS-B) so that the optimum matches a plain loop of
``scipy.optimize.minimize`` over the same grid. ``benchmarks/fit_speed.py`` measures both.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from scaling_utils._lbfgs import minimize_batch
from scaling_utils._validation import as_positive, positive_scalar
from scaling_utils.laws import ChinchillaLaw

__all__ = [
    "ApproachFit",
    "Bootstrap",
    "ChinchillaFit",
    "PowerLawFit",
    "SaturatingPowerLawFit",
    "bootstrap_chinchilla",
    "bootstrap_envelope",
    "bootstrap_isoflop",
    "default_grid",
    "envelope_minima",
    "fit_chinchilla",
    "fit_envelope",
    "fit_isoflop",
    "fit_power_law",
    "fit_saturating_power_law",
    "huber_objective",
    "interval_width_study",
    "isoflop_minima",
    "runs_for_width",
]


# ------------------------------------------------------------------------ input checks


def _paired(min_points: int, **arrays: ArrayLike) -> list[NDArray[np.float64]]:
    """Positive, finite, 1-d arrays of equal length, at least ``min_points`` long."""
    out = []
    for name, value in arrays.items():
        arr = as_positive(value, name)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
        out.append(arr)
    lengths = {name: a.size for name, a in zip(arrays, out, strict=True)}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise ValueError(f"inputs must have the same length: {desc}")
    n = out[0].size
    if n < min_points:
        raise ValueError(f"need at least {min_points} points, got {n}")
    return out


def _check_int(value: object, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _check_level(level: float) -> float:
    lv = positive_scalar(level, "level")
    if not 0 < lv < 1:
        raise ValueError(f"level must be in (0, 1), got {lv}")
    return lv


# ------------------------------------------------------------------------ power laws


@dataclass(frozen=True)
class PowerLawFit:
    """Result of :func:`fit_power_law`: ``y = coefficient * x**exponent``.

    Standard errors are those of ordinary least squares on ``log y = log c + k log x``;
    ``coefficient_se`` is propagated to the coefficient by the delta method.
    """

    coefficient: float
    exponent: float
    coefficient_se: float
    exponent_se: float
    r2: float
    n_points: int

    def predict(self, x: ArrayLike) -> NDArray[np.float64]:
        """``coefficient * x**exponent``."""
        return self.coefficient * as_positive(x, "x") ** self.exponent


def fit_power_law(x: ArrayLike, y: ArrayLike) -> PowerLawFit:
    """Fit ``y = coefficient * x**exponent`` by least squares in log-log space.

    Parameters
    ----------
    x, y : array_like
        Positive, finite, equal-length 1-d arrays with at least 3 points (two for the line
        and one for an error estimate) and at least two distinct ``x``.

    Returns
    -------
    PowerLawFit

    Examples
    --------
    >>> fit = fit_power_law([1, 10, 100], [2, 20, 200])
    >>> round(fit.coefficient, 6), round(fit.exponent, 6)
    (2.0, 1.0)
    """
    xs, ys = _paired(3, x=x, y=y)
    lx, ly = np.log(xs), np.log(ys)
    if np.ptp(lx) == 0:
        raise ValueError("x must hold at least two distinct values")
    res = stats.linregress(lx, ly)
    n = xs.size
    resid = ly - (res.intercept + res.slope * lx)
    ss_tot = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    coef = float(np.exp(res.intercept))
    return PowerLawFit(
        coefficient=coef,
        exponent=float(res.slope),
        coefficient_se=coef * float(res.intercept_stderr),
        exponent_se=float(res.stderr),
        r2=r2,
        n_points=n,
    )


@dataclass(frozen=True)
class SaturatingPowerLawFit:
    """Result of :func:`fit_saturating_power_law`: ``y = E + A * x**-alpha``."""

    E: float
    A: float
    alpha: float
    E_se: float
    A_se: float
    alpha_se: float
    r2: float
    n_points: int

    def predict(self, x: ArrayLike) -> NDArray[np.float64]:
        """``E + A * x**-alpha``."""
        return self.E + self.A * as_positive(x, "x") ** (-self.alpha)


def fit_saturating_power_law(
    x: ArrayLike, y: ArrayLike, *, alpha_bounds: tuple[float, float] = (1e-3, 3.0)
) -> SaturatingPowerLawFit:
    """Fit ``y = E + A * x**-alpha`` with ``E >= 0``, ``A > 0``, by least squares.

    For a fixed ``alpha`` the model is linear in ``(E, A)``, so the fit searches ``alpha``
    alone (variable projection) over a log grid then by bounded scalar minimisation, and
    solves ``(E, A)`` in closed form; standard errors come from the Jacobian at the optimum.

    Parameters
    ----------
    x, y : array_like
        Positive, finite, equal-length 1-d arrays with at least 4 points.
    alpha_bounds : (float, float)
        Search range for ``alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.logspace(3, 9, 20)
    >>> fit = fit_saturating_power_law(x, 1.7 + 400 * x**-0.34)
    >>> round(fit.E, 4), round(fit.A, 2), round(fit.alpha, 4)
    (1.7, 400.0, 0.34)
    """
    xs, ys = _paired(4, x=x, y=y)
    lo, hi = (positive_scalar(b, "alpha_bounds") for b in alpha_bounds)
    if lo >= hi:
        raise ValueError(f"alpha_bounds must be increasing, got {alpha_bounds}")
    scale = float(np.exp(np.mean(np.log(xs))))  # conditions x**-alpha near 1
    u = xs / scale

    def solve(alpha: float) -> tuple[float, float, float]:
        z = u ** (-alpha)
        design = np.column_stack([np.ones_like(z), z])
        coef, *_ = np.linalg.lstsq(design, ys, rcond=None)
        e, a = coef
        if e < 0:  # E is a floor: clip to 0 and refit A alone
            e, a = 0.0, float(z @ ys / (z @ z))
        resid = ys - e - a * z
        return float(resid @ resid), float(e), float(a)

    grid = np.geomspace(lo, hi, 200)
    sse = np.array([solve(al)[0] for al in grid])
    k = int(np.argmin(sse))
    bracket = (grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)])
    res = optimize.minimize_scalar(lambda al: solve(al)[0], bounds=bracket, method="bounded", options={"xatol": 1e-12})
    alpha = float(res.x) if res.fun <= sse[k] else float(grid[k])
    sse_min, e, a_scaled = solve(alpha)
    if a_scaled <= 0:
        raise ValueError("y does not decrease with x: no E + A x^-alpha fit with A > 0")
    a = a_scaled * scale**alpha
    n = xs.size
    z = xs ** (-alpha)
    jac = np.column_stack([np.ones(n), z, -a * z * np.log(xs)])
    dof = max(n - 3, 1)
    sigma2 = sse_min / dof
    try:
        cov = sigma2 * np.linalg.inv(jac.T @ jac)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full(3, np.nan)
    ss_tot = float(np.sum((ys - ys.mean()) ** 2))
    return SaturatingPowerLawFit(
        E=e,
        A=float(a),
        alpha=alpha,
        E_se=float(se[0]),
        A_se=float(se[1]),
        alpha_se=float(se[2]),
        r2=1.0 - sse_min / ss_tot if ss_tot > 0 else 1.0,
        n_points=n,
    )


# ------------------------------------------------------------------------ approach 3

_PARAMS = ("a", "b", "e", "alpha", "beta")


def default_grid() -> NDArray[np.float64]:
    """The 4,500 starting points of Hoffmann et al. (2022), columns ``(a, b, e, alpha, beta)``.

    ``alpha, beta`` in {0, 0.5, ..., 2}; ``e`` in {-1, -0.5, ..., 1}; ``a, b`` in
    {0, 5, ..., 25}.

    Examples
    --------
    >>> default_grid().shape
    (4500, 5)
    """
    ab = np.arange(0.0, 26.0, 5.0)
    e = np.arange(-1.0, 1.01, 0.5)
    ex = np.arange(0.0, 2.01, 0.5)
    return np.array(list(itertools.product(ab, ab, e, ex, ex)), dtype=np.float64)


def _huber(r: NDArray[np.float64], delta: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Huber loss and its derivative: ``dh = clip(r, -delta, delta)``, ``h = dh * (r - dh / 2)``."""
    dh = np.clip(r, -delta, delta)
    return dh * (r - 0.5 * dh), dh


def _objective_terms(theta: NDArray[np.float64], ln_n, ln_d, ln_l, delta):
    """Residuals r (S, n), Huber pieces and the softmax weights of the three terms.

    ``LSE(t1, t2, e) = log(exp(t1) + exp(t2) + exp(e))``, evaluated directly: the exponents
    are clipped to [-700, 700] so that no iterate overflows or underflows (the optimum lies far inside).
    """
    a, b, e, alpha, beta = (theta[:, i, None] for i in range(5))
    x1 = np.exp(np.clip(a - alpha * ln_n, -700.0, 700.0))
    x2 = np.exp(np.clip(b - beta * ln_d, -700.0, 700.0))
    x3 = np.exp(np.clip(e, -700.0, 700.0))
    tot = x1 + x2 + x3
    r = np.log(tot) - ln_l
    h, dh = _huber(r, delta)
    inv = 1.0 / tot
    return r, h, dh, x1 * inv, x2 * inv, x3 * inv


def _make_fun_grad(ln_n, ln_d, ln_l, delta, weights=None):
    """Objective and gradient over parameter rows; ``weights`` (S, n) per problem, or ones."""

    def fun_grad(theta, rows):
        _, h, dh, p1, p2, p3 = _objective_terms(theta, ln_n, ln_d, ln_l, delta)
        if weights is not None:
            w = weights[rows]
            h = h * w
            dh = dh * w
        f = h.sum(axis=1)
        g = np.column_stack(
            [
                (dh * p1).sum(axis=1),
                (dh * p2).sum(axis=1),
                (dh * p3).sum(axis=1),
                -(dh * p1 * ln_n).sum(axis=1),
                -(dh * p2 * ln_d).sum(axis=1),
            ]
        )
        # Scale by 1/delta: same minimiser, better-conditioned numbers for the optimiser.
        return f / delta, g / delta

    return fun_grad


def _law_from_theta(theta: NDArray[np.float64], name: str) -> ChinchillaLaw:
    a, b, e, alpha, beta = (float(v) for v in theta)
    return ChinchillaLaw(E=np.exp(e), A=np.exp(a), B=np.exp(b), alpha=alpha, beta=beta, name=name)


def huber_objective(law: ChinchillaLaw, N: ArrayLike, D: ArrayLike, loss: ArrayLike, *, delta: float = 1e-3) -> float:
    """Sum over points of ``Huber_delta(log L_hat(N, D) - log L)`` for ``law``.

    Examples
    --------
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> l = HOFFMANN_2022.loss([1e8, 1e9, 1e10], [1e10, 1e10, 1e11])
    >>> huber_objective(HOFFMANN_2022, [1e8, 1e9, 1e10], [1e10, 1e10, 1e11], l)
    0.0
    """
    n, d, l = _paired(1, N=N, D=D, loss=loss)
    delta = positive_scalar(delta, "delta")
    theta = np.array([[np.log(law.A), np.log(law.B), np.log(law.E), law.alpha, law.beta]])
    _, h, *_ = _objective_terms(theta, np.log(n), np.log(d), np.log(l), delta)
    return float(h.sum())


@dataclass(frozen=True)
class ChinchillaFit:
    """Result of :func:`fit_chinchilla`.

    Attributes
    ----------
    law : ChinchillaLaw
        The fitted law.
    objective : float
        Sum of Huber losses at the optimum (unscaled).
    n_starts : int
        Number of starting points tried.
    converged : bool
        Whether the fit converged: the largest gradient component of the objective (scaled
        by 1/delta) is at most :data:`CONVERGENCE_GTOL` times ``max(1, objective)``. The
        same criterion on every machine; ``message`` says what was measured.
    theta : tuple of float
        ``(a, b, e, alpha, beta)`` with ``A = exp(a)``, ``B = exp(b)``, ``E = exp(e)``.
    n_points : int
        Number of data points fitted.
    start_objectives : ndarray
        Final objectives of the starts that reached the last stage.
    message : str
        The convergence test's numbers and scipy's message for the polish.
    survivors : tuple of int
        Starts alive at each stage of the successive halving (all starts, after each
        stage, and the distinct candidates polished).
    """

    law: ChinchillaLaw
    objective: float
    n_starts: int
    converged: bool
    theta: tuple[float, ...]
    n_points: int
    start_objectives: NDArray[np.float64] = field(repr=False, compare=False)
    message: str = ""
    survivors: tuple[int, ...] = ()


CONVERGENCE_GTOL = 1e-4
"""Convergence of :func:`fit_chinchilla`: max |gradient| <= this x max(1, objective), both
scaled by 1/delta (at Epoch's optimum the gradient is 1e-8-1e-5 depending on the machine)."""

HALVING: tuple[tuple[int, float], ...] = ((1, 0.1), (15, 0.1))
"""Stages of :func:`fit_chinchilla`'s successive halving: (L-BFGS iterations, fraction kept)."""

_MIN_SURVIVORS = 16


def _as_grid(grid: ArrayLike | None) -> NDArray[np.float64]:
    if grid is None:
        return default_grid()
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] != 5 or g.shape[0] < 1:
        raise ValueError(f"grid must have shape (n_starts, 5) for (a, b, e, alpha, beta), got {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("grid must be finite")
    return g


def _polish(fun_grad_1, theta0):
    res = optimize.minimize(
        fun_grad_1, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-12}
    )
    return res


def fit_chinchilla(
    N: ArrayLike,
    D: ArrayLike,
    loss: ArrayLike,
    *,
    delta: float = 1e-3,
    grid: ArrayLike | None = None,
    halving: bool = True,
) -> ChinchillaFit:
    r"""Fit ``L(N, D) = E + A/N^alpha + B/D^beta`` as in approach 3 of Hoffmann et al. (2022).

    Minimises

    .. math::

        \sum_i \mathrm{Huber}_\delta\left(\mathrm{LSE}(a - \alpha\log N_i,\;
        b - \beta\log D_i,\; e) - \log L_i\right)

    with :math:`A = e^a`, :math:`B = e^b`, :math:`E = e^e`, by L-BFGS from every row of
    ``grid`` (default :func:`default_grid`, 4,500 starts), keeping the best.

    Parameters
    ----------
    N, D, loss : array_like
        Parameters, training tokens and final loss of each run; positive, finite,
        equal length, at least 5 runs.
    delta : float, default 1e-3
        Huber threshold on log-loss residuals.
    grid : array_like, optional
        Starting points, shape ``(n_starts, 5)``, columns ``(a, b, e, alpha, beta)``.
    halving : bool, default True
        Prune the starts by successive halving (:data:`HALVING`): all advance 1 L-BFGS
        iteration, the best 10% another 15, the best 10% of those run to convergence.
        ``False`` runs every start to convergence (the reference; ~10x slower).

    Returns
    -------
    ChinchillaFit

    Notes
    -----
    All starts advance together through a batched L-BFGS with analytic gradients; the best
    distinct candidates are then polished with ``scipy.optimize.minimize(method="L-BFGS-B")``
    at tight tolerances. ``benchmarks/fit_speed.py`` checks that the result equals the best
    of a plain loop of ``scipy.optimize.minimize`` over the same grid, and the tests that
    halving finds the optimum of the full grid on Epoch's data, the book's synthetic runs
    and seeded noisy variants.

    References
    ----------
    Hoffmann et al. 2022, Sec. 3.3 and Appendix D.2; Besiroglu et al. 2024, Sec. 2.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> N, D = np.meshgrid(np.logspace(7, 10, 6), np.logspace(9, 12, 6))
    >>> L = HOFFMANN_2022.loss(N.ravel(), D.ravel())
    >>> fit = fit_chinchilla(N.ravel(), D.ravel(), L)
    >>> round(fit.law.alpha, 3), round(fit.law.beta, 3), round(fit.law.E, 3)
    (0.34, 0.28, 1.69)
    """
    n, d, l = _paired(5, N=N, D=D, loss=loss)
    delta = positive_scalar(delta, "delta")
    starts = _as_grid(grid)
    ln_n, ln_d, ln_l = np.log(n), np.log(d), np.log(l)
    fun_grad = _make_fun_grad(ln_n, ln_d, ln_l, delta)
    # Successive halving: advance every start a few iterations, keep the most promising,
    # advance those further, and only run the few left to convergence. Starts that are
    # hopeless after a couple of iterations (most of a 4,500-point grid) cost little.
    x = starts
    survivors = [int(starts.shape[0])]
    for iters, keep in HALVING if halving else ():
        if x.shape[0] <= _MIN_SURVIVORS:
            break
        stage = minimize_batch(fun_grad, x, max_iter=iters, ftol=1e-10, gtol=1e-7)
        order = np.argsort(np.where(np.isfinite(stage.fun), stage.fun, np.inf), kind="stable")
        x = stage.x[order[: max(_MIN_SURVIVORS, int(np.ceil(keep * x.shape[0])))]]
        survivors.append(int(x.shape[0]))
    batch = minimize_batch(fun_grad, x, max_iter=200, ftol=1e-10, gtol=1e-7)
    finite = np.where(np.isfinite(batch.fun), batch.fun, np.inf)
    one = np.array([0])

    def fun_grad_1(theta):
        f, g = fun_grad(theta[None, :], one)
        return float(f[0]), g[0]

    # Polish the best few distinct candidates (starts that reached the same basin count once).
    order = np.argsort(finite, kind="stable")
    _, first = np.unique(np.round(batch.x[order], 6), axis=0, return_index=True)
    best_idx = order[np.sort(first)][:5]
    best = None
    for i in best_idx:
        res = _polish(fun_grad_1, batch.x[i])
        if best is None or res.fun < best.fun:
            best = res
    theta = best.x
    f_best, grad = fun_grad_1(theta)
    grad_max = float(np.abs(grad).max())
    # One criterion on every machine: the largest gradient component of the objective
    # (scaled by 1/delta) small relative to the objective itself. scipy's own success flag
    # is not used: it reports failure on line-search trouble at the floor of an already
    # converged objective, differently from one machine to another.
    converged = grad_max <= CONVERGENCE_GTOL * max(1.0, abs(f_best))
    message = (
        f"max |gradient| {grad_max:.1e} {'<=' if converged else '>'} {CONVERGENCE_GTOL:g} x max(1, objective "
        f"{abs(f_best):.3g}) (objective scaled by 1/delta); scipy: {best.message}"
    )
    return ChinchillaFit(
        law=_law_from_theta(theta, "fit (approach 3)"),
        objective=float(best.fun) * delta,
        n_starts=int(starts.shape[0]),
        converged=converged,
        theta=tuple(float(v) for v in theta),
        n_points=int(n.size),
        start_objectives=finite * delta,
        message=message,
        survivors=(*survivors, int(best_idx.size)),
    )


# ------------------------------------------------------------------------ approaches 1 and 2


def isoflop_minima(N: ArrayLike, C: ArrayLike, loss: ArrayLike, *, window: int | None = None) -> pd.DataFrame:
    """Approach 2: per compute budget, the vertex of a parabola fitted to loss against log N.

       Parameters
       ----------
       N, C, loss : array_like
           Parameters, training FLOPs (the budget; runs of one budget share the same value)
           and final loss of each run. Each budget needs at least 3 distinct sizes.
    window : int, optional
        Fit each parabola only to the ``window`` sizes nearest (in rank) to the budget's
        lowest observed loss, instead of to all of them: a parabola is a good description
        of a profile only near its minimum, and a wide, lopsided range of sizes drags the
        vertex away. ``None`` (default) uses every size. Must be >= 3.

       Returns
       -------
       pandas.DataFrame
           One row per budget, sorted by ``C``: ``C, N_opt, D_opt (= C / 6 N_opt), loss_opt,
           n_runs, at_edge``, the parabola ``loss = p0 + p1 log N + p2 (log N)**2`` and the
        range of sizes it was fitted to, ``N_lo`` to ``N_hi``.
    ``at_edge`` is True where the vertex lies outside the sampled
           sizes (or the parabola opens downwards, when ``N_opt`` is NaN): such a budget has no
           interior minimum and its ``N_opt`` is an extrapolation, flagged and never used by
           :func:`fit_isoflop`.

       Examples
       --------
       >>> import numpy as np
       >>> from scaling_utils.laws import HOFFMANN_2022
       >>> C = np.repeat([1e19, 1e20], 7)
       >>> N = np.tile(np.logspace(7.5, 9.5, 7), 2)
       >>> df = isoflop_minima(N, C, HOFFMANN_2022.loss(N, C / (6 * N)))
       >>> df[["C", "at_edge"]].values.tolist()
       [[1e+19, False], [1e+20, False]]
    """
    n, c, l = _paired(3, N=N, C=C, loss=loss)
    if window is not None:
        window = _check_int(window, "window", 3)
    rows = []
    for budget in np.unique(c):
        sel = c == budget
        x, y = np.log(n[sel]), l[sel]
        if np.unique(x).size < 3:
            raise ValueError(f"budget C={budget:.3g} needs at least 3 distinct model sizes, got {np.unique(x).size}")
        x, y = _window(x, y, window)
        a2, a1, a0 = np.polyfit(x, y, 2)
        coefs = {
            "p0": float(a0),
            "p1": float(a1),
            "p2": float(a2),
            "N_lo": float(np.exp(x.min())),
            "N_hi": float(np.exp(x.max())),
        }
        if a2 <= 0:
            rows.append(
                {
                    "C": budget,
                    "N_opt": np.nan,
                    "D_opt": np.nan,
                    "loss_opt": np.nan,
                    "n_runs": int(sel.sum()),
                    "at_edge": True,
                }
                | coefs
            )
            continue
        xv = -a1 / (2 * a2)
        n_opt = float(np.exp(xv))
        rows.append(
            {
                "C": float(budget),
                "N_opt": n_opt,
                "D_opt": float(budget / (6 * n_opt)),
                "loss_opt": float(a0 + a1 * xv + a2 * xv * xv),
                "n_runs": int(sel.sum()),
                "at_edge": bool(xv < x.min() or xv > x.max()),
            }
            | coefs
        )
    return pd.DataFrame(rows)


def envelope_minima(
    N: ArrayLike, flops: ArrayLike, loss: ArrayLike, *, run: ArrayLike | None = None, n_grid: int = 100
) -> pd.DataFrame:
    """Approach 1: the lowest loss at each compute across training curves, and who reaches it.

    Each run's curve (loss against FLOPs seen) is interpolated linearly in ``log FLOPs`` on a
    log-spaced grid of ``n_grid`` compute values spanning where at least two curves overlap;
    at each grid value the run with the lowest loss gives ``N_opt``.

    Parameters
    ----------
    N, flops, loss : array_like
        One row per checkpoint: the run's parameters, FLOPs seen so far, and loss.
    run : array_like, optional
        Run identifier per row; by default each distinct ``N`` is one run.
    n_grid : int, default 100
        Number of compute values.

    Returns
    -------
    pandas.DataFrame
        ``C, N_opt, D_opt (= C / 6 N_opt), loss_opt`` per grid value, and ``at_edge``: the
        winner is the smallest or the largest of the curves present at that compute, so the
        true optimum may lie beyond the sizes tried (:func:`fit_envelope` can leave these out).

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> sizes = np.logspace(7, 9, 5)
    >>> N = np.repeat(sizes, 30)
    >>> F = np.concatenate([6 * s * np.logspace(8, 11, 30) for s in sizes])
    >>> env = envelope_minima(N, F, HOFFMANN_2022.loss(N, F / (6 * N)))
    >>> bool(env["N_opt"].is_monotonic_increasing)
    True
    """
    n, f, l = _paired(4, N=N, flops=flops, loss=loss)
    n_grid = _check_int(n_grid, "n_grid", 2)
    runs = n if run is None else np.asarray(run)
    if runs.shape != n.shape:
        raise ValueError(f"run must have the same length as N, got {runs.shape} and {n.shape}")
    curves, sizes = _curves(n, f, l, runs)
    if len(curves) < 2:
        raise ValueError(f"need at least 2 training curves, got {len(curves)}")
    grid, table = _envelope_table(curves, n_grid)
    best = np.nanargmin(np.where(np.isnan(table), np.inf, table), axis=0)
    n_opt = sizes[best]
    present = ~np.isnan(table)
    smallest = np.array([sizes[present[:, j]].min() for j in range(grid.size)])
    largest = np.array([sizes[present[:, j]].max() for j in range(grid.size)])
    return pd.DataFrame(
        {
            "C": grid,
            "N_opt": n_opt,
            "D_opt": grid / (6 * n_opt),
            "loss_opt": table[best, np.arange(grid.size)],
            "at_edge": (n_opt == smallest) | (n_opt == largest),
        }
    )


def _curves(n, f, l, runs):
    curves, sizes = [], []
    for r in pd.unique(runs):
        sel = runs == r
        if np.unique(n[sel]).size != 1:
            raise ValueError(f"run {r!r} has more than one model size")
        order = np.argsort(f[sel])
        fx, lx = np.log(f[sel][order]), l[sel][order]
        if fx.size < 2:
            raise ValueError(f"run {r!r} needs at least 2 checkpoints, got {fx.size}")
        curves.append((fx, lx))
        sizes.append(float(n[sel][0]))
    return curves, np.array(sizes)


def _envelope_table(curves, n_grid):
    """Loss of each curve on a common log-FLOP grid (NaN outside a curve's range)."""
    lo = min(fx[0] for fx, _ in curves)
    hi = max(fx[-1] for fx, _ in curves)
    # Where at least two curves overlap, so that a comparison is made at every grid value.
    starts = np.sort([fx[0] for fx, _ in curves])
    ends = np.sort([fx[-1] for fx, _ in curves])
    lo = max(lo, starts[1])
    hi = min(hi, ends[-2])
    if lo >= hi:
        raise ValueError("training curves do not overlap in FLOPs: no envelope to take")
    log_grid = np.linspace(lo, hi, n_grid)
    table = np.full((len(curves), n_grid), np.nan)
    for i, (fx, lx) in enumerate(curves):
        inside = (log_grid >= fx[0]) & (log_grid <= fx[-1])
        table[i, inside] = np.interp(log_grid[inside], fx, lx)
    return np.exp(log_grid), table


@dataclass(frozen=True)
class ApproachFit:
    """Exponents from approach 1 or 2: ``N_opt = coefficient * C**a`` and ``D_opt ∝ C**b``.

    ``b = 1 - a`` exactly, because ``D_opt = C / (6 N_opt)`` at every point.
    """

    a: float
    b: float
    power_law: PowerLawFit
    minima: pd.DataFrame = field(repr=False, compare=False)


def _window(x: NDArray[np.float64], y: NDArray[np.float64], window: int | None):
    """The ``window`` points (sorted by x) centred, as far as the ends allow, on the lowest y."""
    if window is None or x.size <= window:
        return x, y
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    k = int(np.argmin(y))
    start = min(max(k - window // 2, 0), x.size - window)
    return x[start : start + window], y[start : start + window]


def fit_isoflop(N: ArrayLike, C: ArrayLike, loss: ArrayLike, *, window: int | None = None) -> ApproachFit:
    """Approach 2 end to end: :func:`isoflop_minima`, then a power law over interior minima."""
    minima = isoflop_minima(N, C, loss, window=window)
    inner = minima[~minima["at_edge"]]
    if len(inner) < 3:
        raise ValueError(f"need at least 3 budgets with an interior minimum, got {len(inner)}")
    pl = fit_power_law(inner["C"], inner["N_opt"])
    return ApproachFit(a=pl.exponent, b=1.0 - pl.exponent, power_law=pl, minima=minima)


def fit_envelope(
    N: ArrayLike,
    flops: ArrayLike,
    loss: ArrayLike,
    *,
    run: ArrayLike | None = None,
    n_grid: int = 100,
    exclude_edges: bool = False,
) -> ApproachFit:
    """Approach 1 end to end: :func:`envelope_minima`, then a power law over its minima.

    With ``exclude_edges``, grid values won by the smallest or largest curve present there
    are left out of the power law (they are counted in ``minima["at_edge"]``).
    """
    minima = envelope_minima(N, flops, loss, run=run, n_grid=n_grid)
    used = minima[~minima["at_edge"]] if exclude_edges else minima
    if used["N_opt"].nunique() < 2:
        raise ValueError(f"approach 1 needs >= 2 distinct winning sizes, got {used['N_opt'].nunique()}")
    pl = fit_power_law(used["C"], used["N_opt"])
    return ApproachFit(a=pl.exponent, b=1.0 - pl.exponent, power_law=pl, minima=minima)


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
        lv = _check_level(level)
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
    n, d, l = _paired(5, N=N, D=D, loss=loss)
    n_resamples = _check_int(n_resamples, "n_resamples", 2)
    seed = _check_int(seed, "seed", 0)
    delta = positive_scalar(delta, "delta")
    if fit is None:
        fit = fit_chinchilla(n, d, l, delta=delta)
    rng = np.random.default_rng(seed)
    counts = _resample_counts(rng, n.size, n_resamples)
    fun_grad = _make_fun_grad(np.log(n), np.log(d), np.log(l), delta, weights=counts)
    x0 = np.tile(np.asarray(fit.theta), (n_resamples, 1))
    res = minimize_batch(fun_grad, x0, max_iter=_check_int(max_iter, "max_iter", 1))
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
    n, c, l = _paired(3, N=N, C=C, loss=loss)
    n_resamples = _check_int(n_resamples, "n_resamples", 2)
    seed = _check_int(seed, "seed", 0)
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
    n, f, l = _paired(4, N=N, flops=flops, loss=loss)
    n_resamples = _check_int(n_resamples, "n_resamples", 2)
    seed = _check_int(seed, "seed", 0)
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


def interval_width_study(
    law: ChinchillaLaw,
    n_sizes: tuple[int, ...] = (5, 10, 20, 40, 80),
    *,
    budgets: ArrayLike = (6e18, 3e19, 1e20, 3e20, 1e21, 3e21),
    noise: float = 0.01,
    n_resamples: int = 1000,
    level: float = 0.8,
    seed: int = 0,
) -> pd.DataFrame:
    """How wide approach 3's bootstrap interval for ``a`` is, against the number of runs.

    For each entry of ``n_sizes``, draws IsoFLOP runs from ``law`` (see
    :func:`scaling_utils.synthetic.isoflop_runs`) with that many sizes per budget, fits
    approach 3 and bootstraps it.

    Returns
    -------
    pandas.DataFrame
        ``n_runs, a, low, high, width, level`` per dataset.
    """
    from scaling_utils.synthetic import isoflop_runs

    level = _check_level(level)
    rows = []
    for k, m in enumerate(n_sizes):
        runs = isoflop_runs(law, budgets, n_sizes=m, noise=noise, seed=seed + k)
        fit = fit_chinchilla(runs["N"], runs["D"], runs["loss"])
        boot = bootstrap_chinchilla(runs["N"], runs["D"], runs["loss"], n_resamples=n_resamples, seed=seed + k, fit=fit)
        lo, hi = boot.interval("a", level)
        rows.append(
            {"n_runs": len(runs), "a": fit.law.exponents[0], "low": lo, "high": hi, "width": hi - lo, "level": level}
        )
    return pd.DataFrame(rows)


def runs_for_width(
    study: pd.DataFrame, target_width: float, *, exponent: float | None = None
) -> tuple[float, PowerLawFit]:
    """Extrapolate an :func:`interval_width_study`: runs needed for an interval of ``target_width``.

    Fits ``width = c * n_runs**k`` and solves it for ``target_width``. With ``exponent=None``
    both ``c`` and ``k`` are fitted; with e.g. ``exponent=-0.5`` (the rate for independent
    noise) only ``c`` is, as the geometric mean of ``width * n_runs**-k``.

    Examples
    --------
    >>> import pandas as pd
    >>> study = pd.DataFrame({"n_runs": [100, 400, 1600], "width": [0.1, 0.05, 0.025]})
    >>> n, fit = runs_for_width(study, 0.001)
    >>> round(n), round(fit.exponent, 3)
    (1000000, -0.5)
    >>> round(runs_for_width(study, 0.001, exponent=-0.5)[0])
    1000000
    """
    target = positive_scalar(target_width, "target_width")
    for col in ("n_runs", "width"):
        if col not in study:
            raise ValueError(f"study must have a column {col!r}")
    if exponent is None:
        fit = fit_power_law(study["n_runs"], study["width"])
    else:
        k = float(exponent)
        if not np.isfinite(k) or k >= 0:
            raise ValueError(f"exponent must be finite and < 0, got {exponent!r}")
        n, w = _paired(1, n_runs=study["n_runs"], width=study["width"])
        log_c = np.log(w) - k * np.log(n)
        resid = log_c - log_c.mean()
        ly = np.log(w)
        ss_tot = float(np.sum((ly - ly.mean()) ** 2))
        c = float(np.exp(log_c.mean()))
        se = float(resid.std(ddof=1) / np.sqrt(n.size)) if n.size > 1 else float("nan")
        fit = PowerLawFit(
            coefficient=c,
            exponent=k,
            coefficient_se=c * se,
            exponent_se=0.0,
            r2=1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else 1.0,
            n_points=int(n.size),
        )
    if fit.exponent >= 0:
        raise ValueError(f"interval width does not shrink with more runs (exponent {fit.exponent:.3f})")
    return float((target / fit.coefficient) ** (1.0 / fit.exponent)), fit
