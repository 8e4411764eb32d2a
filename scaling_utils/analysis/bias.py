"""How biased is approach 2 (the IsoFLOP parabola)? Measured on synthetic runs from a known law.

Czech et al. 2026 (arXiv 2603.22339) show that fitting a parabola in ``ln N`` to each
IsoFLOP profile and a power law through the vertices is biased: a profile of
``L = E + A/N^alpha + B/D^beta`` at fixed ``C`` is not symmetric in ``ln N`` when
``alpha != beta``, so the vertex of a parabola moves with the grid's width and with how
far off-centre the sizes sit. Here: runs drawn from a known law on a given grid, the
exponent ``a`` of ``N_opt ∝ C^a`` estimated by approach 2 (parabola vertices), by the
lower envelope of the grid points (approach 1 as the plan defines it for branch
endpoints) and by approach 3 (the parametric fit), against the true ``beta / (alpha +
beta)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling_utils.fitting import fit_chinchilla, fit_isoflop, fit_power_law
from scaling_utils.laws import ChinchillaLaw

__all__ = ["approach_bias", "bias_table", "law_with_optimum", "runs_on_sizes", "synthetic_grid"]


def law_with_optimum(alpha: float, beta: float, n_opt: float, budget: float, *, E: float = 1.0,
                     B: float = 400.0) -> ChinchillaLaw:  # fmt: skip
    """A Chinchilla-form law whose compute-optimal size at ``budget`` (``C = 6ND``) is ``n_opt``.

    Examples
    --------
    >>> law = law_with_optimum(0.34, 0.28, 4e4, 1.6e12)
    >>> round(float(law.compute_optimal(1.6e12)[0]))
    40000
    """
    a = beta / (alpha + beta)
    g = n_opt / (budget / 6) ** a  # N_opt = G (C/6)^a with G = (alpha A / (beta B))^(1/(alpha+beta))
    A = g ** (alpha + beta) * beta * B / alpha
    return ChinchillaLaw(E=E, A=A, B=B, alpha=alpha, beta=beta, name=f"synthetic alpha={alpha}, beta={beta}")


def runs_on_sizes(law: ChinchillaLaw, sizes: dict[float, list[float]], *, noise: float = 0.0,
                  seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Runs at the given sizes of each budget (``{C: [N, ...]}``), ``D = C / (6 N)``, log-normal noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for c, ns in sorted(sizes.items()):
        n = np.asarray(ns, dtype=float)
        d = c / (6 * n)
        loss = law.loss(n, d) * np.exp(noise * rng.standard_normal(n.size))
        rows += [{"N": a, "D": b, "C": c, "loss": l} for a, b, l in zip(n, d, loss, strict=True)]
    return pd.DataFrame(rows)


def synthetic_grid(law: ChinchillaLaw, budgets, *, sizes: int = 7, span: float = 1.0, offset: float = 0.0,
                   noise: float = 0.0, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Runs at ``sizes`` log-spaced ``N`` per budget, spanning ``span`` decades, centred ``offset`` decades off N_opt.

    ``D = C / (6 N)``; the loss is the law's, times ``exp(noise * z)`` with ``z`` standard normal.

    Examples
    --------
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> g = synthetic_grid(HOFFMANN_2022, [1e18, 1e19, 1e20])
    >>> len(g), sorted(g.columns)
    (21, ['C', 'D', 'N', 'loss'])
    """
    rng = np.random.default_rng(seed)
    rows = []
    for c in budgets:
        n_opt, _ = law.compute_optimal(c)
        ln_n = np.log(n_opt) + np.log(10) * (offset + np.linspace(-span / 2, span / 2, sizes))
        n = np.exp(ln_n)
        d = c / (6 * n)
        loss = law.loss(n, d) * np.exp(noise * rng.standard_normal(sizes))
        rows += [{"N": a, "D": b, "C": c, "loss": l} for a, b, l in zip(n, d, loss, strict=True)]
    return pd.DataFrame(rows)


def approach_bias(runs: pd.DataFrame, law: ChinchillaLaw) -> dict[str, float]:
    """``a`` by approaches 1, 2 and 3 on ``runs``, minus the law's true ``beta / (alpha + beta)``."""
    true = law.beta / (law.alpha + law.beta)
    two = fit_isoflop(runs["N"], runs["C"], runs["loss"]).a
    best = runs.loc[runs.groupby("C")["loss"].idxmin()]
    one = fit_power_law(best["C"], best["N"]).exponent
    fit = fit_chinchilla(runs["N"], runs["D"], runs["loss"])
    three = fit.law.beta / (fit.law.alpha + fit.law.beta)
    return {"true_a": true, "approach1": one - true, "approach2": two - true, "approach3": three - true}


def bias_table(law: ChinchillaLaw, budgets, settings: list[dict], *, noise: float = 0.0,
               repeats: int = 1) -> pd.DataFrame:  # fmt: skip
    """:func:`approach_bias` per grid setting (``sizes``, ``span``, ``offset``), averaged over ``repeats`` seeds."""
    rows = []
    for s in settings:
        draws = [approach_bias(synthetic_grid(law, budgets, noise=noise, seed=k, **s), law) for k in range(repeats)]
        mean = {k: float(np.mean([d[k] for d in draws])) for k in draws[0]}
        rows.append(s | mean)
    return pd.DataFrame(rows)
