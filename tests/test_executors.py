"""Sweeps through the executors: local pool, submitit (its local executor here), any Executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from scaling_utils.analysis.results import load_sweep_results
from tests.conftest import ROOT

pytest.importorskip("torch", reason="the experiment needs the [experiment] extra (torch)")

from scaling_utils.experiment.executors import ExecutorError, ExecutorSettings
from scaling_utils.experiment.sweep import SweepFailed, run_sweep

FIXTURE = ROOT / "tests" / "fixtures" / "kjv_genesis.txt"
SMOKE = ROOT / "experiments" / "smoke" / "size.toml"
CORPUS = f"fixture:{FIXTURE}"
TIMING = ["wall_s"]


def _cli(*args: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "scaling_utils.experiment", "run", "--preset", "smoke", "--sweep", "size",
            "--out", str(out), *args]  # fmt: skip


def _csv(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "size.csv").drop(columns=TIMING)


@pytest.fixture(scope="module")
def local_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local")
    subprocess.run(_cli("--executor", "local", out=out), cwd=ROOT, check=True, capture_output=True)
    return out


def test_slurm_executor_without_slurm_matches_the_local_pool(local_out, tmp_path):
    pytest.importorskip("submitit", reason="the slurm executor needs the [cluster] extra (submitit)")
    t0 = time.perf_counter()
    res = subprocess.run(_cli("--executor", "slurm", out=tmp_path), cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "slurm (local)" in res.stderr, res.stderr  # submitit picked its local executor
    pd.testing.assert_frame_equal(_csv(tmp_path), _csv(local_out))  # training is deterministic per run on CPU
    meta = json.loads((tmp_path / "size.meta.json").read_text())
    assert meta["executor"]["name"] == "slurm" and set(meta["runs_by_executor"]) == {"slurm (local)"}
    assert list((tmp_path / "logs" / "size").glob("*_log.err")), "submitit keeps a log per task"
    print(f"smoke sweep through submitit's local executor: {time.perf_counter() - t0:.1f} s")


def test_any_concurrent_futures_executor(local_out, tmp_path):
    with ThreadPoolExecutor(max_workers=2) as pool, open(os.devnull, "w") as devnull:
        csv = run_sweep(SMOKE, tmp_path, CORPUS, executor=pool, log=devnull)
    pd.testing.assert_frame_equal(_csv(tmp_path), _csv(local_out))
    assert json.loads((tmp_path / "size.meta.json").read_text())["executor"]["name"] == "ThreadPoolExecutor"
    assert load_sweep_results("size", csv.parent)["run_id"].nunique() == 2


@pytest.fixture()
def failing_sweep(tmp_path) -> Path:
    # The second grid entry evaluates on a distribution the corpus does not have: it fails every time.
    text = SMOKE.read_text() + '\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = [30000]\neval_dists = ["nope"]\n'
    f = tmp_path / "size.toml"
    f.write_text(text)
    return f


@pytest.mark.parametrize("executor", ["local", "slurm"])
def test_a_failing_task_is_retried_reported_and_never_dropped(failing_sweep, tmp_path, executor):
    if executor == "slurm":
        pytest.importorskip("submitit", reason="the slurm executor needs the [cluster] extra (submitit)")
    out = tmp_path / "out"
    log = tmp_path / "head.log"
    with open(log, "w") as fh, pytest.raises(SweepFailed, match=r"1 of 3 runs failed after 1 retries: size-L1-d16"):
        run_sweep(failing_sweep, out, CORPUS, executor=executor, retries=1, log=fh)
    text = log.read_text()
    assert text.count("failed (attempt") == 2  # tried, retried once, then reported
    assert "corpus lacks distributions ['nope']" in text
    if executor == "slurm":
        assert "_log.err" in text  # where to read the task's traceback
    assert not (out / "size.csv").exists()  # never assembled silently
    # Assembling what finished is explicit, and the meta says what is missing.
    with open(log, "w") as fh:
        run_sweep(failing_sweep, out, CORPUS, executor=executor, retries=0, allow_partial=True, log=fh)
    meta = json.loads((out / "size.meta.json").read_text())
    assert meta["n_runs"] == 3 and meta["n_missing"] == 1
    assert load_sweep_results("size", out)["run_id"].nunique() == 2


def test_head_killed_and_restarted_resubmits_only_missing_runs(local_out, tmp_path):
    pytest.importorskip("submitit", reason="the slurm executor needs the [cluster] extra (submitit)")
    cmd = _cli("--executor", "slurm", out=tmp_path)
    run_dir = tmp_path / "runs" / "size"
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not (run_dir.is_dir() and list(run_dir.glob("*.json"))):
            time.sleep(0.05)
        finished = sorted(run_dir.glob("*.json"))
        assert finished, "no run finished in time"
        os.killpg(proc.pid, signal.SIGKILL)  # the head and the tasks it started
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    saved = {f.name: f.read_bytes() for f in finished}
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert f"{len(saved)} already finished" in res.stderr
    for name, content in saved.items():
        assert (run_dir / name).read_bytes() == content  # not redone
    pd.testing.assert_frame_equal(_csv(tmp_path), _csv(local_out))


def test_bad_executor_settings_name_the_setting(tmp_path, monkeypatch):
    with pytest.raises(ExecutorError, match="executor must be one of"):
        ExecutorSettings(name="kubernetes")
    with pytest.raises(ExecutorError, match="retries must be an int >= 0"):
        ExecutorSettings(retries=-1)
    with pytest.raises(ExecutorError, match=r"\[executor\] has unknown keys \['queue'\]"):
        ExecutorSettings.from_table({"queue": "gpu"})
    res = subprocess.run(_cli("--executor", "kubernetes", out=tmp_path), cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "executor must be one of ['local', 'slurm']" in res.stderr
    monkeypatch.setitem(sys.modules, "submitit", None)  # as if the [cluster] extra were not installed
    with pytest.raises(ExecutorError, match=r"pip install -e '\.\[cluster\]'"), open(os.devnull, "w") as devnull:
        run_sweep(SMOKE, tmp_path, CORPUS, executor="slurm", log=devnull)


def test_a_run_says_dirty_only_when_code_differs_not_when_a_sweep_log_grows(tmp_path):
    import subprocess

    from scaling_utils.experiment.executors import _commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "data" / "experiments").mkdir(parents=True)
    (tmp_path / "data" / "experiments" / "sweep.log").write_text("started\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    head = _commit(tmp_path)
    assert len(head) == 40 and not head.endswith("+dirty")
    with (tmp_path / "data" / "experiments" / "sweep.log").open("a") as f:
        f.write("1/6 runs\n")  # the sweep appending to its own committed log
    assert _commit(tmp_path) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert _commit(tmp_path) == head + "+dirty"
