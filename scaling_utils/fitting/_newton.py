"""A batched damped Newton method for approach 3's Huber objective, one problem per bootstrap resample.

The bootstrap refits the same 5-parameter law on thousands of reweighted copies of the runs,
each starting at the full-data optimum. L-BFGS needs about 35 iterations per resample there;
with the exact Hessian a Newton step needs about 6. Per point, with ``r = LSE(t) - log L``,
``t = (a_c - alpha u, b_c - beta v, e)`` (centred coordinates, ``u = log N - mean``,
``v = log D - mean``), ``p = softmax(t)`` and ``J = T' p`` the gradient of ``r``:

    grad = sum w h'(r) J
    hess = sum w [(h''(r) - h'(r)) J J' + h'(r) T' diag(p) T]

(``h`` the Huber loss; ``h'' = 1`` inside ``|r| < delta`` and 0 outside). The Hessian can be
indefinite away from the optimum, so each step solves ``(H + mu I) d = -g`` with ``mu`` lifting
the smallest eigenvalue to a small positive floor plus a Levenberg-Marquardt damping that grows
after a rejected step (Armijo's test) and shrinks after an accepted one.
A problem stops when its largest gradient component is at most ``gtol`` or an accepted step
lowers its objective by less than ``ftol |f|``; the same tests as
:func:`scaling_utils.fitting._lbfgs.minimize_batch`, whose :class:`BatchResult` it returns.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from scaling_utils.fitting._lbfgs import BatchResult

MU_START, MU_MIN = 1e-3, 1e-12
"""Levenberg-Marquardt damping ``mu`` (times the largest diagonal entry of the Hessian): where it starts,
and the floor it falls to as steps are accepted (divided by 4 on each, multiplied by 8 on a rejection)."""


def huber_fgh(theta, u, v, ln_l, delta, w):
    """Objective, gradient and Hessian (all scaled by 1/delta) of the rows of ``theta`` (S, 5)."""
    a, b, e, alpha, beta = (theta[:, i, None] for i in range(5))
    # In place where it can be: the arrays are (resamples, points) and this runs ~8 times per resample.
    x1 = a - alpha * u
    np.exp(np.clip(x1, -700.0, 700.0, out=x1), out=x1)
    x2 = b - beta * v
    np.exp(np.clip(x2, -700.0, 700.0, out=x2), out=x2)
    x3 = np.exp(np.clip(e, -700.0, 700.0))
    tot = x1 + x2
    tot += x3
    r = np.log(tot)
    r -= ln_l
    dh = np.clip(r, -delta, delta)
    tmp = r - 0.5 * dh
    tmp *= dh
    tmp *= w
    f = tmp.sum(axis=1) / delta
    np.divide(1.0, tot, out=tot)
    p1, p2, p3 = np.multiply(x1, tot, out=x1), np.multiply(x2, tot, out=x2), np.multiply(tot, x3, out=tot)
    q = np.multiply(dh, w, out=dh)
    q /= delta  # h' (weighted, scaled)
    c = np.multiply(w, np.abs(r, out=r) < delta, out=tmp)
    c /= delta
    c -= q  # h'' - h'
    uu, vv = np.stack([np.ones_like(u), u, u * u], 1), np.stack([np.ones_like(v), v, v * v], 1)
    q1, q2 = (q * p1) @ uu, (q * p2) @ vv  # block terms; their first two columns give the gradient
    g3 = (q * p3).sum(axis=1)
    g = np.column_stack([q1[:, 0], q2[:, 0], g3, -q1[:, 1], -q2[:, 1]])
    cp1, cp2 = c * p1, c * p2
    a11, a22 = (cp1 * p1) @ uu, (cp2 * p2) @ vv
    a12 = (cp1 * p2) @ np.stack([np.ones_like(u), u, v, u * v], 1)
    a13 = (cp1 * p3) @ uu[:, :2]
    a23 = (cp2 * p3) @ vv[:, :2]
    a33 = (c * p3 * p3).sum(axis=1)
    h = np.empty((theta.shape[0], 5, 5))
    h[:, 0, 0], h[:, 0, 3], h[:, 3, 3] = a11[:, 0] + q1[:, 0], -a11[:, 1] - q1[:, 1], a11[:, 2] + q1[:, 2]
    h[:, 1, 1], h[:, 1, 4], h[:, 4, 4] = a22[:, 0] + q2[:, 0], -a22[:, 1] - q2[:, 1], a22[:, 2] + q2[:, 2]
    h[:, 0, 1], h[:, 1, 3], h[:, 0, 4], h[:, 3, 4] = a12[:, 0], -a12[:, 1], -a12[:, 2], a12[:, 3]
    h[:, 0, 2], h[:, 2, 3] = a13[:, 0], -a13[:, 1]
    h[:, 1, 2], h[:, 2, 4] = a23[:, 0], -a23[:, 1]
    h[:, 2, 2] = a33 + g3
    il = np.tril_indices(5, -1)  # the lower triangle mirrors the upper
    h[:, il[0], il[1]] = h[:, il[1], il[0]]
    return f, g, h


def newton_batch(
    u: NDArray[np.float64],
    v: NDArray[np.float64],
    ln_l: NDArray[np.float64],
    delta: float,
    weights: NDArray[np.float64],
    x0: NDArray[np.float64],
    *,
    max_iter: int = 200,
    gtol: float = 1e-9,
    ftol: float = 1e-13,
    max_backtracks: int = 40,
) -> BatchResult:
    """Minimise the weighted Huber objective of each row of ``weights`` from the rows of ``x0`` (centred)."""
    x = np.array(x0, dtype=np.float64, copy=True)
    n_prob = x.shape[0]
    f, g, h = huber_fgh(x, u, v, ln_l, delta, weights)
    active = np.abs(g).max(axis=1) > gtol
    converged = ~active
    n_iter = np.zeros(n_prob, dtype=np.int64)
    eye = np.eye(5)
    mu = np.full(n_prob, MU_START)  # damping relative to the largest diagonal entry, per problem
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        n_iter[rows] += 1
        lam = np.linalg.eigvalsh(h[rows])[:, 0]
        diag = np.maximum(np.abs(np.einsum("sii->si", h[rows])).max(axis=1), 1e-300)
        lift = np.maximum(1e-10 * diag - lam, 0.0)  # at least positive definite
        pending = np.arange(rows.size)
        accepted = np.zeros(rows.size, dtype=bool)
        for _bt in range(max_backtracks):
            pr = rows[pending]
            shift = lift[pending] + mu[pr] * diag[pending]
            d = -np.linalg.solve(h[pr] + shift[:, None, None] * eye, g[pr][:, :, None])[:, :, 0]
            slope = np.einsum("ij,ij->i", g[pr], d)
            flat = (slope <= 0) & (-slope <= ftol * np.maximum(np.abs(f[pr]), 1e-300))
            if flat.any():  # the step would lower f by less than ftol |f|: converged where it is
                active[pr[flat]] = False
                converged[pr[flat]] = True
                accepted[pending[flat]] = True
                keep = ~flat
                pending, pr, shift, d, slope = pending[keep], pr[keep], shift[keep], d[keep], slope[keep]
                if pending.size == 0:
                    break
            xt = x[pr] + d
            ft, gt, ht = huber_fgh(xt, u, v, ln_l, delta, weights[pr])
            ok = np.isfinite(ft) & (slope < 0) & (ft <= f[pr] + 1e-4 * slope)
            acc, ra = pending[ok], pr[ok]
            decrease = f[ra] - ft[ok]
            x[ra], f[ra], g[ra], h[ra] = xt[ok], ft[ok], gt[ok], ht[ok]
            accepted[acc] = True
            mu[ra] = np.maximum(mu[ra] / 4, MU_MIN)
            done = (np.abs(g[ra]).max(axis=1) <= gtol) | (decrease <= ftol * np.maximum(np.abs(f[ra]), 1e-300))
            active[ra[done]] = False
            converged[ra[done]] = True
            pending = pending[~ok]
            if pending.size == 0:
                break
            mu[rows[pending]] *= 8  # a rejected step: damp more (towards a short gradient step) and retry
        stuck = rows[~accepted]  # no acceptable step: stop there, converged only if nearly flat
        active[stuck] = False
        converged[stuck] = np.abs(g[stuck]).max(axis=1) <= np.sqrt(gtol)
    return BatchResult(x=x, fun=f, grad_norm=np.abs(g).max(axis=1), converged=converged, n_iter=n_iter)
