"""Learning rate and batch measured on the book's models: the grid's optima and their laws in C.

From the ``hp_grid`` sweep (plan: ``data/plans/predictable.toml``, ``[hyperparameters]``):
per budget, a quadratic surface of the seed-mean final loss in ``(ln lr, ln B)``; its
minimum is the optimum when it lies inside the grid, else the best cell (flagged). Then
``lr_opt = k C^a`` and ``B_opt = k' C^b`` (``B`` in tokens) by least squares on logs, the
form of DeepSeek LLM (Bi et al. 2024: ``a = -0.125``, ``b = 0.327``). Uncertainty: the same
pipeline on seed-resampled grids (each cell's seeds drawn with replacement).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DEEPSEEK", "GridOptimum", "HyperparameterRule", "fit_rule", "grid_optima", "grid_points"]

DEEPSEEK = {"lr_coef": 0.3118, "lr_exp": -0.125, "batch_coef": 0.2920, "batch_exp": 0.3271}
"""DeepSeek LLM's rules (Bi et al. 2024, Sec. 3.1): lr = 0.3118 C^-0.125, B = 0.2920 C^0.3271 tokens."""


@dataclass(frozen=True)
class GridOptimum:
    """The best (lr, batch) of one budget."""

    budget: float
    lr: float
    batch_tokens: float
    loss: float
    interior: bool  # the surface's minimum lies inside the grid (else: the best cell)
    n_cells: int
    n_diverged: int


def grid_points(df: pd.DataFrame, eval_dist: str = "mix") -> pd.DataFrame:
    """Final cooled losses of the grid: one row per run (budget, lr, batch tokens, seed, loss)."""
    need = {"phase", "distribution", "budget_flops", "lr", "batch_size", "n_ctx", "seed", "loss", "run_id"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise ValueError(f"grid results lack columns {missing}")
    d = df[(df["phase"] == "cooldown") & (df["distribution"] == eval_dist)]
    if d.empty:
        raise ValueError(f"no cooldown rows on distribution {eval_dist!r} in the grid results")
    out = d.assign(batch_tokens=d["batch_size"] * d["n_ctx"])[["budget_flops", "lr", "batch_tokens", "seed", "loss"]]
    return out.reset_index(drop=True)


def _optimum(cells: pd.DataFrame, budget: float, n_diverged: int) -> GridOptimum:
    x, y, z = np.log(cells["lr"].to_numpy()), np.log(cells["batch_tokens"].to_numpy()), cells["loss"].to_numpy()
    best = int(np.argmin(z))
    fallback = GridOptimum(budget, float(np.exp(x[best])), float(np.exp(y[best])), float(z[best]), False,
                           len(cells), n_diverged)  # fmt: skip
    if len(cells) < 6:
        return fallback
    design = np.column_stack([np.ones_like(x), x, y, x * x, y * y, x * y])
    c, *_ = np.linalg.lstsq(design, z, rcond=None)
    hess = np.array([[2 * c[3], c[5]], [c[5], 2 * c[4]]])
    if np.any(np.linalg.eigvalsh(hess) <= 0):
        return fallback
    xm, ym = np.linalg.solve(hess, -c[1:3])
    inside = x.min() <= xm <= x.max() and y.min() <= ym <= y.max()
    if not inside:
        return fallback
    zm = float(c @ np.array([1, xm, ym, xm * xm, ym * ym, xm * ym]))
    return GridOptimum(budget, float(np.exp(xm)), float(np.exp(ym)), zm, True, len(cells), n_diverged)


def grid_optima(points: pd.DataFrame) -> list[GridOptimum]:
    """Each budget's optimum from the seed-mean loss of each (lr, batch) cell (diverged runs left out, counted)."""
    out = []
    for budget, g in points.groupby("budget_flops"):
        ok = g[np.isfinite(g["loss"])]
        cells = ok.groupby(["lr", "batch_tokens"], as_index=False)["loss"].mean()
        out.append(_optimum(cells, float(budget), int(len(g) - len(ok))))
    return out


def _power_law(c: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    slope, intercept = np.polyfit(np.log(c), np.log(v), 1)
    return float(math.exp(intercept)), float(slope)


@dataclass(frozen=True)
class HyperparameterRule:
    """``lr = lr_coef C^lr_exp`` and ``B = batch_coef C^batch_exp`` tokens, with seed-bootstrap intervals."""

    lr_coef: float
    lr_exp: float
    batch_coef: float
    batch_exp: float
    lr_exp_interval: tuple[float, float]
    batch_exp_interval: tuple[float, float]
    optima: tuple[GridOptimum, ...]
    resamples: int

    def lr(self, budget: float) -> float:
        """Peak learning rate at compute ``budget``."""
        return self.lr_coef * budget**self.lr_exp

    def batch(self, budget: float, n_ctx: int) -> int:
        """Batch in sequences of ``n_ctx`` at ``budget``: the rule's tokens, to the nearest power of two."""
        seqs = self.batch_coef * budget**self.batch_exp / n_ctx
        return max(1, 2 ** round(math.log2(seqs)))

    def to_json(self) -> dict:
        """A plain dict (committed beside the grid's results)."""
        d = asdict(self)
        d["optima"] = [asdict(o) for o in self.optima]
        return d


def fit_rule(points: pd.DataFrame, resamples: int = 400, seed: int = 0) -> HyperparameterRule:
    """Fit the rule from the grid's points; intervals (80%) from seed-resampled grids."""
    optima = grid_optima(points)
    if len(optima) < 2:
        raise ValueError(f"the rule needs at least 2 budgets, got {len(optima)}")
    c = np.array([o.budget for o in optima])
    lr_coef, lr_exp = _power_law(c, np.array([o.lr for o in optima]))
    b_coef, b_exp = _power_law(c, np.array([o.batch_tokens for o in optima]))
    rng = np.random.default_rng(seed)
    draws = []
    groups = [g for _, g in points.groupby(["budget_flops", "lr", "batch_tokens"])]
    for _ in range(resamples):
        sample = pd.concat([g.iloc[rng.integers(0, len(g), len(g))] for g in groups])
        opt = grid_optima(sample)
        cc = np.array([o.budget for o in opt])
        draws.append((_power_law(cc, np.array([o.lr for o in opt]))[1],
                      _power_law(cc, np.array([o.batch_tokens for o in opt]))[1]))  # fmt: skip
    d = np.array(draws)
    lo, hi = np.percentile(d, [10, 90], axis=0)
    return HyperparameterRule(lr_coef, lr_exp, b_coef, b_exp, (float(lo[0]), float(hi[0])),
                              (float(lo[1]), float(hi[1])), tuple(optima), resamples)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``python -m scaling_utils.analysis.hyperparams [results folder]``: write ``hp_grid_rule.json``."""
    from scaling_utils._paths import sha256_file

    folder = Path((argv or sys.argv[1:] or ["data/experiments"])[0])
    csv = folder / "hp_grid.csv"
    rule = fit_rule(grid_points(pd.read_csv(csv)))
    out = rule.to_json() | {"made_by": "python -m scaling_utils.analysis.hyperparams", "csv_sha256": sha256_file(csv),
                            "deepseek": DEEPSEEK}  # fmt: skip
    (folder / "hp_grid_rule.json").write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(json.dumps({k: out[k] for k in ("lr_exp", "lr_exp_interval", "batch_exp", "batch_exp_interval")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
