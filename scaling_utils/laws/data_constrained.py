"""Scaling with repeated data: the data-constrained law of Muennighoff et al. (2023).

Importable from :mod:`scaling_utils.laws` as well.

The law replaces ``N`` and ``D`` of a Chinchilla law by effective values. Training ``D``
tokens on ``U_D`` unique ones repeats the data ``R_D = D / U_D - 1`` times, and repeated
tokens are worth less and less:

    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),

which saturates at ``U_D (1 + R_D*)``. Parameters beyond what ``U_D`` tokens can use,
``U_N = min(N, N_opt(U_D))`` with ``N_opt(D) = G (D G)^(beta/alpha)`` the Chinchilla size
for which ``D`` tokens are compute-optimal, decay the same way with ``R_N*``.

References
----------
Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", arXiv:2305.16264,
Eq. 5-7; constants (C4) from their repository huggingface/datablations (Apache-2.0),
README "Parametric Fit".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling_utils._validation import as_positive, broadcast, positive_scalar, scalar_or_array

__all__ = [
    "MUENNIGHOFF_2023",
    "DataConstrainedLaw",
    "DataConstrainedView",
    "allocation_curve",
    "data_constrained_view",
    "repetition_value",
]

FloatOrArray = float | NDArray[np.float64]


@dataclass(frozen=True)
class DataConstrainedLaw:
    r"""``L = E + A / N'^alpha + B / D'^beta`` with effective parameters and data.

    Parameters
    ----------
    E, A, B, alpha, beta : float
        The base Chinchilla law (single-epoch data), finite and > 0.
    rd_star, rn_star : float
        ``R_D*`` and ``R_N*``: the number of repetitions (of data, of excess parameters)
        at which their value has decayed by ``1/e``.

    Notes
    -----
    Unique tokens larger than the training tokens mean the model saw only ``D`` distinct
    tokens: ``U_D = min(U, D)`` (the authors' code requires ``U <= D``).

    Examples
    --------
    >>> round(MUENNIGHOFF_2023.loss(6.34e9, 242e9, 25e9), 10)  # their Figure 1 (right)
    2.225644089
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    rd_star: float
    rn_star: float
    name: str = "data-constrained law"
    citation: str = ""

    def __post_init__(self) -> None:
        for key in ("E", "A", "B", "alpha", "beta", "rd_star", "rn_star"):
            positive_scalar(getattr(self, key), key)

    @property
    def G(self) -> float:
        """``(alpha A / (beta B))^(1/(alpha+beta))``, as in the Chinchilla closed form."""
        return ((self.alpha * self.A) / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))

    def optimal_params_for_tokens(self, D: ArrayLike) -> FloatOrArray:
        """The size for which ``D`` single-epoch tokens are compute-optimal (``D_to_N``)."""
        d = as_positive(D, "D")
        return scalar_or_array((d * self.G) ** (self.beta / self.alpha) * self.G)

    def effective_data(self, D: ArrayLike, unique_tokens: ArrayLike) -> FloatOrArray:
        """``D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*))`` with ``U_D = min(U, D)``.

        Examples
        --------
        >>> law = MUENNIGHOFF_2023
        >>> law.effective_data(4e9, 1e9) / 4e9  # 4 epochs are worth 3.8 epochs of new data
        0.9...
        >>> round(law.effective_data(1e15, 1e9) / 1e9, 3)  # saturates at 1 + R_D*
        16.388
        """
        d = as_positive(D, "D")
        u = as_positive(unique_tokens, "unique_tokens")
        d, u = broadcast(D=d, unique_tokens=u)
        u_d = np.minimum(u, d)
        r_d = np.maximum(d / u_d - 1.0, 0.0)
        return scalar_or_array(u_d + u_d * self.rd_star * (1.0 - np.exp(-r_d / self.rd_star)))

    def effective_params(self, N: ArrayLike, unique_tokens: ArrayLike, D: ArrayLike | None = None) -> FloatOrArray:
        """``N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*))`` with ``U_N = min(N, N_opt(U_D))``."""
        n = as_positive(N, "N")
        u = as_positive(unique_tokens, "unique_tokens")
        if D is not None:
            d = as_positive(D, "D")
            n, u, d = broadcast(N=n, unique_tokens=u, D=d)
            u = np.minimum(u, d)
        else:
            n, u = broadcast(N=n, unique_tokens=u)
        u_n = np.minimum(n, np.asarray(self.optimal_params_for_tokens(u)))
        r_n = np.maximum(n / u_n - 1.0, 0.0)
        return scalar_or_array(u_n + u_n * self.rn_star * (1.0 - np.exp(-r_n / self.rn_star)))

    def loss(self, N: ArrayLike, D: ArrayLike, unique_tokens: ArrayLike) -> FloatOrArray:
        """Loss of ``N`` parameters trained on ``D`` tokens drawn from ``unique_tokens`` unique ones."""
        n_eff = np.asarray(self.effective_params(N, unique_tokens, D))
        d_eff = np.asarray(self.effective_data(D, unique_tokens))
        return scalar_or_array(self.E + self.A / n_eff**self.alpha + self.B / d_eff**self.beta)

    def compute_optimal(self, C: float, unique_tokens: float, *, n_grid: int = 4001) -> tuple[float, float]:
        """The (N, D) minimising the loss at ``C = 6 N D`` when only ``unique_tokens`` exist.

        A search over ``log D`` (``N = C / 6D``), from 1/1000 to 1000 times the
        single-epoch Chinchilla ``D_opt``, refined by golden-section search; the authors'
        README does a coarser grid around the Chinchilla point.

        Examples
        --------
        >>> n, d = MUENNIGHOFF_2023.compute_optimal(1e22, 25e9)  # their README: 7.0B, 237B
        >>> round(n / 1e9, 1), round(d / 1e9)
        (7.0, 237)
        """
        c = positive_scalar(C, "C")
        u = positive_scalar(unique_tokens, "unique_tokens")
        a = self.beta / (self.alpha + self.beta)
        d_base = (1.0 / self.G) * (c / 6.0) ** (1.0 - a)
        x = np.linspace(np.log(d_base) - np.log(1e3), np.log(d_base) + np.log(1e3), n_grid)
        d = np.exp(x)
        values = np.asarray(self.loss(c / (6.0 * d), d, u))
        k = int(np.argmin(values))
        lo, hi = x[max(k - 1, 0)], x[min(k + 1, x.size - 1)]
        g = (np.sqrt(5.0) - 1.0) / 2.0
        for _ in range(100):
            m1, m2 = hi - g * (hi - lo), lo + g * (hi - lo)
            f1 = float(self.loss(c / (6.0 * np.exp(m1)), np.exp(m1), u))
            f2 = float(self.loss(c / (6.0 * np.exp(m2)), np.exp(m2), u))
            if f1 < f2:
                hi = m2
            else:
                lo = m1
        d_opt = float(np.exp(0.5 * (lo + hi)))
        return c / (6.0 * d_opt), d_opt


MUENNIGHOFF_2023 = DataConstrainedLaw(
    E=float(np.exp(0.6254804)),
    A=float(np.exp(6.255414)),
    B=float(np.exp(7.3049974)),
    alpha=0.3526596,
    beta=0.3526596,
    rd_star=15.387756,
    rn_star=5.309743,
    name="Muennighoff et al. 2023 (C4)",
    citation="muennighoff2023",
)
"""The C4 fit of Muennighoff et al. (2023), from their repository's README."""


def repetition_value(law: DataConstrainedLaw, epochs: ArrayLike) -> FloatOrArray:
    """What ``epochs`` passes over the same data are worth, as a fraction of as much new data.

    ``D' / D`` for ``D = epochs x U``; independent of ``U``. 1 at one epoch, 0.93 at four
    (Muennighoff et al.'s "up to ~4 epochs ... almost as good as unique data"), and
    ``(1 + R_D*) / epochs`` once repetition has saturated.

    Examples
    --------
    >>> [round(float(v), 3) for v in repetition_value(MUENNIGHOFF_2023, [1, 4, 40])]
    [1.0, 0.931, 0.379]
    """
    e = np.asarray(as_positive(epochs, "epochs"), dtype=float)
    if np.any(e < 1):
        raise ValueError("epochs must be >= 1 (fewer than one pass is not repetition)")
    return scalar_or_array(np.asarray(law.effective_data(e, 1.0)) / e)


def allocation_curve(law: DataConstrainedLaw, computes: ArrayLike, unique_tokens: float):
    """The compute-optimal ``(N, D, epochs)`` for each compute when ``unique_tokens`` exist.

    Returns
    -------
    pandas.DataFrame
        Columns ``C, N, D, epochs, loss`` (constrained optimum) and ``N_free, D_free,
        loss_free`` (the base law's optimum with unlimited unique data, one epoch).

    Examples
    --------
    >>> t = allocation_curve(MUENNIGHOFF_2023, [1e20, 1e24], 100e9)
    >>> [round(e, 2) for e in t["epochs"]]  # data to spare, then several epochs
    [0.18, 27.21]
    """
    import pandas as pd

    c_all = np.atleast_1d(np.asarray(as_positive(computes, "computes"), dtype=float))
    u = positive_scalar(unique_tokens, "unique_tokens")
    a = law.beta / (law.alpha + law.beta)
    rows = []
    for c in c_all:
        n, d = law.compute_optimal(float(c), u)
        d_free = (1.0 / law.G) * (c / 6.0) ** (1.0 - a)
        n_free = c / (6.0 * d_free)
        rows.append(
            {
                "C": float(c),
                "N": n,
                "D": d,
                "epochs": d / u,
                "loss": float(law.loss(n, d, u)),
                "N_free": n_free,
                "D_free": d_free,
                "loss_free": float(law.E + law.A / n_free**law.alpha + law.B / d_free**law.beta),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class DataConstrainedView:
    """What repeated tokens are worth, and the allocation under a unique-data cap (:func:`data_constrained_view`)."""

    law: DataConstrainedLaw
    epochs: NDArray[np.float64]
    value: NDArray[np.float64]  # repetition_value(law, epochs)
    curve: object  # allocation_curve(law, computes, unique_tokens), a DataFrame
    unique_tokens: float

    def summary(self) -> dict[str, float]:
        """R_D*, R_N*, a repeated token's worth at 4 and 16 epochs, and the allocation at the largest compute."""
        law, last = self.law, self.curve.iloc[-1]
        return {
            "m23_rd": law.rd_star,
            "m23_rn": law.rn_star,
            "value_4": float(repetition_value(law, 4.0)),
            "value_16": float(repetition_value(law, 16.0)),
            "unique_B": self.unique_tokens / 1e9,
            "curve_c_max": float(last["C"]),
            "curve_epochs_max": float(last["epochs"]),
            "curve_n_ratio": float(last["N"] / last["N_free"]),
            "curve_loss_gap": float(last["loss"] - last["loss_free"]),
        }


def data_constrained_view(
    law: DataConstrainedLaw, computes: ArrayLike, unique_tokens: float, *, epochs: ArrayLike | None = None
) -> DataConstrainedView:
    """:func:`repetition_value` over ``epochs`` (default 200 from 1 to 1000) and :func:`allocation_curve`."""
    epochs = np.geomspace(1, 1000, 200) if epochs is None else as_positive(epochs, "epochs")
    return DataConstrainedView(
        law=law,
        epochs=epochs,
        value=repetition_value(law, epochs),
        curve=allocation_curve(law, computes, unique_tokens),
        unique_tokens=unique_tokens,
    )
