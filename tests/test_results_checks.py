"""Issue 27 in the results loader: the meta file's schema and the CSV's plausibility.

Each case copies a committed sweep into a temporary folder, breaks one thing, re-records the
CSV's sha256 where the case is about the CSV, and asserts the :class:`ResultsError` message.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from scaling_utils.analysis.results import SWEEPS, ResultsError, file_sha256, load_sweep_results
from tests.conftest import ROOT

SOURCE = ROOT / "data" / "experiments"
SWEEP = "data"


@pytest.fixture
def folder(tmp_path):
    for suffix in (".csv", ".meta.json"):
        shutil.copy(SOURCE / f"{SWEEP}{suffix}", tmp_path / f"{SWEEP}{suffix}")
    return tmp_path


def meta_path(folder):
    return folder / f"{SWEEP}.meta.json"


def edit_meta(folder, change) -> None:
    meta = json.loads(meta_path(folder).read_text())
    meta_path(folder).write_text(json.dumps(change(meta)))


def edit_csv(folder, change) -> None:
    """Rewrite the CSV through ``change(df)`` and record its new sha256 (a consistent but wrong file)."""
    csv = folder / f"{SWEEP}.csv"
    change(pd.read_csv(csv)).to_csv(csv, index=False)
    edit_meta(folder, lambda m: m | {"csv_sha256": file_sha256(csv)})


def test_every_committed_sweep_passes_the_checks():
    for sweep in SWEEPS:
        assert len(load_sweep_results(sweep, SOURCE)) > 0


# ------------------------------------------------------------------ meta schema


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: {k: v for k, v in m.items() if k != "n_runs"}, "has no n_runs: the run count cannot be checked"),
        (lambda m: m | {"n_runs": "8"}, "n_runs must be an integer >= 1, got '8'"),
        (lambda m: m | {"n_runs": True}, "n_runs must be an integer >= 1, got True"),
        (lambda m: m | {"n_runs": 8.5}, "n_runs must be an integer >= 1, got 8.5"),
        (lambda m: m | {"n_missing": -1}, "n_missing must be an integer >= 0"),
        (lambda m: [m], "must hold a JSON object, got a list"),
        (
            lambda m: {k: v for k, v in m.items() if k != "csv_sha256"},
            "has no csv_sha256: the meta file is incomplete",
        ),
        (lambda m: m | {"csv_sha256": "abc"}, "csv_sha256 must be 64 hexadecimal digits, got 'abc'"),
    ],
)
def test_meta_schema(folder, change, message):
    edit_meta(folder, change)
    with pytest.raises(ResultsError, match=message.replace("(", r"\(")) as err:
        load_sweep_results(SWEEP, folder)
    assert "corrupted" not in str(err.value)


def test_non_utf8_meta_is_named(folder):
    meta_path(folder).write_bytes(b'{"what": "caf\xe9"}')
    with pytest.raises(ResultsError, match="is not UTF-8 text"):
        load_sweep_results(SWEEP, folder)


def test_upper_case_sha_is_accepted(folder):
    edit_meta(folder, lambda m: m | {"csv_sha256": m["csv_sha256"].upper()})
    assert len(load_sweep_results(SWEEP, folder)) == 80


# ------------------------------------------------------------------ CSV plausibility


def _spike(df: pd.DataFrame) -> pd.DataFrame:
    run = df["run_id"].iloc[0]
    rows = df.index[(df["run_id"] == run) & (df["distribution"] == df["distribution"].iloc[0])]
    df.loc[rows[len(rows) // 2], "loss"] *= 20  # x50 also exceeds the 100-nat ceiling
    return df


def _tokens(df: pd.DataFrame) -> pd.DataFrame:
    df = df.astype({"tokens": float})
    df.loc[3, "tokens"] = 1e30
    return df


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: pd.concat([df, df.iloc[[5]]]), "rows 7 and 82 share \\(run_id, step, distribution\\)"),
        (lambda df: df.assign(run_id=df["run_id"].where(df.index != 4, "")), "row 6 has an empty run_id"),
        (lambda df: df.assign(step=df["step"].astype(float).where(df.index != 2, 10.5)), "row 4: step must be a whole"),
        (_tokens, "row 5: tokens must be <= 1e\\+18"),
        (lambda df: df.assign(tokens=df["tokens"] * 2), "flops_6nd must equal 6 x params_nonembedding x tokens"),
        (_spike, "is more than 10x from the run's neighbouring checkpoints"),
    ],
)
def test_csv_plausibility(folder, change, message):
    edit_csv(folder, change)
    with pytest.raises(ResultsError, match=message):
        load_sweep_results(SWEEP, folder)


def test_tokens_within_the_budget(tmp_path):
    for suffix in (".csv", ".meta.json"):
        shutil.copy(SOURCE / f"kaplan_isoflop{suffix}", tmp_path / f"kaplan_isoflop{suffix}")
    csv = tmp_path / "kaplan_isoflop.csv"
    df = pd.read_csv(csv)
    df["budget_flops"] = df["budget_flops"] / 2
    df.to_csv(csv, index=False)
    meta = json.loads((tmp_path / "kaplan_isoflop.meta.json").read_text())
    (tmp_path / "kaplan_isoflop.meta.json").write_text(json.dumps(meta | {"csv_sha256": file_sha256(csv)}))
    with pytest.raises(ResultsError, match="the run's tokens exceed its budget"):
        load_sweep_results("kaplan_isoflop", tmp_path)
