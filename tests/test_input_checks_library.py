"""Issue 27 in the library: entry points check what they are handed, and scale.

Each case asserts the exception type and its message; the size cases check that chunking
the starts (and the resamples) of approach 3 changes nothing but the memory used.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from scaling_utils import compute, fitting
from scaling_utils._validation import group_budgets
from scaling_utils.fitting import parametric
from scaling_utils.laws import HOFFMANN_2022_UNROUNDED, ChinchillaLaw
from scaling_utils.simulations import synthetic
from tests.conftest import ROOT, SHARED

EPOCH_CSV = SHARED / "data" / "external" / "chinchilla_fig4_epoch_extracted.csv"
LAW = ChinchillaLaw(E=1.8, A=400.0, B=1500.0, alpha=0.35, beta=0.37)


def noisy_runs(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` runs (N, D, loss) from :data:`LAW` with 1% noise (as benchmarks/fit_memory.py)."""
    rng = np.random.default_rng(seed)
    n = 10 ** rng.uniform(6, 10, rows)
    d = n * 10 ** rng.uniform(0.3, 3, rows)
    return pd.DataFrame({"N": n, "D": d, "loss": LAW.loss(n, d) * np.exp(rng.normal(0, 0.01, rows))})


@pytest.fixture(scope="module")
def grid_runs():
    """A 6 x 6 grid of (N, D) with the law's exact losses."""
    n, d = np.meshgrid(np.logspace(7, 10, 6), np.logspace(9, 12, 6))
    n, d = n.ravel(), d.ravel()
    return n, d, LAW.loss(n, d)


# ------------------------------------------------------------------ types, shapes, integrality


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: compute.non_embedding_params(2.5, 512), ValueError, "n_layer must be a whole number, got 2.5"),
        (lambda: compute.non_embedding_params(2, 512.5), ValueError, "d_model must be a whole number"),
        (lambda: compute.non_embedding_params(2, 512, d_ff=100.5), ValueError, "d_ff must be a whole number"),
        (lambda: compute.chinchilla_flops(2, 768, 7), ValueError, "d_model must be divisible by n_head"),
        (lambda: compute.chinchilla_flops(2, 768, 2.5), ValueError, "n_head must be a whole number"),
        (lambda: compute.training_flops(1e200, 1e200), ValueError, "training_flops: 6 N D overflows"),
        (lambda: compute.training_flops("1e9", 1e10), TypeError, "N must be a real number"),
        (lambda: compute.training_flops([1e9, 1e9], [1e10, 1e10, 1e10]), ValueError, "shapes do not broadcast"),
        (lambda: compute.kaplan_flops_per_token(2, 64, 128.5), ValueError, "n_ctx must be a whole number"),
        (lambda: compute.params_with_head(2, 16, vocab=255.5), ValueError, "vocab must be a whole number"),
    ],
)
def test_compute_entry_points(call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        call()


def test_whole_floats_are_accepted():
    assert compute.non_embedding_params(2.0, 64.0) == compute.non_embedding_params(2, 64) == 98304.0
    assert compute.chinchilla_flops(2, 768, 8) > 0


def test_halving_must_be_a_bool(grid_runs):
    with pytest.raises(TypeError, match="halving must be True or False, got 'no'"):
        fitting.fit_chinchilla(*grid_runs, halving="no")


def test_fit_chinchilla_refuses_a_duplicated_row(grid_runs):
    n, d, l = grid_runs
    with pytest.raises(ValueError, match=r"rows 3 and 36 are identical \(N, D, loss\)"):
        fitting.fit_chinchilla(np.r_[n, n[3]], np.r_[d, d[3]], np.r_[l, l[3]])


@pytest.mark.skipif(not EPOCH_CSV.is_file(), reason=f"third-party validation data absent: {EPOCH_CSV}")
def test_doubling_one_of_epochs_points_is_refused():
    df = pd.read_csv(EPOCH_CSV).sort_values("loss").iloc[:-5]
    df = pd.concat([df, df.iloc[[10]]])
    n = df["Model Size"].to_numpy()
    with pytest.raises(ValueError, match="identical"):
        fitting.fit_chinchilla(n, df["Training FLOP"].to_numpy() / (6 * n), df["loss"].to_numpy())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda n, d, l: (n, d, np.full_like(l, 3.0)), "loss is 3 for every run: there is no scaling to fit"),
        (lambda n, d, l: (n, d, np.r_[1e300, l[1:]]), "loss at index 0 is 1e\\+300, outside the plausible range"),
        (lambda n, d, l: (np.r_[1e300, n[1:]], d, l), "parameters, 1 to 1e\\+16"),
        (lambda n, d, l: (n, np.r_[1e30, d[1:]], l), "tokens, 1 to 1e\\+18"),
    ],
)
def test_fit_chinchilla_refuses_implausible_runs(grid_runs, edit, message):
    with pytest.raises(ValueError, match=message):
        fitting.fit_chinchilla(*edit(*grid_runs))


def test_a_single_budget_is_not_converged():
    n = np.logspace(7, 10, 12)
    d = 1e20 / (6 * n)
    fit = fitting.fit_chinchilla(n, d, LAW.loss(n, d) * np.exp(np.linspace(-0.01, 0.01, 12)))
    assert not fit.converged and "one budget" in fit.message


def test_losses_that_rise_are_refused():
    n = np.logspace(7, 10, 12)
    d = np.logspace(9, 12, 12)
    with pytest.raises(ValueError, match="do not fall with N and D"):
        fitting.fit_chinchilla(n, d, np.linspace(2.0, 4.0, 12))


@pytest.mark.parametrize(
    ("curves", "runs", "error", "message"),
    [
        (pd.DataFrame(), None, ValueError, "curves lacks columns \\['run', 'N', 'flops', 'loss'\\]"),
        ("x", None, TypeError, "curves must be a pandas DataFrame, got str"),
        (None, pd.DataFrame(columns=["N", "D", "C", "loss"]), ValueError, "runs has no rows"),
        (None, pd.DataFrame({"params": [1.0]}), ValueError, "runs lacks columns"),
    ],
)
def test_fit_approaches_checks_its_frames(curves, runs, error, message):
    good_curves = synthetic.training_curves(HOFFMANN_2022_UNROUNDED, noise=0.0, seed=0)
    good_runs = synthetic.isoflop_runs(HOFFMANN_2022_UNROUNDED, noise=0.0, seed=0)
    with pytest.raises(error, match=message):
        fitting.fit_approaches(good_curves if curves is None else curves, good_runs if runs is None else runs)


# ------------------------------------------------------------------ budgets and approach 2


def test_budgets_recomputed_as_6nd_are_one_budget():
    runs = synthetic.isoflop_runs(HOFFMANN_2022_UNROUNDED, noise=0.005, seed=0)
    noisy = 6.0 * runs["N"] * (runs["C"] / (6.0 * runs["N"]))  # float noise in the last digits
    assert noisy.nunique() > runs["C"].nunique()
    a = fitting.fit_isoflop(runs["N"], runs["C"], runs["loss"]).a
    assert fitting.fit_isoflop(runs["N"], noisy, runs["loss"]).a == pytest.approx(a, rel=1e-9)
    assert np.unique(group_budgets(noisy)).size == runs["C"].nunique()


def test_dense_sizes_never_break_the_approach_2_bootstrap():
    rng = np.random.default_rng(1)
    rows = []
    for c in (1e18, 1e19, 1e20, 1e21):
        n_opt = LAW.compute_optimal(c)[0]
        for n in n_opt * np.logspace(-1e-7, 1e-7, 8).repeat(2) * np.r_[1.0, 1.0 + 1e-9].repeat(8):
            rows.append((n, c, LAW.loss(n, c / (6 * n)) * np.exp(rng.normal(0, 1e-3))))
    for c in (1e18, 1e19, 1e20, 1e21):  # and well-spread sizes, so that the point fit exists
        for n in LAW.compute_optimal(c)[0] * np.logspace(-0.8, 0.8, 7):
            rows.append((n, c, LAW.loss(n, c / (6 * n))))
    n, c, l = map(np.array, zip(*rows, strict=True))
    boot = fitting.bootstrap_isoflop(n, c, l, n_resamples=200, seed=0)
    assert 0 < boot.n_used <= 200 and boot.n_resamples == 200


def test_an_interval_that_excludes_its_estimate_says_why():
    boot = fitting.Bootstrap(
        point={"a": 0.4691}, samples=pd.DataFrame({"a": np.linspace(0.4699, 0.4731, 24)}), n_resamples=100, seed=0
    )
    assert boot.n_used == 24
    assert "excludes its estimate 0.4691" in boot.interval_note("a", 0.5)
    assert "rests on" in boot.interval_note("a", 0.8)  # 2.4 resamples beyond each end
    ok = fitting.Bootstrap(
        point={"a": 0.5}, samples=pd.DataFrame({"a": np.linspace(0.4, 0.6, 200)}), n_resamples=200, seed=0
    )
    assert ok.interval_note("a", 0.8) is None


# ------------------------------------------------------------------ size: chunked starts and resamples


def test_chunked_and_unchunked_starts_give_the_same_optimum_on_20k_rows(monkeypatch):
    df = noisy_runs(20_000)
    grid = fitting.default_grid()[::10]  # 450 starts: the unchunked run fits in a test's memory
    chunked = fitting.fit_chinchilla(df["N"], df["D"], df["loss"], grid=grid)
    assert parametric.CHUNK_ELEMENTS // 20_000 < grid.shape[0]  # it was chunked
    monkeypatch.setattr(parametric, "CHUNK_ELEMENTS", 10**12)
    whole = fitting.fit_chinchilla(df["N"], df["D"], df["loss"], grid=grid)
    assert chunked.theta == pytest.approx(whole.theta, rel=1e-10)
    assert chunked.objective == pytest.approx(whole.objective, rel=1e-12) and chunked.converged


def test_chunked_resamples_are_the_same_resamples(monkeypatch):
    from scaling_utils.fitting import bootstrap

    df = noisy_runs(2_000)
    fit = fitting.fit_chinchilla(df["N"], df["D"], df["loss"])
    monkeypatch.setattr(bootstrap, "CHUNK_ELEMENTS", 7 * 2_000)  # 7 resamples at a time
    small = fitting.bootstrap_chinchilla(df["N"], df["D"], df["loss"], n_resamples=30, fit=fit)
    monkeypatch.setattr(bootstrap, "CHUNK_ELEMENTS", 10**12)
    whole = fitting.bootstrap_chinchilla(df["N"], df["D"], df["loss"], n_resamples=30, fit=fit)
    pd.testing.assert_frame_equal(small.samples, whole.samples, rtol=1e-10)


def test_approach_3_on_20k_rows_runs_under_a_2gb_address_space(tmp_path):
    """Unchunked, 4,500 starts x 20k rows is 720 MB per array; chunked it stays under 2 GB."""
    csv = tmp_path / "runs.csv"
    noisy_runs(20_000).to_csv(csv, index=False)
    child = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))\n"
        "from scaling_utils.cli import main\n"
        f"sys.exit(main(['fit', {str(csv)!r}, '--approach', '3', '--resamples', '10']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "approach 3" in res.stdout or "\n3 " in res.stdout


def test_inference_optimum_of_an_extreme_law_is_an_error():
    from scaling_utils.laws import inference_optimal

    law = ChinchillaLaw(E=1.7, A=1.0, B=1.0, alpha=0.01, beta=0.01)
    with pytest.raises(ValueError, match="needs more than exp\\(700\\) parameters"):
        inference_optimal(law, 1.70001, 1e12)
