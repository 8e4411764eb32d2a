"""Data pruning beating a power law: the teacher-student perceptron of Sorscher et al. (2022).

A teacher ``T`` (a random unit vector in ``R^d``) labels Gaussian inputs ``x`` by
``sign(T . x)``. Of ``P`` such examples a pruning metric keeps a fraction ``f``: by the
margin ``|T_p . x|`` of a *probe* ``T_p`` at angle ``theta`` to the teacher (``theta = 0`` is
the perfect metric), keeping the smallest margins (``"hard"`` examples) or the largest
(``"easy"``). A max-margin student ``J`` is trained on the ``alpha d`` kept examples, where
``alpha = P f / d`` is Sorscher et al.'s ``alpha_prune``, and its test error is
``arccos(R) / pi`` with ``R`` the cosine between ``J`` and ``T`` (exact for Gaussian inputs).

The student is found exactly: the max-margin problem ``min |w|^2 s.t. y_i w . x_i >= 1`` is a
least-distance programme, solved through non-negative least squares (Lawson and Hanson 1974,
ch. 23) by :func:`scipy.optimize.nnls`, and its margins are checked.

Simulation only: Sorscher et al.'s replica-theory equations for the same quantities are not
solved here.

References
----------
Sorscher, Geirhos, Shekhar, Ganguli, Morcos 2022, "Beyond neural scaling laws: beating power
law scaling via data pruning", arXiv:2206.14486, section 2 and Fig. 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import nnls

__all__ = [
    "KEEP",
    "LearningCurves",
    "PruningError",
    "PruningStudy",
    "SlopeFit",
    "learning_curves",
    "max_margin_student",
    "pruned_error",
    "pruning_study",
    "slope_fit",
]

KEEP = ("hard", "easy")
"""Which examples a pruning metric keeps: the smallest probe margins, or the largest."""


class PruningError(ValueError):
    """A bad argument, or a student that does not separate its training set."""


def _positive_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise PruningError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _fraction(value: object, name: str) -> float:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PruningError(f"{name} must be a number in (0, 1], got {value!r}") from None
    if not (0.0 < f <= 1.0):
        raise PruningError(f"{name} must be in (0, 1], got {value!r}")
    return f


def _positive(value: object, name: str) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PruningError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise PruningError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def _angle(value: object) -> float:
    try:
        t = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PruningError(f"theta must be an angle in degrees in [0, 90), got {value!r}") from None
    if not (0.0 <= t < 90.0):
        raise PruningError(f"theta must be an angle in degrees in [0, 90), got {value!r}")
    return t


def max_margin_student(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """The max-margin weights for signed inputs ``z_i = y_i x_i``: ``min |w|`` s.t. ``z w >= 1``.

    Solved as a least-distance programme: with ``E = [z^T; 1^T]`` and ``e = (0, ..., 0, 1)``,
    the non-negative least-squares solution ``u`` of ``E u ~ e`` gives the residual
    ``r = E u - e`` and ``w = -r[:d] / r[d]``.

    Raises
    ------
    PruningError
        If the examples are not linearly separable through the origin (then ``r = 0``), or
        if the solution's smallest margin is not 1 to 1e-6.

    Examples
    --------
    >>> z = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> np.round(max_margin_student(z), 6)  # margins 1 and 1
    array([1. , 0.5])
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 2 or z.shape[0] < 1 or z.shape[1] < 1 or not np.all(np.isfinite(z)):
        raise PruningError(f"z must be a finite 2-d array of examples x dimensions, got shape {z.shape}")
    p, d = z.shape
    e_mat = np.vstack([z.T, np.ones((1, p))])
    target = np.zeros(d + 1)
    target[-1] = 1.0
    u, _ = nnls(e_mat, target, maxiter=50 * (p + d))
    r = e_mat @ u - target
    if abs(r[-1]) < 1e-12:
        raise PruningError("the examples are not linearly separable through the origin")
    w = -r[:d] / r[-1]
    margin = float((z @ w).min())
    if abs(margin - 1.0) > 1e-6:
        raise PruningError(f"the max-margin solution did not converge: smallest margin {margin:.8f}, not 1")
    return w


def _probe(teacher: NDArray[np.float64], theta_deg: float, rng: np.random.Generator) -> NDArray[np.float64]:
    if theta_deg == 0.0:
        return teacher
    other = rng.standard_normal(teacher.size)
    other -= (other @ teacher) * teacher
    other /= np.linalg.norm(other)
    t = math.radians(theta_deg)
    return math.cos(t) * teacher + math.sin(t) * other


def pruned_error(
    alpha: float, f: float, *, d: int = 100, keep: str = "hard", theta: float = 0.0, seed: int = 0
) -> float:
    """Test error of a max-margin student trained on ``alpha d`` examples kept from ``alpha d / f``.

    Parameters
    ----------
    alpha : float
        ``alpha_prune``: examples kept per dimension, > 0 (at least one example is kept).
    f : float
        Fraction of the drawn examples kept, in (0, 1]; ``f = 1`` is no pruning.
    d : int
        Input dimension, >= 2.
    keep : {"hard", "easy"}
        Keep the smallest probe margins or the largest.
    theta : float
        Angle in degrees between the probe and the teacher, in [0, 90); 0 is a perfect metric.
    seed : int
        Seeds the teacher, the inputs and the probe (one draw per call).

    Returns
    -------
    float
        ``arccos(R) / pi``, the student's probability of error on a fresh Gaussian input.

    Examples
    --------
    >>> e = pruned_error(4.0, 1.0, d=50, seed=0)
    >>> 0.05 < e < 0.2  # about 0.46 / alpha at this alpha
    True
    """
    a = _positive(alpha, "alpha")
    frac = _fraction(f, "f")
    d = _positive_int(d, "d", 2)
    if keep not in KEEP:
        raise PruningError(f"keep must be one of {KEEP}, got {keep!r}")
    th = _angle(theta)
    seed = _positive_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal(d)
    teacher /= np.linalg.norm(teacher)
    n_keep = max(1, round(a * d))
    n_draw = max(n_keep, round(n_keep / frac))
    x = rng.standard_normal((n_draw, d))
    y = np.where(x @ teacher >= 0.0, 1.0, -1.0)
    probe = _probe(teacher, th, rng)
    margin = np.abs(x @ probe)
    order = np.argsort(margin, kind="stable")
    kept = order[:n_keep] if keep == "hard" else order[n_draw - n_keep :]
    w = max_margin_student(y[kept, None] * x[kept])
    r = float(np.clip(w @ teacher / np.linalg.norm(w), -1.0, 1.0))
    return math.acos(r) / math.pi


@dataclass(frozen=True)
class LearningCurves:
    """Test errors on a grid: ``errors[i, j, k]`` for fraction ``fractions[i]``, ``alphas[j]``, repetition ``k``."""

    alphas: NDArray[np.float64]
    fractions: NDArray[np.float64]
    errors: NDArray[np.float64]
    keep: str
    theta: float
    d: int

    @property
    def mean(self) -> NDArray[np.float64]:
        """Mean error over repetitions, shape (fractions, alphas)."""
        return self.errors.mean(axis=2)

    def frontier(self) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
        """The lowest mean error over the fractions at each alpha, and which fraction gave it."""
        best = np.argmin(self.mean, axis=0)
        return self.mean[best, np.arange(self.alphas.size)], best


def learning_curves(
    alphas: object,
    fractions: object,
    *,
    d: int = 100,
    keep: str = "hard",
    theta: float = 0.0,
    reps: int = 4,
    seed: int = 0,
) -> LearningCurves:
    """Test error for every (fraction, alpha, repetition); each cell has its own seeded draw.

    The seed of a cell depends on ``seed``, its repetition index and its position in
    neither grid, so the same repetition at another alpha or fraction draws a fresh teacher
    and fresh data (independent cells, comparable across calls with the same ``seed``).

    Examples
    --------
    >>> c = learning_curves([2.0, 8.0], [1.0], d=40, reps=2)
    >>> c.errors.shape
    (1, 2, 2)
    >>> bool(c.mean[0, 1] < c.mean[0, 0])
    True
    """
    a = np.asarray(alphas, dtype=float)
    fr = np.asarray(fractions, dtype=float)
    if a.ndim != 1 or a.size < 1:
        raise PruningError("alphas must be a non-empty 1-d sequence")
    if fr.ndim != 1 or fr.size < 1:
        raise PruningError("fractions must be a non-empty 1-d sequence")
    for v in a:
        _positive(v, "alphas")
    for v in fr:
        _fraction(v, "fractions")
    reps = _positive_int(reps, "reps")
    seed = _positive_int(seed, "seed", 0)
    root = np.random.SeedSequence(seed)
    seeds = root.generate_state(reps * a.size * fr.size).reshape(fr.size, a.size, reps)
    errors = np.empty((fr.size, a.size, reps))
    for i, f in enumerate(fr):
        for j, al in enumerate(a):
            for k in range(reps):
                errors[i, j, k] = pruned_error(al, f, d=d, keep=keep, theta=theta, seed=int(seeds[i, j, k]))
    return LearningCurves(alphas=a, fractions=fr, errors=errors, keep=keep, theta=float(theta), d=int(d))


@dataclass(frozen=True)
class SlopeFit:
    """A power law ``error ~ alpha^slope`` fitted in log-log, with a bootstrap interval."""

    slope: float
    interval: tuple[float, float]
    alpha_range: tuple[float, float]
    n_boot: int


def slope_fit(alphas: object, errors: object, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> SlopeFit:
    """Least-squares slope of ``log error`` on ``log alpha``, repetitions resampled per alpha.

    Parameters
    ----------
    alphas : array_like, shape (m,)
        At least two distinct values > 0.
    errors : array_like, shape (m, reps)
        Errors > 0 for each alpha and repetition.
    level : float
        Coverage of the percentile interval, in (0, 1).

    Examples
    --------
    >>> al = np.array([1.0, 2.0, 4.0])
    >>> fit = slope_fit(al, np.stack([0.5 / al, 0.5 / al], axis=1))
    >>> round(fit.slope, 6)
    -1.0
    """
    a = np.asarray(alphas, dtype=float)
    e = np.asarray(errors, dtype=float)
    if a.ndim != 1 or np.unique(a).size < 2 or np.any(~(a > 0)):
        raise PruningError("alphas must hold at least two distinct values > 0")
    if e.ndim != 2 or e.shape[0] != a.size:
        raise PruningError(f"errors must have shape (len(alphas), reps) = ({a.size}, reps), got {e.shape}")
    if np.any(~np.isfinite(e)) or np.any(e <= 0):
        raise PruningError("errors must be finite and > 0 (a zero error has no logarithm)")
    if not (0.0 < level < 1.0):
        raise PruningError(f"level must be in (0, 1), got {level!r}")
    n_boot = _positive_int(n_boot, "n_boot")
    x = np.log(a)

    def fit(err: NDArray[np.float64]) -> float:
        return float(np.polyfit(x, np.log(err.mean(axis=1)), 1)[0])

    rng = np.random.default_rng(seed)
    reps = e.shape[1]
    idx = rng.integers(0, reps, size=(n_boot, a.size, reps))
    boots = np.array([fit(np.take_along_axis(e, idx[b], axis=1)) for b in range(n_boot)])
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return SlopeFit(
        slope=fit(e), interval=(float(lo), float(hi)), alpha_range=(float(a.min()), float(a.max())), n_boot=n_boot
    )


@dataclass(frozen=True)
class PruningStudy:
    """B4: learning curves keeping the hardest, the easiest and probe-ranked examples (:func:`pruning_study`)."""

    alphas: NDArray[np.float64]
    fractions: tuple[float, ...]
    d: int
    reps: int
    probe_angle: float
    hard: LearningCurves  # hardest kept (every fraction, 1.0 first)
    easy: LearningCurves  # easiest kept (the fractions below 1)
    probe: LearningCurves  # hardest by a probe at probe_angle to the teacher
    power: SlopeFit  # the unpruned curve's power law over alpha >= 8

    @property
    def probe_label(self) -> str:
        """The probe's legend label."""
        return f"probe at {self.probe_angle:g}°"

    def fit_line(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The unpruned curve's power law (fitted over alpha >= 8) over every alpha, for the figure."""
        large = self.alphas >= 8
        coef = np.polyfit(np.log(self.alphas[large]), np.log(self.hard.mean[0, large]), 1)
        return self.alphas, np.exp(np.polyval(coef, np.log(self.alphas)))

    def summary(self) -> dict[str, float | int]:
        """The power law's slope and interval, the frontier's gain, local exponents, and the study's settings."""
        hard, easy, alphas, d = self.hard, self.easy, self.alphas, self.d
        frontier, best = hard.frontier()
        f_small = min(self.fractions)
        local = np.diff(np.log(frontier)) / np.diff(np.log(alphas))
        k = int(np.argmin(local))
        return {
            "slope": self.power.slope,
            "lo": self.power.interval[0],
            "hi": self.power.interval[1],
            "a0": self.power.alpha_range[0],
            "a1": self.power.alpha_range[1],
            "gain": float(hard.mean[0, -1] / frontier[-1]),
            "best_f": float(hard.fractions[best[-1]]),
            "alpha_max": float(alphas[-1]),
            "f_small": f_small,
            "f_small_pct": 100 * f_small,
            "steepest": float(local[k]),
            "steep_a0": float(alphas[k]),
            "steep_a1": float(alphas[k + 1]),
            "tail_slope": float(local[-1]),
            "raw": int(round(alphas[-1] * d / f_small)),  # noqa: RUF046
            "kept": int(round(alphas[-1] * d)),  # noqa: RUF046
            "hard_small": float(hard.mean[list(hard.fractions).index(f_small), 0]),
            "easy_small": float(easy.mean[list(easy.fractions).index(f_small), 0]),
            "probe_ratio": float(self.probe.frontier()[0][-1] / frontier[-1]),
            "angle": self.probe_angle,
            "d": d,
            "reps": self.reps,
        }


def pruning_study(
    alphas: object, fractions: list[float], *, d: int = 100, reps: int = 4, probe_angle: float = 20.0, seed: int = 0
) -> PruningStudy:
    """:func:`learning_curves` keeping the hard examples (all ``fractions``), the easy and the probe-ranked ones.

    ``fractions[0]`` should be 1.0 (no pruning): the easy and probe curves use ``fractions[1:]``.
    """
    a = np.asarray(alphas, dtype=float)
    hard = learning_curves(a, fractions, d=d, keep="hard", reps=reps, seed=seed)
    easy = learning_curves(a, fractions[1:], d=d, keep="easy", reps=reps, seed=seed)
    probe = learning_curves(a, fractions[1:], d=d, keep="hard", theta=probe_angle, reps=reps, seed=seed)
    large = a >= 8
    return PruningStudy(
        alphas=a, fractions=tuple(fractions), d=d, reps=reps, probe_angle=probe_angle, hard=hard, easy=easy,
        probe=probe, power=slope_fit(a[large], hard.errors[0, large]),
    )  # fmt: skip
