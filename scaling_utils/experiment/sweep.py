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
import uuid
from concurrent.futures import Executor
from pathlib import Path

import pandas as pd

from scaling_utils._paths import repo_root, sha256_file
from scaling_utils.analysis.results import COLUMNS, file_sha256
from scaling_utils.experiment.config import SweepConfigError, load_sweep
from scaling_utils.experiment.executors import ExecutorSettings, start, write_atomic
from scaling_utils.experiment.guard import (
    ResultsLock,
    check_run_file,
    compute_report,
    finished_runs,
    groups,
    prepare,
    run_cost,
)
from scaling_utils.experiment.spec import RunSpec

__all__ = ["SweepConfigError", "SweepFailed", "assemble", "load_sweep", "run_sweep"]


_write_atomic = write_atomic


class SweepFailed(RuntimeError):
    """Some runs of a sweep failed after every retry; the message names each, with its log."""


def _fmt(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


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
    processes that end with the head), ``"slurm"`` (submitit: a Slurm job array, or
    submitit's local executor where there is no ``sbatch``), or any
    :class:`concurrent.futures.Executor`. Settings come from the sweep file's
    ``[executor]`` table, overridden by the arguments that are not None
    (``executor_options``: partition, gpus_per_task, time_limit_min, mem_gb,
    array_parallelism, group, snapshot_every_s). A failed task is submitted again up to
    ``retries`` times (a diverged run is not: it would diverge again), then reported with
    its log; if any run is missing the sweep stops with :class:`SweepFailed`, unless
    ``allow_partial``. A restarted head submits only the runs without a sound run file
    (damaged files are set aside and redone), and runs in progress resume from their
    snapshots. A lock keeps a second head off the results folder.

    Returns the path of the assembled CSV.
    """
    if order not in ("cost", "file"):
        raise ValueError(f"order must be 'cost' or 'file', got {order!r}")
    config, specs = prepare(sweep_file, corpus)
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
    snap_dir = Path(out) / "snapshots" / name
    with ResultsLock(run_dir):
        done = finished_runs(specs, run_dir, log)
        todo = [s for s in specs if s.run_id not in done]
        done_cost = sum(run_cost(s) for s in specs if s.run_id in done)
        total_cost = sum(run_cost(s) for s in specs)
        if order == "cost":
            todo.sort(key=run_cost, reverse=True)
        report = compute_report(specs)
        if report and todo:
            print(f"[{name}] {report}", file=log, flush=True)
        t0 = time.perf_counter()
        failed: list[tuple[list[RunSpec], str, str]] = []
        if todo:
            sub = start(settings, corpus, Path(out) / "logs" / name, given)
            tasks = groups(todo, settings.group)
            print(
                f"[{name}] {len(specs)} runs, {len(specs) - len(todo)} already finished, {len(todo)} to run "
                f"in {len(tasks)} tasks on {sub.label} ({settings.device})",
                file=log,
                flush=True,
            )

            def task(members):
                files = [str(run_dir / f"{s.run_id}.json") for s in members]
                tag = members[0].run_id + (f"+{len(members) - 1}" if len(members) > 1 else "")
                return members, files, str(snap_dir / f"{tag}.pt")

            try:
                handles = sub.submit([task(g) for g in tasks])
                pending = {id(h): (h, g, 0) for h, g in zip(handles, tasks, strict=True)}
                finished, todo_cost = 0, 0.0
                while pending:
                    sub.wait_any([h for h, _, _ in pending.values()])
                    for key, (h, members, attempt) in list(pending.items()):
                        if not h.done():
                            continue
                        del pending[key]
                        err = h.error()
                        ids = ", ".join(s.run_id for s in members)
                        if err is not None:
                            print(f"[{name}] run {ids} failed (attempt {attempt + 1}): {err}; log: {h.log()}",
                                  file=log, flush=True)  # fmt: skip
                            if attempt < settings.retries and not err.startswith("RunDiverged"):
                                (again,) = sub.submit([task(members)])
                                pending[id(again)] = (again, members, attempt + 1)
                            else:
                                failed.append((members, err, h.log()))
                            continue
                        finished += len(members)
                        todo_cost += sum(run_cost(s) for s in members)
                        elapsed = time.perf_counter() - t0
                        frac = (done_cost + todo_cost) / total_cost
                        eta = elapsed / todo_cost * (total_cost - done_cost - todo_cost) if todo_cost else 0.0
                        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
                        print(
                            f"[{name}] [{bar}] {finished}/{len(todo)} runs, {len(pending)} tasks running or queued, "
                            f"{len(failed)} failed, elapsed {_fmt(elapsed)}, left ~{_fmt(eta)}",
                            file=log,
                            flush=True,
                        )
            finally:
                sub.close()
        if failed and not allow_partial:
            lines = "; ".join(f"{', '.join(s.run_id for s in m)}: {err} (log: {where})" for m, err, where in failed)
            n_failed = sum(len(m) for m, _, _ in failed)
            raise SweepFailed(
                f"sweep {name}: {n_failed} of {len(specs)} runs failed after {settings.retries} retries: {lines}. "
                "Fix and rerun (finished runs are kept), or assemble what finished with --allow-partial"
            )
        return assemble(
            sweep_file,
            out,
            corpus,
            wall_s=time.perf_counter() - t0,
            trained=bool(todo),
            device=settings.device,
            workers=settings.workers,
            allow_partial=allow_partial,
            executor=settings.as_dict() | ({"name": type(given).__name__} if given is not None else {}),
            specs=specs,
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


def assemble(
    sweep_file: Path,
    out: Path,
    corpus: str,
    *,
    wall_s: float = 0.0,
    trained: bool = True,
    device: str = "cpu",
    workers: int = 1,
    allow_partial: bool = False,
    executor: dict | None = None,
    specs: list[RunSpec] | None = None,
) -> Path:
    """Collect the finished runs of a sweep into ``<sweep>.csv`` and write ``<sweep>.meta.json``.

    The meta file is derived from the run files: their hardware, hosts, wall times and
    corpus. An invocation that trained nothing (``trained=False``) leaves a CSV and meta
    that agree with each other as they are, so re-assembling never rewrites provenance.
    A sweep with runs missing is refused unless ``allow_partial``; then the meta says how
    many are missing (``n_missing``, beside the planned ``n_runs``).
    """
    if specs is None:
        config, specs = prepare(sweep_file, corpus)
    else:
        config, _ = load_sweep(sweep_file)
    name = config["sweep"]
    run_dir = Path(out) / "runs" / name
    csv = Path(out) / f"{name}.csv"
    meta_file = Path(out) / f"{name}.meta.json"
    missing = [s.run_id for s in specs if not (run_dir / f"{s.run_id}.json").is_file()]
    if missing and not allow_partial:
        raise RuntimeError(f"sweep {name} is not finished: {len(missing)} runs missing (first {missing[0]})")
    if len(missing) == len(specs):
        raise RuntimeError(f"sweep {name} has no finished run to assemble")
    if not trained and csv.is_file() and meta_file.is_file():
        try:
            old = json.loads(meta_file.read_text())
        except (OSError, json.JSONDecodeError):
            old = {}
        if old.get("csv_sha256") == file_sha256(csv) and old.get("n_runs") == len(specs):
            return csv
    rows = []
    run_wall = 0.0
    hosts: dict[str, int] = {}
    executors: dict[str, int] = {}
    hardware: dict[str, int] = {}
    corpora: dict[str, int] = {}
    diverged: list[str] = []
    for s in specs:
        if s.run_id in missing:
            continue
        path = run_dir / f"{s.run_id}.json"
        problem = check_run_file(s, path)
        if problem is not None:
            raise RuntimeError(f"run file {path}: {problem}; rerun the sweep to redo it")
        rec = json.loads(path.read_text())
        rows.extend(rec["rows"])
        if rec.get("diverged"):
            diverged.append(s.run_id)
        for table, key in ((hosts, rec.get("host")), (executors, rec.get("executor"))):
            table[key or "unrecorded"] = table.get(key or "unrecorded", 0) + 1
        hw = rec.get("hardware")
        label = (
            f"{hw.get('device')}: {hw.get('gpu') or hw.get('cpu')}"
            if hw
            else f"{rec.get('device', '?')} (no model recorded)"
        )
        hardware[label] = hardware.get(label, 0) + 1
        c = rec.get("corpus")
        ckey = f"{c['train_dist']} sha256 {c['sha256'][:16]}" if c else "unrecorded"
        corpora[ckey] = corpora.get(ckey, 0) + 1
        run_wall += rec.get("wall_s") or max((r["wall_s"] for r in rec["rows"]), default=0.0) / rec.get("group_size", 1)
    df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(COLUMNS))
    extra = [c for c in df.columns if c not in COLUMNS]
    df = df[list(COLUMNS) + extra]
    tmp = csv.with_name(f".{csv.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
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
        **({"diverged_runs": diverged} if diverged else {}),
        "code_commit": _git_commit(),
        "corpus": "fixture" if corpus.startswith("fixture:") else "debian+pypi (see scaling_utils.experiment.corpus)",
        "corpus_manifest_sha256": manifest,
        "runs_by_corpus": corpora,
        "hardware": _hardware(device, workers),
        "runs_by_hardware": hardware,
        "wall_s_last_invocation": round(wall_s, 1),
        "train_s_sum_of_runs": round(run_wall, 1),
        "csv_sha256": file_sha256(csv),
        **({"executor": executor} if executor is not None else {}),
        "runs_by_host": hosts,
        "runs_by_executor": executors,
    }
    _write_atomic(meta_file, json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    return csv


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
