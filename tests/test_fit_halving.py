"""fit_chinchilla's fast methods (variable projection, the default, and successive halving) find the
optimum the full 4,500-start grid finds."""

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


def _own(sweep="isoflop"):
    fin = measured.final_train(load_sweep_results(sweep, ROOT / "data" / "experiments"))
    return fin["params_nonembedding"].to_numpy(), fin["tokens"].to_numpy(), fin["loss"].to_numpy()


CASES = {
    "epoch": lambda: _epoch(),
    "epoch-noisy-1": lambda: _epoch(1),
    "epoch-noisy-2": lambda: _epoch(2),
    "book-synthetic": lambda: _synthetic(HOFFMANN_2022_UNROUNDED, 0.01, 0),
    "synthetic-noisy-7": lambda: _synthetic(BESIROGLU_2024, 0.03, 7),
    "book-own-isoflop": _own,
    "book-own-chinchilla-isoflop": lambda: _own("chinchilla_isoflop"),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_methods_return_the_full_grids_optimum(case):
    n, d, loss = CASES[case]()
    full = fitting.fit_chinchilla(n, d, loss, method="grid", halving=False)
    halving = fitting.fit_chinchilla(n, d, loss, method="grid")
    varpro = fitting.fit_chinchilla(n, d, loss)
    assert halving.survivors[0] == 4500 and halving.survivors[1:3] == (450, 45)
    assert varpro.n_starts <= fitting.varpro.N_STARTS
    for fast in (halving, varpro):
        # The same optimum: objectives equal to 1e-6 relative (the fast one may be lower).
        assert fast.objective <= full.objective * (1 + 1e-6) + 1e-15
        assert full.objective <= fast.objective * (1 + 1e-6) + 1e-15
        # alpha, beta to 1e-3: on the book's own isoflop sweep E runs to ~0 and the optimum is
        # flat along the exponents, so equal objectives allow exponents a few 1e-4 apart.
        np.testing.assert_allclose(fast.theta[3:], full.theta[3:], rtol=1e-3)
        assert fast.converged == full.converged


def test_unconverged_bootstrap_resamples_are_counted_and_dropped():
    n, d, loss = _synthetic(HOFFMANN_2022_UNROUNDED, 0.01, 0)
    fit = fitting.fit_chinchilla(n, d, loss)
    full = fitting.bootstrap_chinchilla(n, d, loss, n_resamples=200, fit=fit)
    assert full.n_unconverged == 0 and len(full.samples) == 200
    cut = fitting.bootstrap_chinchilla(n, d, loss, n_resamples=200, fit=fit, max_iter=1)
    assert cut.n_unconverged > 0
    assert len(cut.samples) == 200 - cut.n_unconverged


@pytest.mark.parametrize("case", ["epoch-noisy-1", "synthetic-noisy-7"])
def test_bootstrap_newton_steps_reach_each_resamples_optimum(case):
    """The bootstrap's batched Newton refits end where L-BFGS (the fit's own optimiser) ends, per resample."""
    from scaling_utils.fitting import bootstrap
    from scaling_utils.fitting._lbfgs import minimize_batch
    from scaling_utils.fitting._newton import huber_fgh, newton_batch
    from scaling_utils.fitting.parametric import _make_fun_grad
    from scaling_utils.fitting.varpro import to_centred

    n, d, loss = CASES[case]()
    fit = fitting.fit_chinchilla(n, d, loss)
    u, v, ln_l = np.log(n) - np.log(n).mean(), np.log(d) - np.log(d).mean(), np.log(loss)
    counts = np.random.default_rng(3).multinomial(n.size, np.full(n.size, 1 / n.size), size=64).astype(float)
    x0 = np.tile(to_centred(np.asarray(fit.theta), np.log(n).mean(), np.log(d).mean()), (64, 1))
    lbfgs = minimize_batch(_make_fun_grad(u, v, ln_l, 1e-3, weights=counts), x0, max_iter=5000)
    newton = newton_batch(u, v, ln_l, 1e-3, counts, x0, max_iter=bootstrap.NEWTON_STEPS)
    both = bootstrap._refit(u, v, ln_l, 1e-3, counts, x0[0], 5000)  # Newton, then L-BFGS for what is left
    assert lbfgs.converged.all() and both.converged.all()
    # Objectives (scaled by 1/delta, about 1 here) equal to 1e-9 relative: the same optimum.
    np.testing.assert_allclose(both.fun, lbfgs.fun, rtol=1e-9)
    np.testing.assert_allclose(both.x[:, 3:], lbfgs.x[:, 3:], atol=1e-3)  # alpha, beta
    # Newton alone converges most resamples (all 64 on Epoch's points, 52 of 64 on the noisier
    # 54-run synthetic sweep, where some resamples run E to 0 along a flat valley), in fewer steps.
    assert newton.converged.mean() >= 0.75
    assert np.median(newton.n_iter) < np.median(lbfgs.n_iter)
    # The Hessian is the derivative of the gradient (central differences, 1e-6 steps).
    _, _, h = huber_fgh(x0[:2] + 0.01, u, v, ln_l, 1.0, counts[:2])
    num = np.stack(
        [
            (
                huber_fgh(x0[:2] + 0.01 + e, u, v, ln_l, 1.0, counts[:2])[1]
                - huber_fgh(x0[:2] + 0.01 - e, u, v, ln_l, 1.0, counts[:2])[1]
            )
            / 2e-6
            for e in np.eye(5) * 1e-6
        ],
        axis=2,
    )
    np.testing.assert_allclose(h, num, rtol=1e-5, atol=1e-6 * np.abs(h).max())
