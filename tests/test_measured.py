"""Analyses of the book's own runs, on the committed results and on small hand-made tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scaling_utils.analysis import measured, recount
from scaling_utils.analysis.results import load_sweep_results
from tests.conftest import ROOT

FOLDER = ROOT / "data" / "experiments"


def _toy(n_runs=3, steps=(1, 2, 4), dists=("train", "other")):
    rows = []
    for r in range(n_runs):
        n = 1000 * 4**r
        for s in steps:
            for d in dists:
                base = 3.0 * n**-0.05 * s**-0.1
                rows.append(
                    {
                        "run_id": f"r{r}",
                        "step": s,
                        "params_nonembedding": n,
                        "distribution": d,
                        "loss": base + (0.2 if d == "other" else 0.0),
                        "tokens": 100 * s,
                        "flops_6nd": 6.0 * n * 100 * s,
                    }
                )
    return pd.DataFrame(rows)


def test_final_keeps_the_last_checkpoint():
    fin = measured.final(_toy())
    assert set(fin["step"]) == {4}
    assert len(fin) == 6
    with pytest.raises(ValueError, match="at least one row"):
        measured.final(_toy().iloc[:0])


def test_transfer_table_recovers_a_constant_offset():
    t = measured.transfer_table(_toy())
    # "other" = train + 0.2 exactly: slope 1, intercept 0.2, zero residuals.
    assert t.loc["other", "slope_vs_train"] == pytest.approx(1.0)
    assert t.loc["other", "intercept"] == pytest.approx(0.2)
    assert t.loc["other", "offset_small"] == pytest.approx(0.2)
    assert t.loc["other", "rms_mid"] == pytest.approx(0.0, abs=1e-12)


def test_on_committed_results():
    size = load_sweep_results("size", FOLDER)
    t = measured.transfer_table(size)
    assert t.loc["train", "exponent"] < 0
    fr = measured.compute_frontier(size)
    assert fr.fit.exponent < 0 and fr.C_c > 0
    early = measured.early_stopped(load_sweep_results("data", FOLDER))
    assert early["loss"].is_monotonic_decreasing  # more data, lower early-stopped loss
    shape = measured.shape_effects(load_sweep_results("shape", FOLDER))
    assert set(shape["group"]) == {"aspect", "ff", "head"}
    assert shape["increase_pct"].min() == 0.0
    sched = measured.schedule_effects(load_sweep_results("lr_schedule", FOLDER))
    assert (sched["seeds"] == 2).all()
    curves, runs = recount.approach_inputs(size, load_sweep_results("isoflop", FOLDER))
    assert np.isclose(runs["N"] * runs["D"] * 6, runs["C"], rtol=0.05).all()
    assert set(curves.columns) == {"run", "N", "flops", "loss"}
    summary = measured.sweep_summary(FOLDER)
    assert {"size", "isoflop", "shape"} <= set(summary.index)
    # Finished runs, not planned ones; an assemble-only invocation has no wall time.
    for name, row in summary.iterrows():
        meta = json.loads((FOLDER / f"{name}.meta.json").read_text())
        assert row["runs"] == meta["n_runs"] - meta.get("n_missing", 0)
        assert row["complete"] == (meta.get("n_missing", 0) == 0)
        assert (row["wall_s"] > 0) if meta["wall_s_last_invocation"] else np.isnan(row["wall_s"])
