"""Why the prediction of the lowest loss missed (scaling_utils.analysis.miss) and the target's verdict rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scaling_utils.analysis import miss
from scaling_utils.analysis.bias import law_with_optimum
from scaling_utils.analysis.predict import point_prediction
from scaling_utils.analysis.preregistration import load_plan
from tests.conftest import ROOT

PLAN = load_plan(ROOT / "data" / "plans" / "predictable.toml")
RECORD = json.loads((ROOT / "data" / "plans" / "predictable_prediction.json").read_text())
LAW = law_with_optimum(0.34, 0.28, 3.7e4, 1.6e12, E=1.0)
BUDGETS = (1.6e11, 5e11, 1.6e12, 5e12, 1.6e13)


def _runs(noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Seven sizes a budget centred on the law's optimum (2x apart), two seeds, losses from LAW."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in BUDGETS:
        n_opt, _ = LAW.compute_optimal(c)
        for k in range(-3, 4):
            n = n_opt * 2.0**k
            for s in (0, 1):
                loss = float(LAW.loss(n, c / (6 * n))) * float(np.exp(noise * rng.standard_normal()))
                rows.append({"budget": c, "N": n, "D": c / (6 * n), "loss": loss, "seed": s, "at_budget": True})
    return pd.DataFrame(rows)


def test_the_frontier_is_the_one_the_prediction_fits():
    runs = _runs(noise=0.01)
    fit = miss.frontier_fit(runs, 1.6e14)
    # the same vertices and the same frontier as point_prediction's loss_frontier (which the record holds)
    assert fit["loss"] == pytest.approx(point_prediction(runs, 1.6e14, approach3=False)["loss_frontier"], rel=1e-12)
    assert fit["converged"] == 1.0 and fit["E"] >= 0


def test_frontier_draws_are_the_plans_cluster_resamples_and_refuse_bad_requests():
    runs = _runs(noise=0.01)
    a = miss.frontier_draws(runs, 1.6e14, resamples=30, seed=3)
    b = miss.frontier_draws(runs, 1.6e14, resamples=30, seed=3)
    pd.testing.assert_frame_equal(a, b)  # seeded
    assert len(a) + a.attrs["dropped"] == 30 and set(a.columns) == {"E", "A", "alpha", "loss", "converged"}
    with pytest.raises(ValueError, match="resamples must be at least 10, got 5"):
        miss.frontier_draws(runs, 1.6e14, resamples=5, seed=0)
    with pytest.raises(ValueError, match=r"runs lacks columns \['seed'\]"):
        miss.frontier_draws(runs.drop(columns="seed"), 1.6e14, resamples=10, seed=0)


def test_the_committed_frontier_draws_reproduce_the_committed_interval():
    from scaling_utils.analysis.predictable import load_branch_points
    from scaling_utils.report.cache import cached

    points = load_branch_points(ROOT / "data" / "experiments", PLAN)
    target, n, seed = (
        float(PLAN["target"]["budget"]),
        int(PLAN["prediction"]["resamples"]),
        int(PLAN["prediction"]["seed"]),
    )
    draws = cached(miss.frontier_draws, points, target, n, seed)  # the chapter's call: read from data/cache
    lo, hi = RECORD["interval"]["loss_frontier"]
    q = (1 - RECORD["interval_level"]) / 2
    # the same resamples as the committed interval; the last digits of a fit vary between processors
    assert draws["loss"].quantile(q) == pytest.approx(lo, rel=1e-5)
    assert draws["loss"].quantile(1 - q) == pytest.approx(hi, rel=1e-5)
    assert len(draws) == RECORD["resamples"]["used"] and draws.attrs["dropped"] == RECORD["resamples"]["dropped"]


def test_local_slopes_recover_a_power_laws_exponent_and_name_bad_input():
    c = np.array([1e11, 1e12, 1e13])
    vertices = pd.DataFrame({"C": c, "loss_opt": 5 * c**-0.1})
    s = miss.local_slopes(vertices, 1e14, 5 * 1e14**-0.12)
    assert np.allclose(s["slope"].iloc[:2], -0.1) and s["slope"].iloc[2] == pytest.approx(-0.12 * 14 / 1 + 0.1 * 13)
    assert list(s["observed_at_target"]) == [False, False, True]
    with pytest.raises(ValueError, match="at least 2 vertices, got 1"):
        miss.local_slopes(vertices.iloc[:1], 1e14, 1.0)
    with pytest.raises(ValueError, match="must be positive"):
        miss.local_slopes(vertices, 1e14, -1.0)


def test_miss_summary_counts_the_resamples_at_the_bound_and_the_miss_in_standard_errors():
    draws = pd.DataFrame({"E": [0.0, 0.0, 0.0, 0.3], "loss": [1.36, 1.35, 1.37, 1.40]})
    c = np.array([1e11, 1e12, 1e13])
    slopes = miss.local_slopes(pd.DataFrame({"C": c, "loss_opt": [2.0, 1.8, 1.6]}), 1e14, 1.3)
    record = {"point": {"loss_frontier": 1.35}, "interval": {"loss_frontier": [1.348, 1.40]},
              "jackknife_se": {"loss_frontier": 0.03}, "laws": {"frontier": {"alpha": 0.05}}}  # fmt: skip
    ms = miss.miss_summary(draws, slopes, record, {"obs_loss": 1.30})
    assert ms["miss_share_bound"] == 0.75 and ms["miss_draws"] == 4 and ms["miss_draw_min"] == 1.35
    assert ms["miss_share_below_obs"] == 0.0 and ms["miss_lower_half"] == pytest.approx(0.002)
    assert ms["miss_in_se"] == pytest.approx(-0.05 / 0.03)
    assert ms["miss_slope_obs"] == pytest.approx(-np.log(1.3 / 1.6) / np.log(10))
    assert ms["miss_slope_lo"] == pytest.approx(-np.log(1.8 / 2.0) / np.log(10))  # the shallower fitting slope
    assert ms["miss_slope_hi"] == pytest.approx(-np.log(1.6 / 1.8) / np.log(10))
    gap = ms["miss_slope_obs"] - 0.05
    assert ms["miss_slope_gap"] == pytest.approx(gap) and ms["miss_gap_in_sd"] == pytest.approx(
        gap / ms["miss_slope_sd"]
    )
    assert ms["miss_slope_effect"] == pytest.approx(1 - 10**-gap)  # the last span is a decade (1e13 to 1e14)
    assert ms["miss_slope_sd"] == pytest.approx(np.std([np.log(0.9), np.log(1.6 / 1.8)], ddof=1) / np.log(10))


def test_the_miss_table_puts_the_frontier_between_the_fitting_slopes_and_the_observed_one():
    from scaling_utils.report.tables.predictable import miss_table

    c = np.array([1e11, 1e12, 1e13])
    slopes = miss.local_slopes(pd.DataFrame({"C": c, "loss_opt": [2.0, 1.8, 1.6]}), 1e14, 1.3)
    df = miss_table(slopes, 0.048).reset_index()
    assert list(df["from"]) == ["fitting budgets' vertices"] * 2 + [
        "the committed frontier (its exponent)", "observed at the target (after the prediction)"]  # fmt: skip
    assert df["compute span (FLOPs)"].iloc[2] == "1e+11 to 1e+13" and df.iloc[2, -1] == "0.048"


def test_observed_target_reports_the_seed_spread_the_bootstrap_can_see():
    from scaling_utils.analysis.verify import observed_target

    rows = [{"N": n, "D": 1.6e14 / (6 * n), "loss": 1.3 + 0.02 * np.log(n / 5e5) ** 2 + d, "seed": s, "at_budget": True}
            for n, seeds in ((2e5, (0,)), (3e5, (0,)), (5e5, (0, 1)), (7e5, (0,)), (9e5, (0,)))
            for s, d in zip(seeds, (0.0, 0.001), strict=False)]  # fmt: skip
    record = {"interval_level": 0.8, "primary": {"loss": "approach2_frontier", "n_opt": "approach2"},
              "point": {"loss_frontier": 1.35, "n_opt2": 5e5}, "interval": {"loss_frontier": [1.34, 1.40]}}  # fmt: skip
    obs = observed_target(pd.DataFrame(rows), record, PLAN, resamples=20)
    assert obs["obs_sizes_seeded"] == 1 and obs["obs_seed_spread"] == pytest.approx(0.001)
    # the profile is an exact parabola in ln N but for the second seed's 0.001: the means sit within 0.0005
    assert obs["obs_best_loss"] == pytest.approx(1.3) and obs["obs_best_n"] == 5e5
    assert 0 < obs["obs_resid_max"] < 5e-4


def test_the_comparison_row_gives_the_target_runs_verdict():
    from scaling_utils.report.tables.predictable import comparison

    summary = {"target_ratio": 10.0, "prediction_made": "yes", "lr_exp": -0.03, "lr_exp_lo": -0.09, "lr_exp_hi": 0.05,
               "batch_exp": 0.31, "batch_exp_lo": 0.24, "batch_exp_hi": 0.46}  # fmt: skip
    observed = {"obs_n_factor": 1.12, "obs_loss_err": -0.033, "obs_pass_n": True, "obs_pass_loss": False}
    row = comparison(summary, observed=observed).reset_index().iloc[0]
    text = " ".join(str(v) for v in row.values)
    assert "factor 1.12" in text and "3.3% below the prediction" in text
    assert "N_opt met, loss missed" in text
    assert "in progress" in " ".join(str(v) for v in comparison(summary).reset_index().iloc[0].values)


def test_backtest_summary_averages_porians_settings():
    from scaling_utils.analysis import derived
    from scaling_utils.analysis.verify import backtest_summary

    porian = derived.load("predictable_backtests_porian")
    s = backtest_summary(derived.load("predictable_backtests_v3"), derived.load("predictable_backtests_kaplan"), porian)
    frontier = porian[porian["law"] == "frontier E + k C^-gamma"]["abs. rel. error"]
    assert s["bt_porian_frontier"] == pytest.approx(100 * frontier.mean()) and len(frontier) == 15
    assert {"bt_porian_loss3", "bt_porian_n2", "bt_porian_n3", "bt_v3_frontier"} <= set(s)


def test_seed_spread_is_the_largest_gap_between_seeds_at_a_budget():
    from scaling_utils.analysis.verify import seed_spread

    pts = pd.DataFrame({"N": [1.0, 1.0, 2.0, 2.0, 3.0], "D": [5.0] * 5, "loss": [2.0, 2.01, 1.9, 1.93, 1.8],
                        "budget": [10.0] * 4 + [20.0], "at_budget": True})  # fmt: skip
    assert seed_spread(pts, 10.0) == pytest.approx(0.03)
    assert seed_spread(pts, 10.0, stat="median") == pytest.approx(0.02)  # the gaps are 0.01 and 0.03
    with pytest.raises(ValueError, match="stat must be 'max' or 'median', got 'mean'"):
        seed_spread(pts, 10.0, stat="mean")
    with pytest.raises(ValueError, match="no point at the budget 20 has two seeds"):
        seed_spread(pts, 20.0)
