"""Issue 27 on the command line: bad or odd input ends in one clear line and status 2.

Each case runs the CLI's ``main(argv)`` in-process and asserts the exit status and the
message; the subprocess cases (a closed pipe) run the real entry point.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from scaling_utils.cli import main
from scaling_utils.laws import ChinchillaLaw
from tests.conftest import ROOT, SHARED

EPOCH_CSV = SHARED / "data" / "external" / "chinchilla_fig4_epoch_extracted.csv"
LAW = ChinchillaLaw(E=1.8, A=400.0, B=1500.0, alpha=0.35, beta=0.37)


def cli(*args) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (exit status, stdout, stderr); argparse's exit is caught."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stderr
    sys.stderr = err
    try:
        status = main([str(a) for a in args], out=out)
    except SystemExit as exc:
        status = exc.code
    finally:
        sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def isoflop(n_sizes: int = 7, budgets=(1e18, 1e19, 1e20, 1e21), noise: float = 0.003, seed: int = 0):
    """IsoFLOP runs (N, C, loss) from :data:`LAW`, ``n_sizes`` per budget around the optimum."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in budgets:
        n_opt = LAW.compute_optimal(c)[0]
        for n in n_opt * np.logspace(-0.9, 0.9, n_sizes):
            rows.append({"N": n, "C": c, "loss": LAW.loss(n, c / (6 * n)) * np.exp(rng.normal(0, noise))})
    return pd.DataFrame(rows)


@pytest.fixture
def runs_csv(tmp_path):
    f = tmp_path / "runs.csv"
    isoflop().to_csv(f, index=False)
    return f


def write(tmp_path, df: pd.DataFrame, name: str = "bad.csv", **kw):
    f = tmp_path / name
    df.to_csv(f, index=False, **kw)
    return f


def assert_error(res, *parts):
    status, _, err = res
    assert status == 2, err
    for p in parts:
        assert p in err, err
    assert "Traceback" not in err


# ------------------------------------------------------------------ physically impossible input


def test_tokens_given_as_compute(tmp_path):
    df = isoflop(budgets=(1e21, 1e22, 1e23, 1e24))
    df["C"] = df["C"] / (6 * df["N"])  # the token count in the compute column: C < 6N
    assert_error(cli("fit", write(tmp_path, df)), "tokens per parameter", "is compute given as tokens")


def test_flops_under_a_tokens_header(tmp_path):
    df = isoflop().rename(columns={"C": "tokens"})
    assert_error(cli("fit", write(tmp_path, df)), "column 'tokens'", "plausible range of tokens, 1 to 1e+18")


def test_compute_and_tokens_that_disagree(tmp_path):
    df = isoflop()
    df["D"] = df["C"] / (6 * df["N"]) * 3.0  # C/6ND = 1/3
    assert_error(cli("fit", write(tmp_path, df)), "row 2", "C / 6ND = 0.333", "below 6ND", "--compute-count")
    df["D"] = df["C"] / (6 * df["N"]) / 10.0  # C/6ND = 10
    assert_error(cli("fit", write(tmp_path, df)), "C / 6ND = 10", "far above 6ND", "accepted 0.95 to 4")


def test_compute_count_option(tmp_path):
    df = isoflop()
    df["D"] = df["C"] / (6 * df["N"]) / 1.3  # a full count: C = 1.3 x 6ND
    f = write(tmp_path, df)
    assert cli("fit", f, "--approach", "2", "--resamples", "50")[0] == 0
    assert_error(cli("fit", f, "--compute-count", "6nd"), "C / 6ND = 1.3", "accepted 0.95 to 1.05")
    df["D"] = df["D"] / 10
    assert cli("fit", write(tmp_path, df), "--approach", "2", "--resamples", "50", "--compute-count", "any")[0] == 0


def test_one_huge_size_is_refused(tmp_path):
    df = isoflop()
    df.loc[3, "N"] = 1e300
    assert_error(cli("fit", write(tmp_path, df)), "column 'N'", "row 5", "1e+300", "parameters, 1 to 1e+16")


def test_huge_loss_is_refused(tmp_path):
    df = isoflop()
    df.loc[0, "loss"] = 1e300
    assert_error(cli("fit", write(tmp_path, df)), "column 'loss'", "row 2", "loss, 1e-06 to 100")


def test_budgets_with_float_noise_are_one_budget(tmp_path):
    df = isoflop()
    df["D"] = df["C"] / (6 * df["N"])
    df["C"] = 6 * df["N"] * df["D"]  # float noise in the last digits
    status, out, err = cli("fit", write(tmp_path, df), "--approach", "2", "--resamples", "50")
    assert status == 0, err
    assert "skipped" not in out and out.count("\n2 ") >= 3  # a, b and the optimum of approach 2


# ------------------------------------------------------------------ ambiguous input


def test_two_columns_for_parameters(tmp_path):
    df = isoflop()
    df["params"] = df["N"]
    assert_error(
        cli("fit", write(tmp_path, df)), "columns 'N' and 'params' both look like parameters", "--params-column"
    )
    status = cli("fit", write(tmp_path, df), "--params-column", "params", "--approach", "2", "--resamples", "20")[0]
    assert status == 0


def test_loss_and_final_loss(tmp_path):
    df = isoflop()
    df["final_loss"] = df["loss"] * 1.1
    assert_error(cli("fit", write(tmp_path, df)), "columns 'loss' and 'final_loss' both look like loss")
    assert (
        cli("fit", write(tmp_path, df), "--loss-column", "final_loss", "--approach", "2", "--resamples", "20")[0] == 0
    )


def test_loss_twice_in_the_header(tmp_path):
    f = tmp_path / "twice.csv"
    df = isoflop()
    f.write_text("N,C,loss,loss\n" + "\n".join(f"{r.N},{r.C},{r.loss},{r.loss}" for r in df.itertuples()))
    assert_error(cli("fit", f), "column 'loss' appears more than once")


def test_json_true_is_not_a_loss(tmp_path):
    recs = isoflop().to_dict("records")
    recs[2]["loss"] = True
    f = tmp_path / "runs.json"
    f.write_text(json.dumps(recs))
    assert_error(cli("fit", f), "column 'loss', record 2: True is a boolean, not a number")


def test_csv_booleans(tmp_path):
    df = isoflop().astype({"loss": object})
    df["loss"] = "True"
    assert_error(cli("fit", write(tmp_path, df)), "column 'loss', row 2: True is a boolean")


@pytest.mark.parametrize(("sep", "what"), [(";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")])
def test_other_delimiters_are_named(tmp_path, sep, what):
    f = write(tmp_path, isoflop(), sep=sep, decimal="," if sep == ";" else ".")
    assert_error(cli("fit", f), f"splits on {what}", "comma-separated")


def test_a_directory_is_named_as_such(tmp_path):
    assert_error(cli("fit", tmp_path), "is a directory, not a file of runs")


def test_text_cell_names_its_row(tmp_path):
    df = isoflop().astype({"N": object})
    df.loc[4, "N"] = "1e9x"
    assert_error(cli("fit", write(tmp_path, df)), "column 'N', row 6: '1e9x' is not a finite number")


# ------------------------------------------------------------------ bootstrap and resamples


def test_resamples_too_few_is_refused_and_few_is_noted(runs_csv):
    assert_error(cli("fit", runs_csv, "--resamples", "2"), "--resamples", "must be >= 10")
    status, out, _ = cli("fit", runs_csv, "--approach", "2", "--resamples", "20")
    assert status == 0
    assert "Resamples used (of 20)" in out and "rests on" in out and "use at least 50" in out


def test_dense_sizes_do_not_break_approach_2(tmp_path):
    df = isoflop(n_sizes=500, noise=0.01)
    status, out, err = cli("fit", write(tmp_path, df), "--approach", "2", "--resamples", "100")
    assert status == 0, err
    assert "approach 2: " in out.split("Resamples used")[1]
    data = {}
    f = tmp_path / "o.json"
    cli("fit", write(tmp_path, df), "--approach", "2", "--resamples", "100", "--json", f)
    data = json.loads(f.read_text())["approaches"]["2"]
    lo, hi, est = data["a"]["low"], data["a"]["high"], data["a"]["estimate"]
    assert lo <= est <= hi or any("excludes its estimate" in n for n in data["notes"])
    assert 0 < data["resamples_used"] <= 100


# ------------------------------------------------------------------ approach 1 on Epoch's points


@pytest.mark.skipif(not EPOCH_CSV.is_file(), reason=f"third-party validation data absent: {EPOCH_CSV}")
def test_approach_1_on_epochs_240_points(tmp_path):
    df = pd.read_csv(EPOCH_CSV).sort_values("loss").iloc[:-5]  # the 240 points Besiroglu et al. fit
    out = tmp_path / "a1.json"
    status, _, err = cli("fit", write(tmp_path, df), "--approach", "1", "--resamples", "100", "--json", out)
    assert status == 0, err
    rec = json.loads(out.read_text())["approaches"]["1"]
    assert 0.3 < rec["a"]["estimate"] < 0.7
    assert all("no training curve covers compute" in n and "FLOPs" in n for n in rec["notes"][-1:])


# ------------------------------------------------------------------ output


@pytest.mark.parametrize(
    ("flag", "target", "message"),
    [
        ("--json", "missing/fit.json", "the folder"),
        ("--json", ".", "is a directory"),
        ("--plot", "missing/f.png", "does not exist"),
        ("--plot", "out.xyz", "unknown format '.xyz'"),
    ],
)
def test_output_paths_are_checked_before_the_fit(tmp_path, runs_csv, flag, target, message):
    t = time.perf_counter()
    res = cli("fit", runs_csv, flag, tmp_path / target if target != "." else tmp_path)
    assert_error(res, flag, message)
    assert res[1] == "" and time.perf_counter() - t < 5  # nothing fitted, nothing printed


def test_closed_pipe_ends_quietly(runs_csv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = f"{sys.executable} -m scaling_utils fit {runs_csv} --resamples 50 | head -1"
    res = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert str(runs_csv) in res.stdout


# ------------------------------------------------------------------ plan


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compute", "-1e23"], "got a negative number '-1e23'"),
        (["--compute", "lots"], "must be a number, got 'lots'"),
        (["--compute", "1"], "0.574 parameters"),
        (["--compute", "1e23", "--json", "nowhere/p.json"], "does not exist"),
    ],
)
def test_plan_bad_values(args, message):
    assert_error(cli("plan", *args), message)


def test_plan_target_just_above_e_is_found(tmp_path):
    status, out, _ = cli("plan", "--compute", "1e23", "--loss", "1.69338")  # E = 1.69337368
    assert status == 0 and "inf" not in out and "needs C = 1.43e+53 FLOPs" in out
    f = tmp_path / "slow.json"
    f.write_text(json.dumps({"E": 1.7, "A": 1, "B": 1, "alpha": 0.01, "beta": 0.01}))
    assert_error(cli("plan", "--compute", "1e23", "--law", f, "--loss", "1.7001"), "beyond any budget", "10^")


def test_plan_data_cap_applies_to_the_inference_table(tmp_path):
    f = tmp_path / "p.json"
    args = ["plan", "--compute", "1e22", "--law", "muennighoff2023", "--unique-tokens", "1e9", "--inference-tokens"]
    status, out, err = cli(*args, "1e12", "--json", f)
    assert status == 0, err
    plan = json.loads(f.read_text())
    chin = plan["inference"]["chinchilla"]
    # The capped plan's own model and the inference table's Chinchilla row are the same optimum.
    assert chin["training_flops"] == pytest.approx(1e22, rel=1e-3)
    assert chin["N"] == pytest.approx(plan["N"], rel=0.02) and "unique tokens" in out


def test_plan_extreme_law_and_list_name(tmp_path):
    f = tmp_path / "law.json"
    f.write_text(json.dumps({"E": 1e-300, "A": 1e300, "B": 1e300, "alpha": 1e-3, "beta": 1e-3}))
    assert_error(cli("plan", "--compute", "1e23", "--law", f), "predicts a loss of 1.949e+300", "too extreme")
    f.write_text(json.dumps({"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3, "name": ["x"]}))
    assert_error(cli("plan", "--compute", "1e23", "--law", f), "name must be a string, got ['x']")
