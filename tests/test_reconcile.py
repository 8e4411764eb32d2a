"""Kaplan vs Chinchilla: Porian et al.'s data and ladder, Pearce & Song's analysis, recounting our runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scaling_utils.analysis import porian, recount
from scaling_utils.analysis.results import ResultsError, load_sweep_results
from scaling_utils.fitting import fit_isoflop
from scaling_utils.laws import BESIROGLU_2024, HOFFMANN_2022, HOFFMANN_2022_UNROUNDED, ChinchillaLaw, reconcile
from tests.conftest import ROOT, SHARED

LAWS = [HOFFMANN_2022, HOFFMANN_2022_UNROUNDED, BESIROGLU_2024]


# ------------------------------------------------------------------ Porian et al.'s data


@pytest.fixture(scope="module")
def points() -> pd.DataFrame:
    return porian.load_porian2024()


@pytest.fixture(scope="module")
def ladder(points) -> pd.DataFrame:
    return porian.porian_ladder(points, window=5, n_resamples=400, seed=0)


def test_committed_copy_is_the_released_file():
    shared = SHARED / "data" / "external" / "porian2024_isoflop_points.csv"
    if not shared.is_file():
        pytest.skip(f"{shared} is absent (it lies beside the project checkout in development and CI)")
    ours = ROOT / "data" / "external" / "porian2024" / "isoflop_points.csv"
    assert ours.read_bytes() == shared.read_bytes()
    assert (ROOT / "data" / "external" / "porian2024" / "LICENSE").read_text().startswith("Copyright")


def test_loader_reads_fifteen_settings(points):
    assert len(points) == 1745
    assert points.groupby(list(porian.KEYS)).ngroups == len(porian.SETTINGS) == 15
    assert points["flops"].min() == pytest.approx(1.25e16) and points["flops"].max() == pytest.approx(2.56e19)


def test_book_exponent_within_004_of_the_paper_on_every_setting(ladder):
    # The paper locates minima with its own noise-aware interpolation and reports a bootstrap
    # median; the book's window-5 parabola lands within 0.04 (largest gap ~0.03, rw Kaplan).
    gap = (ladder["a_book"] - ladder["a_paper"]).abs()
    assert gap.max() < 0.04, ladder.loc[gap.idxmax(), "setting"]
    assert (ladder["low"] <= ladder["a_book"]).all() and (ladder["a_book"] <= ladder["high"]).all()


@pytest.mark.parametrize("name", ["RefinedWeb", "OpenWebText2"])
def test_ladders_fall_rung_by_rung(ladder, name):
    a = ladder[ladder["ladder"] == name].sort_values("rung")["a_book"].to_numpy()
    assert len(a) == 5 and (np.diff(a) < 0).all(), a


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda df: df.drop(columns="loss"), r"lacks columns \['loss'\]"),
        (lambda df: df.assign(n=df["n"].where(df.index != 3, -5)), "column n, row 5"),
        (lambda df: df.assign(loss=df["loss"].astype(object).where(df.index != 7, "x")), "column loss, row 9"),
        (
            lambda df: df.assign(decay=df["decay"].where(df.index != 0, "wsd")),
            "column decay, row 2: unknown value 'wsd'",
        ),
        (
            lambda df: df.assign(hparams=df["hparams"].where(df["dataset"] != "owt2", "tuned")),
            "unknown setting owt2/tuned/long",
        ),
    ],
)
def test_loader_rejects_bad_files(points, tmp_path, edit, message):
    raw = pd.read_csv(ROOT / "data" / "external" / "porian2024" / "isoflop_points.csv")
    f = tmp_path / "bad.csv"
    edit(raw).to_csv(f, index=False)
    with pytest.raises(ResultsError, match=message):
        porian.load_porian2024(f)


def test_loader_rejects_a_missing_file_and_select_a_bad_name(points, tmp_path):
    with pytest.raises(ResultsError, match="missing"):
        porian.load_porian2024(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="must name 6 fields"):
        porian.select(points, "rw/base")


# ------------------------------------------------------------------ Pearce & Song


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
def test_local_exponent_limits(law):
    small, large = reconcile.local_exponent_limits(law)
    assert small == pytest.approx(law.beta / (law.alpha / 3 + law.beta))
    assert large == pytest.approx(law.beta / (law.alpha + law.beta))
    for n in (1e1, 1e2):
        assert reconcile.local_exponent(law, n) == pytest.approx(small, abs=1e-3)
    for n in (1e12, 1e14):
        assert reconcile.local_exponent(law, n) == pytest.approx(large, abs=1e-3)


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
def test_local_exponent_is_the_slope_of_the_numerical_frontier(law):
    # Minimise the law over N_E at fixed C_E = 6 N_E D numerically and differentiate.
    n = np.logspace(1, 12, 4000)
    nt = reconcile.total_params(n)
    ce = np.logspace(8, 26, 60)
    loss = law.E + law.A / nt[None, :] ** law.alpha + law.B / (ce[:, None] / (6 * n[None, :])) ** law.beta
    n_star = n[np.argmin(loss, axis=1)]
    inside = (n_star > n[5]) & (n_star < n[-5])
    slope = np.gradient(np.log(n_star[inside]), np.log(ce[inside]))
    mid = np.exp(0.5 * (np.log(n_star[inside][1:-1])))
    g = reconcile.local_exponent(law, n_star[inside][1:-1])
    assert np.median(np.abs(slope[1:-1] - g)) < 0.03, (mid, slope, g)


def test_local_exponent_is_not_monotone_and_rises_above_both_limits():
    n = np.logspace(1, 13, 300)
    g = reconcile.local_exponent(BESIROGLU_2024, n)
    small, large = reconcile.local_exponent_limits(BESIROGLU_2024)
    assert g.max() > small + 0.15 and g.max() > large
    assert 1e5 < n[g.argmax()] < 1e7


def test_frontier_exponent_over_kaplans_range():
    # Pearce & Song (Sec. 3; their analysis script prints 0.78 with Epoch's coefficients):
    # the exponent a Kaplan-style study would report in a Chinchilla-law world.
    fit = reconcile.kaplan_frontier_exponent(BESIROGLU_2024)
    assert fit.exponent == pytest.approx(0.78, abs=0.02)
    assert len(fit.models) == 20 and len(fit.compute) == 100


def test_gamma_from_the_shape():
    assert reconcile.gamma_for(32_000, 12.0) == pytest.approx(32_000)
    assert reconcile.gamma_for(32_000, 39.2) == pytest.approx(reconcile.PEARCE_SONG_GAMMA, rel=1e-3)
    assert reconcile.total_params(8.0, gamma=10.0) == pytest.approx(28.0)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: reconcile.local_exponent("law", 1e6), TypeError, "law must be a ChinchillaLaw"),
        (lambda: reconcile.local_exponent(BESIROGLU_2024, -1.0), ValueError, "n_nonembedding"),
        (lambda: reconcile.local_exponent(BESIROGLU_2024, np.nan), ValueError, "n_nonembedding"),
        (lambda: reconcile.total_params(1e6, gamma=0), ValueError, "gamma"),
        (lambda: reconcile.gamma_for(vocab="32k"), TypeError, "vocab"),
        (lambda: reconcile.kaplan_frontier_exponent(BESIROGLU_2024, n_models=1), ValueError, "n_models"),
        (
            lambda: reconcile.kaplan_frontier_exponent(BESIROGLU_2024, compute_range=(1e20, 1e13)),
            ValueError,
            "increasing",
        ),
    ],
)
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------ recounting the book's runs


def test_recount_matches_fit_isoflop_when_compute_is_shared():
    # Synthetic IsoFLOP runs from a known law: with one compute per group, fit_recounted is fit_isoflop.
    law = ChinchillaLaw(E=1.5, A=400.0, B=400.0, alpha=0.34, beta=0.28)
    c = np.repeat([1e18, 1e19, 1e20, 1e21], 9)
    n = np.concatenate(
        [
            np.logspace(np.log10(law.compute_optimal(b)[0]) - 1, np.log10(law.compute_optimal(b)[0]) + 1, 9)
            for b in np.unique(c)
        ]
    )
    loss = law.loss(n, c / (6 * n))
    runs = pd.DataFrame({"group": c, "N": n, "C": c, "loss": loss})
    a = recount.fit_recounted(runs, window=5).a
    assert a == pytest.approx(fit_isoflop(n, c, loss, window=5).a, abs=1e-12)
    assert a == pytest.approx(law.exponents[0], abs=0.01)


def test_recount_conventions_on_committed_runs():
    iso = load_sweep_results("isoflop", ROOT / "data" / "experiments")
    kap, head, tot = (recount.recount(iso, c) for c in ("kaplan", "head", "total"))
    # Planned as 6 N D; whole optimiser steps move the smallest run's compute by up to 1.5%.
    np.testing.assert_allclose(kap["C"], kap["group"], rtol=0.02)
    assert (head["N"] > kap["N"]).all() and (tot["N"] > head["N"]).all()
    assert (head["C"] > 2 * kap["C"]).any()  # the head and attention: > 2x 6ND at small widths
    with pytest.raises(ValueError, match="counting must be one of"):
        recount.recount(iso, "flops")


def test_porian_setting_by_name():
    assert porian.setting("rw/base/short/chinchilla/standard/val").a_paper == 0.572  # their Table
    with pytest.raises(ValueError, match="name: no setting 'rw/base'"):
        porian.setting("rw/base")
