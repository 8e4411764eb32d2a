"""Hoffmann et al.'s three approaches and their bootstraps in one call (what a chapter reports)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from scaling_utils.fitting.approaches import ApproachFit, fit_envelope, fit_isoflop
from scaling_utils.fitting.bootstrap import (
    Bootstrap,
    bootstrap_chinchilla,
    bootstrap_envelope,
    bootstrap_isoflop,
)
from scaling_utils.fitting.parametric import ChinchillaFit, fit_chinchilla

__all__ = ["Approaches", "fit_approaches"]


@dataclass(frozen=True)
class Approaches:
    """Approaches 1-3 (``fit1..fit3``) and their bootstraps (``boot1..boot3``)."""

    fit1: ApproachFit
    fit2: ApproachFit
    fit3: ChinchillaFit
    boot1: Bootstrap
    boot2: Bootstrap
    boot3: Bootstrap

    def exponents(self) -> dict[int, float]:
        """``a`` of approaches 1, 2 and 3."""
        return {1: self.fit1.a, 2: self.fit2.a, 3: self.fit3.law.exponents[0]}

    def intervals(self, level: float = 0.8) -> dict[int, tuple[float, float]]:
        """Bootstrap percentile intervals of ``a`` at ``level``."""
        return {k: b.interval("a", level) for k, b in ((1, self.boot1), (2, self.boot2), (3, self.boot3))}


def _columns(df: object, name: str, needed: tuple[str, ...]) -> None:
    """A non-empty DataFrame with the ``needed`` columns; TypeError or ValueError naming ``name``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing} (needs {list(needed)}; has {list(map(str, df.columns))})")
    if df.empty:
        raise ValueError(f"{name} has no rows")


def fit_approaches(
    curves: pd.DataFrame,
    runs: pd.DataFrame,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    window: int | None = None,
) -> Approaches:
    """The three approaches and their bootstraps on training curves and IsoFLOP runs.

    Parameters
    ----------
    curves : DataFrame
        Training curves, columns ``run, N, flops, loss`` (approach 1).
    runs : DataFrame
        IsoFLOP runs, columns ``N, D, C, loss`` (approaches 2 and 3).
    n_resamples, seed : int
        For the three bootstraps.
    window : int, optional
        Approach 2's window of sizes around each budget's lowest loss.

    Examples
    --------
    >>> from scaling_utils.simulations import synthetic
    >>> from scaling_utils.laws import HOFFMANN_2022_UNROUNDED as truth
    >>> r = fit_approaches(synthetic.training_curves(truth, noise=0.0, seed=0),
    ...                    synthetic.isoflop_runs(truth, noise=0.0, seed=0), n_resamples=20)
    >>> all(abs(a - truth.exponents[0]) < 0.05 for a in r.exponents().values())
    True
    """
    _columns(curves, "curves", ("run", "N", "flops", "loss"))
    _columns(runs, "runs", ("N", "D", "C", "loss"))
    fit1 = fit_envelope(curves["N"], curves["flops"], curves["loss"], run=curves["run"])
    fit2 = fit_isoflop(runs["N"], runs["C"], runs["loss"], window=window)
    fit3 = fit_chinchilla(runs["N"], runs["D"], runs["loss"])
    boot1 = bootstrap_envelope(
        curves["N"], curves["flops"], curves["loss"], run=curves["run"], n_resamples=n_resamples, seed=seed
    )
    boot2 = bootstrap_isoflop(runs["N"], runs["C"], runs["loss"], n_resamples=n_resamples, seed=seed, window=window)
    boot3 = bootstrap_chinchilla(runs["N"], runs["D"], runs["loss"], n_resamples=n_resamples, seed=seed, fit=fit3)
    return Approaches(fit1, fit2, fit3, boot1, boot2, boot3)
