"""Power laws: ``y = c x^k`` in log-log space, and ``y = E + A x^-alpha`` with a floor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from scaling_utils._validation import as_positive, paired, positive_scalar
from scaling_utils.fitting.result import param_table

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
    converged: bool = True
    message: str = "closed-form least squares in log-log space"

    @property
    def params(self) -> dict[str, float]:
        """``coefficient`` and ``exponent``."""
        return {"coefficient": self.coefficient, "exponent": self.exponent}

    def table(self) -> pd.DataFrame:
        """The parameters with their standard errors."""
        return param_table(self.params, {"coefficient": self.coefficient_se, "exponent": self.exponent_se})

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
    xs, ys = paired(3, x=x, y=y)
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
    converged: bool = True
    message: str = ""

    @property
    def params(self) -> dict[str, float]:
        """``E``, ``A`` and ``alpha``."""
        return {"E": self.E, "A": self.A, "alpha": self.alpha}

    def table(self) -> pd.DataFrame:
        """The parameters with their standard errors."""
        return param_table(self.params, {"E": self.E_se, "A": self.A_se, "alpha": self.alpha_se})

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
    xs, ys = paired(4, x=x, y=y)
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
    at_bound = np.isclose(alpha, lo, rtol=1e-6) or np.isclose(alpha, hi, rtol=1e-6)
    converged = bool(res.success) and not at_bound
    message = (
        f"alpha at the end of its search range {alpha_bounds}: the data do not bound it"
        if at_bound
        else f"bounded scalar search on alpha: {res.message}"
    )
    return SaturatingPowerLawFit(
        E=e,
        A=float(a),
        alpha=alpha,
        E_se=float(se[0]),
        A_se=float(se[1]),
        alpha_se=float(se[2]),
        r2=1.0 - sse_min / ss_tot if ss_tot > 0 else 1.0,
        n_points=n,
        converged=converged,
        message=message,
    )
