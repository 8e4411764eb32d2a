"""Beyond Chinchilla's allocation: the data-constrained law and the inference-aware optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaling_utils.laws import (
    HOFFMANN_2022_UNROUNDED,
    MUENNIGHOFF_2023,
    ChinchillaLaw,
    DataConstrainedLaw,
    inference_optimal,
)

M = MUENNIGHOFF_2023
BASE = ChinchillaLaw(E=M.E, A=M.A, B=M.B, alpha=M.alpha, beta=M.beta)
SARDANA = ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.336, beta=0.283)  # Sardana et al. 2024, Sec. 3


# ------------------------------------------------------------------ Muennighoff et al. 2023


def test_published_values_from_the_authors_readme():
    # huggingface/datablations README, "Parametric Fit": the two models of their Figure 1 (right).
    assert M.loss(6.34e9, 242e9, 25e9) == pytest.approx(2.2256440889984477, rel=1e-12)
    assert M.loss(8.67e9, 178e9, 25e9) == pytest.approx(2.2269634075087867, rel=1e-12)


def test_by_hand_at_two_points():
    # One epoch, a model smaller than U_N: the base law exactly.
    n, d = 1e8, 1e10
    assert M.loss(n, d, d) == pytest.approx(M.E + M.A / n**M.alpha + M.B / d**M.beta, rel=1e-12)
    # 4 epochs of 1e9 unique tokens, a model larger than U_N: both terms decay.
    u, d, n = 1e9, 4e9, 5e9
    r_d = d / u - 1
    d_eff = u + u * M.rd_star * (1 - math.exp(-r_d / M.rd_star))
    g = ((M.alpha * M.A) / (M.beta * M.B)) ** (1 / (M.alpha + M.beta))
    u_n = min(n, (u * g) ** (M.beta / M.alpha) * g)
    r_n = n / u_n - 1
    n_eff = u_n + u_n * M.rn_star * (1 - math.exp(-r_n / M.rn_star))
    assert u_n < n
    assert M.loss(n, d, u) == pytest.approx(M.E + M.A / n_eff**M.alpha + M.B / d_eff**M.beta, rel=1e-12)


def test_reduces_to_the_base_law_without_repetition():
    n = np.logspace(6, 9, 5)
    d = 20 * 1e9 * np.ones(5)
    u_n = M.optimal_params_for_tokens(d)
    assert (n <= u_n).all()
    np.testing.assert_allclose(M.loss(n, d, d), BASE.loss(n, d), rtol=1e-12)


def test_effective_data_saturates_and_four_epochs_are_nearly_new():
    u = 1e9
    assert M.effective_data(1e20, u) == pytest.approx(u * (1 + M.rd_star), rel=1e-9)
    assert M.effective_data(4 * u, u) / (4 * u) > 0.9  # "up to ~4 epochs is almost as good as new"
    assert M.effective_data(40 * u, u) / (40 * u) < 0.5
    # Unique tokens beyond the training tokens: the model saw only D distinct tokens.
    assert M.effective_data(1e9, 5e9) == pytest.approx(1e9)
    assert M.loss(1e8, 1e9, 5e9) == pytest.approx(M.loss(1e8, 1e9, 1e9), rel=1e-12)


def test_constrained_optimum_matches_the_authors_grid():
    n, d = M.compute_optimal(1e22, 25e9)  # README: 7.022e9 parameters, 237.3e9 tokens
    assert n == pytest.approx(7.022e9, rel=0.005) and d == pytest.approx(237.3e9, rel=0.005)
    # Plenty of unique data: the single-epoch Chinchilla optimum.
    n0, d0 = M.compute_optimal(1e22, 1e15)
    nb, db = BASE.compute_optimal(1e22)
    assert n0 == pytest.approx(nb, rel=1e-4) and d0 == pytest.approx(db, rel=1e-4)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: M.loss(-1, 1e9, 1e9), ValueError, "N"),
        (lambda: M.loss(1e8, np.nan, 1e9), ValueError, "D"),
        (lambda: M.loss(1e8, 1e9, 0), ValueError, "unique_tokens"),
        (lambda: M.loss(1e8, 1e9, "1e9"), TypeError, "unique_tokens"),
        (lambda: M.compute_optimal(-1e22, 1e9), ValueError, "C"),
        (lambda: DataConstrainedLaw(E=1, A=1, B=1, alpha=0.3, beta=0.3, rd_star=0, rn_star=5), ValueError, "rd_star"),
    ],
)
def test_data_constrained_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------ Sardana et al. 2024


@pytest.mark.parametrize("c", [1e20, 1e23, 1e25])
def test_no_inference_demand_is_the_chinchilla_optimum(c):
    law = HOFFMANN_2022_UNROUNDED
    n, d = law.compute_optimal(c)
    opt = inference_optimal(law, float(law.loss(n, d)), 0)  # zero inference tokens is valid
    assert opt.N == pytest.approx(n, rel=1e-6) and opt.D == pytest.approx(d, rel=1e-6)
    assert opt.inference_flops == 0


def test_flop_share_falls_and_models_shrink_as_demand_grows():
    loss = 1.947
    chin = inference_optimal(SARDANA, loss, 0)
    shares, sizes = [], []
    for demand in (1e10, 1e11, 1e12, 1e13, 1e14):
        opt = inference_optimal(SARDANA, loss, demand)
        assert SARDANA.loss(opt.N, opt.D) == pytest.approx(loss, rel=1e-9)
        same_loss_chinchilla_total = chin.training_flops + 2 * chin.N * demand
        shares.append(opt.total_flops / same_loss_chinchilla_total)
        sizes.append(opt.N)
    assert all(s <= 1 + 1e-12 for s in shares) and np.all(np.diff(shares) < 0)
    assert np.all(np.diff(sizes) < 0)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((SARDANA, 1.5, 0), ValueError, "irreducible"),
        ((SARDANA, -2.0, 0), ValueError, "loss"),
        ((SARDANA, 2.0, -1.0), ValueError, "inference_tokens"),
        ((SARDANA, 2.0, float("nan")), ValueError, "inference_tokens"),
        ((SARDANA, 2.0, "1e12"), TypeError, "inference_tokens"),
        (("law", 2.0, 0), TypeError, "law must be"),
    ],
)
def test_inference_bad_input(args, error, message):
    with pytest.raises(error, match=message):
        inference_optimal(*args)
