"""The ``scaling-book`` command line, run through its real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scaling_utils import fitting
from scaling_utils.laws import HOFFMANN_2022, ChinchillaLaw
from tests.conftest import ROOT, SHARED

EPOCH_CSV = SHARED / "data" / "external" / "chinchilla_fig4_epoch_extracted.csv"
CS336_JSON = SHARED / "data" / "external" / "cs336_isoflops_curves_synthetic.json"
SCRIPT = Path(sys.executable).parent / "scaling-book"


def run(*args: str | Path) -> subprocess.CompletedProcess:
    exe = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "scaling_utils"]
    # This checkout's package, not whichever one the installed script would import.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([*exe, *map(str, args)], capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def isoflop_csv(tmp_path_factory) -> Path:
    """Noisy IsoFLOP runs from a known law: 4 budgets x 7 sizes of one ladder (0.3 dex apart)."""
    law = ChinchillaLaw(E=1.8, A=400.0, B=1500.0, alpha=0.35, beta=0.37)
    rng = np.random.default_rng(0)
    ladder = 10 ** np.arange(6.0, 12.0, 0.3)
    rows = []
    for c in (1e18, 1e19, 1e20, 1e21):
        k = int(np.argmin(np.abs(np.log(ladder / law.compute_optimal(c)[0]))))
        for n in ladder[k - 3 : k + 4]:
            d = c / (6 * n)
            rows.append({"N": n, "C": c, "loss": law.loss(n, d) * np.exp(rng.normal(0, 0.003))})
    f = tmp_path_factory.mktemp("cli") / "runs.csv"
    pd.DataFrame(rows).to_csv(f, index=False)
    return f


def test_fit_on_isoflop_runs_runs_all_three(isoflop_csv, tmp_path):
    out = tmp_path / "fit.json"
    res = run("fit", isoflop_csv, "--resamples", "200", "--json", out, "--plot", tmp_path / "f.png")
    assert res.returncode == 0, res.stderr
    data = json.loads(out.read_text())
    assert set(data["approaches"]) == {"1", "2", "3"}
    truth = 0.37 / (0.35 + 0.37)
    for rec in data["approaches"].values():
        assert rec["a"]["estimate"] == pytest.approx(truth, abs=0.05)
        assert rec["converged"]
    assert data["versions"]["scaling_utils"] and (tmp_path / "f.png").stat().st_size > 10_000
    assert "Compute-optimal allocation at C = 1e+21" in res.stdout


@pytest.mark.skipif(not EPOCH_CSV.is_file(), reason=f"third-party validation data absent: {EPOCH_CSV}")
def test_fit_on_epochs_points_is_the_librarys_fit(tmp_path):
    df = pd.read_csv(EPOCH_CSV).sort_values("loss").iloc[:-5]  # as Besiroglu et al. did
    f = tmp_path / "epoch.csv"
    df.to_csv(f, index=False)
    out = tmp_path / "e.json"
    res = run("fit", f, "--approach", "3", "--resamples", "100", "--json", out)
    assert res.returncode == 0, res.stderr
    rec = json.loads(out.read_text())["approaches"]["3"]
    n = df["Model Size"].to_numpy()
    law = fitting.fit_chinchilla(n, df["Training FLOP"].to_numpy() / (6 * n), df["loss"].to_numpy()).law
    for q in ("E", "A", "B", "alpha", "beta"):
        assert rec[q]["estimate"] == pytest.approx(getattr(law, q), rel=1e-6)
    # Besiroglu et al.'s 95% intervals (their Table 1).
    assert 1.769 <= rec["E"]["estimate"] <= 1.871
    assert 0.317 <= rec["alpha"]["estimate"] <= 0.373
    assert 0.331 <= rec["beta"]["estimate"] <= 0.415


@pytest.mark.skipif(not CS336_JSON.is_file(), reason=f"third-party validation data absent: {CS336_JSON}")
def test_fit_on_cs336_isoflops_is_the_librarys_approach_2(tmp_path):
    out = tmp_path / "c.json"
    res = run("fit", CS336_JSON, "--approach", "2", "--resamples", "100", "--at-compute", "1e23", "--json", out)
    assert res.returncode == 0, res.stderr
    rec = json.loads(out.read_text())["approaches"]["2"]
    raw = pd.DataFrame(json.loads(CS336_JSON.read_text()))
    fit = fitting.fit_isoflop(raw["parameters"], raw["compute_budget"], raw["final_loss"], window=5)
    assert rec["a"]["estimate"] == pytest.approx(fit.a, rel=1e-9)
    assert rec["optimum"]["N"] == pytest.approx(float(fit.power_law.predict(1e23)), rel=1e-9)


def test_plan_reproduces_the_books_f5_numbers(tmp_path):
    out = tmp_path / "p.json"
    res = run("plan", "--compute", "5.76e23", "--law", "hoffmann2022-unrounded", "--json", out)
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text())["N"] == pytest.approx(40.4e9, rel=0.01)  # the book's F5: ~40B
    res = run("plan", "--compute", "5.76e23", "--law", "hoffmann2022", "--json", out)
    assert json.loads(out.read_text())["N"] == pytest.approx(HOFFMANN_2022.compute_optimal(5.76e23)[0], rel=1e-9)
    assert json.loads(out.read_text())["N"] == pytest.approx(32.2e9, rel=0.01)  # the printed constants' 32B


def test_plan_with_unique_and_inference_tokens_and_a_law_file(tmp_path):
    law = tmp_path / "law.json"
    law.write_text(json.dumps({"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336, "beta": 0.283}))
    out = tmp_path / "p.json"
    res = run("plan", "--compute", "1e23", "--law", law, "--unique-tokens", "1e11", "--inference-tokens", "2e12",
              "--json", out)  # fmt: skip
    assert res.returncode == 0, res.stderr
    plan = json.loads(out.read_text())
    assert plan["epochs"] == pytest.approx(plan["D"] / 1e11)
    inf = plan["inference"]
    assert inf["inference_aware"]["N"] < inf["chinchilla"]["N"]
    assert inf["inference_aware"]["total_flops"] < inf["chinchilla"]["total_flops"]


def test_plan_with_the_data_constrained_law(tmp_path):
    out = tmp_path / "p.json"
    res = run("plan", "--compute", "1e22", "--law", "muennighoff2023", "--unique-tokens", "25e9", "--json", out)
    assert res.returncode == 0, res.stderr
    plan = json.loads(out.read_text())
    # Muennighoff et al.'s README: 7.0B parameters, 237B tokens (9.5 epochs) at 1e22 FLOPs, 25B unique.
    assert plan["N"] == pytest.approx(7.02e9, rel=0.01) and plan["epochs"] == pytest.approx(9.49, rel=0.01)
    assert plan["data_constrained"] and "repeated tokens count" in res.stdout


def test_help_lists_every_preset():
    res = run("plan", "--help")
    assert res.returncode == 0
    for name in ("hoffmann2022", "hoffmann2022-unrounded", "besiroglu2024", "muennighoff2023"):
        assert name in res.stdout
    assert run("--help").returncode == 0 and "fit" in run("fit", "--help").stdout


# ------------------------------------------------------------------ bad input: one line, status 2


def _bad_csv(tmp_path, isoflop_csv, edit) -> Path:
    df = pd.read_csv(isoflop_csv)
    f = tmp_path / "bad.csv"
    edit(df).to_csv(f, index=False)
    return f


@pytest.mark.parametrize(
    ("edit", "extra", "message"),
    [
        (lambda df: df.drop(columns="loss"), [], "no column for loss"),
        (lambda df: df, ["--params-column", "n_params"], "no column 'n_params'"),
        (lambda df: df.drop(columns="C"), [], "needs a column of training tokens"),
        (
            lambda df: df.astype({"loss": object}).assign(loss=lambda d: d["loss"].where(d.index != 4, "abc")),
            [],
            "column 'loss', row 6: 'abc' is not a finite number",
        ),
        (lambda df: df.assign(N=df["N"].where(df.index != 2, -1.0)), [], "column 'N', row 4: must be > 0"),
        (lambda df: df.assign(N=df["N"].where(df.index != 2, 0.0)), [], "column 'N', row 4: must be > 0"),
        (lambda df: pd.concat([df, df.iloc[[3]]]), [], "rows 5 and 30 are identical"),
        (lambda df: df.iloc[:2], [], "needs at least 3 runs, got 2"),
        (lambda df: df[df["C"] == 1e19], ["--approach", "2"], "approach 2 needs >= 3 compute budgets"),
    ],
)
def test_bad_runs_file(tmp_path, isoflop_csv, edit, extra, message):
    f = _bad_csv(tmp_path, isoflop_csv, edit)
    res = run("fit", f, *extra)
    assert res.returncode == 2, res.stdout
    assert message in res.stderr and str(f) in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "nope.csv"], "nope.csv: no such file"),
        (["plan", "--compute", "1e23", "--law", "chinchilla"], "--law must be one of"),
        (["plan", "--compute", "-1"], "must be finite and > 0"),
        (["plan", "--compute", "1e23", "--inference-tokens", "nan"], "must be finite and >= 0"),
        (["fit", "x.csv", "--resamples", "1"], "must be >= 10"),
    ],
)
def test_bad_arguments(tmp_path, args, message):
    res = run(*args)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"E": 1.7, "A": 400, "B": 400, "alpha": 0.3}', "missing keys ['beta']"),
        ('{"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": -1}', "beta must be a finite number > 0"),
        ('{"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3, "gamma": 2}', "unknown keys ['gamma']"),
        ("[1, 2]", "expected an object"),
    ],
)
def test_malformed_law_file(tmp_path, content, message):
    f = tmp_path / "law.json"
    f.write_text(content)
    res = run("plan", "--compute", "1e23", "--law", f)
    assert res.returncode == 2
    assert message in res.stderr and str(f) in res.stderr and "Traceback" not in res.stderr


def test_the_console_script_is_scaling_book():
    """PyPI's simple-scaling-laws installs a ``scaling-laws`` command; this package's is ``scaling-book``."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"scaling-book": "scaling_utils.cli:main"}
    res = run("--help")
    assert res.returncode == 0 and res.stdout.startswith("usage: scaling-book ")
