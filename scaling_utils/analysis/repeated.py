"""R_D* from the book's own repeated-data runs (the ``repeat`` sweep).

Muennighoff et al. (2023) model ``D`` training tokens drawn from ``U`` unique ones as
``D' = U + U R_D* (1 - exp(-R_D / R_D*))`` new tokens, ``R_D = D / U - 1``. Here, for each
model size, a single-epoch law ``L(D) = E + B D^-beta`` is fitted to the sweep's fresh-data
runs (and the one-epoch repeated run), and then one ``R_D*`` shared by the sizes is fitted to
the repeated runs by least squares in log loss, through ``L(D')``. The parameter side of
their law (``R_N*``, excess parameters) is not fitted: two sizes cannot identify it, and at
these sizes and unique-data budgets it is a second-order term (see the chapter).

A bootstrap resamples runs (fresh and repeated, within each size) and refits both stages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, minimize_scalar

__all__ = [
    "RepeatFit",
    "RepeatStudy",
    "ShiftCheck",
    "fit_repeat",
    "prefix_shift",
    "repeat_points",
    "repeat_study",
    "shift_check",
]

_LOG_RD = (math.log(0.05), math.log(1e4))
_ONE_EPOCH = 1.001  # a run's tokens are a whole number of batches, a little under its budget


def repeat_points(results: pd.DataFrame, distribution: str = "train") -> pd.DataFrame:
    """One row per run of the ``repeat`` sweep: its final held-out loss.

    Returns columns ``run_id, size, params, seed, tokens, unique, epochs, fresh, loss``;
    ``size`` is ``"L{n_layer}-d{d_model}"``, ``params`` the parameters with the output head,
    ``unique`` the bytes the run drew from (``data_limit``; NaN for fresh-data runs, which
    draw from the whole training split), ``epochs = tokens / unique`` (1 when fresh).
    """
    need = {"run_id", "n_layer", "d_model", "params_with_head", "seed", "tokens", "data_limit", "distribution", "loss"}
    missing = need - set(results.columns)
    if missing:
        raise ValueError(f"results lack columns {sorted(missing)}")
    rows = results[results["distribution"] == distribution]
    if rows.empty:
        raise ValueError(f"no rows with distribution {distribution!r}")
    last = rows.sort_values(["run_id", "tokens"]).groupby("run_id", sort=True).tail(1)
    out = pd.DataFrame(
        {
            "run_id": last["run_id"].to_numpy(),
            "size": [f"L{a}-d{b}" for a, b in zip(last["n_layer"], last["d_model"], strict=True)],
            "params": last["params_with_head"].astype(float).to_numpy(),
            "seed": last["seed"].astype(int).to_numpy(),
            "tokens": last["tokens"].astype(float).to_numpy(),
            "unique": pd.to_numeric(last["data_limit"], errors="coerce").astype(float).to_numpy(),
            "loss": last["loss"].astype(float).to_numpy(),
        }
    )
    out["fresh"] = out["unique"].isna()
    out["epochs"] = np.where(out["fresh"], 1.0, out["tokens"] / out["unique"])
    return out.sort_values(["size", "fresh", "epochs", "tokens", "seed"]).reset_index(drop=True)


def effective_tokens(tokens, unique, rd_star: float):
    """``D'`` of Muennighoff et al., with ``U_D = min(U, D)``; fresh data (NaN unique) is ``D``."""
    d = np.asarray(tokens, dtype=float)
    u = np.asarray(unique, dtype=float)
    u = np.where(np.isnan(u), d, np.minimum(u, d))
    r = d / u - 1.0
    return u + u * rd_star * (1.0 - np.exp(-r / rd_star))


@dataclass(frozen=True)
class RepeatFit:
    """The fitted ``R_D*`` and the per-size single-epoch laws it was measured through.

    Attributes
    ----------
    rd_star : float
        Repetitions at which a repeated token's value has decayed by ``1/e``.
    base : dict
        ``size -> (E, B, beta)`` of ``L(D) = E + B D^-beta``.
    converged : bool
        Whether every stage converged and ``R_D*`` is inside its search range
        (``0.05 ... 1e4``; at an end the data do not bound it).
    message : str
    interval : tuple of float or None
        Bootstrap percentile interval of ``R_D*`` (None without a bootstrap).
    level : float
    n_boot, n_failed : int
        Resamples drawn, and those whose fit did not converge (left out of the interval).
    rmse : float
        Root-mean-square error of the repeated runs' losses under the fit (nats).
    """

    rd_star: float
    base: dict = field(repr=False)
    converged: bool
    message: str
    rmse: float
    interval: tuple[float, float] | None = None
    level: float = 0.8
    n_boot: int = 0
    n_failed: int = 0

    def repetition_value(self, epochs):
        """What ``epochs`` passes are worth as a fraction of as much new data, at the fitted ``R_D*``."""
        e = np.asarray(epochs, dtype=float)
        return effective_tokens(e, np.ones_like(e), self.rd_star) / e

    def predict(self, size: str, tokens, unique):
        """The fitted loss of ``size`` trained on ``tokens`` drawn from ``unique`` (NaN: fresh)."""
        e, b, beta = self.base[size]
        return e + b * effective_tokens(tokens, unique, self.rd_star) ** -beta


def _fit_base(fresh: pd.DataFrame) -> tuple[tuple[float, float, float], bool, str]:
    d = fresh["tokens"].to_numpy(float)
    y = fresh["loss"].to_numpy(float)
    if np.unique(d).size < 3:
        return (math.nan, math.nan, math.nan), False, "fewer than three distinct fresh-data token counts"
    scale = float(np.median(d))

    def resid(p):
        e, log_b, beta = p
        return np.log(e + np.exp(log_b) * (d / scale) ** -beta) - np.log(y)

    res = least_squares(
        resid, x0=[0.8 * y.min(), math.log(0.2 * y.min()), 0.3], bounds=([0.0, -20, 0.0], [y.min(), 5, 3])
    )
    e, log_b, beta = res.x
    return (float(e), float(math.exp(log_b) * scale**beta), float(beta)), bool(res.success), str(res.message)


def _fit_once(points: pd.DataFrame) -> tuple[float, dict, bool, str, float]:
    base, ok, msgs = {}, True, []
    for size, g in points.groupby("size", sort=True):
        one_epoch = g[g["fresh"] | (g["epochs"] <= _ONE_EPOCH)]
        params, good, msg = _fit_base(one_epoch)
        base[size] = params
        if not good:
            ok = False
            msgs.append(f"{size}: {msg}")
    rep = points[~points["fresh"] & (points["epochs"] > _ONE_EPOCH)]
    if rep.empty:
        return math.nan, base, False, "no repeated runs (epochs > 1)", math.nan
    sizes = rep["size"].to_numpy()
    e = np.array([base[s][0] for s in sizes])
    b = np.array([base[s][1] for s in sizes])
    beta = np.array([base[s][2] for s in sizes])
    d, u, y = rep["tokens"].to_numpy(float), rep["unique"].to_numpy(float), rep["loss"].to_numpy(float)

    def sse(log_rd: float) -> float:
        pred = e + b * effective_tokens(d, u, math.exp(log_rd)) ** -beta
        return float(np.sum((np.log(pred) - np.log(y)) ** 2))

    grid = np.linspace(*_LOG_RD, 241)
    k = int(np.argmin([sse(x) for x in grid]))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = minimize_scalar(sse, bounds=(lo, hi), method="bounded", options={"xatol": 1e-8})
    rd = float(math.exp(res.x))
    at_end = k in (0, grid.size - 1)
    if at_end:
        ok = False
        msgs.append(f"R_D* at the end of its search range ({rd:.3g}): the runs do not bound it")
    pred = e + b * effective_tokens(d, u, rd) ** -beta
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    return rd, base, ok and bool(res.success), "; ".join(msgs) or "converged", rmse


def fit_repeat(points: pd.DataFrame, *, n_boot: int = 0, level: float = 0.8, seed: int = 0) -> RepeatFit:
    """Fit the per-size single-epoch laws and a shared ``R_D*`` to :func:`repeat_points`' table.

    Parameters
    ----------
    points : DataFrame
        Columns ``size, tokens, unique, epochs, fresh, loss``.
    n_boot : int
        Bootstrap resamples (0: none). Runs are resampled within each size and within the
        fresh and repeated groups, so every resample keeps the design's shape.
    level : float
        Coverage of the percentile interval, in (0, 1).

    Examples
    --------
    >>> d = 2.0 ** np.arange(17, 24)
    >>> fresh = pd.DataFrame({"size": "s", "tokens": d, "unique": np.nan, "epochs": 1.0, "fresh": True,
    ...                       "loss": 1.0 + 30.0 * d ** -0.3})
    >>> u = 8e6 / 2.0 ** np.arange(1, 7)
    >>> loss = 1.0 + 30.0 * effective_tokens(8e6, u, 5.0) ** -0.3
    >>> rep = pd.DataFrame({"size": "s", "tokens": 8e6, "unique": u, "epochs": 8e6 / u, "fresh": False, "loss": loss})
    >>> fit = fit_repeat(pd.concat([fresh, rep]))
    >>> round(fit.rd_star, 3), fit.converged
    (5.0, True)
    """
    need = {"size", "tokens", "unique", "epochs", "fresh", "loss"}
    missing = need - set(points.columns)
    if missing:
        raise ValueError(f"points lack columns {sorted(missing)}")
    if not np.all(np.isfinite(points["loss"].to_numpy(float))) or np.any(points["loss"].to_numpy(float) <= 0):
        bad = int(np.flatnonzero(~(points["loss"].to_numpy(float) > 0))[0])
        raise ValueError(f"points: loss must be finite and > 0 (row {bad})")
    if not (0.0 < level < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 0:
        raise ValueError(f"n_boot must be an integer >= 0, got {n_boot!r}")
    points = points.reset_index(drop=True)
    rd, base, ok, msg, rmse = _fit_once(points)
    if n_boot == 0:
        return RepeatFit(rd_star=rd, base=base, converged=ok, message=msg, rmse=rmse, level=level)
    rng = np.random.default_rng(seed)
    groups = [idx.to_numpy() for _, idx in points.groupby(["size", "fresh"]).groups.items()]
    draws, failed = [], 0
    for _ in range(n_boot):
        pick = np.concatenate([rng.choice(g, size=g.size, replace=True) for g in groups])
        r, _, good, _, _ = _fit_once(points.loc[pick])
        if good:
            draws.append(r)
        else:
            failed += 1
    if not draws:
        return RepeatFit(rd, base, False, msg + "; no bootstrap resample converged", rmse, None, level, n_boot, failed)
    lo, hi = np.quantile(np.log(draws), [(1 - level) / 2, (1 + level) / 2])
    return RepeatFit(rd, base, ok, msg, rmse, (float(np.exp(lo)), float(np.exp(hi))), level, n_boot, failed)


def _bigram_counts(x: np.ndarray) -> np.ndarray:
    idx = x[:-1].astype(np.int64) * 256 + x[1:]
    return np.bincount(idx, minlength=65536).reshape(256, 256).astype(float)


def _cross_entropy(model: np.ndarray, target: np.ndarray, smoothing: float) -> float:
    p = (model + smoothing) / (model + smoothing).sum(axis=1, keepdims=True)
    return float(-(target * np.log(p)).sum() / target.sum())


def prefix_shift(
    train: bytes, held_out: bytes, uniques, *, block: int = 4096, seed: int = 0, smoothing: float = 0.01
) -> pd.DataFrame:
    """How far the first ``U`` bytes of the training text are from the held-out text, per ``U``.

    The ``repeat`` sweep draws its ``U`` unique bytes from the *start* of the training mix.
    This measures what that choice does apart from repetition: the cross-entropy (nats per
    byte) of the held-out bytes under a byte-bigram model counted on the first ``U`` bytes,
    against the same model counted on ``U`` bytes of randomly chosen blocks (what a random
    subset, as Muennighoff et al. used, would see). A gap that grows as ``U`` shrinks is a
    distribution shift that repetition would be blamed for.

    Returns
    -------
    pandas.DataFrame
        ``unique, prefix, random, gap`` (``prefix - random``), one row per ``U``.

    Examples
    --------
    >>> a, b = bytes(range(0, 128)) * 400, bytes(range(128, 256)) * 400  # two "sources"
    >>> t = prefix_shift(a + b, a[:5000] + b[:5000], [25600], block=128)
    >>> bool(t["gap"].iloc[0] > 1.0)  # the prefix has seen only the first source
    True
    """
    tr = np.frombuffer(train, dtype=np.uint8)
    ho = np.frombuffer(held_out, dtype=np.uint8)
    if tr.size < 2 * block or ho.size < 2:
        raise ValueError(f"train must hold at least two blocks of {block} bytes and held_out two bytes")
    target = _bigram_counts(ho)
    rng = np.random.default_rng(seed)
    n_blocks = tr.size // block
    rows = []
    for u in np.atleast_1d(np.asarray(uniques, dtype=float)):
        if not (2 * block <= u <= tr.size):
            raise ValueError(f"uniques must lie in [{2 * block}, {tr.size}] bytes, got {u:g}")
        u = int(u)
        prefix = _cross_entropy(_bigram_counts(tr[:u]), target, smoothing)
        starts = np.sort(rng.choice(n_blocks, size=u // block, replace=False)) * block
        sample = np.concatenate([tr[s : s + block] for s in starts])
        random = _cross_entropy(_bigram_counts(sample), target, smoothing)
        rows.append({"unique": u, "prefix": prefix, "random": random, "gap": prefix - random})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class RepeatStudy:
    """B2: the repeated-data runs, the fitted ``R_D*`` and the curves it predicts (:func:`repeat_study`)."""

    points: pd.DataFrame = field(repr=False)  # repeat_points(...)
    fit: RepeatFit
    sizes: list[str]  # the model sizes, smallest first
    tokens: float = 8e6  # every run's training tokens

    @property
    def repeated(self) -> pd.DataFrame:
        """The runs on repeated data, epochs rounded to 3 decimals."""
        return self.points[~self.points["fresh"]].assign(epochs=lambda t: t["epochs"].round(3))

    @property
    def fresh(self) -> pd.DataFrame:
        """The runs on fresh data (and those of one epoch), with the fit's loss for each."""
        p = self.points
        fresh = p[p["fresh"] | (p["epochs"] < _ONE_EPOCH)].copy()
        fresh["fit"] = [self.fit.predict(z, d, np.nan) for z, d in zip(fresh["size"], fresh["tokens"], strict=True)]
        return fresh

    def predicted(self, grid=None) -> pd.DataFrame:
        """The fitted loss per size against epochs (``grid``, default 60 from 1 to 64), and on fresh data."""
        grid = np.geomspace(1, 64, 60) if grid is None else np.asarray(grid, dtype=float)
        d = self.tokens
        frames = [
            pd.DataFrame({"size": z, "epochs": grid, "loss": self.fit.predict(z, d, d / grid),
                          "loss_fresh": self.fit.predict(z, d, np.nan) + 0 * grid})
            for z in self.sizes
        ]  # fmt: skip
        return pd.concat(frames)

    def mean(self) -> pd.DataFrame:
        """The repeated runs' loss per size and epochs, mean over seeds."""
        return self.repeated.groupby(["size", "epochs"], as_index=False)["loss"].mean()

    def one_epoch(self) -> pd.Series:
        """Each size's loss at one epoch: the excess over it is what repetition costs."""
        mean = self.mean()
        return mean[mean["epochs"] < _ONE_EPOCH].set_index("size")["loss"]

    def summary(self) -> dict[str, object]:
        """Seeds, R_D* with its interval and the fit's quality, the excess loss at 4 and 64 epochs, a token's worth."""
        f, rep, mean, one = self.fit, self.repeated, self.mean(), self.one_epoch()
        e4 = mean[np.isclose(mean["epochs"], 4, atol=0.01)].set_index("size")["loss"] - one
        e64 = mean[np.isclose(mean["epochs"], 64, atol=0.1)].set_index("size")["loss"] - one
        return {
            "rep_seeds": int(rep.groupby(["size", "epochs"])["seed"].nunique().min()),
            "rd_ours": f.rd_star,
            "rd_lo": f.interval[0],
            "rd_hi": f.interval[1],
            "rd_level": 100 * f.level,
            "rd_rmse": f.rmse,
            "rd_failed": f.n_failed,
            "rd_boot": f.n_boot,
            "rep_excess4_lo": float(e4.min()),
            "rep_excess4_hi": float(e4.max()),
            "rep_excess64_lo": float(e64.min()),
            "rep_excess64_hi": float(e64.max()),
            "rep_value4_ours": float(f.repetition_value(4.0)),
        }


def repeat_study(results: pd.DataFrame, *, n_boot: int = 400, level: float = 0.8, seed: int = 0) -> RepeatStudy:
    """:func:`repeat_points` of the repeat sweep and :func:`fit_repeat`, which must converge.

    Raises
    ------
    RuntimeError
        If the fit of ``R_D*`` did not converge.
    """
    points = repeat_points(results)
    fit = fit_repeat(points, n_boot=n_boot, level=level, seed=seed)
    if not fit.converged:
        raise RuntimeError(f"the R_D* fit did not converge: {fit.message}")
    sizes = sorted(points["size"].unique(), key=lambda s: points.loc[points["size"] == s, "params"].iloc[0])
    return RepeatStudy(points=points, fit=fit, sizes=sizes)


@dataclass(frozen=True)
class ShiftCheck:
    """What drawing U from the start of the mix does apart from repetition: a byte-bigram proxy beside the runs."""

    shift: pd.DataFrame  # repeat_prefix_shift.csv: unique, prefix, random
    excess: pd.DataFrame  # the runs' excess loss over U = tokens, by unique bytes (rows) and size (columns)
    sizes: list[str]

    def summary(self) -> dict[str, float]:
        """The proxy's rise from a prefix and from random blocks, their gap at 2 and 64 epochs, the runs' excess."""
        shift, excess = self.shift, self.excess
        base, last = shift.iloc[0], shift.iloc[-1]
        narrow = (shift["prefix"] - base["prefix"]) - (shift["random"] - base["random"])
        return {
            "shift_prefix_rise": float(last["prefix"] - base["prefix"]),
            "shift_random_rise": float(last["random"] - base["random"]),
            "narrow_2": float(narrow.iloc[1]),
            "narrow_64": float(narrow.iloc[-1]),
            "excess_2_mean": float(excess.loc[4e6].mean()),
            "excess_64_mean": float(excess.loc[125e3].mean()),
        }


def shift_check(study: RepeatStudy, shift: pd.DataFrame) -> ShiftCheck:
    """:class:`ShiftCheck` of the committed proxy table (``prefix_shift``'s) beside ``study``'s runs."""
    excess = study.mean().assign(unique=lambda t: (study.tokens / t["epochs"]).round(-3))
    excess = excess.pivot_table(index="unique", columns="size", values="loss")
    return ShiftCheck(shift=shift, excess=excess - excess.loc[study.tokens], sizes=study.sizes)
