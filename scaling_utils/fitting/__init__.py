"""Fitting scaling laws the way the papers did, fast enough to bootstrap in a notebook.

May import the ground floor, ``laws`` and ``simulations``; never ``analysis`` or above.

* :func:`fit_power_law`: ``y = coefficient * x**exponent`` by least squares in log-log space.
* :func:`fit_saturating_power_law`: ``y = E + A * x**-alpha`` (a loss curve with a floor).
* :func:`fit_chinchilla`: approach 3 of Hoffmann et al. (2022), the parametric loss fitted
  with a Huber loss on log-loss, as in Hoffmann et al. and Besiroglu et al. (2024): from
  variable-projection starts (:mod:`~scaling_utils.fitting.varpro`, the default) or from
  their grid of 4,500 starting points; both reach the same optimum.
* :func:`isoflop_minima`: approach 2, the vertex of a parabola in ``log N`` per budget.
* :func:`envelope_minima`: approach 1, the lower envelope of training curves.
* :func:`bootstrap_chinchilla`, :func:`bootstrap_isoflop`, :func:`bootstrap_envelope`:
  percentile intervals by resampling, vectorised across resamples.

Speed: a handful of variable-projection starts replace the 4,500-point grid; the starts
advance together through a batched L-BFGS (:mod:`~scaling_utils.fitting._lbfgs`) with
analytic gradients, and the best is polished by :func:`scipy.optimize.minimize` (L-BFGS-B),
so that the optimum matches a plain loop of ``scipy.optimize.minimize`` over the full grid.
Bootstrap resamples advance together through a batched damped Newton method
(:mod:`~scaling_utils.fitting._newton`). ``benchmarks/fit_speed.py`` measures both.

One role per module: :mod:`~scaling_utils.fitting.power_law`,
:mod:`~scaling_utils.fitting.parametric` (approach 3), :mod:`~scaling_utils.fitting.varpro` (its
starts and centred coordinates), :mod:`~scaling_utils.fitting.approaches`
(approaches 1 and 2), :mod:`~scaling_utils.fitting.bootstrap` (kept apart from fitting) and
:mod:`~scaling_utils.fitting.width` (interval-width studies). Everything public is
re-exported here, so ``from scaling_utils.fitting import fit_chinchilla`` keeps working.
"""

from scaling_utils.fitting.approaches import (
    ApproachFit,
    envelope_minima,
    fit_envelope,
    fit_isoflop,
    isoflop_minima,
)
from scaling_utils.fitting.bootstrap import (
    Bootstrap,
    bootstrap_chinchilla,
    bootstrap_envelope,
    bootstrap_isoflop,
)
from scaling_utils.fitting.parametric import (
    CONVERGENCE_GTOL,
    HALVING,
    ChinchillaFit,
    default_grid,
    fit_chinchilla,
    huber_objective,
)
from scaling_utils.fitting.power_law import (
    PowerLawFit,
    SaturatingPowerLawFit,
    fit_power_law,
    fit_saturating_power_law,
)
from scaling_utils.fitting.result import FitResult
from scaling_utils.fitting.summary import Approaches, fit_approaches
from scaling_utils.fitting.width import WidthStudy, interval_width_study, runs_for_width, width_study

__all__ = [
    "CONVERGENCE_GTOL",
    "HALVING",
    "ApproachFit",
    "Approaches",
    "Bootstrap",
    "ChinchillaFit",
    "FitResult",
    "PowerLawFit",
    "SaturatingPowerLawFit",
    "WidthStudy",
    "bootstrap_chinchilla",
    "bootstrap_envelope",
    "bootstrap_isoflop",
    "default_grid",
    "envelope_minima",
    "fit_approaches",
    "fit_chinchilla",
    "fit_envelope",
    "fit_isoflop",
    "fit_power_law",
    "fit_saturating_power_law",
    "huber_objective",
    "interval_width_study",
    "isoflop_minima",
    "runs_for_width",
    "width_study",
]
