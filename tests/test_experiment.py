"""The experiment engine: Markov source, model, training, sweeps, resume, and result loaders."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from scaling_utils.analysis.results import ResultsError, file_sha256, load_sweep_results
from scaling_utils.experiment.corpus import fixture_corpus, split_blocks
from scaling_utils.experiment.markov import MarkovSource
from tests.conftest import ROOT

torch = pytest.importorskip("torch", reason="the experiment engine needs the [experiment] extra (PyTorch)")

from scaling_utils.experiment.model import GPT, ModelConfig  # noqa: E402
from scaling_utils.experiment.sweep import load_sweep, run_sweep  # noqa: E402
from scaling_utils.experiment.train import SCHEDULES, RunSpec, lr_multiplier, train_run  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "kjv_genesis.txt"
SMOKE = ROOT / "experiments" / "smoke" / "size.toml"

# ------------------------------------------------------------------ Markov source


def test_markov_entropy_rate_matches_a_long_sample():
    src = MarkovSource(vocab=6, order=1, zipf=1.0, seed=3)
    x = np.frombuffer(src.sample(400_000, seed=5), dtype=np.uint8)
    pairs = Counter(zip(x[:-1].tolist(), x[1:].tolist(), strict=True))
    firsts = Counter(x[:-1].tolist())
    n = len(x) - 1
    plug_in = -sum(c / n * math.log(c / firsts[a]) for (a, _), c in pairs.items())
    # 36 transition cells, 400k samples: plug-in bias ~ cells / (2 n) ~ 5e-5, sampling
    # error ~ 2e-3; 0.01 nats is a comfortable bound that still catches a wrong formula.
    assert plug_in == pytest.approx(src.entropy_rate, abs=0.01)
    assert src.stationary.sum() == pytest.approx(1.0)
    assert 0 < src.entropy_rate < math.log(6)


def test_markov_bad_input():
    with pytest.raises(ValueError, match=r"vocab must be an int in \[2, 95\]"):
        MarkovSource(vocab=1)
    with pytest.raises(ValueError, match="zipf must be finite and > 0"):
        MarkovSource(zipf=-1.0)
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        MarkovSource().sample(0)


# ------------------------------------------------------------------ corpus helpers


def test_split_blocks_and_fixture():
    train, held = split_blocks(bytes(range(200)) * 100, every=4, block=100)
    assert len(held) == 5000 and len(train) == 15000
    corpus = fixture_corpus(FIXTURE)
    assert set(corpus) == {"train_fit", "train", "fixture_tail", "markov_fit", "markov"}
    assert corpus["train_fit"][:20] == b"In the beginning God"


# ------------------------------------------------------------------ model and training


def test_model_counts_kaplans_non_embedding_parameters():
    cfg = ModelConfig(n_layer=2, d_model=64, n_head=4, n_ctx=32)
    model = GPT(cfg)
    weights = sum(
        p.numel()
        for n, p in model.named_parameters()
        if n.startswith("blocks") and n.endswith("weight") and p.dim() == 2
    )
    assert cfg.params_nonembedding == 12 * 2 * 64**2 == weights
    assert model.params_total > cfg.params_nonembedding
    with pytest.raises(ValueError, match="d_model must be divisible by n_head"):
        ModelConfig(n_layer=1, d_model=30, n_head=4, n_ctx=8)


def test_lr_schedules():
    assert lr_multiplier("cosine", 0, 100, 0.1) == pytest.approx(0.1)  # warmup starts low
    assert lr_multiplier("cosine", 10, 100, 0.1) == pytest.approx(1.0)  # peak after warmup
    assert lr_multiplier("cosine", 99, 100, 0.1) == pytest.approx(0.1, abs=0.01)  # floor
    assert lr_multiplier("constant", 50, 100, 0.0) == 1.0
    assert lr_multiplier("linear", 99, 100, 0.0) == pytest.approx(0.0, abs=0.02)
    for name in SCHEDULES:
        assert 0 <= lr_multiplier(name, 70, 100, 0.05) <= 1
    with pytest.raises(ValueError, match="schedule must be one of"):
        lr_multiplier("warp", 1, 10, 0.0)


def test_training_is_deterministic_and_learns():
    corpus = fixture_corpus(FIXTURE)
    spec = RunSpec(
        sweep="t",
        n_layer=1,
        d_model=32,
        n_head=2,
        n_ctx=32,
        tokens=40_000,
        batch_size=8,
        eval_dists=("train", "markov"),
        n_checkpoints=3,
        eval_sequences=8,
    )
    torch.set_num_threads(1)
    a = train_run(spec, corpus)
    b = train_run(spec, corpus)
    assert [r["loss"] for r in a] == [r["loss"] for r in b]
    first, last = a[0], [r for r in a if r["distribution"] == "train"][-1]
    assert last["loss"] < first["loss"] < math.log(256) + 0.5
    assert last["flops_6nd"] == 6 * spec.model_config.params_nonembedding * last["tokens"]
    assert last["flops_total"] > last["flops_6nd"]
    with pytest.raises(ValueError, match="corpus lacks distributions"):
        train_run(
            RunSpec(sweep="t", n_layer=1, d_model=16, n_head=2, n_ctx=8, tokens=100, eval_dists=("nope",)), corpus
        )


def test_load_sweep_expands_grids(tmp_path):
    f = tmp_path / "iso.toml"
    f.write_text(
        'sweep = "isoflop"\n[defaults]\nn_ctx = 16\n[[grid]]\nshape = [[1, 16, 2], [2, 32, 4]]\n'
        "budget_flops = [1e10, 1e11]\n"
    )
    _, specs = load_sweep(f)
    assert len(specs) == 4
    s = specs[0]
    assert s.tokens == int(1e10 / (6 * s.model_config.params_nonembedding))
    f.write_text('sweep = "x"\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 10\nwarp = 3\n')
    with pytest.raises(ValueError, match="unknown run fields"):
        load_sweep(f)


# ------------------------------------------------------------------ smoke preset, resume, loaders


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("smoke")
    t0 = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        run_sweep(SMOKE, out, f"fixture:{FIXTURE}", workers=2, log=devnull)
    assert time.perf_counter() - t0 < 60  # the smoke preset's budget is 30 s; CI machines vary
    return out


def test_smoke_preset_end_to_end(smoke_results):
    df = load_sweep_results("size", smoke_results)
    assert df["run_id"].nunique() == 2
    assert set(df["distribution"]) == {"train", "fixture_tail", "markov"}
    # Every checkpoint is evaluated on every distribution.
    assert (df.groupby(["run_id", "step"])["distribution"].nunique() == 3).all()
    meta = json.loads((smoke_results / "size.meta.json").read_text())
    assert meta["n_runs"] == 2 and meta["csv_sha256"] == file_sha256(smoke_results / "size.csv")


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("size.csv", "size.meta.json"):
        shutil.copy(src / name, dst / name)
    return dst


def _reseal(folder: Path) -> None:
    meta_file = folder / "size.meta.json"
    meta = json.loads(meta_file.read_text())
    meta["csv_sha256"] = file_sha256(folder / "size.csv")
    meta_file.write_text(json.dumps(meta))


def test_loaders_reject_damaged_results(smoke_results, tmp_path):
    d = _copy(smoke_results, tmp_path / "truncated")
    text = (d / "size.csv").read_text()
    (d / "size.csv").write_text(text[: len(text) // 2])
    with pytest.raises(ResultsError, match="does not match the sha256"):
        load_sweep_results("size", d)
    d = _copy(smoke_results, tmp_path / "nocol")
    text = (d / "size.csv").read_text()
    header, rest = text.split("\n", 1)
    (d / "size.csv").write_text(header.replace(",loss,", ",lossy,") + "\n" + rest)
    _reseal(d)
    with pytest.raises(ResultsError, match=r"lacks columns \['loss'\]"):
        load_sweep_results("size", d)
    d = _copy(smoke_results, tmp_path / "negative")
    import pandas as pd

    df = pd.read_csv(d / "size.csv")
    df.loc[3, "loss"] = -1.0
    df.to_csv(d / "size.csv", index=False)
    _reseal(d)
    with pytest.raises(ResultsError, match="column loss must be finite and > 0, row 5"):
        load_sweep_results("size", d)
    with pytest.raises(ResultsError, match="is missing"):
        load_sweep_results("size", tmp_path / "nowhere")
    with pytest.raises(TypeError, match="sweep must be a non-empty str"):
        load_sweep_results("", d)


def test_kill_mid_sweep_then_resume_loses_nothing_finished(tmp_path):
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "scaling_utils.experiment",
        "run",
        "--preset",
        "smoke",
        "--sweep",
        "size",
        "--out",
        str(out),
        "--workers",
        "1",
    ]
    run_dir = out / "runs" / "size"
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (run_dir.is_dir() and list(run_dir.glob("*.json"))):
            time.sleep(0.05)
        finished = sorted(run_dir.glob("*.json"))
        assert finished, "no run finished in time"
        os.killpg(proc.pid, signal.SIGKILL)  # kill the runner and its workers mid-sweep
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    saved = {f.name: f.read_bytes() for f in finished}
    assert not (out / "size.csv").exists() or len(finished) == 2
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    for name, content in saved.items():
        assert (run_dir / name).read_bytes() == content  # finished runs were kept, not redone
    assert not list(run_dir.glob(".*.tmp"))
    df = load_sweep_results("size", out)
    assert df["run_id"].nunique() == 2
