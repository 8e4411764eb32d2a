"""Read the experiment's committed results, checking them before any figure uses them.

Each sweep is ``data/experiments/<sweep>.csv`` (tidy: one row per run, checkpoint and
evaluation distribution) with ``<sweep>.meta.json`` beside it (configuration, code commit,
corpus manifest hash, hardware, wall time, and the CSV's sha256). :func:`load_sweep_results`
refuses a file whose hash, columns or values are wrong, with a message that says what.
Needs no PyTorch.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_utils._paths import sha256_file
from scaling_utils._validation import PLAUSIBLE

__all__ = ["COLUMNS", "SWEEPS", "ResultsError", "file_sha256", "load_sweep_meta", "load_sweep_results"]

COLUMNS: tuple[str, ...] = (
    "sweep",
    "run_id",
    "n_layer",
    "d_model",
    "n_head",
    "d_ff",
    "n_ctx",
    "params_nonembedding",
    "params_total",
    "lr",
    "schedule",
    "budget_flops",
    "seed",
    "step",
    "tokens",
    "flops_6nd",
    "flops_total",
    "distribution",
    "loss",
)
"""Columns every results file has, in this order (more may follow)."""

SWEEPS: tuple[str, ...] = (
    "size",
    "data",
    "isoflop",
    "shape",
    "lr_schedule",
    "synthetic",
    "chinchilla_isoflop",
    "kaplan_isoflop",
    "chinchilla_isoflop_checks",
    "chinchilla_isoflop_batch16",
    "chinchilla_isoflop_batch8",
    "repeat",
    "kaplan_isoflop_v2",
)
"""The sweeps of the experiment."""

_SIGNED = ("sweep", "run_id", "schedule", "budget_flops", "seed", "distribution")
"""Columns of :data:`COLUMNS` that are text, may be empty (a budget) or zero (a seed)."""
_POSITIVE = tuple(c for c in COLUMNS if c not in _SIGNED)


class ResultsError(ValueError):
    """A results file is missing, corrupted, truncated or malformed."""


file_sha256 = sha256_file
"""The sha256 of a file, hex (:func:`scaling_utils._paths.sha256_file`)."""


def load_sweep_results(sweep: str, folder: Path | str = "data/experiments") -> pd.DataFrame:
    """Load and validate ``<folder>/<sweep>.csv`` against ``<folder>/<sweep>.meta.json``.

    Raises
    ------
    ResultsError
        If a file is missing, the meta file is not a UTF-8 JSON object with a 64-hex
        ``csv_sha256`` and an integer ``n_runs``, the CSV's sha256 differs from the one
        recorded (corrupted or truncated; case is ignored), a column is missing, a value is
        out of range, a (run_id, step, distribution) repeats, a step is fractional, a
        ``run_id`` is empty, ``flops_6nd`` disagrees with ``6 N tokens`` or exceeds the
        run's budget, or a loss is more than :data:`NEIGHBOUR_FACTOR` from both its
        neighbours on the run's curve.
    """
    if not isinstance(sweep, str) or not sweep:
        raise TypeError(f"sweep must be a non-empty str, got {sweep!r}")
    folder = Path(folder)
    csv, meta_file = folder / f"{sweep}.csv", folder / f"{sweep}.meta.json"
    for f in (csv, meta_file):
        if not f.is_file():
            raise ResultsError(f"{f} is missing: run the sweep (see notebooks/experiment.md) or point folder elsewhere")
    meta = _read_meta(meta_file)
    want = meta["csv_sha256"].lower()
    got = file_sha256(csv)
    if want != got:
        raise ResultsError(
            f"{csv} does not match the sha256 in {meta_file.name} (expected {str(want)[:16]}..., "
            f"got {got[:16]}...): the file is corrupted, truncated or was edited by hand"
        )
    try:
        df = pd.read_csv(csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ResultsError(f"{csv} cannot be parsed as CSV ({err})") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ResultsError(f"{csv} lacks columns {missing}")
    if df.empty:
        raise ResultsError(f"{csv} has no rows")
    if (df["sweep"] != sweep).any():
        raise ResultsError(f"{csv} holds rows of another sweep: {sorted(set(df['sweep']) - {sweep})}")
    for col in _POSITIVE:
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            raise ResultsError(f"{csv}: column {col} must be finite and > 0, row {int(np.argmax(bad)) + 2} is not")
    _check_plausible(csv, df)
    # A partial sweep (assembled with --allow-partial) says how many planned runs are missing.
    # A cooldown branch's rows carry "<trunk run id>~<tokens>"; a diverged run may have no rows.
    expected = meta["n_runs"] - meta.get("n_missing", 0)
    runs = set(df["run_id"].astype(str).str.split("~").str[0]) | set(meta.get("diverged_runs", []))
    if len(runs) != expected:
        raise ResultsError(
            f"{csv} has {len(runs)} runs, its meta file says {meta['n_runs']} planned"
            + (f" and {meta['n_missing']} missing" if meta.get("n_missing") else "")
        )
    _record_read(sweep, got)
    return df


def load_sweep_meta(sweep: str, folder: Path | str = "data/experiments") -> dict:
    """The meta file ``<folder>/<sweep>.meta.json`` as a dict (its configuration, counts, hardware).

    Raises
    ------
    ResultsError
        If the file is missing or is not a meta file (see :func:`load_sweep_results`).
    """
    meta_file = Path(folder) / f"{sweep}.meta.json"
    if not meta_file.is_file():
        raise ResultsError(f"{meta_file} is missing: run the sweep (see notebooks/experiment.md)")
    return _read_meta(meta_file)


_SHA = re.compile(r"^[0-9a-fA-F]{64}$")


def _read_meta(meta_file: Path) -> dict:
    """The meta file as a dict with a 64-hex ``csv_sha256`` and an int ``n_runs`` (>= 1)."""
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ResultsError(f"{meta_file} is not UTF-8 text (byte {err.start}: {err.reason})") from None
    except json.JSONDecodeError as err:
        raise ResultsError(f"{meta_file} is not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise ResultsError(f"{meta_file} must hold a JSON object, got a {type(meta).__name__}")
    if "csv_sha256" not in meta:
        raise ResultsError(f"{meta_file} has no csv_sha256: the meta file is incomplete (the CSV cannot be checked)")
    sha = meta["csv_sha256"]
    if not isinstance(sha, str) or not _SHA.match(sha):
        raise ResultsError(f"{meta_file}: csv_sha256 must be 64 hexadecimal digits, got {sha!r}")
    for key, low, required in (("n_runs", 1, True), ("n_missing", 0, False)):
        if key not in meta:
            if required:
                raise ResultsError(f"{meta_file} has no {key}: the run count cannot be checked")
            continue
        v = meta[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ResultsError(f"{meta_file}: {key} must be an integer >= {low}, got {v!r}")
    if meta.get("n_missing", 0) >= meta["n_runs"]:
        raise ResultsError(f"{meta_file}: n_missing ({meta['n_missing']}) must be below n_runs ({meta['n_runs']})")
    return meta


NEIGHBOUR_FACTOR = 10.0
"""A loss more than this factor from both its neighbours on the run's own curve is refused."""
BUDGET_SLACK = 1.05
"""``flops_6nd`` may exceed the run's ``budget_flops`` by this factor (the last step's rounding)."""


def _check_plausible(csv: Path, df: pd.DataFrame) -> None:
    """Unique keys, whole steps, consistent tokens and FLOPs, budgets kept, no lone loss spikes."""
    run = df["run_id"].astype(str)
    empty = run.str.strip().eq("") | df["run_id"].isna()
    if empty.any():
        raise ResultsError(f"{csv}: row {int(np.argmax(empty.to_numpy())) + 2} has an empty run_id")
    dup = df.duplicated(["run_id", "step", "distribution"], keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)[:2] + 2
        raise ResultsError(f"{csv}: rows {rows[0]} and {rows[1]} share (run_id, step, distribution)")
    num = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) for c in _POSITIVE}
    checks = (
        (num["step"] != np.round(num["step"]), "step must be a whole number"),
        (num["tokens"] > PLAUSIBLE["D"][1], f"tokens must be <= {PLAUSIBLE['D'][1]:g}"),
        (num["loss"] > PLAUSIBLE["loss"][1], f"loss must be <= {PLAUSIBLE['loss'][1]:g} nats"),
        (
            ~np.isclose(num["flops_6nd"], 6.0 * num["params_nonembedding"] * num["tokens"], rtol=1e-3),
            "flops_6nd must equal 6 x params_nonembedding x tokens",
        ),
    )
    budget = pd.to_numeric(df["budget_flops"], errors="coerce").to_numpy(dtype=float)
    over = np.isfinite(budget) & (num["flops_6nd"] > BUDGET_SLACK * budget)
    for bad, what in (
        *checks,
        (over, f"the run's tokens exceed its budget (flops_6nd > {BUDGET_SLACK} x budget_flops)"),
    ):
        if bad.any():
            i = int(np.argmax(bad))
            raise ResultsError(f"{csv}: row {i + 2}: {what}")
    lg = pd.Series(np.log(num["loss"]), index=df.index)
    order = df.assign(_s=num["step"]).sort_values(["run_id", "distribution", "_s"]).index
    key = (run + "\0" + df["distribution"].astype(str))[order]
    x = lg[order].to_numpy()
    same_prev = np.r_[False, key.to_numpy()[1:] == key.to_numpy()[:-1]]
    same_next = np.r_[same_prev[1:], False]
    jump_prev = np.where(same_prev, np.abs(x - np.r_[np.nan, x[:-1]]), np.inf)
    jump_next = np.where(same_next, np.abs(x - np.r_[x[1:], np.nan]), np.inf)
    has = same_prev | same_next
    spike = has & (np.minimum(jump_prev, jump_next) > np.log(NEIGHBOUR_FACTOR))
    if spike.any():
        j = int(np.argmax(spike))
        i = int(order[j])
        raise ResultsError(
            f"{csv}: row {i + 2}: loss {num['loss'][i]:.4g} is more than {NEIGHBOUR_FACTOR:g}x from the run's "
            f"neighbouring checkpoints ({run.iloc[i]}, step {num['step'][i]:g})"
        )


READS_ENV = "SCALING_UTILS_READS"
"""When set (the book build sets it), every :func:`load_sweep_results` appends what it read
(the page being executed, the sweep, the CSV's sha256) to this JSON-lines file."""
PAGE_ENV = "SCALING_UTILS_PAGE"
"""The page being built (set per page by :mod:`scaling_utils.report.booktools` before it executes)."""


def _record_read(sweep: str, sha256: str) -> None:
    path = os.environ.get(READS_ENV)
    if not path:
        return
    line = json.dumps({"page": os.environ.get(PAGE_ENV, ""), "sweep": sweep, "csv_sha256": sha256}, sort_keys=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
