"""The grid's optima and the rule in C: recovered from synthetic grids with a known optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from scaling_utils.analysis.hyperparams import DEEPSEEK, fit_rule, grid_optima


def _grid(noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    # A bowl in (ln lr, ln B) whose minimum follows lr* = 0.3 C^-0.15, B* = 0.3 C^0.3 exactly.
    rng = np.random.default_rng(seed)
    rows = []
    for c in (1.6e11, 8e11, 4e12):
        lr0, b0 = 0.3 * c**-0.15, 0.3 * c**0.3
        for ls, bs, s in itertools.product((0.6, 1.2, 2.4), (0.5, 1, 2), (0, 1)):
            lr, b = lr0 * ls / 1.2, b0 * bs
            loss = 2 + 0.05 * np.log(lr / lr0) ** 2 + 0.02 * np.log(b / b0) ** 2 + noise * rng.normal()
            rows.append({"budget_flops": c, "lr": lr, "batch_tokens": b, "seed": s, "loss": loss})
    return pd.DataFrame(rows)


def test_the_rule_recovers_known_exponents():
    # Noise-free bowl: the quadratic surface is exact, so the exponents come back to rounding.
    rule = fit_rule(_grid(), resamples=20)
    assert rule.lr_exp == pytest.approx(-0.15, abs=1e-6) and rule.batch_exp == pytest.approx(0.3, abs=1e-6)
    assert all(o.interior for o in rule.optima)
    assert rule.lr(1e12) == pytest.approx(0.3 * 1e12**-0.15, rel=1e-6)
    assert rule.batch(1e12, 128) == 2 ** round(np.log2(0.3 * 1e12**0.3 / 128))


def test_noisy_grid_interval_covers_the_truth():
    # 0.003 nats of seed noise (the order measured between seeds) over 1.4 decades of C.
    rule = fit_rule(_grid(noise=0.003, seed=1), resamples=200)
    lo, hi = rule.lr_exp_interval
    assert lo - 0.1 < -0.15 < hi + 0.1 and lo < hi


def test_an_optimum_outside_the_grid_is_the_best_cell_flagged():
    g = _grid()
    g["loss"] = g["loss"] - 0.5 * np.log(g["lr"])  # pushes the minimum to the highest rate
    opt = grid_optima(g)
    assert not any(o.interior for o in opt)
    assert all(o.lr == pytest.approx(g[g["budget_flops"] == o.budget]["lr"].max(), rel=1e-9) for o in opt)
    assert DEEPSEEK["lr_exp"] == -0.125
