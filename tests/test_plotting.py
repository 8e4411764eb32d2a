"""Each figure function draws what its caption says."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from scaling_utils.laws import BESIROGLU_2024, HOFFMANN_2022_UNROUNDED, KAPLAN_2020
from scaling_utils.report import figures


def test_kaplan_power_laws_draws_the_published_curves():
    fig = figures.kaplan.kaplan_power_laws()
    axes = [a for a in fig.get_axes() if a.axison]  # the fourth cell holds the legend
    assert len(axes) == 3
    assert fig.get_size_inches()[0] <= figures.style.MAX_WIDTH_IN
    # The N panel's curve is exactly the published law.
    line = axes[2].get_lines()[0]
    x, y = line.get_data()
    np.testing.assert_allclose(y, KAPLAN_2020.loss_n(x))
    assert axes[2].get_xscale() == "log"
    # The compute panel also shows the Figure 1 label's constant.
    assert len(axes[0].get_lines()) == 2


def test_chinchilla_contours_marks_each_optimum():
    laws = [HOFFMANN_2022_UNROUNDED, BESIROGLU_2024]
    fig = figures.chinchilla.chinchilla_contours(laws, budgets=(1e20, 1e22))
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
        figures.chinchilla.chinchilla_contours([])
    with pytest.raises(ValueError, match="highlight_flops must be finite and > 0"):
        figures.chinchilla.chinchilla_contours([BESIROGLU_2024], highlight_flops=-1.0)


def test_latex_sci():
    assert figures.style.latex_sci(3.1e8) == r"3.1\times10^{8}"


def test_book_style_keeps_interactive_mode_set_inside():
    # Jupyter's inline backend switches interactive mode on when the first figure is made;
    # leaving the style context must not switch it off again (later figures would vanish).
    import matplotlib as mpl

    before = mpl.is_interactive()
    try:
        mpl.interactive(False)
        with figures.style.book_style():
            mpl.interactive(True)
        assert mpl.is_interactive()
    finally:
        mpl.interactive(before)


def _title_overlaps(fig, gap_in=0.5):
    """Pairs of panel titles closer than ``gap_in`` inches (at the figure's own size).

    Read as one line, two titles with less than about half an inch between them (two or
    three characters at the book's width) run together: one title of the Chinchilla
    figure once ended 0.2 in before the next began and rendered as "(our runs)(b) ...".
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    pad = gap_in * fig.dpi / 2
    boxes = [
        (ax.get_title(), ax.title.get_window_extent(renderer).expanded(1, 1).padded(pad))
        for ax in fig.get_axes()
        if ax.get_title()
    ]
    return [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1 :] if box_a.overlaps(box_b)]


def test_approaches_and_interval_width_figures():
    from scaling_utils import fitting
    from scaling_utils.laws import HOFFMANN_2022
    from scaling_utils.simulations import synthetic

    runs = synthetic.isoflop_runs(HOFFMANN_2022, noise=0.0)
    curves = synthetic.training_curves(HOFFMANN_2022, noise=0.0)
    f1 = fitting.fit_envelope(curves["N"], curves["flops"], curves["loss"], run=curves["run"])
    f2 = fitting.fit_isoflop(runs["N"], runs["C"], runs["loss"])
    f3 = fitting.fit_chinchilla(runs["N"], runs["D"], runs["loss"], grid=fitting.default_grid()[::50])
    fig = figures.chinchilla.chinchilla_approaches(curves, runs, f1, f2, f3, HOFFMANN_2022, label="our runs")
    assert len([a for a in fig.get_axes() if a.axison]) == 3
    assert _title_overlaps(fig) == []
    import pandas as pd

    study = pd.DataFrame({"n_runs": [30, 120, 480], "width": [0.08, 0.04, 0.02], "level": 0.8})
    fig = figures.chinchilla.interval_width(study, 0.001)
    assert "80%" in fig.get_axes()[0].get_ylabel()


# ------------------------------------------------------------------ figures of the book's own runs


def _committed(sweep):
    from scaling_utils.analysis.results import load_sweep_results
    from tests.conftest import ROOT

    return load_sweep_results(sweep, ROOT / "data" / "experiments")


def test_generalization_offset_draws_three_panels_from_the_size_sweep():
    from scaling_utils.analysis import measured
    from scaling_utils.report import figures

    size = _committed("size")
    fig = figures.generalization.generalization_offset(measured.transfer(size))
    axes = [a for a in fig.get_axes() if a.axison]
    assert len(axes) == 3
    # Panel (b) holds only English prose not in the training mix (plus the equal-loss line).
    labels_b = {t.get_text() for t in axes[1].get_legend().get_texts()}
    names = figures.generalization.DISTRIBUTION_NAMES
    assert labels_b - {"equal loss"} <= {names.get(d, d) for d in measured.ENGLISH_HELD_OUT}
    assert not labels_b & {"code", "spanish", names["code"], names["spanish"]}
    assert _title_overlaps(fig) == []
    plt.close(fig)


def test_kaplan_measured_draws_the_fits_it_is_given():
    from scaling_utils.analysis import measured
    from scaling_utils.report import figures

    runs = measured.kaplan_runs(_committed("size"), _committed("data"))
    fit_d, fit_n = runs.fit_d, runs.fit_n
    fig = figures.kaplan.kaplan_measured(runs)
    texts = [t.get_text() for ax in fig.get_axes() if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any(f"{fit_d.exponent:.3f}" in t for t in texts)
    assert any(f"{fit_n.exponent:.3f}" in t for t in texts)
    plt.close(fig)


def test_shape_and_schedule_figures():
    from scaling_utils.analysis import measured
    from scaling_utils.report import figures

    fig = figures.kaplan.shape_effects(measured.shape_effects(_committed("shape")))
    assert len([a for a in fig.get_axes() if a.axison]) == 3
    assert _title_overlaps(fig) == []
    plt.close(fig)
    effects = measured.schedule_effects(_committed("lr_schedule"))
    fig = figures.kaplan.lr_schedules(effects, steps=50)
    assert len(fig.get_axes()[0].get_lines()) == len(effects)
    plt.close(fig)


def test_every_book_figure_is_capped_so_its_type_reads_at_caption_size():
    """At the book's 768 px column, 13 pt in a figure at most MAX_WIDTH_IN wide is >= 16 px."""
    import matplotlib as mpl

    column_px, caption_px = 768, 16
    with figures.style.book_style():
        smallest_pt = min(
            mpl.rcParams[k] for k in ("font.size", "axes.labelsize", "xtick.labelsize", "ytick.labelsize")
        )
        fig = plt.figure(figsize=(12, 3))
    rendered = smallest_pt * column_px / (72 * fig.get_size_inches()[0])
    plt.close(fig)
    assert fig.get_size_inches()[0] == figures.style.MAX_WIDTH_IN
    assert rendered >= caption_px


def test_objective_profile_keeps_its_legend_off_the_panels():
    import pandas as pd

    from scaling_utils.report import figures

    profile = pd.DataFrame({"E": [0.5, 1.0, 1.5], "objective": [2e-3, 1e-3, 3e-3], "a": [0.7, 0.6, 0.5]})
    fig = figures.chinchilla.objective_profile(profile, free_E=0.9, min_loss=1.4)
    assert _title_overlaps(fig) == []
    left, right = fig.get_axes()
    assert left.get_legend() is None and right.get_legend() is None
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["free fit, E = 0.90", "lowest observed loss 1.40"]
    # Both panels mark the free fit and the lowest loss, as the caption says.
    assert len(left.get_lines()) == len(right.get_lines()) == 3
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert all(box.y1 <= ax.get_window_extent().y0 for ax in (left, right))
    plt.close(fig)
