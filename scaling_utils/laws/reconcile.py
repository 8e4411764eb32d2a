"""Why Kaplan found ``a = 0.73``: the analytic view of Pearce & Song (2024).

Kaplan et al. counted non-embedding parameters ``N_E`` and compute ``C_E = 6 N_E D``;
Hoffmann et al. counted total parameters ``N_T``. If the truth is a Chinchilla law in
``N_T``, a Kaplan-style analysis of small models measures a larger exponent, because at
small scale the embeddings are a large share of ``N_T``.

* :func:`total_params`: ``N_T = N_E + gamma N_E^(1/3)``.
* :func:`gamma_for`: ``gamma`` from the vocabulary and the aspect ratio ``d_model / n_layer``.
* :func:`local_exponent`: ``g(N_E) = d log N_E* / d log C_E``, in closed form.
* :func:`kaplan_frontier_exponent`: the exponent a Kaplan-style fit of the compute-efficient
  frontier reports over Kaplan's range of models and budgets.

References
----------
Pearce & Song 2024, "Reconciling Kaplan and Chinchilla Scaling Laws", arXiv:2406.12907,
Sec. 2-3, and their analysis script (repository TeaPearce/Reconciling_Kaplan_Chinchilla_Scaling_Laws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling_utils._validation import as_positive, positive_scalar, scalar_or_array
from scaling_utils.laws.chinchilla import ChinchillaLaw

__all__ = [
    "PEARCE_SONG_GAMMA",
    "FrontierFit",
    "LocalView",
    "gamma_for",
    "kaplan_frontier_exponent",
    "local_exponent",
    "local_exponent_limits",
    "local_view",
    "total_params",
]

PEARCE_SONG_GAMMA: float = 47491.0
"""Pearce & Song's ``gamma`` for a 32k vocabulary at Chinchilla's aspect ratio (d/L ~ 39.2)."""

FloatOrArray = float | NDArray[np.float64]


def _check_law(law: object) -> ChinchillaLaw:
    if not isinstance(law, ChinchillaLaw):
        raise TypeError(f"law must be a ChinchillaLaw, got {type(law).__name__}")
    return law


def gamma_for(vocab: float = 32_000, aspect_ratio: float = 39.2) -> float:
    r"""Embedding coefficient ``gamma`` of :func:`total_params` for a model family.

    With ``N_E = 12 n_layer d^2`` and a fixed aspect ratio ``A = d / n_layer``,
    ``d = (A N_E / 12)^(1/3)``, so the ``vocab x d`` embedding holds
    ``vocab (A/12)^(1/3) N_E^(1/3)`` parameters.

    Examples
    --------
    >>> round(gamma_for(32_000, 39.2))  # Pearce & Song fit 47,491 to Chinchilla's models
    47481
    """
    v = positive_scalar(vocab, "vocab")
    a = positive_scalar(aspect_ratio, "aspect_ratio")
    return float(v * (a / 12.0) ** (1.0 / 3.0))


def total_params(n_nonembedding: ArrayLike, *, gamma: float = PEARCE_SONG_GAMMA) -> FloatOrArray:
    """Total parameters ``N_T = N_E + gamma N_E^(1/3)`` (Pearce & Song 2024, Eq. 5).

    Examples
    --------
    >>> f"{total_params(1e6):.4g}"  # at a million non-embedding parameters, 83% are embeddings
    '5.749e+06'
    """
    n = as_positive(n_nonembedding, "n_nonembedding")
    g = positive_scalar(gamma, "gamma")
    return scalar_or_array(n + g * np.cbrt(n))


def local_exponent(law: ChinchillaLaw, n_nonembedding: ArrayLike, *, gamma: float = PEARCE_SONG_GAMMA) -> FloatOrArray:
    r"""Local exponent ``g = d log N_E* / d log C_E`` that a Kaplan-style analysis measures.

    The truth is ``law`` in total parameters, ``L = E + A / N_T^alpha + B / D^beta`` with
    ``N_T = N_E + gamma N_E^(1/3)``; the analysis counts ``C_E = 6 N_E D``. Setting
    ``dL/dN_E = 0`` at fixed ``C_E`` gives the frontier (Pearce & Song, Eq. 9)

    .. math::

        C_E = 6 N_E \left(\frac{\beta B}{\alpha A}\right)^{1/\beta}
              \left(N_E + \tfrac{\gamma}{3} N_E^{1/3}\right)^{-1/\beta}
              N_T^{(1+\alpha)/\beta},

    and ``g`` is the inverse of its log-log slope:

    .. math::

        \frac{1}{g} = 1 - \frac{1}{\beta} \frac{N_E + \frac{\gamma}{9} N_E^{1/3}}
        {N_E + \frac{\gamma}{3} N_E^{1/3}} + \frac{1+\alpha}{\beta}
        \frac{N_E + \frac{\gamma}{3} N_E^{1/3}}{N_E + \gamma N_E^{1/3}}.

    Its limits (:func:`local_exponent_limits`) are ``beta / (alpha/3 + beta)`` for small
    models (embeddings dominate) and ``beta / (alpha + beta)``, the law's own ``a``, for
    large ones. It is not monotone in between.

    Examples
    --------
    >>> from scaling_utils.laws import BESIROGLU_2024
    >>> [round(float(g), 3) for g in local_exponent(BESIROGLU_2024, [1e2, 1e6, 1e12])]
    [0.76, 0.963, 0.513]
    """
    law = _check_law(law)
    n = as_positive(n_nonembedding, "n_nonembedding")
    g = positive_scalar(gamma, "gamma")
    c = np.cbrt(n)
    t1 = (n + g / 9.0 * c) / (n + g / 3.0 * c)
    t2 = (n + g / 3.0 * c) / (n + g * c)
    inv = 1.0 - t1 / law.beta + (1.0 + law.alpha) / law.beta * t2
    return scalar_or_array(1.0 / inv)


def local_exponent_limits(law: ChinchillaLaw) -> tuple[float, float]:
    """The two limits of :func:`local_exponent`: ``(beta / (alpha/3 + beta), beta / (alpha + beta))``.

    Examples
    --------
    >>> from scaling_utils.laws import HOFFMANN_2022_UNROUNDED
    >>> [round(v, 3) for v in local_exponent_limits(HOFFMANN_2022_UNROUNDED)]
    [0.716, 0.457]
    """
    law = _check_law(law)
    return law.beta / (law.alpha / 3.0 + law.beta), law.beta / (law.alpha + law.beta)


@dataclass(frozen=True)
class FrontierFit:
    """A Kaplan-style fit of the compute-efficient frontier (see :func:`kaplan_frontier_exponent`).

    Attributes
    ----------
    exponent : float
        Slope of ``log N_E*`` against ``log C_E``.
    compute : ndarray
        The budgets ``C_E``.
    n_opt : ndarray
        The non-embedding size of the best of the models at each budget.
    models : ndarray
        The non-embedding sizes of the model family.
    """

    exponent: float
    compute: NDArray[np.float64]
    n_opt: NDArray[np.float64]
    models: NDArray[np.float64]


def kaplan_frontier_exponent(
    law: ChinchillaLaw,
    *,
    gamma: float = PEARCE_SONG_GAMMA,
    compute_range: tuple[float, float] = (10**12.95, 10**20.7),
    model_range: tuple[float, float] = (10**2.9, 10**9.2),
    n_models: int = 20,
    n_budgets: int = 100,
) -> FrontierFit:
    """Simulate Kaplan's analysis on a Chinchilla-law world and return the exponent it reports.

    As Pearce & Song's analysis does: ``n_models`` models log-spaced in non-embedding size
    over ``model_range`` (Kaplan's 768 to 1.5B), ``n_budgets`` budgets log-spaced in
    ``C_E = 6 N_E D`` over ``compute_range``; at each budget the model with the lowest
    ``law`` loss (in total parameters, :func:`total_params`) wins, and a straight line in
    log-log through the winners gives the exponent. Their script reads each model's loss on a
    grid of 1,000 token counts at the nearest compute; here the loss is evaluated at the
    budget exactly.

    Examples
    --------
    >>> from scaling_utils.laws import BESIROGLU_2024
    >>> round(kaplan_frontier_exponent(BESIROGLU_2024).exponent, 2)  # Pearce & Song: 0.78
    0.78
    """
    law = _check_law(law)
    lo_c, hi_c = (positive_scalar(v, "compute_range") for v in compute_range)
    lo_n, hi_n = (positive_scalar(v, "model_range") for v in model_range)
    if not (lo_c < hi_c and lo_n < hi_n):
        raise ValueError(f"compute_range and model_range must be increasing, got {compute_range}, {model_range}")
    for name, v in (("n_models", n_models), ("n_budgets", n_budgets)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2:
            raise ValueError(f"{name} must be an int >= 2, got {v!r}")
    models = np.logspace(np.log10(lo_n), np.log10(hi_n), n_models)
    compute = np.logspace(np.log10(lo_c), np.log10(hi_c), n_budgets)
    n_t = np.asarray(total_params(models, gamma=gamma))
    tokens = compute[:, None] / (6.0 * models[None, :])
    loss = law.E + law.A / n_t[None, :] ** law.alpha + law.B / tokens**law.beta
    n_opt = models[np.argmin(loss, axis=1)]
    slope = float(np.polyfit(np.log(compute), np.log(n_opt), 1)[0])
    return FrontierFit(exponent=slope, compute=compute, n_opt=n_opt, models=models)


@dataclass(frozen=True)
class LocalView:
    """The local exponent of each law over a range of non-embedding sizes (:func:`local_view`)."""

    n_nonembedding: NDArray[np.float64]
    curves: dict[str, NDArray[np.float64]]  # law label -> local exponent at each size
    limits: dict[str, tuple[float, float]]  # law label -> (small-model, large-model) limits
    frontier: dict[str, FrontierFit]  # law label -> Kaplan-style frontier exponent
    gamma: float

    def summary(self, tags: dict[str, str] | None = None) -> dict[str, float]:
        """Gamma, the embedding's share at 1e6 and 1e9, and per law its limits, peak and frontier exponent.

        Each law's keys start with its tag (``tags``: label -> short name; by default the
        label's first three letters, lower case); ``<tag>_peak_at_m`` is where it peaks, in millions.
        """
        out = {
            "gamma": self.gamma,
            "gamma_derived": gamma_for(32_000, 39.2),
            "emb_share_1e6": 100 * (1 - 1e6 / total_params(1e6, gamma=self.gamma)),
            "emb_share_1e9": 100 * (1 - 1e9 / total_params(1e9, gamma=self.gamma)),
        }
        n_e = self.n_nonembedding
        for name, curve in self.curves.items():
            key = (tags or {}).get(name, name.split()[0][:3].lower())
            lo, hi = self.limits[name]
            out |= {f"{key}_small": lo, f"{key}_large": hi, f"{key}_peak": float(curve.max())}
            out[f"{key}_peak_at_m"] = float(n_e[curve.argmax()]) / 1e6
            out[f"{key}_frontier"] = self.frontier[name].exponent
        return out


def local_view(laws: dict[str, ChinchillaLaw], *, gamma: float = PEARCE_SONG_GAMMA, n_nonembedding=None) -> LocalView:
    """:func:`local_exponent`, its limits and :func:`kaplan_frontier_exponent` of each law (by label).

    ``n_nonembedding`` defaults to 400 sizes from 10 to 1e13.
    """
    n_e = np.logspace(1, 13, 400) if n_nonembedding is None else as_positive(n_nonembedding, "n_nonembedding")
    return LocalView(
        n_nonembedding=n_e,
        curves={name: local_exponent(law, n_e, gamma=gamma) for name, law in laws.items()},
        limits={name: local_exponent_limits(law) for name, law in laws.items()},
        frontier={name: kaplan_frontier_exponent(law, gamma=gamma) for name, law in laws.items()},
        gamma=gamma,
    )
