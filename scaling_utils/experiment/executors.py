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
import time
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

    def __post_init__(self) -> None:
        if self.name not in EXECUTORS:
            raise ExecutorError(f"executor must be one of {list(EXECUTORS)} (or an Executor object), got {self.name!r}")
        for key, low in (("workers", 1), ("threads", 1), ("gpus_per_task", 0), ("time_limit_min", 1),
                         ("array_parallelism", 1), ("retries", 0)):  # fmt: skip
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ExecutorError(f"executor setting {key} must be an int >= {low}, got {v!r}")
        if self.mem_gb is not None and not (isinstance(self.mem_gb, (int, float)) and math.isfinite(self.mem_gb)
                                            and self.mem_gb > 0):  # fmt: skip
            raise ExecutorError(f"executor setting mem_gb must be > 0, got {self.mem_gb!r}")
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

_CORPUS: dict[str, dict[str, bytes]] = {}


def _load(corpus_spec: str) -> dict[str, bytes]:
    if corpus_spec not in _CORPUS:
        from scaling_utils.experiment import corpus as corpus_mod

        if corpus_spec.startswith("fixture:"):
            _CORPUS[corpus_spec] = corpus_mod.fixture_corpus(Path(corpus_spec.removeprefix("fixture:")))
        else:
            _CORPUS[corpus_spec] = corpus_mod.load_corpus(Path(corpus_spec))
    return _CORPUS[corpus_spec]


def _init_local(corpus_spec: str, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    _load(corpus_spec)


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and :func:`os.replace`: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_task(spec, out_file: str, corpus_spec: str, device: str, threads: int, executor: str) -> tuple[str, float]:
    """Train one run and write its run file; the unit of work every executor runs."""
    import torch

    from scaling_utils.experiment.train import train_run

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    rows = train_run(spec, _load(corpus_spec), device=device)
    record = {"run_id": spec.run_id, "rows": rows, "host": platform.node(), "executor": executor, "device": device}
    write_atomic(Path(out_file), json.dumps(record))
    return spec.run_id, time.perf_counter() - t0


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
                initargs=(corpus, settings.threads),
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

    def submit(self, specs_files: list[tuple]) -> list[TaskHandle]:
        s = self.settings
        if self._submitit is not None:
            with self._submitit.batch():  # one job array
                jobs = [
                    self._submitit.submit(run_task, spec, f, self.corpus, s.device, s.threads, self.label)
                    for spec, f in specs_files
                ]
            return [TaskHandle(job=j) for j in jobs]
        return [
            TaskHandle(future=self._pool.submit(run_task, spec, f, self.corpus, s.device, s.threads, self.label))
            for spec, f in specs_files
        ]

    def wait_any(self, handles: list[TaskHandle]) -> None:
        if self._submitit is not None:
            time.sleep(self.poll_s)
            return
        wait([h.future for h in handles], return_when=FIRST_COMPLETED)

    def close(self) -> None:
        if self._own is not None:
            self._own.shutdown()


def start(settings: ExecutorSettings, corpus: str, log_dir: Path, executor: Executor | None = None) -> _Submitter:
    """The submitter for ``settings`` (or for a given ``executor``)."""
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    return _Submitter(settings, corpus, Path(log_dir), executor)
