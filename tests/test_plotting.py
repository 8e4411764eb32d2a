"""Each figure function draws what its caption says."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_utils import plotting
from scaling_utils.laws import BESIROGLU_2024, HOFFMANN_2022_UNROUNDED, KAPLAN_2020


def test_kaplan_power_laws_draws_the_published_curves():
    fig = plotting.kaplan_power_laws()
    axes = fig.get_axes()
    assert len(axes) == 3
    # The N panel's curve is exactly the published law.
    line = axes[2].get_lines()[0]
    x, y = line.get_data()
    np.testing.assert_allclose(y, KAPLAN_2020.loss_n(x))
    assert axes[2].get_xscale() == "log"
    # The compute panel also shows the Figure 1 label's constant.
    assert len(axes[0].get_lines()) == 2


def test_chinchilla_contours_marks_each_optimum():
    laws = [HOFFMANN_2022_UNROUNDED, BESIROGLU_2024]
    fig = plotting.chinchilla_contours(laws, budgets=(1e20, 1e22))
    axes = [a for a in fig.get_axes() if a.get_label() != "<colorbar>"]
    assert len(axes) == 4
    # The frontier line on the left panel is N_opt(C).
    frontier = axes[0].get_lines()[0]
    c, n = frontier.get_data()
    np.testing.assert_allclose(n, HOFFMANN_2022_UNROUNDED.compute_optimal(c)[0])
    # The star sits at the projected optimum for Gopher's budget.
    star = next(ln for ln in axes[0].get_lines() if ln.get_marker() == "*")
    assert star.get_ydata()[0] == pytest.approx(HOFFMANN_2022_UNROUNDED.compute_optimal(5.76e23)[0])


def test_chinchilla_contours_rejects_bad_input():
    with pytest.raises(ValueError, match="laws must hold at least one"):
        plotting.chinchilla_contours([])
    with pytest.raises(ValueError, match="highlight_flops must be finite and > 0"):
        plotting.chinchilla_contours([BESIROGLU_2024], highlight_flops=-1.0)


def test_latex_sci():
    assert plotting.latex_sci(3.1e8) == r"3.1\times10^{8}"
