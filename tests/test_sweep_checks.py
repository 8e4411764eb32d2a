"""A sweep against a rerun of some budgets: the comparison uses complete budgets only."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_utils.analysis import isoflop, sweep_checks
from tests.test_isoflop import _sweep


def _runs(**kw):
    return isoflop.final_runs(_sweep(**kw), "head")


def test_an_identical_rerun_changes_nothing():
    ref = _runs(noise=0.002, seed=0)
    upper = ref[ref["group"] >= 8e12]
    est, vert = sweep_checks.compare_settings(ref, upper)
    assert list(est.index) == ["reference", "check"]
    np.testing.assert_allclose(est.loc["check", ["a1", "a2", "a3"]], est.loc["reference", ["a1", "a2", "a3"]])
    assert vert["swapped"].tolist() == [False, False, False, True, True]
    np.testing.assert_allclose(vert["N_opt_check"], vert["N_opt_reference"])


def test_a_rerun_with_larger_vertices_raises_a():
    """Upper budgets rerun where every loss favours larger models: the vertex moves up, so does a."""
    ref = _runs(noise=0.0)
    upper = ref[ref["group"] >= 8e12].copy()
    upper["loss"] = upper["loss"] - 0.02 * np.log(upper["N"] / upper["N"].min())
    est, vert = sweep_checks.compare_settings(ref, upper)
    moved = vert[vert["swapped"]]
    assert (moved["N_opt_check"] > moved["N_opt_reference"]).all()
    assert est.loc["check", "a2"] > est.loc["reference", "a2"] + 0.05


def test_only_complete_budgets_are_swapped_and_compared():
    ref = _runs(noise=0.002)
    upper = ref[ref["group"] >= 8e12]
    partial = upper.drop(index=upper.index[upper["group"] == 1.6e13][:1])  # one size missing
    assert sweep_checks.complete_groups(ref, partial) == [8e12]
    est, vert = sweep_checks.compare_settings(ref, partial)
    # Both sides stop at the largest complete budget of the check.
    assert est["budgets"].tolist() == [4, 4] and vert["group"].max() == 8e12
    with pytest.raises(ValueError, match="no budget has every size"):
        sweep_checks.swap_groups(ref, partial[partial["group"] == 1.6e13])
    with pytest.raises(ValueError, match="check: missing columns"):
        sweep_checks.complete_groups(ref, partial.drop(columns="seed"))


def test_committed_batch_check_raises_a_as_the_chapter_says():
    """The Chinchilla chapter reads chinchilla_isoflop_batch16 as 'holding the batch raises a'.

    If the finished sweep (or a rerun) says otherwise, this fails and the prose must change.
    """
    from scaling_utils.analysis.results import load_sweep_results
    from tests.conftest import ROOT

    folder = ROOT / "data" / "experiments"
    ref = isoflop.final_runs(load_sweep_results("chinchilla_isoflop", folder), "head")
    chk = isoflop.final_runs(load_sweep_results("chinchilla_isoflop_batch16", folder), "head")
    assert 8e12 in sweep_checks.complete_groups(ref, chk)
    est, vert = sweep_checks.compare_settings(ref, chk)
    assert (est.loc["check", ["a1", "a2", "a3"]] > est.loc["reference", ["a1", "a2", "a3"]]).all(), est
    moved = vert[vert["swapped"]]
    assert (moved["N_opt_check"] > moved["N_opt_reference"]).all()
    assert (moved["loss_check"] < moved["loss_reference"]).all()


def test_vertices_by_setting_keeps_common_budgets_and_gives_local_exponents():
    ref = _runs(noise=0.0)
    shifted = ref.assign(loss=ref["loss"] - 0.02 * np.log(ref["N"] / ref["N"].min()))
    table = sweep_checks.vertices_by_setting({"law": ref, "tilted": shifted[shifted["group"] <= 4e12]})
    assert set(table["group"]) == {1e12, 2e12, 4e12} and table["setting"].tolist()[:3] == ["law"] * 3
    law, tilted = (table[table["setting"] == k].reset_index() for k in ("law", "tilted"))
    assert (tilted["N_opt"] > law["N_opt"]).all() and np.isnan(law["slope"].iloc[0])
    # Local exponents of the noiseless a = 0.5 law over factors of 2 (see test_isoflop).
    np.testing.assert_allclose(law["slope"].iloc[1:], 0.5, atol=0.05)
    with pytest.raises(ValueError, match="no budget common"):
        sweep_checks.vertices_by_setting({"a": ref[ref["group"] == 1e12], "b": ref[ref["group"] == 2e12]})


def test_committed_batch8_check_finds_a_best_batch_per_budget():
    """What the chapter reads off chinchilla_isoflop_batch8: batch 8 helps the small budget,
    not the large one, and with each budget at its best batch the exponent falls below the
    batch-16 one."""
    from scaling_utils.analysis.results import load_sweep_results
    from tests.conftest import ROOT

    folder = ROOT / "data" / "experiments"
    ref = isoflop.final_runs(load_sweep_results("chinchilla_isoflop", folder), "head")
    b16 = isoflop.final_runs(load_sweep_results("chinchilla_isoflop_batch16", folder), "head")
    b8 = isoflop.final_runs(load_sweep_results("chinchilla_isoflop_batch8", folder), "head")
    table = sweep_checks.vertices_by_setting({"16": sweep_checks.swap_groups(ref, b16), "8": b8})
    wide = table.pivot(index="group", columns="setting")
    assert list(wide.index) == [1e12, 8e12]
    assert wide.loc[1e12, ("loss_min", "8")] < wide.loc[1e12, ("loss_min", "16")]
    assert wide.loc[8e12, ("loss_min", "8")] > wide.loc[8e12, ("loss_min", "16")]
    best = np.log(wide.loc[8e12, ("N_opt", "16")] / wide.loc[1e12, ("N_opt", "8")]) / np.log(8)
    assert best < wide.loc[8e12, ("slope", "16")] - 0.1
