"""Approaches 1 and 2 of Hoffmann et al. (2022): the envelope of training curves, and IsoFLOP vertices."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from scaling_utils._validation import check_int, group_budgets, paired, plausible
from scaling_utils.fitting.power_law import PowerLawFit, fit_power_law
from scaling_utils.fitting.result import param_table

# ------------------------------------------------------------------------ approaches 1 and 2


def isoflop_minima(N: ArrayLike, C: ArrayLike, loss: ArrayLike, *, window: int | None = None) -> pd.DataFrame:
    """Approach 2: per compute budget, the vertex of a parabola fitted to loss against log N.

    Parameters
    ----------
    N, C, loss : array_like
        Parameters, training FLOPs (the budget; runs of one budget share the same value)
        and final loss of each run. Each budget needs at least 3 distinct sizes. Values of
        ``C`` within a relative 1e-6 of each other are one budget (``C`` recomputed as
        ``6 N D`` carries float noise); the budget is labelled by its smallest value.
    window : int, optional
        Fit each parabola only to the ``window`` sizes nearest (in rank) to the budget's
        lowest observed loss, instead of to all of them: a parabola is a good description
        of a profile only near its minimum, and a wide, lopsided range of sizes drags the
        vertex away. ``None`` (default) uses every size. Must be >= 3.

    Returns
    -------
    pandas.DataFrame
        One row per budget, sorted by ``C``: ``C, N_opt, D_opt (= C / 6 N_opt), loss_opt,
        n_runs, at_edge``, the parabola ``loss = p0 + p1 log N + p2 (log N)**2`` and the
        range of sizes it was fitted to, ``N_lo`` to ``N_hi``.
        ``at_edge`` is True where the vertex lies outside the sampled sizes (or the
        parabola opens downwards, when ``N_opt`` is NaN): such a budget has no interior
        minimum and its ``N_opt`` is an extrapolation, flagged and never used by
        :func:`fit_isoflop`.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> C = np.repeat([1e19, 1e20], 7)
    >>> N = np.tile(np.logspace(7.5, 9.5, 7), 2)
    >>> df = isoflop_minima(N, C, HOFFMANN_2022.loss(N, C / (6 * N)))
    >>> df[["C", "at_edge"]].values.tolist()
    [[1e+19, False], [1e+20, False]]
    """
    n, c, l = paired(3, N=N, C=C, loss=loss)
    plausible(n, "N", "N")
    plausible(l, "loss", "loss")
    if window is not None:
        window = check_int(window, "window", 3)
    c = group_budgets(c)
    rows = []
    for budget in np.unique(c):
        sel = c == budget
        x, y = np.log(n[sel]), l[sel]
        if np.unique(x).size < 3:
            raise ValueError(f"budget C={budget:.3g} needs at least 3 distinct model sizes, got {np.unique(x).size}")
        x, y = _window(x, y, window)
        a2, a1, a0 = np.polyfit(x, y, 2)
        coefs = {
            "p0": float(a0),
            "p1": float(a1),
            "p2": float(a2),
            "N_lo": float(np.exp(x.min())),
            "N_hi": float(np.exp(x.max())),
        }
        if a2 <= 0:
            rows.append(
                {
                    "C": budget,
                    "N_opt": np.nan,
                    "D_opt": np.nan,
                    "loss_opt": np.nan,
                    "n_runs": int(sel.sum()),
                    "at_edge": True,
                }
                | coefs
            )
            continue
        xv = -a1 / (2 * a2)
        n_opt = float(np.exp(xv))
        rows.append(
            {
                "C": float(budget),
                "N_opt": n_opt,
                "D_opt": float(budget / (6 * n_opt)),
                "loss_opt": float(a0 + a1 * xv + a2 * xv * xv),
                "n_runs": int(sel.sum()),
                "at_edge": bool(xv < x.min() or xv > x.max()),
            }
            | coefs
        )
    return pd.DataFrame(rows)


def envelope_minima(
    N: ArrayLike, flops: ArrayLike, loss: ArrayLike, *, run: ArrayLike | None = None, n_grid: int = 100
) -> pd.DataFrame:
    """Approach 1: the lowest loss at each compute across training curves, and who reaches it.

    Each run's curve (loss against FLOPs seen) is interpolated linearly in ``log FLOPs`` on a
    log-spaced grid of ``n_grid`` compute values spanning where at least two curves overlap;
    at each grid value the run with the lowest loss gives ``N_opt``.

    Parameters
    ----------
    N, flops, loss : array_like
        One row per checkpoint: the run's parameters, FLOPs seen so far, and loss.
    run : array_like, optional
        Run identifier per row; by default each distinct ``N`` is one run.
    n_grid : int, default 100
        Number of compute values.

    Returns
    -------
    pandas.DataFrame
        ``C, N_opt, D_opt (= C / 6 N_opt), loss_opt`` per grid value, and ``at_edge``: the
        winner is the smallest or the largest of the curves present at that compute, so the
        true optimum may lie beyond the sizes tried (:func:`fit_envelope` can leave these out).
        Grid values that no curve covers (curves of disjoint ranges, as sizes trained at a
        few budgets give) are left out and listed in ``attrs["uncovered"]`` as
        ``(first, last)`` compute values; fewer than 2 covered values is a ValueError naming
        the uncovered range.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_utils.laws import HOFFMANN_2022
    >>> sizes = np.logspace(7, 9, 5)
    >>> N = np.repeat(sizes, 30)
    >>> F = np.concatenate([6 * s * np.logspace(8, 11, 30) for s in sizes])
    >>> env = envelope_minima(N, F, HOFFMANN_2022.loss(N, F / (6 * N)))
    >>> bool(env["N_opt"].is_monotonic_increasing)
    True
    """
    n, f, l = paired(4, N=N, flops=flops, loss=loss)
    plausible(n, "N", "N")
    plausible(l, "loss", "loss")
    n_grid = check_int(n_grid, "n_grid", 2)
    runs = n if run is None else np.asarray(run)
    if runs.shape != n.shape:
        raise ValueError(f"run must have the same length as N, got {runs.shape} and {n.shape}")
    curves, sizes = _curves(n, f, l, runs)
    if len(curves) < 2:
        raise ValueError(f"need at least 2 training curves, got {len(curves)}")
    grid, table = _envelope_table(curves, n_grid)
    present = ~np.isnan(table)
    covered = present.any(axis=0)
    uncovered = _gaps(grid, covered)
    if covered.sum() < 2:
        spans = ", ".join(f"{lo:.3g} to {hi:.3g}" for lo, hi in uncovered)
        raise ValueError(f"no training curve covers compute {spans} FLOPs: too little of the range is covered")
    grid, table, present = grid[covered], table[:, covered], present[:, covered]
    best = np.argmin(np.where(present, table, np.inf), axis=0)
    n_opt = sizes[best]
    smallest = np.array([sizes[present[:, j]].min() for j in range(grid.size)])
    largest = np.array([sizes[present[:, j]].max() for j in range(grid.size)])
    out = pd.DataFrame(
        {
            "C": grid,
            "N_opt": n_opt,
            "D_opt": grid / (6 * n_opt),
            "loss_opt": table[best, np.arange(grid.size)],
            "at_edge": (n_opt == smallest) | (n_opt == largest),
        }
    )
    out.attrs["uncovered"] = uncovered
    return out


def _gaps(grid: NDArray[np.float64], covered: NDArray[np.bool_]) -> list[tuple[float, float]]:
    """``(first, last)`` grid values of each run of grid points that no curve covers."""
    spans, start = [], None
    for j, ok in enumerate(covered):
        if not ok and start is None:
            start = j
        if ok and start is not None:
            spans.append((float(grid[start]), float(grid[j - 1])))
            start = None
    if start is not None:
        spans.append((float(grid[start]), float(grid[-1])))
    return spans


def _curves(n, f, l, runs):
    curves, sizes = [], []
    for r in pd.unique(runs):
        sel = runs == r
        if np.unique(n[sel]).size != 1:
            raise ValueError(f"run {r!r} has more than one model size")
        order = np.argsort(f[sel])
        fx, lx = np.log(f[sel][order]), l[sel][order]
        if fx.size < 2:
            raise ValueError(f"run {r!r} needs at least 2 checkpoints, got {fx.size}")
        curves.append((fx, lx))
        sizes.append(float(n[sel][0]))
    return curves, np.array(sizes)


def _envelope_table(curves, n_grid):
    """Loss of each curve on a common log-FLOP grid (NaN outside a curve's range)."""
    lo = min(fx[0] for fx, _ in curves)
    hi = max(fx[-1] for fx, _ in curves)
    # Where at least two curves overlap, so that a comparison is made at every grid value.
    starts = np.sort([fx[0] for fx, _ in curves])
    ends = np.sort([fx[-1] for fx, _ in curves])
    lo = max(lo, starts[1])
    hi = min(hi, ends[-2])
    if lo >= hi:
        raise ValueError("training curves do not overlap in FLOPs: no envelope to take")
    log_grid = np.linspace(lo, hi, n_grid)
    table = np.full((len(curves), n_grid), np.nan)
    for i, (fx, lx) in enumerate(curves):
        inside = (log_grid >= fx[0]) & (log_grid <= fx[-1])
        table[i, inside] = np.interp(log_grid[inside], fx, lx)
    return np.exp(log_grid), table


@dataclass(frozen=True)
class ApproachFit:
    """Exponents from approach 1 or 2: ``N_opt = coefficient * C**a`` and ``D_opt ∝ C**b``.

    ``b = 1 - a`` exactly, because ``D_opt = C / (6 N_opt)`` at every point.
    """

    a: float
    b: float
    power_law: PowerLawFit
    minima: pd.DataFrame = field(repr=False, compare=False)
    converged: bool = True
    message: str = "a power law through the minima (closed-form least squares)"

    @property
    def n_points(self) -> int:
        """The minima the power law went through."""
        return self.power_law.n_points

    @property
    def params(self) -> dict[str, float]:
        """``a`` and ``b``."""
        return {"a": self.a, "b": self.b}

    def table(self) -> pd.DataFrame:
        """``a`` and ``b`` with the standard error of the slope (the same for both)."""
        return param_table(self.params, {"a": self.power_law.exponent_se, "b": self.power_law.exponent_se})

    def predict(self, C: ArrayLike) -> NDArray[np.float64]:
        """``N_opt`` at compute ``C``."""
        return self.power_law.predict(C)


def _window(x: NDArray[np.float64], y: NDArray[np.float64], window: int | None):
    """The ``window`` points (sorted by x) centred, as far as the ends allow, on the lowest y."""
    if window is None or x.size <= window:
        return x, y
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    k = int(np.argmin(y))
    start = min(max(k - window // 2, 0), x.size - window)
    return x[start : start + window], y[start : start + window]


def fit_isoflop(N: ArrayLike, C: ArrayLike, loss: ArrayLike, *, window: int | None = None) -> ApproachFit:
    """Approach 2 end to end: :func:`isoflop_minima`, then a power law over interior minima."""
    minima = isoflop_minima(N, C, loss, window=window)
    inner = minima[~minima["at_edge"]]
    if len(inner) < 3:
        raise ValueError(f"need at least 3 budgets with an interior minimum, got {len(inner)}")
    pl = fit_power_law(inner["C"], inner["N_opt"])
    return ApproachFit(a=pl.exponent, b=1.0 - pl.exponent, power_law=pl, minima=minima)


def fit_envelope(
    N: ArrayLike,
    flops: ArrayLike,
    loss: ArrayLike,
    *,
    run: ArrayLike | None = None,
    n_grid: int = 100,
    exclude_edges: bool = False,
) -> ApproachFit:
    """Approach 1 end to end: :func:`envelope_minima`, then a power law over its minima.

    With ``exclude_edges``, grid values won by the smallest or largest curve present there
    are left out of the power law (they are counted in ``minima["at_edge"]``).
    """
    minima = envelope_minima(N, flops, loss, run=run, n_grid=n_grid)
    used = minima[~minima["at_edge"]] if exclude_edges else minima
    if used["N_opt"].nunique() < 2:
        raise ValueError(f"approach 1 needs >= 2 distinct winning sizes, got {used['N_opt'].nunique()}")
    pl = fit_power_law(used["C"], used["N_opt"])
    return ApproachFit(a=pl.exponent, b=1.0 - pl.exponent, power_law=pl, minima=minima)
