"""The runner never reports a broken run as finished: each failure named in one line, or recovered."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytest.importorskip("torch", reason="the experiment needs the [experiment] extra (torch)")

from scaling_utils.experiment.__main__ import main
from scaling_utils.experiment.guard import ResultsLock
from scaling_utils.experiment.sweep import SweepConfigError, SweepFailed, assemble, load_sweep, run_sweep

FIXTURE = f"fixture:{ROOT / 'tests' / 'fixtures' / 'kjv_genesis.txt'}"

SWEEP = """
sweep = "tiny"
eval_dists = ["train"]
[defaults]
n_ctx = 16
batch_size = 4
n_checkpoints = 2
eval_sequences = 4
sampling = "permute"
seed = 0

[[grid]]
shape = [[1, 8, 2], [1, 8, 4]]
tokens = [{tokens}]
{extra}
"""


def _sweep(tmp_path: Path, extra: str = "", tokens: int = 640, top: str = "") -> Path:
    f = tmp_path / "tiny.toml"
    f.write_text(top + SWEEP.format(extra=extra, tokens=tokens))
    return f


def _run(tmp_path, sweep, **kw):
    """Run in a thread pool: no process to spawn (the local pool is tested in test_workers_end_with_a_killed_head)."""
    with ThreadPoolExecutor(1) as pool:
        return run_sweep(sweep, tmp_path / "out", FIXTURE, executor=pool, **kw)


@pytest.fixture(scope="module")
def _trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("trained")
    sweep = _sweep(base)
    _run(base, sweep)
    return base


@pytest.fixture
def finished(_trained, tmp_path):
    """A finished tiny sweep (trained once per module), copied for each test to damage."""
    shutil.copytree(_trained, tmp_path, dirs_exist_ok=True)
    sweep = tmp_path / "tiny.toml"
    return sweep, tmp_path / "out" / "tiny.csv", tmp_path / "out"


@pytest.mark.parametrize("damage", ["truncated", "empty", "other run", "no rows", "nan loss"])
def test_a_damaged_run_file_is_named_set_aside_and_redone(finished, damage):
    sweep, _, out = finished
    path = sorted((out / "runs" / "tiny").glob("*.json"))[0]
    good = json.loads(path.read_text())
    bad = {
        "truncated": path.read_text()[:50],
        "empty": "",
        "other run": json.dumps(good | {"run_id": "x"}),
        "no rows": json.dumps(good | {"rows": []}),
        "nan loss": json.dumps(good | {"rows": [good["rows"][0] | {"loss": float("nan")}]}),
    }[damage]
    path.write_text(bad)
    log = io.StringIO()
    _run(out.parent, sweep, log=log)
    err = log.getvalue()
    assert f"run file {path} is damaged" in err and "the run is redone" in err
    assert path.with_name(path.name + ".bad-1").read_text() == bad
    redone = json.loads(path.read_text())["rows"]
    assert [r["loss"] for r in redone] == [r["loss"] for r in good["rows"]]  # redone, deterministically


def test_a_diverged_run_fails_with_its_step_and_is_not_retried(tmp_path):
    sweep = _sweep(tmp_path, extra="lr = 1000.0\ngrad_clip = 0.0", tokens=6400)
    with pytest.raises(SweepFailed, match=r"RunDiverged: run tiny-\S+: training loss nan at step \d+ of 100"):
        _run(tmp_path, sweep, retries=2)
    assert not list((tmp_path / "out" / "runs" / "tiny").glob("*.json"))


def test_a_diverged_run_can_be_recorded_as_diverged(tmp_path):
    sweep = _sweep(tmp_path, extra='lr = 1000.0\ngrad_clip = 0.0\non_diverge = "record"', tokens=6400)
    _run(tmp_path, sweep)
    recs = [json.loads(p.read_text()) for p in (tmp_path / "out" / "runs" / "tiny").glob("*.json")]
    assert recs and all(r["diverged"] for r in recs)
    meta = json.loads((tmp_path / "out" / "tiny.meta.json").read_text())
    assert len(meta["diverged_runs"]) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("n_checkpoints = 0", "n_checkpoints must be an int >= 1, got 0"),
        ("n_ctx = 0", "n_ctx must be an int >= 1, got 0"),
        ("seed = [-1, 0]", "seed must be an int >= 0, got -1"),
        ('sampling = "shuffle"', "sampling must be one of"),
        ("data_limit = 40", "data_limit \\(40 bytes\\) holds fewer than one batch"),
        ('schedule = "wsd"', "schedule 'wsd' needs branch_tokens"),
        ("branch_tokens = [640]", "cooldown branches need schedule = 'wsd'"),
    ],
)
def test_config_errors_are_caught_when_the_sweep_file_is_read(tmp_path, extra, message):
    sweep = _sweep(tmp_path, extra=extra)
    with pytest.raises(SweepConfigError, match=message):
        load_sweep(sweep)


@pytest.mark.parametrize(
    ("shape", "message"),
    [("[[1, 10, 3]]", "d_model must be divisible by n_head"), ("[]", "shape must be a non-empty list")],
)
def test_shape_errors_are_caught_when_the_sweep_file_is_read(tmp_path, shape, message):
    f = _sweep(tmp_path)
    f.write_text(f.read_text().replace("shape = [[1, 8, 2], [1, 8, 4]]", f"shape = {shape}"))
    with pytest.raises(SweepConfigError, match=message):
        load_sweep(f)


def test_a_run_over_one_epoch_is_refused_unless_the_sweep_says_why(tmp_path):
    sweep = _sweep(tmp_path, tokens=400_000)
    with pytest.raises(SweepConfigError, match=r"trains \d+\.\d+ epochs of train_fit .* allow_repeat"):
        _run(tmp_path, sweep)
    sweep = _sweep(tmp_path, tokens=400_000, top='allow_repeat = ""\n')
    with pytest.raises(SweepConfigError, match="allow_repeat must be a sentence"):
        _run(tmp_path, sweep)


def test_the_corpus_is_in_the_run_id(tmp_path):
    from scaling_utils.experiment.guard import prepare

    _, specs = prepare(_sweep(tmp_path), FIXTURE)
    other = tmp_path / "other.txt"
    other.write_bytes((ROOT / "tests" / "fixtures" / "kjv_genesis.txt").read_bytes()[::-1])
    _, specs2 = prepare(_sweep(tmp_path), f"fixture:{other}")
    assert {s.run_id for s in specs}.isdisjoint(s.run_id for s in specs2)


def test_a_missing_corpus_is_one_line(tmp_path, capfd):
    rc = main(
        ["run", "--preset", "quick", "--sweep", "size", "--out", str(tmp_path), "--corpus", str(tmp_path / "none")]
    )
    assert rc == 2 and capfd.readouterr().err.startswith(f"error: no corpus at {tmp_path / 'none'}")
    with pytest.raises(
        SweepConfigError, match=r"^no corpus at .*none \(no manifest.json\): build it with `make corpus`"
    ):
        run_sweep(_sweep(tmp_path), tmp_path / "out", str(tmp_path / "none"))


def test_an_unknown_sweep_name_is_an_error(capfd):
    assert main(["run", "--preset", "smoke", "--sweep", "sise"]) == 2
    assert "--sweep sise: no such sweep in preset smoke; it has size" in capfd.readouterr().err


def test_a_second_head_on_a_results_folder_is_refused(tmp_path):
    folder = tmp_path / "out" / "runs" / "tiny"
    folder.mkdir(parents=True)
    with ResultsLock(folder):
        with pytest.raises(SweepConfigError, match=r"is in use by another head \(pid \d+"):
            _run(tmp_path, _sweep(tmp_path))
    _run(tmp_path, _sweep(tmp_path))  # free again


def test_concurrent_assemblies_do_not_collide(finished):
    sweep, _, out = finished
    errors = []

    def go():
        try:
            assemble(sweep, out, FIXTURE, trained=True)
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not list(out.glob(".*.tmp"))


def test_reassembling_without_training_leaves_the_provenance_alone(finished):
    sweep, _, out = finished
    meta = out / "tiny.meta.json"
    before = meta.read_bytes()
    _run(out.parent, sweep)  # nothing to train
    assert meta.read_bytes() == before
    rec = json.loads(sorted((out / "runs" / "tiny").glob("*.json"))[0].read_text())
    assert {"device", "cpu", "threads", "torch"} <= set(rec["hardware"]) and rec["wall_s"] > 0
    assert rec["corpus"]["train_dist"] == "train_fit" and len(rec["corpus"]["sha256"]) == 64
    m = json.loads(before)
    assert sum(m["runs_by_hardware"].values()) == 2 and sum(m["runs_by_corpus"].values()) == 2


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the pool's workers")
def test_workers_end_with_a_killed_head(tmp_path):
    sweep = _sweep(tmp_path, tokens=200_000, top='allow_repeat = "a test of killing the head"\n')
    code = (
        "import sys; from scaling_utils.experiment.sweep import run_sweep; "
        f"run_sweep({str(sweep)!r}, {str(tmp_path / 'out')!r}, {FIXTURE!r}, workers=1)"
    )
    head = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        workers: list[int] = []
        while time.time() < deadline and not workers:
            workers = [
                c for c in _children(head.pid) if "spawn" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")
            ]
            time.sleep(0.2)
        assert workers, "the pool's worker never started"
        os.kill(head.pid, signal.SIGKILL)
        head.wait()
        deadline = time.time() + 10
        while time.time() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
            time.sleep(0.2)
        alive = [w for w in workers if Path(f"/proc/{w}").exists()]
        for w in alive:
            os.kill(w, signal.SIGKILL)
        assert not alive, "a pool worker outlived its head"
    finally:
        if head.poll() is None:
            head.kill()


def test_a_target_sweep_waits_for_its_committed_prediction(tmp_path):
    from scaling_utils.experiment.guard import committed_prediction, prepare

    with pytest.raises(SweepConfigError, match="does not exist; commit the prediction before its runs"):
        prepare(_sweep(tmp_path, top='requires_prediction = "data/plans/nothing.json"\n'), FIXTURE)
    scratch = ROOT / "_build" / "uncommitted_prediction.json"
    scratch.parent.mkdir(exist_ok=True)
    scratch.write_text("{}")
    try:
        with pytest.raises(SweepConfigError, match="is not committed as it is on disk"):
            committed_prediction(scratch)
    finally:
        scratch.unlink()
    if not (ROOT / ".git").exists():
        pytest.skip("no git history here: the committed case needs it")
    _, specs = prepare(_sweep(tmp_path, top='requires_prediction = "data/plans/predictable.toml"\n'), FIXTURE)
    pred = specs[0].extra["prediction"]
    assert pred["file"] == "data/plans/predictable.toml" and len(pred["sha256"]) == 64 and len(pred["commit"]) == 40
