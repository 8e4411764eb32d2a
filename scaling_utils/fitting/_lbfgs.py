"""A batched L-BFGS: many independent smooth minimisations advanced together in numpy.

Fitting the Chinchilla loss from 4,500 starting points, or refitting it on 4,000 bootstrap
resamples, is the same small problem many times over. Looping over ``scipy.optimize`` pays
Python overhead per start and per iteration; here every start has its own iterate, history,
step size and convergence test, but each iteration evaluates the objective for all of them
in one vectorised call.

The update is the textbook two-loop recursion (Nocedal & Wright, *Numerical Optimization*,
Alg. 7.4) with an Armijo backtracking line search; a pair (s, y) enters the history only if
it satisfies the curvature condition ``s . y > 0``, so the implicit Hessian stays positive
definite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FunGrad = Callable[[NDArray[np.float64], NDArray[np.intp]], tuple[NDArray[np.float64], NDArray[np.float64]]]


@dataclass(frozen=True)
class BatchResult:
    x: NDArray[np.float64]  # (S, P) final iterates
    fun: NDArray[np.float64]  # (S,) final objectives
    grad_norm: NDArray[np.float64]  # (S,) final max-abs gradient
    converged: NDArray[np.bool_]  # (S,) met a tolerance before max_iter
    n_iter: NDArray[np.int64]  # (S,)


def minimize_batch(
    fun_grad: FunGrad,
    x0: NDArray[np.float64],
    *,
    memory: int = 10,
    max_iter: int = 1000,
    gtol: float = 1e-9,
    ftol: float = 1e-13,
    max_backtracks: int = 40,
) -> BatchResult:
    """Minimise ``S`` independent problems from the rows of ``x0`` (shape ``(S, P)``).

    ``fun_grad(x, rows)`` returns the objectives ``(len(rows),)`` and gradients
    ``(len(rows), P)`` of problems ``rows`` at the iterates ``x`` (``(len(rows), P)``).
    A problem stops when its largest gradient component falls below ``gtol`` or an accepted
    step lowers its objective by less than ``ftol * max(|f|, 1e-300)``.
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    n_prob, n_par = x.shape
    all_rows = np.arange(n_prob)
    f, g = fun_grad(x, all_rows)
    s_hist = np.zeros((n_prob, memory, n_par))
    y_hist = np.zeros((n_prob, memory, n_par))
    rho = np.zeros((n_prob, memory))  # 0 marks an empty slot
    head = np.zeros(n_prob, dtype=np.int64)  # next slot to write, per problem
    gamma = np.ones(n_prob)
    active = np.abs(g).max(axis=1) > gtol
    converged = ~active.copy()
    n_iter = np.zeros(n_prob, dtype=np.int64)

    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        n_iter[rows] += 1
        q = g[rows].copy()
        # Two-loop recursion, newest to oldest; empty slots have rho == 0 and do nothing.
        order = (head[rows, None] - 1 - np.arange(memory)[None, :]) % memory  # (R, m)
        sh = np.take_along_axis(s_hist[rows], order[:, :, None], axis=1)
        yh = np.take_along_axis(y_hist[rows], order[:, :, None], axis=1)
        rh = np.take_along_axis(rho[rows], order, axis=1)
        alpha = np.zeros((rows.size, memory))
        for j in range(memory):
            alpha[:, j] = rh[:, j] * np.einsum("ij,ij->i", sh[:, j], q)
            q -= alpha[:, j, None] * yh[:, j]
        r = gamma[rows, None] * q
        for j in reversed(range(memory)):
            beta = rh[:, j] * np.einsum("ij,ij->i", yh[:, j], r)
            r += sh[:, j] * (alpha[:, j] - beta)[:, None]
        d = -r
        slope = np.einsum("ij,ij->i", g[rows], d)
        bad = ~(slope < 0) | ~np.isfinite(slope)
        if bad.any():  # not a descent direction: restart that problem from steepest descent
            d[bad] = -g[rows][bad]
            slope[bad] = -np.einsum("ij,ij->i", g[rows][bad], g[rows][bad])
            rho[rows[bad]] = 0.0
            gamma[rows[bad]] = 1.0
        # Armijo backtracking, all pending problems at once.
        step = np.ones(rows.size)
        first = (rho[rows] == 0).all(axis=1)  # no curvature information yet
        step[first] = np.minimum(1.0, 1.0 / np.maximum(np.abs(g[rows][first]).max(axis=1), 1e-300))
        accepted = np.zeros(rows.size, dtype=bool)
        f_new = np.empty(rows.size)
        g_new = np.empty((rows.size, n_par))
        pending = np.arange(rows.size)
        for _bt in range(max_backtracks):
            xt = x[rows[pending]] + step[pending, None] * d[pending]
            ft, gt = fun_grad(xt, rows[pending])
            ok = np.isfinite(ft) & (ft <= f[rows[pending]] + 1e-4 * step[pending] * slope[pending])
            idx = pending[ok]
            accepted[idx] = True
            f_new[idx] = ft[ok]
            g_new[idx] = gt[ok]
            pending = pending[~ok]
            if pending.size == 0:
                break
            step[pending] *= 0.5
        # Problems whose line search failed cannot make progress: stop them where they are.
        stuck = rows[~accepted]
        active[stuck] = False
        converged[stuck] = np.abs(g[stuck]).max(axis=1) <= np.sqrt(gtol)
        acc = np.flatnonzero(accepted)
        ra = rows[acc]
        s = step[acc, None] * d[acc]
        y = g_new[acc] - g[ra]
        sy = np.einsum("ij,ij->i", s, y)
        decrease = f[ra] - f_new[acc]
        x[ra] += s
        f[ra] = f_new[acc]
        g[ra] = g_new[acc]
        yy = np.einsum("ij,ij->i", y, y)
        good = (sy > 1e-12 * np.linalg.norm(s, axis=1) * np.linalg.norm(y, axis=1)) & (sy > 1e-280) & (yy > 1e-280)
        rg = ra[good]
        slot = head[rg]
        s_hist[rg, slot] = s[good]
        y_hist[rg, slot] = y[good]
        rho[rg, slot] = 1.0 / sy[good]
        gamma[rg] = sy[good] / np.einsum("ij,ij->i", y[good], y[good])  # y.y >= s.y^2/s.s > 0 here
        head[rg] = (slot + 1) % memory
        done = (np.abs(g[ra]).max(axis=1) <= gtol) | (decrease <= ftol * np.maximum(np.abs(f[ra]), 1e-300))
        active[ra[done]] = False
        converged[ra[done]] = True
    return BatchResult(x=x, fun=f, grad_norm=np.abs(g).max(axis=1), converged=converged, n_iter=n_iter)
