"""The committed results of the book's own training runs load, validate and make sense."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scaling_utils.results import SWEEPS, load_sweep_results
from tests.conftest import ROOT

FOLDER = ROOT / "data" / "experiments"


@pytest.mark.parametrize("sweep", [*SWEEPS, "lr_tune", "lr_pilot"])
def test_committed_sweep_is_complete_and_valid(sweep):
    df = load_sweep_results(sweep, FOLDER)
    meta = json.loads((FOLDER / f"{sweep}.meta.json").read_text())
    assert df["run_id"].nunique() == meta["n_runs"]
    assert meta["code_commit"] != "unknown"
    # Every run was evaluated on every distribution of its sweep at every checkpoint.
    per = df.groupby(["run_id", "step"])["distribution"].nunique()
    assert (per == len(meta["config"].get("eval_dists", ["train"]))).all()


def test_final_loss_falls_with_model_size():
    df = load_sweep_results("size", FOLDER)
    final = df[(df["step"] == df.groupby("run_id")["step"].transform("max")) & (df["distribution"] == "train")]
    loss = final.sort_values("params_nonembedding")["loss"].to_numpy()
    assert np.all(np.diff(loss) < 0)


def test_every_isoflop_budget_has_an_interior_minimum():
    from scaling_utils import fitting, measured

    fin = measured.final_train(load_sweep_results("isoflop", FOLDER))
    for budget, g in fin.groupby("budget_flops"):
        g = g.sort_values("params_nonembedding")
        k = int(np.argmin(g["loss"].to_numpy()))
        assert 0 < k < len(g) - 1, f"budget {budget:g}: lowest loss at the edge of the sampled sizes"
    # And the parabola fitted around each minimum has its vertex inside the sizes it was fitted to.
    minima = fitting.isoflop_minima(fin["params_nonembedding"], fin["budget_flops"], fin["loss"], window=5)
    assert not minima["at_edge"].any()
