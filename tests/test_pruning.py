"""The teacher-student perceptron of Sorscher et al. (2022): solver, phenomena, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaling_utils.simulations.pruning import PruningError, learning_curves, max_margin_student, pruned_error, slope_fit


def test_max_margin_student_is_the_exact_hard_margin_solution():
    rng = np.random.default_rng(3)
    teacher = rng.standard_normal(20)
    x = rng.standard_normal((200, 20))
    z = np.sign(x @ teacher)[:, None] * x
    w = max_margin_student(z)
    margins = z @ w
    assert margins.min() == pytest.approx(1.0, abs=1e-9)
    # Optimality: the support vectors (margin 1) span w with non-negative weights (KKT).
    sv = np.isclose(margins, 1.0, atol=1e-7)
    coef, *_ = np.linalg.lstsq(z[sv].T, w, rcond=None)
    assert np.all(coef > -1e-8)
    np.testing.assert_allclose(z[sv].T @ coef, w, atol=1e-8)


def test_max_margin_student_refuses_inseparable_data():
    z = np.array([[1.0, 0.0], [-1.0, 0.0]])  # y x and -y x: no w has both margins positive
    with pytest.raises(PruningError, match="not linearly separable"):
        max_margin_student(z)
    with pytest.raises(PruningError, match="z must be"):
        max_margin_student(np.array([1.0, np.nan]))


@pytest.mark.parametrize("seed", [0, 1])
def test_unpruned_learning_curve_has_slope_minus_one(seed):
    # A max-margin student's error falls as ~0.5/alpha at large alpha (Gardner-type
    # asymptote, Sorscher et al. section 2). Fit over alpha = 8 ... 64 at d = 50, 8 draws each;
    # at smaller alpha the curve is still bending (alpha x error rises from 0.28 at 1 to ~0.45).
    c = learning_curves([8, 16, 32, 64], [1.0], d=50, reps=8, seed=seed)
    fit = slope_fit(c.alphas, c.errors[0])
    assert fit.interval[0] <= -1.0 <= fit.interval[1], fit
    assert fit.interval[1] - fit.interval[0] < 0.3  # informative, not just wide
    assert fit.alpha_range == (8.0, 64.0)


def test_keep_easy_when_scarce_keep_hard_when_abundant():
    easy = learning_curves([1.0, 32.0], [0.2], d=50, keep="easy", reps=6, seed=5).mean[0]
    hard = learning_curves([1.0, 32.0], [0.2], d=50, keep="hard", reps=6, seed=5).mean[0]
    full = learning_curves([1.0, 32.0], [1.0], d=50, reps=6, seed=5).mean[0]
    assert easy[0] < full[0] < hard[0]  # scarce: hard examples alone mislead the student
    assert hard[1] < 0.5 * full[1]  # abundant: keeping the hardest fifth halves the error
    assert hard[1] < easy[1]


def test_an_imperfect_metric_loses_the_advantage_at_large_alpha():
    perfect = learning_curves([64.0], [0.2], d=50, keep="hard", reps=6, seed=2).mean[0, 0]
    probe = learning_curves([64.0], [0.2], d=50, keep="hard", theta=30.0, reps=6, seed=2).mean[0, 0]
    assert probe > 2 * perfect


def test_learning_curves_are_seeded_and_cells_independent():
    a = learning_curves([2.0, 4.0], [1.0, 0.5], d=20, reps=2, seed=9)
    b = learning_curves([2.0, 4.0], [1.0, 0.5], d=20, reps=2, seed=9)
    np.testing.assert_array_equal(a.errors, b.errors)
    assert len(np.unique(a.errors)) == a.errors.size
    best, which = a.frontier()
    np.testing.assert_array_equal(best, a.mean.min(axis=0))
    assert which.shape == (2,)


def test_slope_fit_recovers_a_known_exponent_with_noise():
    rng = np.random.default_rng(0)
    al = np.geomspace(2, 200, 8)
    errors = 0.3 * al[:, None] ** -0.7 * np.exp(0.05 * rng.standard_normal((8, 10)))
    fit = slope_fit(al, errors)
    # 5% multiplicative noise averaged over 10 draws: slope error ~0.01; the interval covers.
    assert fit.slope == pytest.approx(-0.7, abs=0.03)
    assert fit.interval[0] <= -0.7 <= fit.interval[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": -1.0, "f": 1.0}, "alpha must be a finite number > 0"),
        ({"alpha": math.nan, "f": 1.0}, "alpha must be a finite number > 0"),
        ({"alpha": "many", "f": 1.0}, "alpha must be a finite number > 0"),
        ({"alpha": 2.0, "f": 0.0}, r"f must be in \(0, 1\]"),
        ({"alpha": 2.0, "f": 1.5}, r"f must be in \(0, 1\]"),
        ({"alpha": 2.0, "f": 1.0, "keep": "medium"}, "keep must be one of"),
        ({"alpha": 2.0, "f": 1.0, "theta": 90}, r"theta must be an angle in degrees in \[0, 90\)"),
        ({"alpha": 2.0, "f": 1.0, "d": 1}, "d must be an integer >= 2"),
        ({"alpha": 2.0, "f": 1.0, "seed": -1}, "seed must be an integer >= 0"),
    ],
)
def test_bad_input_names_the_argument(kwargs, message):
    with pytest.raises(PruningError, match=message):
        pruned_error(**kwargs)


def test_slope_fit_bad_input():
    with pytest.raises(PruningError, match="two distinct"):
        slope_fit([1.0, 1.0], [[0.1], [0.1]])
    with pytest.raises(PruningError, match="errors must have shape"):
        slope_fit([1.0, 2.0], [0.1, 0.05])
    with pytest.raises(PruningError, match="zero error"):
        slope_fit([1.0, 2.0], [[0.1], [0.0]])
    with pytest.raises(PruningError, match="alphas must be a non-empty"):
        learning_curves([], [1.0])
