"""Approach 3 of Hoffmann et al. (2022): the parametric loss ``E + A/N^alpha + B/D^beta``.

Fitted with a Huber loss on log-loss from a grid of starting points (Hoffmann et al.;
Besiroglu et al. 2024). All starts advance together through a batched L-BFGS
(:mod:`scaling_utils.fitting._lbfgs`) with analytic gradients; survivors of successive
halving are polished by :func:`scipy.optimize.minimize` (L-BFGS-B).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

from scaling_utils._validation import check_bool, group_budgets, paired, plausible, positive_scalar
from scaling_utils.fitting._lbfgs import BatchResult, minimize_batch
from scaling_utils.fitting.result import param_table
from scaling_utils.fitting.varpro import from_centred, to_centred, varpro_starts
from scaling_utils.laws import ChinchillaLaw

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
    n, d, l = paired(1, N=N, D=D, loss=loss)
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

    @property
    def params(self) -> dict[str, float]:
        """``E, A, B, alpha, beta`` of the fitted law."""
        law = self.law
        return {"E": law.E, "A": law.A, "B": law.B, "alpha": law.alpha, "beta": law.beta}

    def table(self) -> pd.DataFrame:
        """The parameters (standard errors: use a bootstrap, :func:`bootstrap_chinchilla`)."""
        return param_table(self.params)

    def predict(self, N: ArrayLike, D: ArrayLike):
        """The fitted loss at ``N`` parameters and ``D`` tokens."""
        return self.law.loss(N, D)


CONVERGENCE_GTOL = 1e-4
"""Convergence of :func:`fit_chinchilla`: max |gradient| <= this x max(1, objective), both
scaled by 1/delta (at Epoch's optimum the gradient is 1e-8-1e-5 depending on the machine)."""

HALVING: tuple[tuple[int, float], ...] = ((1, 0.1), (15, 0.1))
"""Stages of :func:`fit_chinchilla`'s successive halving: (L-BFGS iterations, fraction kept)."""

_MIN_SURVIVORS = 16

CHUNK_ELEMENTS = 2**21
"""Starts (or resamples) x points evaluated at once: 2M float64 (16 MB) per array, so that
4,500 starts on 200k runs stay within a few hundred MB instead of 7 GB per array. Problems
are independent, so chunking does not change the result."""


def _minimize_chunked(fun_grad, x0: NDArray[np.float64], n_points: int, **options) -> BatchResult:
    """:func:`minimize_batch` over the rows of ``x0`` in chunks of ``CHUNK_ELEMENTS // n_points``."""
    step = max(1, CHUNK_ELEMENTS // max(n_points, 1))
    if x0.shape[0] <= step:
        return minimize_batch(fun_grad, x0, **options)
    parts = [minimize_batch(fun_grad, x0[i : i + step], **options) for i in range(0, x0.shape[0], step)]
    return BatchResult(*(np.concatenate([getattr(p, f) for p in parts]) for f in BatchResult.__dataclass_fields__))


def _check_runs(n, d, l) -> None:
    """Plausible values, no identical rows, and losses that vary (else no law to fit)."""
    for arr, role in ((n, "N"), (d, "D"), (l, "loss")):
        plausible(arr, role, role)
    rows = np.stack([n, d, l], axis=1)
    _, first, counts = np.unique(rows, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        k = int(np.argmax(counts > 1))
        same = np.flatnonzero((rows == rows[first[k]]).all(axis=1))
        raise ValueError(
            f"rows {same[0]} and {same[1]} are identical (N, D, loss): a duplicated run counts twice; "
            "drop duplicates first (the command line refuses them too)"
        )
    if np.ptp(l) == 0:
        raise ValueError(f"loss is {l[0]:g} for every run: there is no scaling to fit")


def _identifiable(n, d) -> str | None:
    """Why ``(A, alpha)`` and ``(B, beta)`` cannot be told apart on these runs, or None."""
    if np.unique(n).size < 2 or np.unique(d).size < 2:
        return "every run has the same N or the same D: the law's terms cannot be separated"
    if np.unique(group_budgets(n * d)).size < 2:
        return "every run has the same compute (one budget): N and D vary together, the law is not identifiable"
    return None


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
    method: str | None = None,
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
        equal length, at least 5 runs, within the plausible ranges of
        :data:`scaling_utils._validation.PLAUSIBLE`, no two rows identical, losses not
        all equal.
    delta : float, default 1e-3
        Huber threshold on log-loss residuals.
    grid : array_like, optional
        Starting points, shape ``(n_starts, 5)``, columns ``(a, b, e, alpha, beta)``.
    halving : bool, default True
        With ``method="grid"``: prune the starts by successive halving (:data:`HALVING`):
        all advance 1 L-BFGS iteration, the best 10% another 15, the best 10% of those run
        to convergence. ``False`` runs every start to convergence (the reference; ~10x slower).
    method : {"varpro", "grid"}, optional
        ``"varpro"`` (the default without ``grid``): starts at the local minima of the
        variable-projection residuals over a 45 x 45 grid of exponents, refined in centred
        coordinates; ``"grid"`` (the default when ``grid`` is given): Hoffmann et al.'s
        multi-start grid. Both return the same optimum (tested to 1e-6 in the objective on
        Epoch's points, the book's runs and seeded noisy variants); ``"varpro"`` is about
        5x faster.

    Returns
    -------
    ChinchillaFit
        ``converged`` is False (and ``message`` says why) where the runs cannot identify
        the law: a single compute budget, or a single size or token count.

    Raises
    ------
    ValueError
        Implausible, duplicated or constant inputs, or a fit whose exponents end <= 0.
    TypeError
        ``halving`` not a bool, or ``method`` not one of the two names.

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
    n, d, l = paired(5, N=N, D=D, loss=loss)
    _check_runs(n, d, l)
    delta = positive_scalar(delta, "delta")
    halving = check_bool(halving, "halving")
    method = _check_method(method, grid)
    ln_n, ln_d, ln_l = np.log(n), np.log(d), np.log(l)
    if method == "varpro":
        return _fit_varpro(n, d, ln_n, ln_d, ln_l, delta)
    starts = _as_grid(grid)
    fun_grad = _make_fun_grad(ln_n, ln_d, ln_l, delta)
    # Successive halving: advance every start a few iterations, keep the most promising,
    # advance those further, and only run the few left to convergence. Starts that are
    # hopeless after a couple of iterations (most of a 4,500-point grid) cost little.
    x = starts
    survivors = [int(starts.shape[0])]
    for iters, keep in HALVING if halving else ():
        if x.shape[0] <= _MIN_SURVIVORS:
            break
        stage = _minimize_chunked(fun_grad, x, n.size, max_iter=iters, ftol=1e-10, gtol=1e-7)
        order = np.argsort(np.where(np.isfinite(stage.fun), stage.fun, np.inf), kind="stable")
        x = stage.x[order[: max(_MIN_SURVIVORS, int(np.ceil(keep * x.shape[0])))]]
        survivors.append(int(x.shape[0]))
    batch = _minimize_chunked(fun_grad, x, n.size, max_iter=200, ftol=1e-10, gtol=1e-7)
    fun_grad_1 = _single(fun_grad)
    finite, best, n_polished = _polish_best(fun_grad_1, batch, keep=5, decimals=6)
    return _finish(best.x, best, fun_grad_1, n, d, delta, int(starts.shape[0]), finite, (*survivors, n_polished))


def _single(fun_grad):
    """``fun_grad`` of one parameter vector, for scipy."""
    one = np.array([0])

    def fun_grad_1(theta):
        f, g = fun_grad(theta[None, :], one)
        return float(f[0]), g[0]

    return fun_grad_1


def _polish_best(fun_grad_1, batch: BatchResult, *, keep: int, decimals: int):
    """Polish the ``keep`` best distinct candidates of ``batch`` (starts in the same basin count once).

    Returns the candidates' objectives (inf where not finite), scipy's best result and how many were polished.
    """
    finite = np.where(np.isfinite(batch.fun), batch.fun, np.inf)
    order = np.argsort(finite, kind="stable")
    _, first = np.unique(np.round(batch.x[order], decimals), axis=0, return_index=True)
    best_idx = order[np.sort(first)][:keep]
    best = None
    for i in best_idx:
        res = _polish(fun_grad_1, batch.x[i])
        if best is None or res.fun < best.fun:
            best = res
    return finite, best, int(best_idx.size)


def _check_method(method, grid) -> str:
    if method is None:
        return "varpro" if grid is None else "grid"
    if method not in ("varpro", "grid"):
        raise TypeError(f"method must be 'varpro' or 'grid', got {method!r}")
    if method == "varpro" and grid is not None:
        raise ValueError("grid is for method='grid'; method='varpro' chooses its own starts")
    return method


def _fit_varpro(n, d, ln_n, ln_d, ln_l, delta) -> ChinchillaFit:
    """Variable-projection starts, a batched L-BFGS and a polish, all in centred coordinates."""
    mn, md = float(ln_n.mean()), float(ln_d.mean())
    starts = to_centred(varpro_starts(ln_n, ln_d, np.exp(ln_l)), mn, md)
    fun_grad = _make_fun_grad(ln_n - mn, ln_d - md, ln_l, delta)
    batch = minimize_batch(fun_grad, starts, max_iter=500, ftol=1e-12, gtol=1e-8)
    finite, best, n_polished = _polish_best(_single(fun_grad), batch, keep=2, decimals=5)
    # The convergence test in the original coordinates, as for method="grid".
    original_1 = _single(_make_fun_grad(ln_n, ln_d, ln_l, delta))

    theta = from_centred(best.x, mn, md)
    return _finish(
        theta, best, original_1, n, d, delta, int(starts.shape[0]), finite, (int(starts.shape[0]), n_polished)
    )


def _finish(theta, best, fun_grad_1, n, d, delta, n_starts, finite, survivors) -> ChinchillaFit:
    """The convergence test and the result at ``theta``, polished by scipy's ``best``."""
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
    unidentified = _identifiable(n, d)
    if unidentified is not None:
        converged, message = False, f"not identifiable: {unidentified}; {message}"
    if not (np.isfinite(theta).all() and theta[3] > 0 and theta[4] > 0):
        raise ValueError(
            f"the fit ends at alpha = {theta[3]:.3g}, beta = {theta[4]:.3g}: the losses do not fall with N "
            "and D, so no law E + A/N^alpha + B/D^beta describes them"
        )
    return ChinchillaFit(
        law=_law_from_theta(theta, "fit (approach 3)"),
        objective=float(best.fun) * delta,
        n_starts=n_starts,
        converged=converged,
        theta=tuple(float(v) for v in theta),
        n_points=int(n.size),
        start_objectives=finite * delta,
        message=message,
        survivors=survivors,
    )
