"""Published scaling laws, with the constants their papers print.

Two families:

* :class:`ChinchillaLaw`, the parametric loss ``L(N, D) = E + A / N**alpha + B / D**beta``
  of Hoffmann et al. (2022, Eq. 2), with its closed-form compute-optimal allocation, and the
  presets :data:`HOFFMANN_2022`, :data:`HOFFMANN_2022_UNROUNDED` and :data:`BESIROGLU_2024`.
* :class:`KaplanLaw`, the power laws of Kaplan et al. (2020, Eqs. 1.1-1.6 and Table 6),
  with the preset :data:`KAPLAN_2020`.

Units: ``N`` is parameters (Kaplan: non-embedding parameters), ``D`` tokens, ``C`` FLOPs for
Chinchilla and PF-days (``C_min``) for Kaplan, as in the papers. Loss is in nats per token.
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
    "KAPLAN_2020",
    "KAPLAN_2020_FIGURE1_C_C",
    "MUENNIGHOFF_2023",
    "PUBLISHED_T1",
    "ChinchillaLaw",
    "DataConstrainedLaw",
    "InferenceOptimum",
    "KaplanLaw",
    "PublishedExponents",
    "inference_optimal",
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
class KaplanLaw:
    r"""The power laws of Kaplan et al. (2020) for non-embedding parameters, data and compute.

    Each group of constants belongs to one equation of the paper; the defaults of
    :data:`KAPLAN_2020` are the paper's.

    Parameters
    ----------
    alpha_N, N_c : float
        Eq. 1.1, :math:`L(N) = (N_c/N)^{\alpha_N}` (models trained to convergence).
    alpha_D, D_c : float
        Eq. 1.2, :math:`L(D) = (D_c/D)^{\alpha_D}` (early stopping).
    alpha_C, C_c : float
        Eq. 1.3, :math:`L(C_{min}) = (C_c/C_{min})^{\alpha_C}`, with ``C_c`` in PF-days.
    nd_alpha_N, nd_alpha_D, nd_N_c, nd_D_c : float
        Eq. 1.5, :math:`L(N, D) = [(N_c/N)^{\alpha_N/\alpha_D} + D_c/D]^{\alpha_D}`.
    ns_alpha_N, ns_alpha_S, ns_N_c, ns_S_c : float
        Eq. 1.6, :math:`L(N, S) = (N_c/N)^{\alpha_N} + (S_c/S_{min})^{\alpha_S}`.
    opt_n_coef, opt_n_exp, opt_d_coef, opt_d_exp : float
        Table 6, compute-efficient allocation :math:`N_{opt} = 1.3\times10^9 C_{min}^{0.73}`
        and :math:`D_{opt} = 2\times10^{10} C_{min}^{0.27}` (``C_min`` in PF-days).
    B_star, alpha_B : float
        Eq. 1.4, critical batch :math:`B_{crit}(L) = B_*/L^{1/\alpha_B}` (tokens).

    Notes
    -----
    The compute panel of the paper's Figure 1 is labelled
    :math:`L = (C_{min}/2.3\cdot10^8)^{-0.050}`, while its Eq. 1.3 and Table 5 state
    :math:`C_c^{min} \approx 3.1\times10^8` PF-days. ``KAPLAN_2020`` uses the equation's
    value (the one the text reports and the article quotes);
    :data:`KAPLAN_2020_FIGURE1_C_C` holds the label's.

    References
    ----------
    Kaplan et al. 2020, "Scaling Laws for Neural Language Models" (arXiv:2001.08361).

    Examples
    --------
    >>> from scaling_utils.laws import KAPLAN_2020
    >>> KAPLAN_2020.loss_n(8.8e13)
    1.0
    >>> round(KAPLAN_2020.loss_n(1.5e9), 3)
    2.304
    """

    alpha_N: float = 0.076
    N_c: float = 8.8e13
    alpha_D: float = 0.095
    D_c: float = 5.4e13
    alpha_C: float = 0.050
    C_c: float = 3.1e8
    nd_alpha_N: float = 0.076
    nd_alpha_D: float = 0.103
    nd_N_c: float = 6.4e13
    nd_D_c: float = 1.8e13
    ns_alpha_N: float = 0.077
    ns_alpha_S: float = 0.76
    ns_N_c: float = 6.5e13
    ns_S_c: float = 2.1e3
    opt_n_coef: float = 1.3e9
    opt_n_exp: float = 0.73
    opt_d_coef: float = 2e10
    opt_d_exp: float = 0.27
    B_star: float = 2e8
    alpha_B: float = 0.21
    name: str = "Kaplan et al. 2020"
    citation: str = "kaplan2020"

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name not in ("name", "citation"):
                object.__setattr__(self, f.name, positive_scalar(getattr(self, f.name), f.name))

    def loss_n(self, N: ArrayLike) -> FloatOrArray:
        """Eq. 1.1: converged loss of a model with ``N`` non-embedding parameters."""
        n = as_positive(N, "N")
        return scalar_or_array((self.N_c / n) ** self.alpha_N)

    def loss_d(self, D: ArrayLike) -> FloatOrArray:
        """Eq. 1.2: loss of a large model trained on ``D`` tokens with early stopping.

        Examples
        --------
        >>> from scaling_utils.laws import KAPLAN_2020
        >>> KAPLAN_2020.loss_d(5.4e13)
        1.0
        """
        d = as_positive(D, "D")
        return scalar_or_array((self.D_c / d) ** self.alpha_D)

    def loss_c(self, C: ArrayLike) -> FloatOrArray:
        """Eq. 1.3: loss on the compute-efficient frontier for ``C`` (C_min) PF-days.

        Examples
        --------
        >>> from scaling_utils.laws import KAPLAN_2020
        >>> round(KAPLAN_2020.loss_c(1.0), 3)
        2.658
        """
        c = as_positive(C, "C")
        return scalar_or_array((self.C_c / c) ** self.alpha_C)

    def loss_nd(self, N: ArrayLike, D: ArrayLike) -> FloatOrArray:
        """Eq. 1.5: loss of ``N`` non-embedding parameters trained on ``D`` tokens (early stopped).

        Examples
        --------
        >>> from scaling_utils.laws import KAPLAN_2020
        >>> round(KAPLAN_2020.loss_nd(1e9, 1e15), 3)  # data-rich: close to L(N)
        2.319
        """
        n, d = broadcast(N=as_positive(N, "N"), D=as_positive(D, "D"))
        inner = (self.nd_N_c / n) ** (self.nd_alpha_N / self.nd_alpha_D) + self.nd_D_c / d
        return scalar_or_array(inner**self.nd_alpha_D)

    def loss_ns(self, N: ArrayLike, S: ArrayLike) -> FloatOrArray:
        """Eq. 1.6: loss after ``S`` (= S_min) optimisation steps for ``N`` parameters."""
        n, s = broadcast(N=as_positive(N, "N"), S=as_positive(S, "S"))
        return scalar_or_array((self.ns_N_c / n) ** self.ns_alpha_N + (self.ns_S_c / s) ** self.ns_alpha_S)

    def optimal_n(self, C: ArrayLike) -> FloatOrArray:
        """Table 6: compute-efficient non-embedding parameters for ``C`` (C_min) PF-days.

        Examples
        --------
        >>> from scaling_utils.laws import KAPLAN_2020
        >>> f"{KAPLAN_2020.optimal_n(1.0):.2g}"
        '1.3e+09'
        """
        c = as_positive(C, "C")
        return scalar_or_array(self.opt_n_coef * c**self.opt_n_exp)

    def optimal_d(self, C: ArrayLike) -> FloatOrArray:
        """Table 6: compute-efficient training tokens for ``C`` (C_min) PF-days."""
        c = as_positive(C, "C")
        return scalar_or_array(self.opt_d_coef * c**self.opt_d_exp)

    def critical_batch(self, L: ArrayLike) -> FloatOrArray:
        """Eq. 1.4: critical batch size in tokens at loss ``L`` (nats/token)."""
        loss = as_positive(L, "L")
        return scalar_or_array(self.B_star / loss ** (1.0 / self.alpha_B))


KAPLAN_2020 = KaplanLaw()
"""The constants of Kaplan et al. (2020), Eqs. 1.1-1.6 and Table 6."""

KAPLAN_2020_FIGURE1_C_C = 2.3e8
"""``C_c`` (PF-days) as written in the compute panel label of Kaplan et al. (2020), Figure 1."""


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


# The inference-aware allocation lives in its own module; it is part of this one's API.
from scaling_utils.allocation import InferenceOptimum, inference_optimal  # noqa: E402
from scaling_utils.data_constrained import MUENNIGHOFF_2023, DataConstrainedLaw  # noqa: E402
