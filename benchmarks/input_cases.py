"""Issue 27's bad and odd inputs, run against whichever ``scaling_utils`` is importable.

Each case says what a correct answer is (a clear error, or a result) and is classed as
``clear`` (the error expected, as exit 2 or a ValueError/TypeError), ``handled`` (a right
result), ``silent`` (a result where an error was due, or a wrong one), ``traceback`` (any
other exception) or ``refused`` (an error where a result was due). Compare two versions with

    PYTHONPATH=/path/to/old python benchmarks/input_cases.py
    PYTHONPATH=. python benchmarks/input_cases.py
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_utils import compute, fitting
from scaling_utils.analysis.results import load_sweep_results
from scaling_utils.cli import main
from scaling_utils.laws import ChinchillaLaw

ROOT = Path(__file__).resolve().parents[1]
EPOCH = ROOT.parent / "shared" / "data" / "external" / "chinchilla_fig4_epoch_extracted.csv"
LAW = ChinchillaLaw(E=1.8, A=400.0, B=1500.0, alpha=0.35, beta=0.37)
TMP = Path(tempfile.mkdtemp(prefix="input-cases-"))


def isoflop(n_sizes: int = 7, noise: float = 0.003) -> pd.DataFrame:
    """IsoFLOP runs (N, C, loss) of :data:`LAW` at 4 budgets."""
    rng = np.random.default_rng(0)
    rows = []
    for c in (1e18, 1e19, 1e20, 1e21):
        for n in LAW.compute_optimal(c)[0] * np.logspace(-0.9, 0.9, n_sizes):
            rows.append({"N": n, "C": c, "loss": LAW.loss(n, c / (6 * n)) * np.exp(rng.normal(0, noise))})
    return pd.DataFrame(rows)


def csv(df: pd.DataFrame, name: str, **kw) -> Path:
    """Write ``df`` under the temporary folder."""
    f = TMP / name
    df.to_csv(f, index=False, **kw)
    return f


LAST_ERROR = [""]


def cli(*args) -> int:
    """``main(argv)`` with its output swallowed (stderr kept in :data:`LAST_ERROR`); the exit status."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args], out=io.StringIO())
        except SystemExit as exc:
            status = int(exc.code)
    LAST_ERROR[0] = err.getvalue()
    return status


def sweep_copy(change_meta=None, change_csv=None) -> Path:
    """A copy of the committed ``data`` sweep with its meta or CSV changed."""
    import hashlib

    folder = Path(tempfile.mkdtemp(dir=TMP))
    df = pd.read_csv(ROOT / "data" / "experiments" / "data.csv")
    meta = json.loads((ROOT / "data" / "experiments" / "data.meta.json").read_text())
    if change_csv is not None:
        df = change_csv(df)
    df.to_csv(folder / "data.csv", index=False)
    meta["csv_sha256"] = hashlib.sha256((folder / "data.csv").read_bytes()).hexdigest()
    meta = change_meta(meta) if change_meta is not None else meta
    raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    (folder / "data.meta.json").write_bytes(raw)
    return folder


def _iso_with(**cols) -> pd.DataFrame:
    df = isoflop()
    for k, f in cols.items():
        df[k] = f(df)
    return df


def _dup_params() -> pd.DataFrame:
    return _iso_with(params=lambda d: d["N"])


def _interval_has_estimate() -> bool:
    out = TMP / "dense.json"
    code = cli("fit", csv(isoflop(500, 0.01), "dense.csv"), "--approach", "2", "--resamples", "100", "--json", out)
    rec = json.loads(out.read_text())["approaches"]["2"]
    return code == 0 and (rec["a"]["low"] <= rec["a"]["estimate"] <= rec["a"]["high"] or bool(rec.get("notes")))


def _capped_inference() -> bool:
    out = TMP / "cap.json"
    cli("plan", "--compute", "1e22", "--law", "muennighoff2023", "--unique-tokens", "1e9", "--inference-tokens", "1e12")
    cli(*"plan --compute 1e22 --law muennighoff2023 --unique-tokens 1e9 --inference-tokens 1e12 --json".split(), out)
    p = json.loads(out.read_text())
    return abs(p["inference"]["chinchilla"]["training_flops"] / 1e22 - 1) < 1e-2


def _law_file(content: dict) -> Path:
    f = TMP / "law.json"
    f.write_text(json.dumps(content))
    return f


def _pipe() -> int:
    cmd = f"{sys.executable} -m scaling_utils fit {csv(isoflop(), 'pipe.csv')} --resamples 50 | head -1"
    res = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    return 0 if res.returncode == 0 and not res.stderr else 1


def _single_budget_converged() -> bool:
    n = np.logspace(7, 10, 12)
    d = 1e20 / (6 * n)
    return not fitting.fit_chinchilla(n, d, LAW.loss(n, d) * np.exp(np.linspace(-0.01, 0.01, 12))).converged


def _epoch_approach_1() -> int:
    df = pd.read_csv(EPOCH).sort_values("loss").iloc[:-5]
    return cli("fit", csv(df, "epoch.csv"), "--approach", "1", "--resamples", "50")


GRID = np.meshgrid(np.logspace(7, 10, 6), np.logspace(9, 12, 6))
GN, GD = GRID[0].ravel(), GRID[1].ravel()
GL = LAW.loss(GN, GD)
E_ = 1.69337368

# (kind, case, expected "error" or "result", what to run: an exit status, a bool (True = right), or None)
CASES = [
    (
        "physical",
        "tokens as compute",
        "error",
        lambda: cli("fit", csv(_iso_with(C=lambda d: d["C"] / (6 * d["N"])), "a.csv")),
    ),
    (
        "physical",
        "FLOPs under a tokens header",
        "error",
        lambda: cli("fit", csv(isoflop().rename(columns={"C": "tokens"}), "b.csv")),
    ),
    (
        "physical",
        "C and D disagree",
        "error",
        lambda: cli("fit", csv(_iso_with(D=lambda d: 3 * d["C"] / (6 * d["N"])), "c.csv")),
    ),
    ("physical", "plan --compute 1", "error", lambda: cli("plan", "--compute", "1")),
    (
        "physical",
        "one N = 1e300",
        "error",
        lambda: cli("fit", csv(isoflop().assign(N=lambda d: d["N"].where(d.index != 3, 1e300)), "d.csv")),
    ),
    ("ambiguous", "loss twice", "error", lambda: cli("fit", _twice())),
    ("ambiguous", "N and params", "error", lambda: cli("fit", csv(_dup_params(), "e.csv"))),
    (
        "ambiguous",
        "loss and final_loss",
        "error",
        lambda: cli("fit", csv(_iso_with(final_loss=lambda d: d["loss"] * 1.1), "f.csv")),
    ),
    ("ambiguous", "JSON true as a loss", "error", lambda: cli("fit", _json_true())),
    (
        "ambiguous",
        "semicolons, comma decimals",
        "error:semicolons",
        lambda: cli("fit", csv(isoflop(), "g.csv", sep=";", decimal=",")),
    ),
    ("ambiguous", "tabs", "error:tabs", lambda: cli("fit", csv(isoflop(), "h.csv", sep="\t"))),
    ("ambiguous", "a directory", "error:directory", lambda: cli("fit", TMP)),
    ("size", "dense sizes, approach 2 bootstrap", "result", lambda: _dense_bootstrap()),
    ("size", "500 sizes: interval holds its estimate or says why", "result", _interval_has_estimate),
    ("size", "--resamples 2", "error", lambda: cli("fit", csv(isoflop(), "i.csv"), "--resamples", "2")),
    ("approach 1", "Epoch's 240 points", "result", _epoch_approach_1),
    (
        "output",
        "--json into a missing folder",
        "error",
        lambda: cli("fit", csv(isoflop(), "j.csv"), "--json", TMP / "no" / "x.json"),
    ),
    ("output", "--json .", "error", lambda: cli("fit", csv(isoflop(), "k.csv"), "--json", TMP)),
    ("output", "--plot out.xyz", "error:xyz", lambda: cli("fit", csv(isoflop(), "l.csv"), "--plot", TMP / "out.xyz")),
    ("output", "fit | head", "result", _pipe),
    ("plan", "--compute -1e23 named", "error:negative", lambda: cli("plan", "--compute", "-1e23")),
    ("plan", "--loss just above E", "result", lambda: cli("plan", "--compute", "1e23", "--loss", str(E_ + 1e-5))),
    ("plan", "data cap in the inference table", "result", _capped_inference),
    (
        "plan",
        "extreme law file",
        "error",
        lambda: cli(
            "plan",
            "--compute",
            "1e23",
            "--law",
            _law_file({"E": 1e-300, "A": 1e300, "B": 1e300, "alpha": 1e-3, "beta": 1e-3}),
        ),
    ),
    (
        "plan",
        "a list as the law's name",
        "error",
        lambda: cli(
            "plan",
            "--compute",
            "1e23",
            "--law",
            _law_file({"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3, "name": ["x"]}),
        ),
    ),
    (
        "plan",
        "--json into a missing folder",
        "error",
        lambda: cli("plan", "--compute", "1e23", "--json", TMP / "no" / "p.json"),
    ),
    (
        "library",
        "fit_approaches on an empty frame",
        "error",
        lambda: fitting.fit_approaches(pd.DataFrame(), pd.DataFrame()),
    ),
    ("library", "constant losses", "error:no scaling", lambda: fitting.fit_chinchilla(GN, GD, np.full_like(GL, 3.0))),
    ("library", "fit_isoflop, C = 6ND with float noise", "result", lambda: fitting.fit_isoflop(*_noisy_c())),
    ("library", "2.5 layers", "error", lambda: compute.non_embedding_params(2.5, 512)),
    ("library", "768 wide, 7 heads", "error", lambda: compute.chinchilla_flops(2, 768, 7)),
    ("library", "training_flops(1e200, 1e200)", "error", lambda: compute.training_flops(1e200, 1e200)),
    ("library", "halving='no'", "error", lambda: fitting.fit_chinchilla(GN, GD, GL, halving="no")),
    (
        "library",
        "a duplicated row",
        "error",
        lambda: fitting.fit_chinchilla(np.r_[GN, GN[3]], np.r_[GD, GD[3]], np.r_[GL, GL[3]]),
    ),
    ("library", "single budget not converged", "result", _single_budget_converged),
    ("library", "a loss of 1e300", "error", lambda: fitting.fit_chinchilla(GN, GD, np.r_[1e300, GL[1:]])),
    (
        "loader",
        "no n_runs",
        "error",
        lambda: _load(change_meta=lambda m: {k: v for k, v in m.items() if k != "n_runs"}),
    ),
    ("loader", "n_runs a string", "error:n_runs", lambda: _load(change_meta=lambda m: m | {"n_runs": "8"})),
    ("loader", "meta a list", "error", lambda: _load(change_meta=lambda m: [m])),
    ("loader", "non-UTF-8 meta", "error:UTF-8", lambda: _load(change_meta=lambda m: b'{"what": "caf\xe9"}')),
    (
        "loader",
        "no csv_sha256 (named as such)",
        "error:no csv_sha256",
        lambda: _load(change_meta=lambda m: {k: v for k, v in m.items() if k != "csv_sha256"}),
    ),
    (
        "loader",
        "upper-case sha",
        "result",
        lambda: _load(change_meta=lambda m: m | {"csv_sha256": m["csv_sha256"].upper()}),
    ),
    ("loader", "duplicated rows", "error", lambda: _load(change_csv=lambda d: pd.concat([d, d.iloc[[5]]]))),
    (
        "loader",
        "empty run_id",
        "error",
        lambda: _load(change_csv=lambda d: d.assign(run_id=d["run_id"].where(d.index != 4, ""))),
    ),
    (
        "loader",
        "fractional step",
        "error",
        lambda: _load(change_csv=lambda d: d.assign(step=d["step"].astype(float).where(d.index != 2, 10.5))),
    ),
    (
        "loader",
        "1e30 tokens",
        "error",
        lambda: _load(change_csv=lambda d: d.assign(tokens=d["tokens"].astype(float).where(d.index != 3, 1e30))),
    ),
    (
        "loader",
        "one loss x20",
        "error",
        lambda: _load(change_csv=lambda d: d.assign(loss=d["loss"].where(d.index != 10, d["loss"] * 20))),
    ),
]


def _twice() -> Path:
    f = TMP / "twice.csv"
    df = isoflop()
    f.write_text("N,C,loss,loss\n" + "\n".join(f"{r.N},{r.C},{r.loss},{r.loss}" for r in df.itertuples()))
    return f


def _json_true() -> Path:
    recs = isoflop().to_dict("records")
    recs[2]["loss"] = True
    f = TMP / "true.json"
    f.write_text(json.dumps(recs))
    return f


def _dense_bootstrap():
    rng = np.random.default_rng(0)
    rows = []
    for c in (1e18, 1e19, 1e20, 1e21):  # three sizes 1e-11 apart: singular normal equations
        for n in LAW.compute_optimal(c)[0] * np.r_[0.2, 0.5, 1, 1 + 1e-11, 1 + 2e-11, 2, 5]:
            rows.append((n, c, LAW.loss(n, c / (6 * n)) * np.exp(rng.normal(0, 1e-3))))
    n, c, l = map(np.array, zip(*rows, strict=True))
    return fitting.bootstrap_isoflop(n, c, l, window=5, n_resamples=400)


def _noisy_c():
    df = isoflop()
    return df["N"], 6.0 * df["N"] * (df["C"] / (6.0 * df["N"])), df["loss"]


def _load(**kw):
    return load_sweep_results("data", sweep_copy(**kw))


def classify(expected: str, run) -> str:
    """``clear``, ``confusing``, ``handled``, ``silent``, ``refused`` or ``traceback`` for one case.

    ``expected`` is ``"result"``, ``"error"`` or ``"error:WORD"`` (a clear error says WORD).
    """
    expected, _, word = expected.partition(":")
    LAST_ERROR[0] = ""
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            got = run()
    except (ValueError, TypeError) as err:
        if expected != "error":
            return f"refused ({str(err)[:60]})"
        return "clear" if word in str(err) else f"confusing ({str(err)[-60:]})"
    except Exception as err:
        return f"traceback ({type(err).__name__})"
    if isinstance(got, bool):  # a check of the answer: False is a wrong answer given without a word
        return "handled" if got else "silent"
    if isinstance(got, int):  # an exit status
        if expected == "error":
            if got != 2:
                return "silent"
            return "clear" if word in LAST_ERROR[0] else f"confusing ({LAST_ERROR[0].strip()[-60:]})"
        return "handled" if got == 0 else "refused"
    return "silent" if expected == "error" else "handled"


def main_() -> None:
    """Run every case; print one line per case and the counts by kind."""
    counts: dict[str, Counter] = {}
    for kind, name, expected, run in CASES:
        if "Epoch" in name and not EPOCH.is_file():
            continue
        outcome = classify(expected, run)
        print(f"{kind:<10} {name:<52} {outcome}")
        counts.setdefault(kind, Counter())[outcome.split(" ")[0]] += 1
    print(json.dumps({k: dict(v) for k, v in counts.items()}))


if __name__ == "__main__":
    main_()
