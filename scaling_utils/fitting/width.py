"""How wide approach 3's interval is for a given number of runs (interval-width studies)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scaling_utils._validation import check_level, paired, positive_scalar
from scaling_utils.fitting.bootstrap import bootstrap_chinchilla
from scaling_utils.fitting.parametric import fit_chinchilla
from scaling_utils.fitting.power_law import PowerLawFit, fit_power_law
from scaling_utils.laws import ChinchillaLaw

__all__ = ["WidthStudy", "interval_width_study", "runs_for_width", "width_study"]


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
    :func:`scaling_utils.simulations.synthetic.isoflop_runs`) with that many sizes per budget, fits
    approach 3 and bootstraps it.

    Returns
    -------
    pandas.DataFrame
        ``n_runs, a, low, high, width, level`` per dataset.
    """
    from scaling_utils.simulations.synthetic import isoflop_runs

    level = check_level(level)
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
        n, w = paired(1, n_runs=study["n_runs"], width=study["width"])
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


@dataclass(frozen=True)
class WidthStudy:
    """Approach 3's interval width against the number of runs, and the runs a target width needs."""

    study: pd.DataFrame  # interval_width_study(...)
    target_width: float
    runs_needed_free: float  # at the fitted rate
    runs_needed_half: float  # at the n^-1/2 rate of independent noise
    rate: PowerLawFit  # width = c * n_runs ** exponent

    def summary(self) -> dict[str, object]:
        """The target, the study's range of runs and its last width, the runs needed, the fitted rate."""
        s = self.study
        return {
            "t1_width": self.target_width,
            "study_min_runs": int(s["n_runs"].min()),
            "study_max_runs": int(s["n_runs"].max()),
            "study_max_width": float(s["width"].iloc[-1]),
            "runs_needed_free": self.runs_needed_free,
            "runs_needed_half": self.runs_needed_half,
            "width_slope": self.rate.exponent,
        }


def width_study(law: ChinchillaLaw, target_width: float, *, noise: float = 0.01, seed: int = 0) -> WidthStudy:
    """:func:`interval_width_study` of ``law`` and :func:`runs_for_width` of ``target_width``, both rates."""
    study = interval_width_study(law, noise=noise, seed=seed)
    n_free, fit_free = runs_for_width(study, target_width)
    n_half, _ = runs_for_width(study, target_width, exponent=-0.5)
    return WidthStudy(study, target_width, n_free, n_half, fit_free)
