"""Starting points for approach 3 by variable projection, and the centred coordinates it is refined in.

For fixed exponents ``(alpha, beta)`` the law ``E + A N^-alpha + B D^-beta`` is linear in
``(E, A, B)``. On a grid of exponent pairs, weighted linear least squares of ``L`` on
``(1, N^-alpha, D^-beta)`` with weights ``1/L`` (relative residuals, close to residuals of
``log L``) gives the best scales of every pair at once: only ``N^-alpha`` and ``D^-beta``
are evaluated per point (one row per exponent, not per pair) and the pairs' normal
equations come from one matrix product. The local minima of the pairs' residual sum of
squares over the grid, the best :data:`N_STARTS` of them, start the Huber fit
(:func:`scaling_utils.fitting.fit_chinchilla`, ``method="varpro"``): each basin of the
surface gets a start, instead of 4,500 starts mostly in the same few basins.

The Huber fit itself runs in *centred* coordinates, ``a_c = a - alpha mean(log N)`` and
``b_c = b - beta mean(log D)``: the same law and the same optimum, but the scale and the
exponent no longer move together, so L-BFGS needs about half the iterations (35 against 65
per bootstrap resample on Epoch's points).

References
----------
Golub & Pereyra 1973, "The differentiation of pseudo-inverses and nonlinear least squares
problems whose variables separate", SIAM J. Numer. Anal. 10(2).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["EXPONENT_GRID", "N_STARTS", "from_centred", "to_centred", "varpro_starts"]

EXPONENT_GRID = np.linspace(0.02, 2.0, 45)
"""The exponents tried for each of alpha and beta (45 x 45 pairs; the 4,500-start grid of
Hoffmann et al. spans 0 to 2 in steps of 0.5)."""

N_STARTS = 6
"""Local minima of the grid's residual surface that start the Huber fit."""


def to_centred(theta: NDArray[np.float64], mean_ln_n: float, mean_ln_d: float) -> NDArray[np.float64]:
    """``(a, b, e, alpha, beta)`` rows to centred ``(a_c, b_c, e, alpha, beta)``."""
    t = np.array(theta, dtype=np.float64, copy=True)
    t[..., 0] -= t[..., 3] * mean_ln_n
    t[..., 1] -= t[..., 4] * mean_ln_d
    return t


def from_centred(theta: NDArray[np.float64], mean_ln_n: float, mean_ln_d: float) -> NDArray[np.float64]:
    """The inverse of :func:`to_centred`."""
    t = np.array(theta, dtype=np.float64, copy=True)
    t[..., 0] += t[..., 3] * mean_ln_n
    t[..., 1] += t[..., 4] * mean_ln_d
    return t


def _local_minima(rss: NDArray[np.float64]) -> NDArray[np.intp]:
    """Flat indices of cells no higher than any of their (up to 8) neighbours, lowest first."""
    p = np.pad(rss, 1, constant_values=np.inf)
    core = p[1:-1, 1:-1]
    is_min = np.ones(rss.shape, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= core <= p[1 + di : p.shape[0] - 1 + di, 1 + dj : p.shape[1] - 1 + dj]
    idx = np.flatnonzero(is_min & np.isfinite(rss))
    return idx[np.argsort(rss.ravel()[idx], kind="stable")]


def varpro_starts(
    ln_n: NDArray[np.float64],
    ln_d: NDArray[np.float64],
    loss: NDArray[np.float64],
    *,
    k: int = N_STARTS,
    grid: NDArray[np.float64] = EXPONENT_GRID,
) -> NDArray[np.float64]:
    """Up to ``k`` starts ``(a, b, e, alpha, beta)`` from the local minima of the projected residuals.

    A pair whose best scales are not all positive is scored with them floored at
    ``1e-6 min(loss)`` (the law needs positive scales), so it can still start a fit at the
    edge of the feasible region.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> N, D = (v.ravel() for v in np.meshgrid(np.logspace(7, 10, 6), np.logspace(9, 12, 6)))
    >>> s = varpro_starts(np.log(N), np.log(D), HOFFMANN_2022.loss(N, D))
    >>> s.shape[1], bool(abs(s[0, 3] - 0.34) < 0.05 and abs(s[0, 4] - 0.28) < 0.05)
    (5, True)
    """
    w2 = 1.0 / loss**2
    x = np.exp(-grid[:, None] * ln_n[None, :])  # (P, n): N^-alpha for each alpha
    y = np.exp(-grid[:, None] * ln_d[None, :])
    sx, sy = x @ w2, y @ w2
    sxx, syy, sxy = (x * x) @ w2, (y * y) @ w2, (x * w2) @ y.T  # (P,), (P,), (P, P)
    s1, sl, sll = w2.sum(), (w2 * loss).sum(), (w2 * loss * loss).sum()
    sxl, syl = x @ (w2 * loss), y @ (w2 * loss)
    p = grid.size
    g = np.empty((p, p, 3, 3))
    g[..., 0, 0] = s1
    g[..., 0, 1] = g[..., 1, 0] = sx[:, None]
    g[..., 0, 2] = g[..., 2, 0] = sy[None, :]
    g[..., 1, 1] = sxx[:, None]
    g[..., 2, 2] = syy[None, :]
    g[..., 1, 2] = g[..., 2, 1] = sxy
    r = np.empty((p, p, 3))
    r[..., 0] = sl
    r[..., 1] = sxl[:, None]
    r[..., 2] = syl[None, :]
    scale = np.sqrt(np.einsum("...ii->...i", g))  # Jacobi scaling: the columns differ by decades
    gs = g / (scale[..., :, None] * scale[..., None, :])
    with np.errstate(all="ignore"):
        coef = np.linalg.solve(gs + 1e-13 * np.eye(3), (r / scale)[..., None])[..., 0] / scale
    floor = 1e-6 * float(loss.min())
    feasible = (coef > 0).all(axis=-1)
    coef = np.maximum(coef, floor)
    # Residual sum of squares sum w^2 (L - c.f)^2 = sll - 2 c.r + c.G.c, exact also for floored c.
    rss = sll - 2 * np.einsum("...i,...i->...", coef, r) + np.einsum("...i,...ij,...j->...", coef, g, coef)
    rss = np.where(np.isfinite(rss), np.maximum(rss, 0.0), np.inf)
    rss = np.where(feasible, rss, rss * (1 + 1e-9) + 1e-300)  # ties go to a feasible pair
    best = _local_minima(rss)[:k]
    i, j = np.unravel_index(best, rss.shape)
    e, a, b = coef[i, j].T
    return np.column_stack([np.log(a), np.log(b), np.log(e), grid[i], grid[j]])
