"""The power laws of Kaplan et al. (2020) in non-embedding parameters, data and compute.

:class:`KaplanLaw` (Eqs. 1.1-1.6 and Table 6) with the preset :data:`KAPLAN_2020`. Units as
in the paper: ``N`` non-embedding parameters, ``D`` tokens, ``C`` (``C_min``) PF-days, loss in
nats per token.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling_utils._validation import as_positive, broadcast, positive_scalar, scalar_or_array
from scaling_utils.compute import pf_days, training_flops

__all__ = [
    "KAPLAN_2020",
    "KAPLAN_2020_FIGURE1_C_C",
    "KaplanAllocation",
    "KaplanLaw",
    "Straightness",
    "allocation_at",
    "straightness",
]

FloatOrArray = float | NDArray[np.float64]


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
class Straightness:
    """N4: the local slope of ``L(N)`` in log-log axes over a range of sizes (:func:`straightness`)."""

    law: KaplanLaw
    n: NDArray[np.float64]  # the sizes
    slopes: NDArray[np.float64]  # d log L / d log N between neighbouring sizes

    def summary(self) -> dict[str, float]:
        """The slopes' range and spread, and the loss lost per decade of N, D and C (percent)."""
        s, law = self.slopes, self.law
        return {
            "slope_min": float(-s.max()),
            "slope_max": float(-s.min()),
            "slope_spread": float(s.max() - s.min()),
            "decade_drop_N": 100 * (1 - 10 ** (-law.alpha_N)),
            "decade_drop_D": 100 * (1 - 10 ** (-law.alpha_D)),
            "decade_drop_C": 100 * (1 - 10 ** (-law.alpha_C)),
        }


def straightness(law: KaplanLaw, n: ArrayLike | None = None) -> Straightness:
    """Local log-log slopes of ``law.loss_n`` over ``n`` (default: 41 sizes from 1e5 to 1e9).

    Examples
    --------
    >>> s = straightness(KAPLAN_2020)
    >>> round(s.summary()["slope_spread"], 12)
    0.0
    """
    n = np.logspace(5, 9, 41) if n is None else as_positive(n, "n")
    return Straightness(law=law, n=n, slopes=np.diff(np.log(law.loss_n(n))) / np.diff(np.log(n)))


@dataclass(frozen=True)
class KaplanAllocation:
    """A trained model against Kaplan's compute-efficient allocation of its compute (:func:`allocation_at`)."""

    law: KaplanLaw
    params: float
    tokens: float
    flops: float  # 6 N D
    pf_days: float
    n_opt: float
    d_opt: float
    tag: str = "gpt3"  # names the model in the summary's keys

    def summary(self) -> dict[str, float]:
        """The model's tokens per parameter and compute, Kaplan's N and D (billions) for it, and the exponents."""
        t = self.tag
        return {
            f"{t}_ratio": self.tokens / self.params,
            f"{t}_flops": self.flops,
            f"{t}_pfd": self.pf_days,
            f"kaplan_nopt_{t}": self.n_opt / 1e9,
            f"kaplan_dopt_{t}": self.d_opt / 1e9,
            f"kaplan_ratio_{t}": self.d_opt / self.n_opt,
            "kaplan_alloc_flops_ratio": training_flops(self.n_opt, self.d_opt) / self.flops,
            "kaplan_a": self.law.opt_n_exp,
            "kaplan_b": self.law.opt_d_exp,
        }


def allocation_at(law: KaplanLaw, params: float, tokens: float, *, tag: str = "gpt3") -> KaplanAllocation:
    """Kaplan's allocation (Table 6) of the compute of a model of ``params`` trained on ``tokens``.

    Examples
    --------
    >>> alloc = allocation_at(KAPLAN_2020, 175e9, 300e9)
    >>> round(alloc.summary()["gpt3_ratio"], 2)
    1.71
    """
    flops = training_flops(params, tokens)
    pfd = pf_days(flops)
    return KaplanAllocation(
        law=law,
        params=params,
        tokens=tokens,
        flops=flops,
        pf_days=pfd,
        n_opt=law.optimal_n(pfd),
        d_opt=law.optimal_d(pfd),
        tag=tag,
    )
