"""The batched L-BFGS on problems with known minima, each stopping on its own."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_utils.fitting._lbfgs import minimize_batch


def _quadratics(centres, scales):
    """f_i(x) = sum_j scales[i, j] (x_j - centres[i, j])^2, minimum 0 at centres[i]."""

    def fun_grad(x, rows):
        diff = x - centres[rows]
        return np.sum(scales[rows] * diff**2, axis=1), 2.0 * scales[rows] * diff

    return fun_grad


def _rosenbrock(a):
    """f_i(x, y) = (a_i - x)^2 + 100 (y - x^2)^2, minimum 0 at (a_i, a_i^2)."""

    def fun_grad(x, rows):
        u, v = x[:, 0], x[:, 1]
        ai = a[rows]
        f = (ai - u) ** 2 + 100.0 * (v - u**2) ** 2
        g = np.stack([-2.0 * (ai - u) - 400.0 * u * (v - u**2), 200.0 * (v - u**2)], axis=1)
        return f, g

    return fun_grad


def test_a_batch_of_quadratics_reaches_each_minimum():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, 5))
    scales = np.exp(rng.uniform(-3, 3, size=(50, 5)))  # condition numbers up to e^6 ~ 400
    res = minimize_batch(_quadratics(centres, scales), np.zeros((50, 5)), gtol=1e-10)
    assert res.converged.all()
    # |grad| <= 1e-10 with curvature >= 2 e^-3 bounds the error by ~1e-8.
    np.testing.assert_allclose(res.x, centres, atol=1e-7)
    assert np.all(res.fun < 1e-14)


def test_rosenbrock_problems_from_different_starts():
    a = np.array([1.0, 0.5, -1.0, 2.0])
    x0 = np.array([[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0], [-1.0, 3.0]])
    res = minimize_batch(_rosenbrock(a), x0, max_iter=2000, gtol=1e-9)
    assert res.converged.all()
    np.testing.assert_allclose(res.x, np.stack([a, a**2], axis=1), atol=1e-5)


def test_problems_stop_independently():
    # An easy problem (already at its minimum) and a hard one: the easy one takes no
    # iteration, the hard one keeps going without moving the easy one.
    centres = np.array([[1.0, 2.0], [3.0, -1.0]])
    scales = np.array([[1.0, 1.0], [1e3, 1e-3]])
    x0 = np.array([[1.0, 2.0], [0.0, 0.0]])
    res = minimize_batch(_quadratics(centres, scales), x0, gtol=1e-10)
    assert res.n_iter[0] == 0 and res.n_iter[1] > 1
    np.testing.assert_array_equal(res.x[0], centres[0])
    np.testing.assert_allclose(res.x[1], centres[1], atol=1e-6)


def test_a_row_whose_objective_is_not_finite_stops_unconverged():
    # Row 1 has a finite start but NaN everywhere else (a barrier the line search cannot
    # cross); it must stop where it is, flagged unconverged, and not spoil row 0.
    def fun_grad(x, rows):
        f = np.sum((x - 1.0) ** 2, axis=1)
        g = 2.0 * (x - 1.0)
        blocked = (rows == 1) & ~np.all(x == 0.0, axis=1)
        f = np.where(blocked, np.nan, f)
        return f, g

    res = minimize_batch(fun_grad, np.zeros((2, 3)), gtol=1e-10)
    assert bool(res.converged[0]) and not bool(res.converged[1])
    np.testing.assert_allclose(res.x[0], 1.0, atol=1e-8)
    np.testing.assert_array_equal(res.x[1], 0.0)


def test_max_iter_leaves_a_problem_unconverged():
    res = minimize_batch(_rosenbrock(np.array([1.0])), np.array([[-1.2, 1.0]]), max_iter=3)
    assert not res.converged[0] and res.n_iter[0] == 3


@pytest.mark.parametrize("memory", [1, 3, 10])
def test_any_history_length_converges_on_a_quadratic(memory):
    centres = np.array([[2.0, -3.0, 0.5]])
    scales = np.array([[1.0, 10.0, 100.0]])
    res = minimize_batch(_quadratics(centres, scales), np.zeros((1, 3)), memory=memory, max_iter=5000)
    assert res.converged[0]
    np.testing.assert_allclose(res.x[0], centres[0], atol=1e-6)
