"""Where a sweep's runs execute: the local pool, a Slurm cluster (submitit), or any Executor.

Every run is an independent task that trains one model and writes its run file atomically
into the sweep's results folder (a shared filesystem on a cluster); the head process only
submits, waits and assembles. Choose by name (``"local"``, ``"slurm"``) with
:class:`ExecutorSettings`, or pass any :class:`concurrent.futures.Executor` to
:func:`scaling_utils.experiment.sweep.run_sweep` (e.g. Dask's ``client.get_executor()``).

``"slurm"`` goes through submitit's ``AutoExecutor``: Slurm job arrays where ``sbatch`` is
available, and submitit's local executor (one subprocess per task) elsewhere.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import platform
import re
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, fields
from pathlib import Path

__all__ = ["EXECUTORS", "ExecutorSettings", "TaskHandle", "run_task", "start"]

EXECUTORS = ("local", "slurm")


class ExecutorError(ValueError):
    """An executor cannot be set up as asked; the message names the setting or the extra to install."""


@dataclass(frozen=True)
class ExecutorSettings:
    """How and where the tasks of a sweep run (a sweep file's ``[executor]`` table, or CLI flags).

    Attributes
    ----------
    name : str
        ``"local"`` (a spawn pool of ``workers`` processes, the default) or ``"slurm"``.
    workers : int
        Local pool size.
    threads : int
        Torch threads per task (Slurm: ``cpus_per_task``).
    device : str
        ``"cpu"`` or ``"cuda"`` for every task.
    partition : str or None
        Slurm partition.
    gpus_per_task : int
        GPUs per Slurm task.
    time_limit_min : int
        Wall-time limit per task, minutes.
    mem_gb : float or None
        Memory per task.
    array_parallelism : int
        Tasks of the job array running at once.
    retries : int
        Times a failed task is submitted again before the sweep reports it.
    group : int
        At most this many runs that share a shape and a schedule (seeds, peak rates) train
        as one task (:mod:`~scaling_utils.experiment.group`); 1 trains each run alone.
    snapshot_every_s : float
        Seconds between snapshots of a run in progress (what a killed run resumes from).
    """

    name: str = "local"
    workers: int = 2
    threads: int = 1
    device: str = "cpu"
    partition: str | None = None
    gpus_per_task: int = 0
    time_limit_min: int = 60
    mem_gb: float | None = None
    array_parallelism: int = 64
    retries: int = 1
    group: int = 1
    snapshot_every_s: float = 300.0

    def __post_init__(self) -> None:
        if self.name not in EXECUTORS:
            raise ExecutorError(f"executor must be one of {list(EXECUTORS)} (or an Executor object), got {self.name!r}")
        for key, low in (("workers", 1), ("threads", 1), ("gpus_per_task", 0), ("time_limit_min", 1),
                         ("array_parallelism", 1), ("retries", 0), ("group", 1)):  # fmt: skip
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ExecutorError(f"executor setting {key} must be an int >= {low}, got {v!r}")
        if self.mem_gb is not None and not (isinstance(self.mem_gb, (int, float)) and math.isfinite(self.mem_gb)
                                            and self.mem_gb > 0):  # fmt: skip
            raise ExecutorError(f"executor setting mem_gb must be > 0, got {self.mem_gb!r}")
        v = self.snapshot_every_s
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
            raise ExecutorError(f"executor setting snapshot_every_s must be a number > 0, got {v!r}")
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ExecutorError(f"executor setting device must be 'cpu' or 'cuda[:k]', got {self.device!r}")

    @classmethod
    def from_table(cls, table: dict | None, **overrides) -> ExecutorSettings:
        """Settings from a sweep file's ``[executor]`` table, then non-None ``overrides``."""
        known = {f.name for f in fields(cls)}
        merged = dict(table or {})
        unknown = sorted(set(merged) - known)
        if unknown:
            raise ExecutorError(f"[executor] has unknown keys {unknown}; allowed: {sorted(known)}")
        merged |= {k: v for k, v in overrides.items() if v is not None}
        return cls(**merged)

    def as_dict(self) -> dict:
        """The settings as a plain dict (recorded in the sweep's meta)."""
        return asdict(self)


# ---------------------------------------------------------------------------------- tasks

_CORPUS: dict[str, Mapping] = {}


class _MappedCorpus(Mapping):
    """A built corpus whose distributions are mapped from their files when first used (hash checked once)."""

    def __init__(self, path: Path) -> None:
        from scaling_utils.experiment.corpus import _manifest

        self.path = path
        self.names = sorted(_manifest(path)["distributions"])
        self._maps: dict = {}

    def __getitem__(self, name: str):
        if name not in self.names:
            raise KeyError(name)
        if name not in self._maps:
            from scaling_utils.experiment.corpus import load_distribution

            self._maps[name] = load_distribution(self.path, name)
        return self._maps[name]

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def _load(corpus_spec: str) -> Mapping:
    if corpus_spec not in _CORPUS:
        from scaling_utils.experiment import corpus as corpus_mod

        if corpus_spec.startswith("fixture:"):
            _CORPUS[corpus_spec] = corpus_mod.fixture_corpus(Path(corpus_spec.removeprefix("fixture:")))
        else:
            _CORPUS[corpus_spec] = _MappedCorpus(Path(corpus_spec))
    return _CORPUS[corpus_spec]


def _end_with_parent(parent: int) -> None:
    """Make this pool worker exit when the head does (a killed head leaves no worker training)."""
    try:  # Linux: the kernel sends SIGTERM when the parent dies
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # elsewhere (and as a second guard): poll the parent
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, daemon=True, name="end-with-head").start()


def _init_local(corpus_spec: str, threads: int, parent: int | None = None) -> None:
    import torch

    if parent is not None:
        _end_with_parent(parent)
    torch.set_num_threads(threads)
    _load(corpus_spec)


def write_atomic(path: Path, text: str) -> None:
    """Write through a uniquely named temporary file and :func:`os.replace`: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def hardware(device: str, threads: int) -> dict:
    """What a run trained on: device, CPU model, GPU model, torch threads, versions."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    hw = {"device": device, "cpu": cpu, "threads": threads, "torch": torch.__version__,
          "python": platform.python_version()}  # fmt: skip
    if device.startswith("cuda") and torch.cuda.is_available():
        hw["gpu"] = torch.cuda.get_device_name(0)
    return hw


def run_task(specs, out_files, corpus_spec: str, device: str, threads: int, executor: str,
             snapshot_file: str | None = None, snapshot_every_s: float = 300.0) -> tuple[list[str], float]:  # fmt: skip
    """Train one run (or a group of same-shape runs) and write their run files; every executor's unit of work.

    A snapshot is written to ``snapshot_file`` every ``snapshot_every_s`` seconds and
    resumed from if present; it is removed once the run files are written. Each run file
    records the hardware, the wall time, the code commit and the corpus it trained on. The
    wall time of a resumed run counts every stretch it trained, not only the last (the rows'
    ``wall_s`` carry it across snapshots).
    """
    import torch

    from scaling_utils.experiment.train import train_group

    if not isinstance(specs, (list, tuple)):
        specs, out_files = [specs], [out_files]
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    corpus = _load(corpus_spec)
    snap = Path(snapshot_file) if snapshot_file else None
    from scaling_utils.experiment.snapshot import SnapshotError

    try:
        all_rows = train_group(
            list(specs), corpus, device=device, snapshot_path=snap, snapshot_every_s=snapshot_every_s
        )
    except SnapshotError as err:  # another group's or unreadable: set it aside, train from the start
        aside = snap.with_name(f"{snap.name}.bad-{uuid.uuid4().hex[:8]}")
        os.replace(snap, aside)
        print(f"{err}; moved to {aside.name}, training from the start", file=sys.stderr, flush=True)
        all_rows = train_group(
            list(specs), corpus, device=device, snapshot_path=snap, snapshot_every_s=snapshot_every_s
        )
    wall = time.perf_counter() - t0
    wall = max([wall, *(rows[-1]["wall_s"] for rows in all_rows if rows)])  # a resumed run: every stretch
    hw = hardware(device, threads)
    train = corpus[specs[0].train_dist]
    for spec, rows, out in zip(specs, all_rows, out_files, strict=True):
        record = {
            "run_id": spec.run_id, "rows": rows, "host": platform.node(), "executor": executor, "device": device,
            "hardware": hw, "wall_s": round(wall, 2), "group_size": len(specs),
            "code_commit": os.environ.get("SCALING_CODE_COMMIT") or _START_COMMIT,
            "corpus": {"train_dist": spec.train_dist, "bytes": len(train), "sha256": _sha(train)},
        }  # fmt: skip
        if "prediction" in spec.extra:  # a target run: the committed prediction it tests
            record["prediction"] = spec.extra["prediction"]
        diverged = {r.get("diverged_step") for r in rows} - {None}
        if diverged or (not rows and spec.on_diverge == "record"):
            record["diverged"] = True
        write_atomic(Path(out), json.dumps(record))
    if snap is not None:
        snap.unlink(missing_ok=True)
    return [s.run_id for s in specs], wall


_SHA: dict[int, str] = {}


def _sha(data: bytes) -> str:
    key = id(data)
    if key not in _SHA:
        import hashlib

        _SHA[key] = hashlib.sha256(data).hexdigest()
    return _SHA[key]


def _commit(where: Path | None = None) -> str:
    """The commit of the checkout holding ``where`` (this package), ``+dirty`` when tracked files differ from it.

    The sweeps' own outputs under ``data/experiments`` (their logs, appended to while they run)
    do not count: a run trained by committed code says so.
    """
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                              cwd=where or Path(__file__).parent, timeout=10).stdout.strip()  # fmt: skip

    try:
        head = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ":(top)", ":(top,exclude)data/experiments")
        return head + ("+dirty" if changed else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


_START_COMMIT = _commit()
"""The commit of the code this process imported (a later commit in the checkout does not change it)."""


# ---------------------------------------------------------------------------------- handles


class TaskHandle:
    """One submitted task, whatever ran it: done / error / where its log is."""

    def __init__(self, future: Future | None = None, job=None) -> None:
        self.future, self.job = future, job

    def done(self) -> bool:
        """Whether the run has finished (either way)."""
        return self.future.done() if self.future is not None else bool(self.job.done())

    def error(self) -> str | None:
        """None if the task succeeded, else the error in one line."""
        if self.future is not None:
            exc = self.future.exception()
            return None if exc is None else f"{type(exc).__name__}: {exc}"
        exc = self.job.exception()
        if exc is None:
            return None
        # submitit's exception points at the logs; the task's own error is the last
        # "SomethingError: message" line of the traceback it printed there.
        text = str(exc)
        try:
            text += "\n" + Path(self.job.paths.stderr).read_text(errors="replace")
        except OSError:
            pass
        errors = [ln.strip() for ln in text.splitlines() if re.match(r"^\s*\w*(Error|Exception)\b[^:]*: ", ln)]
        return errors[-1] if errors else text.strip().splitlines()[0]

    def log(self) -> str:
        """Where the task's output went (submitit's stderr file; the head's stderr locally)."""
        if self.job is not None:
            return str(self.job.paths.stderr)
        return "the head process's stderr"


class _Submitter:
    """Submits tasks to one backend and hands back :class:`TaskHandle` objects."""

    def __init__(self, settings: ExecutorSettings, corpus: str, log_dir: Path, executor: Executor | None) -> None:
        self.settings, self.corpus = settings, corpus
        self.label = type(executor).__name__ if executor is not None else settings.name
        self._own = None
        self._pool: Executor | None = executor
        self._submitit = None
        if executor is None and settings.name == "local":
            self._own = self._pool = ProcessPoolExecutor(
                max_workers=settings.workers,
                initializer=_init_local,
                initargs=(corpus, settings.threads, os.getpid()),
                mp_context=multiprocessing.get_context("spawn"),
            )
        elif executor is None and settings.name == "slurm":
            try:
                import submitit
            except ImportError:
                raise ExecutorError(
                    "executor 'slurm' needs submitit: install the cluster extra, pip install -e '.[cluster]'"
                ) from None
            ex = submitit.AutoExecutor(folder=str(log_dir))
            params = {"timeout_min": settings.time_limit_min, "cpus_per_task": settings.threads,
                      "slurm_array_parallelism": settings.array_parallelism}  # fmt: skip
            if settings.gpus_per_task:
                params["gpus_per_node"] = settings.gpus_per_task
            if settings.mem_gb is not None:
                params["mem_gb"] = settings.mem_gb
            if settings.partition:
                params["slurm_partition"] = settings.partition
            ex.update_parameters(**params)
            self._submitit = ex
            self.label = f"slurm ({ex.cluster})"

    @property
    def poll_s(self) -> float:
        return 0.5 if self._submitit is not None else 0.0

    def submit(self, tasks: list[tuple]) -> list[TaskHandle]:
        """Submit ``(specs, run_files, snapshot_file)`` tasks; one handle each."""
        s = self.settings

        def args(task):
            specs, files, snap = task
            return (run_task, list(specs), list(files), self.corpus, s.device, s.threads, self.label, snap,
                    s.snapshot_every_s)  # fmt: skip

        if self._submitit is not None:
            with self._submitit.batch():  # one job array
                jobs = [self._submitit.submit(*args(t)) for t in tasks]
            return [TaskHandle(job=j) for j in jobs]
        return [TaskHandle(future=self._pool.submit(*args(t))) for t in tasks]

    def wait_any(self, handles: list[TaskHandle]) -> None:
        if self._submitit is not None:
            time.sleep(self.poll_s)
            return
        wait([h.future for h in handles], return_when=FIRST_COMPLETED)

    def close(self) -> None:
        if self._own is not None:
            self._own.shutdown(cancel_futures=True)


def start(settings: ExecutorSettings, corpus: str, log_dir: Path, executor: Executor | None = None) -> _Submitter:
    """The submitter for ``settings`` (or for a given ``executor``)."""
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    return _Submitter(settings, corpus, Path(log_dir), executor)
