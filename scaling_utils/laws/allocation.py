"""Allocations beyond Chinchilla's: the inference-aware optimum of Sardana et al. (2024).

Importable from :mod:`scaling_utils.laws` as well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scaling_utils._validation import positive_scalar

if TYPE_CHECKING:
    import pandas as pd

    from scaling_utils.laws.chinchilla import ChinchillaLaw

__all__ = [
    "SARDANA_2024_LAW",
    "InferenceOptimum",
    "InferencePlan",
    "inference_optimal",
    "inference_plan",
    "inference_table",
]


@dataclass(frozen=True)
class InferenceOptimum:
    """The cheapest (N, D) reaching a loss, counting training and inference FLOPs.

    Attributes
    ----------
    N, D : float
        Parameters and training tokens.
    loss : float
        The target loss (the law's loss at ``N, D``).
    inference_tokens : float
        Tokens served over the model's life.
    training_flops, inference_flops : float
        ``6 N D`` and ``2 N D_inf``.
    """

    N: float
    D: float
    loss: float
    inference_tokens: float
    training_flops: float
    inference_flops: float

    @property
    def total_flops(self) -> float:
        """Training plus inference FLOPs."""
        return self.training_flops + self.inference_flops

    @property
    def tokens_per_parameter(self) -> float:
        """``D / N``."""
        return self.D / self.N


def _nonneg_scalar(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
    return v


def inference_optimal(law: ChinchillaLaw, loss: float, inference_tokens: float) -> InferenceOptimum:
    r"""Minimise ``6 N D + 2 N D_inf`` subject to ``law.loss(N, D) = loss`` (Sardana et al. 2024).

    On the iso-loss curve ``D(N) = (B / (loss - E - A/N^alpha))^(1/beta)``, which exists for
    ``N > (A / (loss - E))^(1/alpha)``; the total cost is minimised in one dimension (a
    grid in ``log(N/N_min - 1)``, then Brent's method). With ``inference_tokens = 0`` it is
    the Chinchilla optimum of the compute that reaches ``loss``.

    Parameters
    ----------
    law : ChinchillaLaw
    loss : float
        Target loss, above the law's ``E``.
    inference_tokens : float
        Tokens the model will process at inference, >= 0 (0: training cost only).

    Examples
    --------
    >>> from scaling_utils.laws import HOFFMANN_2022_UNROUNDED as law
    >>> n, d = law.compute_optimal(1e22)
    >>> opt = inference_optimal(law, law.loss(n, d), 0.0)
    >>> round(opt.N / n, 6), round(opt.D / d, 6)
    (1.0, 1.0)
    >>> inference_optimal(law, law.loss(n, d), 1e13).N < n  # serving many tokens: a smaller model
    True
    """
    for attr in ("E", "A", "B", "alpha", "beta", "loss"):
        if not hasattr(law, attr):
            raise TypeError(f"law must be a ChinchillaLaw, got {type(law).__name__}")
    target = positive_scalar(loss, "loss")
    d_inf = _nonneg_scalar(inference_tokens, "inference_tokens")
    if target <= law.E:
        raise ValueError(f"loss must be above the law's irreducible loss E = {law.E:.6g}, got {target!r}")
    log_n_min = (math.log(law.A) - math.log(target - law.E)) / law.alpha
    if log_n_min > 700:
        raise ValueError(
            f"loss {target!r} needs more than exp(700) parameters under this law: the target is too close to "
            f"E = {law.E:.6g} for these constants"
        )
    n_min = math.exp(log_n_min)

    def tokens(n: np.ndarray) -> np.ndarray:
        return (law.B / (target - law.E - law.A / n**law.alpha)) ** (1.0 / law.beta)

    def cost(s: np.ndarray) -> np.ndarray:
        n = n_min * (1.0 + np.exp(s))
        return np.log(6.0 * n * tokens(n) + 2.0 * n * d_inf)

    grid = np.linspace(-30.0, 30.0, 6001)
    with np.errstate(over="ignore"):
        values = cost(grid)
    k = int(np.nanargmin(values))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    from scipy.optimize import minimize_scalar  # imported when needed: the command line's --help stays fast

    res = minimize_scalar(
        lambda s: float(cost(np.array([s]))[0]), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
    )
    n = float(n_min * (1.0 + math.exp(res.x)))
    d = float(tokens(np.array([n]))[0])
    if not (math.isfinite(n) and math.isfinite(d) and math.isfinite(6.0 * n * d + 2.0 * n * d_inf)):
        raise ValueError(
            f"no finite optimum for loss {target!r} under this law (N = {n:.3g}, D = {d:.3g}): "
            "the law's constants or the target are too extreme"
        )
    return InferenceOptimum(
        N=n, D=d, loss=target, inference_tokens=d_inf, training_flops=6.0 * n * d, inference_flops=2.0 * n * d_inf
    )


def _sardana_law() -> ChinchillaLaw:
    from scaling_utils.laws.chinchilla import ChinchillaLaw

    return ChinchillaLaw(
        E=1.69,
        A=406.4,
        B=410.7,
        alpha=0.336,
        beta=0.283,
        name="Sardana et al. 2024 (Chinchilla fit)",
        citation="sardana2024",
    )


def inference_table(law: ChinchillaLaw, loss: float, demands: object) -> pd.DataFrame:
    """The inference-aware optimum against the Chinchilla optimum of the same loss, per demand.

    Parameters
    ----------
    law : ChinchillaLaw
    loss : float
        Target loss, above the law's ``E``.
    demands : sequence of float
        Inference tokens, each >= 0.

    Returns
    -------
    pandas.DataFrame
        One row per demand: ``inference_tokens, N, D, tokens_per_param`` of the
        inference-aware model, and its ``N``, ``D`` and total FLOPs (training plus
        ``2 N D_inf``) as shares of the Chinchilla-optimal model reaching the same loss and
        serving the same tokens (``N_share, D_share, flops_share``).

    Examples
    --------
    >>> t = inference_table(SARDANA_2024_LAW, 1.947, [0, 1e13])
    >>> [round(x, 3) for x in t["flops_share"]]
    [1.0, 0.747]
    """
    import pandas as pd

    chin = inference_optimal(law, loss, 0.0)
    rows = []
    for demand in np.atleast_1d(np.asarray(demands, dtype=object)):
        opt = inference_optimal(law, loss, demand)
        chin_total = chin.training_flops + 2.0 * chin.N * opt.inference_tokens
        rows.append(
            {
                "inference_tokens": opt.inference_tokens,
                "N": opt.N,
                "D": opt.D,
                "tokens_per_param": opt.tokens_per_parameter,
                "N_share": opt.N / chin.N,
                "D_share": opt.D / chin.D,
                "flops_share": opt.total_flops / chin_total,
            }
        )
    return pd.DataFrame(rows)


SARDANA_2024_LAW = _sardana_law()
"""The Chinchilla law as Sardana et al. (2024, section 3) use it: E 1.69, A 406.4, B 410.7,
alpha 0.336, beta 0.283."""


@dataclass(frozen=True)
class InferencePlan:
    """The inference-aware optimum per demand, against Chinchilla's at the same loss (:func:`inference_plan`)."""

    table: object  # inference_table(...), a DataFrame
    loss: float

    def summary(self) -> dict[str, float]:
        """Chinchilla's model for the loss, the optimum at 2T inference tokens, and at the largest demand."""
        inf = self.table
        chin, row, top = inf.iloc[0], inf[inf["inference_tokens"] == 2e12].iloc[0], inf.iloc[-1]
        return {
            "inf_loss": self.loss,
            "inf_chin_n": float(chin["N"] / 1e9),
            "inf_chin_d": float(chin["D"] / 1e12),
            "inf_chin_tpp": float(chin["tokens_per_param"]),
            "inf_2t_n": float(row["N"] / 1e9),
            "inf_2t_d": float(row["D"] / 1e12),
            "inf_2t_share": float((1 - row["flops_share"]) * 100),
            "inf_top_tpp": float(top["tokens_per_param"]),
            "inf_top_share": float((1 - top["flops_share"]) * 100),
        }


def inference_plan(law: ChinchillaLaw, loss: float, demands: object) -> InferencePlan:
    """:func:`inference_table` of ``demands`` (which should include 0 and 2e12 for the summary)."""
    return InferencePlan(table=inference_table(law, loss, demands), loss=loss)
