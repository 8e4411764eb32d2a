"""R_D* from repeated-data runs: recovery on synthetic runs, the committed sweep, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scaling_utils.analysis.repeated import effective_tokens, fit_repeat, prefix_shift, repeat_points
from scaling_utils.analysis.results import load_sweep_results
from tests.conftest import ROOT


def _synthetic(rd_star, noise, seed=0):
    """Two sizes on the committed design: fresh 125k-4M and 8M, repeated 2-64 epochs, two seeds."""
    rng = np.random.default_rng(seed)
    rows = []
    for size, (e, b, beta) in {"s": (1.2, 30.0, 0.25), "m": (1.0, 40.0, 0.28)}.items():
        for d in 125_000 * 2.0 ** np.arange(6):
            rows.append((size, d, np.nan, True, e + b * d**-beta))
        for k in range(7):
            u = 8e6 / 2**k
            for _ in range(2):
                rows.append((size, 8e6, u, False, e + b * effective_tokens(8e6, u, rd_star) ** -beta))
    t = pd.DataFrame(rows, columns=["size", "tokens", "unique", "fresh", "loss"])
    t["loss"] *= np.exp(noise * rng.standard_normal(len(t)))
    t["epochs"] = np.where(t["fresh"], 1.0, t["tokens"] / t["unique"])
    return t


@pytest.mark.parametrize("rd_star", [3.0, 15.4])
def test_recovers_a_known_rd_star_without_noise(rd_star):
    fit = fit_repeat(_synthetic(rd_star, 0.0))
    assert fit.converged, fit.message
    assert fit.rd_star == pytest.approx(rd_star, rel=1e-3)
    assert fit.rmse < 1e-6


def test_bootstrap_interval_covers_the_truth_with_seed_like_noise():
    # 0.5% multiplicative noise, about the committed sweep's seed-to-seed spread (~0.01 nats).
    fit = fit_repeat(_synthetic(6.0, 0.005, seed=1), n_boot=200, seed=0)
    assert fit.converged
    lo, hi = fit.interval
    assert lo <= 6.0 <= hi and hi / lo < 3
    assert fit.n_failed < 20


def test_no_repetition_signal_is_reported_not_converged():
    t = _synthetic(6.0, 0.0)
    for size in ("s", "m"):  # each size's repeated runs as good as its one-epoch run: no damage
        rows = ~t["fresh"] & (t["size"] == size)
        t.loc[rows, "loss"] = t.loc[rows & (t["unique"] == 8e6), "loss"].iloc[0]
    fit = fit_repeat(t)
    assert not fit.converged and "do not bound it" in fit.message


def test_bad_points_name_the_problem():
    t = _synthetic(6.0, 0.0)
    with pytest.raises(ValueError, match=r"lack columns \['loss'\]"):
        fit_repeat(t.drop(columns="loss"))
    bad = t.copy()
    bad.loc[3, "loss"] = np.nan
    with pytest.raises(ValueError, match=r"loss must be finite and > 0 \(row 3\)"):
        fit_repeat(bad)
    with pytest.raises(ValueError, match="level must be in"):
        fit_repeat(t, level=1.5)
    with pytest.raises(ValueError, match="n_boot must be"):
        fit_repeat(t, n_boot=-1)


def test_committed_repeat_sweep_has_the_design():
    p = repeat_points(load_sweep_results("repeat", ROOT / "data" / "experiments"))
    assert len(p) == 40 and sorted(p["size"].unique()) == ["L2-d32", "L3-d48"]
    rep = p[~p["fresh"]]
    assert sorted(rep["epochs"].round().unique()) == [1, 2, 4, 8, 16, 32, 64]
    assert (rep.groupby(["size", rep["epochs"].round()])["seed"].nunique() == 2).all()
    # Loss rises with epochs at fixed training tokens, for both sizes and on average over seeds.
    mean = rep.groupby(["size", rep["epochs"].round()])["loss"].mean().unstack(0)
    assert (mean.diff().dropna() > 0).all().all()


def test_prefix_shift_bad_input():
    with pytest.raises(ValueError, match="uniques must lie in"):
        prefix_shift(bytes(100_000), bytes(1000), [10**9])
    with pytest.raises(ValueError, match="at least two blocks"):
        prefix_shift(bytes(100), bytes(1000), [100])
