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
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_utils._paths import sha256_file

__all__ = ["COLUMNS", "SWEEPS", "ResultsError", "file_sha256", "load_sweep_results"]

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
        If a file is missing, the CSV's sha256 differs from the one recorded in the meta
        file (corrupted or truncated), a column is missing, or a value is out of range.
    """
    if not isinstance(sweep, str) or not sweep:
        raise TypeError(f"sweep must be a non-empty str, got {sweep!r}")
    folder = Path(folder)
    csv, meta_file = folder / f"{sweep}.csv", folder / f"{sweep}.meta.json"
    for f in (csv, meta_file):
        if not f.is_file():
            raise ResultsError(f"{f} is missing: run the sweep (see notebooks/experiment.md) or point folder elsewhere")
    try:
        meta = json.loads(meta_file.read_text())
    except json.JSONDecodeError as err:
        raise ResultsError(f"{meta_file} is not valid JSON ({err})") from None
    want = meta.get("csv_sha256")
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
    if meta.get("n_runs") is not None:
        # A partial sweep (assembled with --allow-partial) says how many planned runs are missing.
        expected = meta["n_runs"] - meta.get("n_missing", 0)
        if df["run_id"].nunique() != expected:
            raise ResultsError(
                f"{csv} has {df['run_id'].nunique()} runs, its meta file says {meta['n_runs']} planned"
                + (f" and {meta['n_missing']} missing" if meta.get("n_missing") else "")
            )
    _record_read(sweep, got)
    return df


READS_ENV = "SCALING_UTILS_READS"
"""When set (the book build sets it), every :func:`load_sweep_results` appends what it read
(the page being executed, the sweep, the CSV's sha256) to this JSON-lines file."""
PAGE_ENV = "SCALING_UTILS_PAGE"
"""The page being built (set per page by :mod:`scaling_utils.booktools` before it executes)."""


def _record_read(sweep: str, sha256: str) -> None:
    path = os.environ.get(READS_ENV)
    if not path:
        return
    line = json.dumps({"page": os.environ.get(PAGE_ENV, ""), "sweep": sweep, "csv_sha256": sha256}, sort_keys=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
