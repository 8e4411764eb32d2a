"""fit_chinchilla's successive halving finds the optimum the full 4,500-start grid finds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scaling_utils import fitting
from scaling_utils.analysis import measured
from scaling_utils.analysis.results import load_sweep_results
from scaling_utils.laws import BESIROGLU_2024, HOFFMANN_2022_UNROUNDED
from scaling_utils.simulations import synthetic
from tests.conftest import ROOT, SHARED

EPOCH_CSV = SHARED / "data" / "external" / "chinchilla_fig4_epoch_extracted.csv"


def _epoch(noise_seed: int | None = None):
    if not EPOCH_CSV.is_file():
        pytest.skip(f"third-party validation data absent: {EPOCH_CSV}")
    df = pd.read_csv(EPOCH_CSV).sort_values("loss").iloc[:-5]
    n = df["Model Size"].to_numpy()
    d = df["Training FLOP"].to_numpy() / (6 * n)
    loss = df["loss"].to_numpy()
    if noise_seed is not None:
        loss = loss * np.exp(np.random.default_rng(noise_seed).normal(0, 0.01, loss.size))
    return n, d, loss


def _synthetic(law, noise, seed):
    runs = synthetic.isoflop_runs(law, noise=noise, seed=seed)
    return runs["N"].to_numpy(), runs["D"].to_numpy(), runs["loss"].to_numpy()


def _own():
    fin = measured.final_train(load_sweep_results("isoflop", ROOT / "data" / "experiments"))
    return fin["params_nonembedding"].to_numpy(), fin["tokens"].to_numpy(), fin["loss"].to_numpy()


CASES = {
    "epoch": lambda: _epoch(),
    "epoch-noisy-1": lambda: _epoch(1),
    "epoch-noisy-2": lambda: _epoch(2),
    "book-synthetic": lambda: _synthetic(HOFFMANN_2022_UNROUNDED, 0.01, 0),
    "synthetic-noisy-7": lambda: _synthetic(BESIROGLU_2024, 0.03, 7),
    "book-own-isoflop": _own,
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_halving_returns_the_full_grids_optimum(case):
    n, d, loss = CASES[case]()
    fast = fitting.fit_chinchilla(n, d, loss)
    full = fitting.fit_chinchilla(n, d, loss, halving=False)
    # The same optimum: objectives equal to 1e-6 relative (the fast one may be lower).
    assert fast.objective <= full.objective * (1 + 1e-6) + 1e-15
    assert full.objective <= fast.objective * (1 + 1e-6) + 1e-15
    np.testing.assert_allclose(fast.theta[3:], full.theta[3:], rtol=1e-3)  # alpha, beta
    assert fast.survivors[0] == 4500 and fast.survivors[1:3] == (450, 45)
    assert fast.converged == full.converged


def test_unconverged_bootstrap_resamples_are_counted_and_dropped():
    n, d, loss = _synthetic(HOFFMANN_2022_UNROUNDED, 0.01, 0)
    fit = fitting.fit_chinchilla(n, d, loss)
    full = fitting.bootstrap_chinchilla(n, d, loss, n_resamples=200, fit=fit)
    assert full.n_unconverged == 0 and len(full.samples) == 200
    cut = fitting.bootstrap_chinchilla(n, d, loss, n_resamples=200, fit=fit, max_iter=1)
    assert cut.n_unconverged > 0
    assert len(cut.samples) == 200 - cut.n_unconverged
