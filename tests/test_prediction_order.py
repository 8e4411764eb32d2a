"""The pre-registered prediction of "Predictable scaling" comes before the runs that test it.

Every run file of the target sweep must carry the committed prediction's sha256 (the sweep
refuses target runs until the prediction file is committed: scaling_utils.experiment.guard),
and, where git history is available, the prediction's first commit must precede the first
commit of every target run file. Without history (a shallow clone) the order check is
skipped with a message; the CI workflow checks out full history.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from scaling_utils._paths import sha256_file
from scaling_utils.analysis.preregistration import load_plan
from tests.conftest import ROOT

PLAN = load_plan(ROOT / "data" / "plans" / "predictable.toml")
PREDICTION = ROOT / PLAN["target"]["prediction_file"]
TARGET_RUNS = sorted((ROOT / "data" / "experiments" / "runs" / PLAN["target"]["sweep"]).glob("*.json"))


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def _first_commit_time(path) -> int | None:
    out = _git("log", "--diff-filter=A", "--format=%ct", "--", path.relative_to(ROOT).as_posix())
    return int(out.splitlines()[-1]) if out else None


def test_no_target_run_without_the_prediction():
    if not TARGET_RUNS:
        return  # nothing trained at the target budget yet: nothing to check
    assert PREDICTION.is_file(), f"{len(TARGET_RUNS)} target runs exist but {PREDICTION.name} does not"


def test_every_target_run_carries_the_committed_predictions_sha256():
    if not TARGET_RUNS:
        pytest.skip("no run at the target budget yet (the prediction is committed first)")
    sha = sha256_file(PREDICTION)
    for f in TARGET_RUNS:
        record = json.loads(f.read_text())
        assert record.get("prediction", {}).get("sha256") == sha, f"{f.name} does not carry the prediction's sha256"


def test_the_prediction_was_committed_before_every_target_run():
    if not TARGET_RUNS:
        pytest.skip("no run at the target budget yet")
    if _git("rev-parse", "--is-shallow-repository") == "true" or not _git("log", "-1", "--format=%H"):
        pytest.skip("no full git history here (a shallow clone): the order of commits cannot be checked")
    predicted = _first_commit_time(PREDICTION)
    assert predicted is not None, "the prediction file is not in the history"
    for f in TARGET_RUNS:
        landed = _first_commit_time(f)
        if landed is None:
            continue  # trained, not yet committed: the sweep checked the prediction's commit when it ran
        assert landed >= predicted, f"{f.name} was committed before the prediction"
        # The commit the run recorded for the prediction is an ancestor of the run file's commit.
        commit = json.loads(f.read_text())["prediction"]["commit"]
        run_commit = _git("log", "--diff-filter=A", "--format=%H", "--", f.relative_to(ROOT).as_posix()).splitlines()[
            -1
        ]
        ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", commit, run_commit], cwd=ROOT, check=False)
        assert ancestor.returncode == 0, f"{f.name}: its prediction commit {commit[:10]} is not an ancestor"
