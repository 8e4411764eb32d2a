"""What the sweep runner checks before and around training: the corpus, epochs, run files, the lock.

Nothing here trains; every check fails in one line that names the file, run or field.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import sys
from dataclasses import replace
from pathlib import Path

from scaling_utils.compute import kaplan_flops_per_token
from scaling_utils.experiment.config import SweepConfigError, load_sweep
from scaling_utils.experiment.data import epochs_trained
from scaling_utils.experiment.spec import RunSpec

__all__ = ["ResultsLock", "check_run_file", "compute_report", "corpus_info", "finished_runs", "groups", "prepare",
           "run_cost", "run_tokens"]  # fmt: skip


def run_cost(spec: RunSpec) -> float:
    """Relative cost estimate of a run (FLOPs including attention), for the time-left estimate."""
    cfg = spec.model_config
    per_token = float(kaplan_flops_per_token(cfg.n_layer, cfg.d_model, cfg.n_ctx, cfg.ff))
    return spec.tokens * (per_token + 2 * 256 * cfg.d_model) + 1e6  # plus the output layer


@functools.lru_cache(maxsize=4)
def _fixture_dists(path: str, mtime_ns: int) -> dict[str, dict]:
    """Bytes and sha256 of the smoke corpus built from the fixture (cached while the file is unchanged)."""
    from scaling_utils.experiment.corpus import fixture_corpus

    texts = fixture_corpus(Path(path))
    return {k: {"bytes": len(v), "sha256": hashlib.sha256(v).hexdigest()} for k, v in texts.items()}


def corpus_info(corpus: str, names: tuple[str, ...]) -> dict[str, dict]:
    """Bytes and sha256 of the named distributions of ``corpus`` (a folder, or ``fixture:<path>``).

    Raises :class:`SweepConfigError` in one line when the corpus is missing or lacks a name.
    """
    if corpus.startswith("fixture:"):
        path = Path(corpus.removeprefix("fixture:"))
        if not path.is_file():
            raise SweepConfigError(f"the smoke fixture {path} is missing")
        dists = _fixture_dists(str(path), path.stat().st_mtime_ns)
    else:
        mf = Path(corpus) / "manifest.json"
        if not mf.is_file():
            raise SweepConfigError(
                f"no corpus at {corpus} (no manifest.json): build it with `make corpus` "
                f"(python -m scaling_utils.experiment corpus --out {corpus})"
            )
        dists = json.loads(mf.read_text())["distributions"]
    lacking = [n for n in names if n not in dists]
    if lacking:
        raise SweepConfigError(f"the corpus at {corpus} has no distribution {lacking}; it has {sorted(dists)}")
    return {n: dists[n] for n in names}


def prepare(sweep_file: Path, corpus: str) -> tuple[dict, list[RunSpec]]:
    """Read a sweep, put the corpus in the run ids of engine-v3 runs, and refuse runs over one epoch.

    A run with ``sampling = "permute"`` gets ``corpus_sha`` (the training text's sha256,
    16 hex digits), so a rebuilt or changed corpus never resumes into old run files. Every
    run must train at most one epoch of its training text unless the sweep file sets
    ``allow_repeat`` (a sentence saying why repetition is the point).
    """
    config, specs = load_sweep(sweep_file)
    dists = {s.train_dist for s in specs}
    info = corpus_info(corpus, tuple(sorted(dists)))
    out = []
    for s in specs:
        if s.sampling == "permute":
            s = replace(s, corpus_sha=info[s.train_dist]["sha256"][:16])
        out.append(s)
    needs = config.get("requires_prediction")
    if needs is not None:
        pred = committed_prediction(Path(needs))
        out = [replace(s, extra=s.extra | {"prediction": pred}) for s in out]
    repeat = config.get("allow_repeat")
    if repeat is not None and not (isinstance(repeat, str) and repeat.strip()):
        raise SweepConfigError(f"{sweep_file}: allow_repeat must be a sentence saying why the data repeats")
    if not repeat:
        for s in out:
            size = (
                info[s.train_dist]["bytes"] if s.data_limit is None else min(s.data_limit, info[s.train_dist]["bytes"])
            )
            ep = epochs_trained(run_tokens(s), size, s.n_ctx)
            if ep > 1 + 1e-9:
                raise SweepConfigError(
                    f"{sweep_file}: run {s.run_id} trains {ep:.2f} epochs of {s.train_dist} ({size} bytes); "
                    'a sweep trains at most one epoch unless its file sets allow_repeat = "<why>"'
                )
    return config, out


def committed_prediction(path: Path) -> dict:
    """The sha256 and commit of a prediction file that is committed and unchanged; else a one-line error.

    A target-budget sweep names its prediction (``requires_prediction``) and refuses to start
    until that file is in the repository's history as it is on disk: the prediction comes
    before the runs that test it.
    """
    import subprocess

    from scaling_utils._paths import repo_root, sha256_file

    root = repo_root()
    full = path if path.is_absolute() else root / path
    if not full.is_file():
        raise SweepConfigError(f"requires_prediction: {path} does not exist; commit the prediction before its runs")

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)

    rel = full.relative_to(root).as_posix()
    commit = git("log", "-1", "--format=%H", "--", rel).stdout.strip()
    dirty = git("status", "--porcelain", "--", rel).stdout.strip()
    if not commit or dirty:
        raise SweepConfigError(f"requires_prediction: {rel} is not committed as it is on disk; commit it first")
    return {"file": rel, "sha256": sha256_file(full), "commit": commit}


def run_tokens(spec: RunSpec) -> int:
    """Tokens of the longest lineage of a run: its own, or its longest cooldown branch's."""
    ends = [end for _, end in spec.branch_plan]
    return max([spec.steps, *ends]) * spec.tokens_per_step


def compute_report(specs: list[RunSpec]) -> str | None:
    """Trunks and branches against the same (N, D) points as separate runs, in FLOPs."""
    wsd = [s for s in specs if s.branch_tokens]
    if not wsd:
        return None
    spent = sum(run_cost(s) + sum(run_cost(replace(s, tokens=(e - b) * s.tokens_per_step)) for b, e in s.branch_plan)
                for s in wsd)  # fmt: skip
    separate = sum(run_cost(replace(s, tokens=e * s.tokens_per_step)) for s in wsd for _, e in s.branch_plan)
    points = sum(len(s.branch_plan) for s in wsd)
    return (
        f"{len(wsd)} trunks with {points} cooldown branches cost {spent:.3g} FLOPs; the same {points} points as "
        f"separate runs would cost {separate:.3g} FLOPs ({separate / spent:.2f}x, "
        f"saving {max(0.0, 1 - spent / separate):.0%})"
    )


def groups(todo: list[RunSpec], size: int) -> list[list[RunSpec]]:
    """Runs that may train together (:data:`~scaling_utils.experiment.train.GROUP_KEYS`), at most ``size`` a group."""
    from scaling_utils.experiment.train import GROUP_KEYS

    if size <= 1:
        return [[s] for s in todo]
    by_key: dict[tuple, list[RunSpec]] = {}
    for s in todo:
        by_key.setdefault(tuple(str(getattr(s, k)) for k in GROUP_KEYS), []).append(s)
    return [members[i : i + size] for members in by_key.values() for i in range(0, len(members), size)]


def check_run_file(spec: RunSpec, path: Path) -> str | None:
    """Why the run file at ``path`` is not a finished run of ``spec`` (None if it is)."""
    try:
        rec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return f"it does not parse ({type(err).__name__}: {err})"
    if not isinstance(rec, dict) or not isinstance(rec.get("rows"), list):
        return "it is not a run record (a JSON object with a rows list)"
    if rec.get("run_id") != spec.run_id:
        return f"it names run {rec.get('run_id')!r}"
    rows = rec["rows"]
    if not rows and not rec.get("diverged"):
        return "it has no rows"
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or not str(r.get("run_id", "")).startswith(spec.run_id):
            return f"row {i} belongs to another run"
        loss = r.get("loss")
        if not isinstance(loss, (int, float)) or not math.isfinite(loss):
            return f"row {i} has loss {loss!r}"
    return None


def finished_runs(specs: list[RunSpec], run_dir: Path, log=sys.stderr) -> set[str]:
    """Run ids with a sound run file; a damaged file is named, set aside (``*.bad-<n>``) and redone."""
    done = set()
    for s in specs:
        path = run_dir / f"{s.run_id}.json"
        if not path.exists():
            continue
        problem = check_run_file(s, path)
        if problem is None:
            done.add(s.run_id)
            continue
        n = 1
        while path.with_name(f"{path.name}.bad-{n}").exists():
            n += 1
        aside = path.with_name(f"{path.name}.bad-{n}")
        os.replace(path, aside)
        print(f"[{s.sweep}] run file {path} is damaged ({problem}); moved to {aside.name}, the run is redone",
              file=log, flush=True)  # fmt: skip
    return done


class ResultsLock:
    """An exclusive lock on a results folder: a second head on it stops with a message."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".lock"
        self.fh = None

    def __enter__(self):
        import fcntl

        self.fh = open(self.path, "a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.seek(0)
            holder = self.fh.read().strip() or "unknown"
            self.fh.close()
            raise SweepConfigError(
                f"results folder {self.path.parent} is in use by another head ({holder}); "
                "wait for it to end or stop it (two heads would train every run twice)"
            ) from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()} on {platform.node()}")
        self.fh.flush()
        return self

    def __exit__(self, *exc) -> None:
        import fcntl

        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()
