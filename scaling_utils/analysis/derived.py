"""Expensive results of the predictability chapter, cached as committed tables keyed by their inputs and code.

``python -m scaling_utils.analysis.derived`` recomputes them into ``data/derived/``: the
backtests (Porian et al.'s 15 settings and the committed corrected IsoFLOP sweep) and
approach 2's bias on the v3 ladder. Each table's meta file holds the sha256 of its inputs
and of the code that made it (showyourwork's way); :func:`load` refuses a table whose key
no longer matches, so an edit to the code or the data recomputes instead of reading a stale
cache (``stale="recompute"``), or stops with a message (``stale="error"``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_utils._paths import repo_root, sha256_bytes, sha256_file

__all__ = [
    "TABLES",
    "bias_on_ladder",
    "kaplan_backtests",
    "key",
    "load",
    "porian_backtests",
    "sweep_backtests",
    "v3_backtests",
    "v3_countings",
]

_ROOT = repo_root()
_FIT = (
    "scaling_utils/analysis/derived.py",
    *sorted(p.relative_to(_ROOT).as_posix() for p in (_ROOT / "scaling_utils" / "fitting").glob("*.py")),
)
"""The code every table depends on: this module and every module of the fitting library."""
_V3 = ("scaling_utils/analysis/predict.py", "scaling_utils/analysis/predictable.py")
"""The code that reads the v3 fitting sweep and makes its prediction."""
BUDGETS = (1.6e11, 5e11, 1.6e12, 5e12, 1.6e13)
LAWS = ((0.34, 0.34), (0.34, 0.28), (0.5, 0.25), (0.25, 0.5))
CENTRES = (2e4, 3.4e4, 6e4)


def porian_backtests() -> pd.DataFrame:
    """Each of Porian et al.'s settings: fit the 8 smallest budgets, predict the rest."""
    from scaling_utils.analysis.backtest import backtest_isoflop
    from scaling_utils.analysis.porian import SETTINGS, load_porian2024, select

    df = load_porian2024()
    rows = [backtest_isoflop(select(df, s).rename(columns={"n": "N", "flops": "C", "tokens": "D"}), 8,
                             label=f"{s.ladder}: {s.label}") for s in SETTINGS]  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def sweep_backtests() -> pd.DataFrame:
    """The committed corrected IsoFLOP sweep (6 budgets): fit the 4 and the 5 smallest, predict the rest."""
    from scaling_utils.analysis.backtest import backtest_isoflop
    from scaling_utils.analysis.isoflop import final_runs
    from scaling_utils.analysis.results import load_sweep_results

    r = final_runs(load_sweep_results("chinchilla_isoflop", _ROOT / "data" / "experiments"))
    r = r.groupby(["group", "N"], as_index=False).agg(D=("D", "mean"), loss=("loss", "mean"))
    r["C"] = r["group"]
    return pd.concat([backtest_isoflop(r, k, label="corrected IsoFLOP sweep", window=5) for k in (4, 5)],
                     ignore_index=True)  # fmt: skip


def kaplan_backtests() -> pd.DataFrame:
    """Kaplan's L(N), L(D) and L(C_min) on the size and data sweeps, the last decade held out."""
    from scaling_utils.analysis.backtest import backtest_kaplan
    from scaling_utils.analysis.results import load_sweep_results

    folder = _ROOT / "data" / "experiments"
    return backtest_kaplan(load_sweep_results("size", folder), load_sweep_results("data", folder))


def v3_backtests() -> pd.DataFrame:
    """The plan's laws on the v3 fitting sweep: fit the 4 smallest budgets, predict the largest."""
    from scaling_utils.analysis.backtest import backtest_v3
    from scaling_utils.analysis.predictable import fitting_points
    from scaling_utils.analysis.preregistration import load_plan

    plan = load_plan(_ROOT / "data" / "plans" / "predictable.toml")
    return backtest_v3(fitting_points(_ROOT / "data" / "experiments", plan))


def v3_countings() -> pd.DataFrame:
    """T1 on the v3 fitting sweep: approaches 1-3 in three countings, the plan's cluster resamples and the jackknife."""
    from scaling_utils.analysis.countings import countings
    from scaling_utils.analysis.predictable import fitting_points
    from scaling_utils.analysis.preregistration import load_plan

    plan = load_plan(_ROOT / "data" / "plans" / "predictable.toml")
    return countings(fitting_points(_ROOT / "data" / "experiments", plan), resamples=plan["prediction"]["resamples"],
                     level=plan["prediction"]["interval"], seed=plan["prediction"]["seed"])  # fmt: skip


def bias_on_ladder(repeats: int = 20, noise: float = 0.005) -> pd.DataFrame:
    """Approach 1-3 minus the true ``a`` on the v3 ladder's windows, noise-free and with 0.5% noise (mean, sd)."""
    from scaling_utils.analysis.bias import approach_bias, law_with_optimum, runs_on_sizes
    from scaling_utils.analysis.design import LADDER
    from scaling_utils.compute import params_with_head

    n = [params_with_head(layer, d, 4 * d) for layer, d, _ in LADDER]
    sizes = {c: n[2 * i : 2 * i + 7] for i, c in enumerate(BUDGETS)}
    rows = []
    for alpha, beta in LAWS:
        for centre in CENTRES:
            law = law_with_optimum(alpha, beta, centre, 1.6e12)
            exact = approach_bias(runs_on_sizes(law, sizes), law)
            noisy = pd.DataFrame([approach_bias(runs_on_sizes(law, sizes, noise=noise, seed=k), law)
                                  for k in range(repeats)])  # fmt: skip
            row = {"alpha": alpha, "beta": beta, "true_a": exact["true_a"], "N_opt at 1.6e12": centre}
            for a in ("approach1", "approach2", "approach3"):
                row[f"{a} exact"] = exact[a]
                row[f"{a} mean"] = float(noisy[a].mean())
                row[f"{a} sd"] = float(noisy[a].std(ddof=1))
            rows.append(row)
    return pd.DataFrame(rows)


TABLES = {
    "predictable_backtests_porian": (porian_backtests, ("data/external/porian2024/isoflop_points.csv",),
                                     ("scaling_utils/analysis/backtest.py", "scaling_utils/analysis/porian.py")),
    "predictable_backtests_sweep": (sweep_backtests, ("data/experiments/chinchilla_isoflop.csv",),
                                    ("scaling_utils/analysis/backtest.py", "scaling_utils/analysis/isoflop.py")),
    "predictable_backtests_kaplan": (kaplan_backtests, ("data/experiments/size.csv", "data/experiments/data.csv"),
                                     ("scaling_utils/analysis/backtest.py", "scaling_utils/analysis/measured.py")),
    "predictable_backtests_v3": (v3_backtests, ("data/experiments/predictable_fit.csv", "data/plans/predictable.toml"),
                                 ("scaling_utils/analysis/backtest.py", *_V3)),
    "predictable_countings": (v3_countings, ("data/experiments/predictable_fit.csv", "data/plans/predictable.toml"),
                              ("scaling_utils/analysis/countings.py", *_V3)),
    "approach2_bias": (bias_on_ladder, (), ("scaling_utils/analysis/bias.py", "scaling_utils/analysis/design.py")),
}  # fmt: skip
"""name -> (the function that makes it, its data inputs, the code beside :data:`_FIT` it runs; paths from the root)."""


def key(name: str) -> dict:
    """The cache key of a table: sha256 of its inputs and of the code that makes it."""
    _, inputs, code = TABLES[name]
    return {"inputs": {p: sha256_file(_ROOT / p) for p in inputs},
            "code": sha256_bytes(b"".join((_ROOT / p).read_bytes() for p in (*_FIT, *code)))}  # fmt: skip


def _paths(name: str) -> tuple[Path, Path]:
    folder = _ROOT / "data" / "derived"
    return folder / f"{name}.csv", folder / f"{name}.meta.json"


def write(name: str) -> Path:
    """Recompute table ``name`` and write it with its key."""
    csv, meta = _paths(name)
    csv.parent.mkdir(parents=True, exist_ok=True)
    TABLES[name][0]().to_csv(csv, index=False, float_format="%.6g", lineterminator="\n")
    record = {"key": key(name), "csv_sha256": sha256_file(csv), "made_by": "python -m scaling_utils.analysis.derived"}
    meta.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return csv


def load(name: str, stale: str = "recompute") -> pd.DataFrame:
    """Table ``name`` from the cache if its key matches; else recompute it (or raise, ``stale="error"``)."""
    if name not in TABLES:
        raise ValueError(f"name must be one of {sorted(TABLES)}, got {name!r}")
    if stale not in ("recompute", "error"):
        raise ValueError(f"stale must be 'recompute' or 'error', got {stale!r}")
    csv, meta = _paths(name)
    ok = csv.is_file() and meta.is_file()
    if ok:
        m = json.loads(meta.read_text())
        ok = m.get("key") == key(name) and m.get("csv_sha256") == sha256_file(csv)
    if not ok:
        if stale == "error":
            raise RuntimeError(f"the cached {name} is missing or stale: run python -m scaling_utils.analysis.derived")
        return TABLES[name][0]()
    return pd.read_csv(csv)


def main(argv: list[str] | None = None) -> int:
    """Recompute every table (or the named ones)."""
    for name in (argv if argv is not None else sys.argv[1:]) or TABLES:
        print(f"wrote {write(name).relative_to(_ROOT)}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
