"""Synthetic training runs drawn from a known law, for testing fits and teaching them.

Everything here is labelled synthetic wherever the book shows it: the runs are draws from a
published law with seeded multiplicative noise, not measurements. Their use is that the
truth is known, so a fit can be checked against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scaling_utils._validation import as_positive, positive_scalar
from scaling_utils.laws import ChinchillaLaw

__all__ = ["DEFAULT_CURVE_SIZES", "isoflop_runs", "training_curves"]

DEFAULT_CURVE_SIZES: tuple[float, ...] = tuple(float(v) for v in np.geomspace(3e7, 3e9, 9))
"""Nine model sizes, 30M to 3B parameters, for :func:`training_curves`."""


def _noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    return np.exp(rng.normal(0.0, sigma, size)) if sigma > 0 else np.ones(size)


def isoflop_runs(
    law: ChinchillaLaw,
    budgets: ArrayLike = (6e18, 3e19, 1e20, 3e20, 1e21, 3e21),
    *,
    n_sizes: int = 9,
    span: float = 16.0,
    noise: float = 0.01,
    seed: int = 0,
) -> pd.DataFrame:
    """IsoFLOP runs: for each budget, ``n_sizes`` model sizes log-spaced around the optimum.

    Parameters
    ----------
    law : ChinchillaLaw
        The truth the runs are drawn from.
    budgets : array_like
        Compute budgets (FLOPs).
    n_sizes : int
        Runs per budget.
    span : float
        Ratio between the largest and smallest size of a budget, centred on the law's
        optimum (so every budget has an interior minimum).
    noise : float
        Standard deviation of the multiplicative log-normal noise on the loss (0.01 is
        about 1%, comparable to run-to-run spread).
    seed : int
        Seed of the noise.

    Returns
    -------
    pandas.DataFrame
        ``C, N, D, loss, loss_true`` per run.

    Examples
    --------
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> isoflop_runs(HOFFMANN_2022, [1e20], n_sizes=5).shape
    (5, 5)
    """
    c = np.atleast_1d(as_positive(budgets, "budgets"))
    if isinstance(n_sizes, bool) or not isinstance(n_sizes, int) or n_sizes < 3:
        raise ValueError(f"n_sizes must be an int >= 3, got {n_sizes!r}")
    span = positive_scalar(span, "span")
    if span <= 1:
        raise ValueError(f"span must be > 1, got {span}")
    if noise < 0 or not np.isfinite(noise):
        raise ValueError(f"noise must be finite and >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    rows = []
    for budget in c:
        n_opt, _ = law.compute_optimal(budget)
        sizes = n_opt * np.geomspace(span**-0.5, span**0.5, n_sizes)
        tokens = budget / (6 * sizes)
        true = np.asarray(law.loss(sizes, tokens))
        rows.append(
            pd.DataFrame(
                {"C": budget, "N": sizes, "D": tokens, "loss": true * _noise(rng, n_sizes, noise), "loss_true": true}
            )
        )
    return pd.concat(rows, ignore_index=True)


def training_curves(
    law: ChinchillaLaw,
    sizes: ArrayLike = DEFAULT_CURVE_SIZES,
    *,
    tokens_range: tuple[float, float] = (1e8, 1e11),
    n_checkpoints: int = 30,
    noise: float = 0.005,
    seed: int = 0,
) -> pd.DataFrame:
    """Training curves: loss at log-spaced token counts for each model size.

    Each checkpoint's loss is ``law.loss(N, D_seen)``, which treats every checkpoint as the
    end of a run whose schedule was matched to its length, the idealisation behind
    approach 1 (Hoffmann et al. trained several horizons per size to approximate it).

    Returns
    -------
    pandas.DataFrame
        ``run, N, D, flops (= 6 N D), loss, loss_true`` per checkpoint.

    Examples
    --------
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> training_curves(HOFFMANN_2022, [1e8, 1e9], n_checkpoints=4).shape
    (8, 6)
    """
    s = np.atleast_1d(as_positive(sizes, "sizes"))
    lo, hi = (positive_scalar(v, "tokens_range") for v in tokens_range)
    if lo >= hi:
        raise ValueError(f"tokens_range must be increasing, got {tokens_range}")
    if isinstance(n_checkpoints, bool) or not isinstance(n_checkpoints, int) or n_checkpoints < 2:
        raise ValueError(f"n_checkpoints must be an int >= 2, got {n_checkpoints!r}")
    if noise < 0 or not np.isfinite(noise):
        raise ValueError(f"noise must be finite and >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    tokens = np.geomspace(lo, hi, n_checkpoints)
    rows = []
    for i, n in enumerate(s):
        true = np.asarray(law.loss(n, tokens))
        rows.append(
            pd.DataFrame(
                {
                    "run": i,
                    "N": n,
                    "D": tokens,
                    "flops": 6 * n * tokens,
                    "loss": true * _noise(rng, n_checkpoints, noise),
                    "loss_true": true,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
