"""Sweeps as data: a TOML file expands into runs; the runner resumes, writes atomically, runs in parallel.

A sweep file (``experiments/<preset>/<sweep>.toml``)::

    sweep = "size"
    train_dist = "train_fit"
    eval_dists = ["train", "austen", "kjv"]

    [defaults]            # any RunSpec field
    n_ctx = 64
    lr = "tuned"          # or a number; "tuned" = scaling_utils.experiment.train.tuned_lr(N)

    [[grid]]              # a cartesian product of its list-valued keys
    shape = [[1, 16, 2], [2, 32, 4]]   # n_layer, d_model, n_head[, d_ff]
    tokens = [1e6]

    [[grid]]              # IsoFLOP: tokens = budget_flops / (6 N) for each shape
    shape = [[2, 32, 4]]
    budget_flops = [1e11, 1e12]

Each finished run is written to ``<out>/runs/<sweep>/<run_id>.json`` through a temporary
file and :func:`os.replace`, so a sweep killed at any moment loses at most the runs in
progress, and a restart skips every finished run. When all runs are done the sweep is
assembled into ``<out>/<sweep>.csv`` (tidy: a row per run, checkpoint and distribution)
and ``<out>/<sweep>.meta.json``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import Executor
from pathlib import Path

import pandas as pd

from scaling_utils._paths import repo_root, sha256_file
from scaling_utils.compute import (
    kaplan_flops_per_token,
)
from scaling_utils.experiment.config import SweepConfigError, load_sweep
from scaling_utils.experiment.executors import ExecutorSettings, start, write_atomic
from scaling_utils.experiment.train import RunSpec
from scaling_utils.results import COLUMNS, file_sha256

__all__ = ["SweepConfigError", "SweepFailed", "assemble", "load_sweep", "run_sweep"]


_write_atomic = write_atomic


class SweepFailed(RuntimeError):
    """Some runs of a sweep failed after every retry; the message names each, with its log."""


def _fmt(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _cost(spec: RunSpec) -> float:
    """Relative cost estimate of a run (FLOPs including attention), for the time-left estimate."""
    cfg = spec.model_config
    per_token = float(kaplan_flops_per_token(cfg.n_layer, cfg.d_model, cfg.n_ctx, cfg.ff))
    return spec.tokens * (per_token + 2 * 256 * cfg.d_model) + 1e6  # plus the output layer


def run_sweep(
    sweep_file: Path,
    out: Path,
    corpus: str,
    *,
    workers: int | None = None,
    threads: int | None = None,
    device: str | None = None,
    order: str = "cost",
    executor: str | Executor | None = None,
    retries: int | None = None,
    allow_partial: bool = False,
    executor_options: dict | None = None,
    log=sys.stderr,
) -> Path:
    """Run every unfinished run of ``sweep_file``; assemble ``out/<sweep>.csv`` when all are done.

    ``corpus`` is a built corpus folder or ``"fixture:<path>"`` (the offline smoke corpus).
    ``order`` is ``"cost"`` (largest runs first: the pool stays busy to the end) or
    ``"file"`` (the sweep file's order: for an IsoFLOP sweep, whole budgets finish one
    after another, so the first can be checked while the rest run).

    ``executor`` is ``"local"`` (default: a spawn pool of ``workers`` single-threaded
    processes), ``"slurm"`` (submitit: a Slurm job array, or submitit's local executor where
    there is no ``sbatch``), or any :class:`concurrent.futures.Executor` (a thread pool,
    Dask's ``client.get_executor()``). Settings come from the sweep file's ``[executor]``
    table, overridden by the arguments that are not None (``executor_options``: partition,
    gpus_per_task, time_limit_min, mem_gb, array_parallelism). A failed task is submitted
    again up to ``retries`` times, then reported with its log; if any run is missing the
    sweep stops with :class:`SweepFailed`, unless ``allow_partial``, which assembles what
    finished and records ``n_missing`` in the meta file. A restarted head submits only the
    runs that have no run file.

    Returns the path of the assembled CSV.
    """
    config, specs = load_sweep(sweep_file)
    name = config["sweep"]
    given = executor if isinstance(executor, Executor) else None
    settings = ExecutorSettings.from_table(
        config.get("executor"),
        name=None if given is not None else executor,
        workers=workers,
        threads=threads,
        device=device,
        retries=retries,
        **(executor_options or {}),
    )
    run_dir = Path(out) / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    todo = [s for s in specs if not (run_dir / f"{s.run_id}.json").is_file()]
    done_cost = sum(_cost(s) for s in specs if s not in todo)
    total_cost = sum(_cost(s) for s in specs)
    if order == "cost":
        todo.sort(key=_cost, reverse=True)
    elif order != "file":
        raise ValueError(f"order must be 'cost' or 'file', got {order!r}")
    t0 = time.perf_counter()
    failed: list[tuple[RunSpec, str, str]] = []
    if todo:
        sub = start(settings, corpus, Path(out) / "logs" / name, given)
        print(
            f"[{name}] {len(specs)} runs, {len(specs) - len(todo)} already finished, {len(todo)} to run "
            f"on {sub.label} ({settings.device})",
            file=log,
            flush=True,
        )
        try:
            handles = sub.submit([(s, str(run_dir / f"{s.run_id}.json")) for s in todo])
            pending = {id(h): (h, s, 0) for h, s in zip(handles, todo, strict=True)}
            finished, todo_cost = 0, 0.0
            while pending:
                sub.wait_any([h for h, _, _ in pending.values()])
                for key, (h, spec, attempt) in list(pending.items()):
                    if not h.done():
                        continue
                    del pending[key]
                    err = h.error()
                    if err is not None:
                        print(f"[{name}] run {spec.run_id} failed (attempt {attempt + 1}): {err}; log: {h.log()}",
                              file=log, flush=True)  # fmt: skip
                        if attempt < settings.retries:
                            (again,) = sub.submit([(spec, str(run_dir / f"{spec.run_id}.json"))])
                            pending[id(again)] = (again, spec, attempt + 1)
                        else:
                            failed.append((spec, err, h.log()))
                        continue
                    finished += 1
                    todo_cost += _cost(spec)
                    elapsed = time.perf_counter() - t0
                    frac = (done_cost + todo_cost) / total_cost
                    eta = elapsed / todo_cost * (total_cost - done_cost - todo_cost) if todo_cost else 0.0
                    bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
                    print(
                        f"[{name}] [{bar}] {finished}/{len(todo)} runs, {len(pending)} running or queued, "
                        f"{len(failed)} failed, elapsed {_fmt(elapsed)}, left ~{_fmt(eta)}",
                        file=log,
                        flush=True,
                    )
        finally:
            sub.close()
    if failed and not allow_partial:
        lines = "; ".join(f"{s.run_id}: {err} (log: {where})" for s, err, where in failed)
        raise SweepFailed(
            f"sweep {name}: {len(failed)} of {len(specs)} runs failed after {settings.retries} retries: {lines}. "
            "Fix and rerun (finished runs are kept), or assemble what finished with --allow-partial"
        )
    return assemble(
        sweep_file,
        out,
        corpus,
        wall_s=time.perf_counter() - t0,
        device=settings.device,
        workers=settings.workers,
        allow_partial=allow_partial,
        executor=settings.as_dict() | ({"name": type(given).__name__} if given is not None else {}),
    )


def _relative(path: Path) -> str:
    """``path`` relative to the repository when inside it (no machine paths in committed data)."""
    root = repo_root()
    p = Path(path).resolve()
    return p.relative_to(root).as_posix() if p.is_relative_to(root) else Path(path).name


def _git_commit() -> str:
    if os.environ.get("SCALING_CODE_COMMIT"):  # set where the tree travels without .git (a remote machine)
        return os.environ["SCALING_CODE_COMMIT"]
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _hardware(device: str, workers: int) -> dict:
    import torch

    hw = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "device": device,
        "workers": workers,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        hw["gpu"] = torch.cuda.get_device_name(0)
    return hw


def assemble(
    sweep_file: Path,
    out: Path,
    corpus: str,
    *,
    wall_s: float = 0.0,
    device: str = "cpu",
    workers: int = 1,
    allow_partial: bool = False,
    executor: dict | None = None,
) -> Path:
    """Collect the finished runs of a sweep into ``<sweep>.csv`` and write ``<sweep>.meta.json``.

    A sweep with runs missing is refused unless ``allow_partial``; then the meta file says
    how many are missing (``n_missing``, beside the planned ``n_runs``).
    """
    config, specs = load_sweep(sweep_file)
    name = config["sweep"]
    run_dir = Path(out) / "runs" / name
    missing = [s.run_id for s in specs if not (run_dir / f"{s.run_id}.json").is_file()]
    if missing and not allow_partial:
        raise RuntimeError(f"sweep {name} is not finished: {len(missing)} runs missing (first {missing[0]})")
    if len(missing) == len(specs):
        raise RuntimeError(f"sweep {name} has no finished run to assemble")
    rows = []
    run_wall = 0.0
    hosts: dict[str, int] = {}
    executors: dict[str, int] = {}
    for s in specs:
        if s.run_id in missing:
            continue
        rec = json.loads((run_dir / f"{s.run_id}.json").read_text())
        rows.extend(rec["rows"])
        hosts[rec.get("host", "unrecorded")] = hosts.get(rec.get("host", "unrecorded"), 0) + 1
        executors[rec.get("executor", "unrecorded")] = executors.get(rec.get("executor", "unrecorded"), 0) + 1
        run_wall += max((r["wall_s"] for r in rec["rows"]), default=0.0)
    df = pd.DataFrame(rows)
    extra = [c for c in df.columns if c not in COLUMNS]
    df = df[list(COLUMNS) + extra]
    csv = Path(out) / f"{name}.csv"
    tmp = csv.with_name(f".{csv.name}.tmp")
    df.to_csv(tmp, index=False, float_format="%.6g", lineterminator="\n")
    os.replace(tmp, csv)
    manifest = None
    if not corpus.startswith("fixture:"):
        mf = Path(corpus) / "manifest.json"
        manifest = sha256_file(mf) if mf.is_file() else None
    meta = {
        "sweep": name,
        "config_file": _relative(sweep_file),
        "config": config,
        "n_runs": len(specs),
        **({"n_missing": len(missing)} if missing else {}),
        "code_commit": _git_commit(),
        "corpus": "fixture" if corpus.startswith("fixture:") else "debian+pypi (see scaling_utils.experiment.corpus)",
        "corpus_manifest_sha256": manifest,
        "hardware": _hardware(device, workers),
        "wall_s_last_invocation": round(wall_s, 1),
        "train_s_sum_of_runs": round(run_wall, 1),
        "csv_sha256": file_sha256(csv),
        **({"executor": executor} if executor is not None else {}),
        "runs_by_host": hosts,
        "runs_by_executor": executors,
    }
    _write_atomic(Path(out) / f"{name}.meta.json", json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    return csv
