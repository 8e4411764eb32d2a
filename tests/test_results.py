"""The committed results of the book's own training runs load, validate and make sense."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from scaling_utils.analysis.results import SWEEPS, load_sweep_results
from tests.conftest import ROOT

FOLDER = ROOT / "data" / "experiments"


STILL_RUNNING: set[str] = set()  # sweeps committed while still running (none now)


@pytest.mark.parametrize("sweep", [*SWEEPS, "lr_tune", "lr_pilot"])
def test_committed_sweep_is_complete_and_valid(sweep):
    df = load_sweep_results(sweep, FOLDER)
    meta = json.loads((FOLDER / f"{sweep}.meta.json").read_text())
    # A sweep still running is committed with the runs that finished; its meta says how many
    # are missing. Only the sweeps named here may be partial.
    missing = meta.get("n_missing", 0)
    assert missing == 0 or sweep in STILL_RUNNING, f"{sweep}: {missing} runs missing"
    assert df["run_id"].nunique() == meta["n_runs"] - missing
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
    from scaling_utils import fitting
    from scaling_utils.analysis import measured

    fin = measured.final_train(load_sweep_results("isoflop", FOLDER))
    for budget, g in fin.groupby("budget_flops"):
        g = g.sort_values("params_nonembedding")
        k = int(np.argmin(g["loss"].to_numpy()))
        assert 0 < k < len(g) - 1, f"budget {budget:g}: lowest loss at the edge of the sampled sizes"
    # And the parabola fitted around each minimum has its vertex inside the sizes it was fitted to.
    minima = fitting.isoflop_minima(fin["params_nonembedding"], fin["budget_flops"], fin["loss"], window=5)
    assert not minima["at_edge"].any()


def test_chinchilla_isoflop_meets_its_step_and_interior_criteria():
    from scaling_utils import fitting
    from scaling_utils.analysis import isoflop

    runs = isoflop.final_runs(load_sweep_results("chinchilla_isoflop", FOLDER), "head")
    assert runs["group"].nunique() >= 5 and np.log10(runs["group"].max() / runs["group"].min()) >= 1.2
    assert (runs["steps"] >= 500).all()  # every run long enough to be limited by capacity or data
    seed0 = runs[runs["seed"] == 0]
    best = seed0.loc[seed0.groupby("group")["loss"].idxmin()]
    assert (best["steps"] >= 1500).all()
    minima = fitting.isoflop_minima(runs["N"], runs["group"], runs["loss"], window=5)
    for _, m in minima.iterrows():
        sizes = seed0.loc[seed0["group"] == m["C"], "N"]
        # An interior vertex with at least two sizes on each side.
        assert not m["at_edge"] and (sizes < m["N_opt"]).sum() >= 2 and (sizes > m["N_opt"]).sum() >= 2, m["C"]
    assert set(runs.loc[runs["seed"] == 1, "group"]) == set(runs["group"])  # a second seed per budget


def test_no_committed_data_records_a_machine_path():
    # Provenance records paths relative to the repository; a machine's absolute path means
    # nothing to a reader (and leaks where the runs happened).
    pattern = re.compile(r"(?<![\w.])(/(?:work|home|root|tmp|Users|mnt|opt)/|[A-Z]:\\\\)")
    for f in sorted((ROOT / "data").rglob("*")):
        if f.is_file() and f.suffix in (".json", ".log", ".md", ".toml") and "runs" not in f.parts:
            assert not pattern.search(f.read_text(errors="replace")), f"{f.relative_to(ROOT)} records a machine path"


def test_loading_records_what_was_read_when_the_build_asks(tmp_path, monkeypatch):
    import json

    from scaling_utils.analysis import results

    manifest = tmp_path / "reads.jsonl"
    monkeypatch.setenv(results.READS_ENV, str(manifest))
    monkeypatch.setenv(results.PAGE_ENV, "notebooks/kaplan")
    results.load_sweep_results("size", ROOT / "data" / "experiments")
    (line,) = manifest.read_text().splitlines()
    rec = json.loads(line)
    meta = json.loads((ROOT / "data" / "experiments" / "size.meta.json").read_text())
    assert rec == {"page": "notebooks/kaplan", "sweep": "size", "csv_sha256": meta["csv_sha256"]}
    monkeypatch.delenv(results.READS_ENV)
    results.load_sweep_results("size", ROOT / "data" / "experiments")
    assert len(manifest.read_text().splitlines()) == 1  # nothing recorded without the variable
