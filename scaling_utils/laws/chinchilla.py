"""The parametric law of Hoffmann et al. (2022) (Chinchilla), its presets and their Table 2.

* :class:`ChinchillaLaw`, the parametric loss ``L(N, D) = E + A / N**alpha + B / D**beta``
  of Hoffmann et al. (2022, Eq. 2), with its closed-form compute-optimal allocation, and the
  presets :data:`HOFFMANN_2022`, :data:`HOFFMANN_2022_UNROUNDED` and :data:`BESIROGLU_2024`.
* :data:`PUBLISHED_T1`, the exponents of the three approaches as Table 2 prints them.

Units: ``N`` is parameters, ``D`` tokens, ``C`` FLOPs, loss in nats per token, as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling_utils._validation import as_positive, broadcast, positive_scalar, scalar_or_array

__all__ = [
    "BESIROGLU_2024",
    "CHINCHILLA_PRESETS",
    "HOFFMANN_2022",
    "HOFFMANN_2022_UNROUNDED",
    "PUBLISHED_T1",
    "ChinchillaLaw",
    "PublishedExponents",
]

FloatOrArray = float | NDArray[np.float64]


@dataclass(frozen=True)
class ChinchillaLaw:
    r"""The Chinchilla parametric loss :math:`L(N, D) = E + A/N^\alpha + B/D^\beta`.

    Parameters
    ----------
    E : float
        Irreducible loss, the loss of an ideal model on the data distribution (nats/token).
    A, B : float
        Scales of the finite-model and finite-data terms.
    alpha, beta : float
        Exponents of the model-size and data-size terms.
    name : str, optional
        Short label used in figures and tables.
    citation : str, optional
        Bibliography key of the paper the constants come from.

    Raises
    ------
    ValueError
        If a constant is not finite and > 0.

    Notes
    -----
    Under the compute constraint :math:`C = 6ND` the loss is minimised in closed form
    (Hoffmann et al. 2022, Appendix D.2) by

    .. math::

        N_{opt}(C) = G (C/6)^{a}, \quad D_{opt}(C) = G^{-1} (C/6)^{b}, \quad
        G = \left(\frac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)},

    with :math:`a = \beta/(\alpha+\beta)` and :math:`b = \alpha/(\alpha+\beta)`.

    References
    ----------
    Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", Eq. 2 and
    Appendix D.2 (arXiv:2203.15556).

    Examples
    --------
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> round(HOFFMANN_2022.loss(70e9, 1.4e12), 3)
    1.937
    >>> a, b = HOFFMANN_2022.exponents
    >>> round(a, 3), round(b, 3)
    (0.452, 0.548)
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    name: str = "Chinchilla law"
    citation: str = ""

    def __post_init__(self) -> None:
        for f in ("E", "A", "B", "alpha", "beta"):
            object.__setattr__(self, f, positive_scalar(getattr(self, f), f))

    # -- loss ---------------------------------------------------------------------------
    def loss(self, N: ArrayLike, D: ArrayLike) -> FloatOrArray:
        """Predicted loss (nats/token) of a model of ``N`` parameters trained on ``D`` tokens.

        Parameters
        ----------
        N : array_like
            Parameters, finite and > 0.
        D : array_like
            Training tokens, finite and > 0; broadcast against ``N``.

        Returns
        -------
        float or ndarray
            ``E + A / N**alpha + B / D**beta``; a float when both inputs are scalars.

        Examples
        --------
        >>> from scaling_utils.laws import HOFFMANN_2022
        >>> HOFFMANN_2022.loss([1e9, 1e10], 2e10).round(3)
        array([2.58 , 2.388])
        """
        n, d = broadcast(N=as_positive(N, "N"), D=as_positive(D, "D"))
        return scalar_or_array(self.E + self.A * n ** (-self.alpha) + self.B * d ** (-self.beta))

    # -- compute-optimal allocation ------------------------------------------------------
    @property
    def exponents(self) -> tuple[float, float]:
        """``(a, b)`` with ``N_opt ∝ C**a`` and ``D_opt ∝ C**b``; ``a + b == 1``."""
        s = self.alpha + self.beta
        return self.beta / s, self.alpha / s

    @property
    def G(self) -> float:
        """The allocation constant ``G = (alpha A / (beta B)) ** (1 / (alpha + beta))``."""
        return float((self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta)))

    def compute_optimal(self, C: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
        """Loss-minimising ``(N_opt, D_opt)`` for a budget of ``C`` FLOPs with ``C = 6 N D``.

        Parameters
        ----------
        C : array_like
            Training compute in FLOPs, finite and > 0.

        Returns
        -------
        N_opt, D_opt : float or ndarray
            Parameters and tokens; ``6 * N_opt * D_opt == C``.

        Examples
        --------
        >>> from scaling_utils.laws import HOFFMANN_2022_UNROUNDED
        >>> n, d = HOFFMANN_2022_UNROUNDED.compute_optimal(5.76e23)  # Gopher's budget
        >>> f"{n:.3g}"
        '4.04e+10'
        """
        c = as_positive(C, "C")
        a, b = self.exponents
        g = self.G
        return scalar_or_array(g * (c / 6.0) ** a), scalar_or_array((c / 6.0) ** b / g)

    def tokens_per_parameter(self, C: ArrayLike) -> FloatOrArray:
        """Ratio ``D_opt / N_opt`` at the compute-optimal point for ``C`` FLOPs.

        Examples
        --------
        >>> from scaling_utils.laws import BESIROGLU_2024
        >>> round(BESIROGLU_2024.tokens_per_parameter(5.88e23), 1)
        18.4
        """
        n, d = self.compute_optimal(C)
        return scalar_or_array(np.asarray(d) / np.asarray(n))

    def optimal_loss(self, C: ArrayLike) -> FloatOrArray:
        """Loss at the compute-optimal allocation for ``C`` FLOPs."""
        n, d = self.compute_optimal(C)
        return self.loss(n, d)

    def constants(self) -> dict[str, float]:
        """The five fitted constants as a dict (for tables)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in "E A B alpha beta".split()}


HOFFMANN_2022 = ChinchillaLaw(
    E=1.69,
    A=406.4,
    B=410.7,
    alpha=0.34,
    beta=0.28,
    name="Hoffmann et al. 2022 (printed)",
    citation="hoffmann2022",
)
"""Approach-3 fit as printed in Hoffmann et al. (2022), Eq. 10 (rounded constants)."""

HOFFMANN_2022_UNROUNDED = ChinchillaLaw(
    E=1.69337368,
    A=406.401018,
    B=410.722827,
    alpha=0.33917084,
    beta=0.2849083,
    name="Hoffmann et al. 2022 (unrounded)",
    citation="hoffmann2022",
)
"""Approach-3 fit with the unrounded constants from the paper's LaTeX source."""

BESIROGLU_2024 = ChinchillaLaw(
    E=1.8172,
    A=482.01,
    B=2085.43,
    alpha=0.3478,
    beta=0.3658,
    name="Besiroglu et al. 2024 (replication)",
    citation="besiroglu2024",
)
"""Refit of approach 3 on the data extracted from Hoffmann's Figure 4 (Besiroglu et al. 2024)."""

CHINCHILLA_PRESETS: dict[str, ChinchillaLaw] = {
    "HOFFMANN_2022": HOFFMANN_2022,
    "HOFFMANN_2022_UNROUNDED": HOFFMANN_2022_UNROUNDED,
    "BESIROGLU_2024": BESIROGLU_2024,
}


@dataclass(frozen=True)
class PublishedExponents:
    """One row of Hoffmann et al. (2022), Table 2: ``N_opt ∝ C**a``, ``D_opt ∝ C**b``.

    ``a_interval`` and ``b_interval`` are the paper's bootstrap intervals (10th and 90th
    percentiles), ``None`` where the paper gives none.
    """

    approach: str
    a: float
    b: float
    a_interval: tuple[float, float] | None
    b_interval: tuple[float, float] | None
    citation: str


PUBLISHED_T1: tuple[PublishedExponents, ...] = (
    PublishedExponents("1. Minimum over training curves", 0.50, 0.50, (0.488, 0.502), (0.501, 0.512), "hoffmann2022"),
    PublishedExponents("2. IsoFLOP profiles", 0.49, 0.51, (0.462, 0.534), (0.483, 0.529), "hoffmann2022"),
    PublishedExponents(
        "3. Parametric modelling of the loss", 0.46, 0.54, (0.454, 0.455), (0.542, 0.543), "hoffmann2022"
    ),
    PublishedExponents("Kaplan et al. (2020)", 0.73, 0.27, None, None, "kaplan2020"),
)
"""Hoffmann et al. (2022), Table 2, as printed: the article's T1."""
