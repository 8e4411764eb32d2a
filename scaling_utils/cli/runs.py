"""Reading a table of runs for ``scaling-laws fit``, with errors that name the file, row or column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["InputError", "read_runs"]

_ALIASES = {
    "N": ("n", "params", "parameters", "modelsize", "nparams", "paramsnonembedding"),
    "D": ("d", "tokens", "ntokens", "trainingtokens"),
    "C": ("c", "flops", "compute", "computebudget", "trainingflop", "trainingflops", "budget", "budgetflops"),
    "loss": ("loss", "finalloss"),
    "run": ("run", "runid"),
}
_WHAT = {"N": "parameters", "D": "training tokens", "C": "compute (FLOPs)", "loss": "loss", "run": "run"}


class InputError(ValueError):
    """Bad input to the command line: the message names the file, row or column."""


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _read_table(path: Path) -> tuple[pd.DataFrame, str]:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"{path}: not valid JSON ({err})") from None
        if not (isinstance(data, list) and data and all(isinstance(r, dict) for r in data)) and not isinstance(
            data, dict
        ):
            raise InputError(f"{path}: expected a list of records or an object of columns")
        try:
            return pd.DataFrame(data), "record"
        except ValueError as err:
            raise InputError(f"{path}: cannot be read as a table ({err})") from None
    try:
        # Cells stay as written ("n/a" is reported as "n/a", not as a missing value).
        return pd.read_csv(path, keep_default_na=False, na_values=[]), "row"
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot be read as CSV ({str(err).splitlines()[0]})") from None


def read_runs(path: Path | str, columns: dict[str, str | None] | None = None) -> pd.DataFrame:
    """Read a table of runs into columns ``N, D, C, loss`` (and ``run`` for learning curves).

    Accepted layouts: (N, D, loss), (N, C, loss), (N, D, C, loss), or learning curves
    (run, N, tokens, loss). Columns are found by name (``N``/``params``/``Model Size``,
    ``D``/``tokens``, ``C``/``flops``/``compute_budget``/``Training FLOP``, ``loss``/
    ``final_loss``, ``run``/``run_id``; case, spaces and underscores ignored) or named
    with ``columns`` (``{"N": "my_params"}``). The missing one of ``D`` and ``C`` is filled
    with ``C = 6 N D``.

    Raises
    ------
    InputError
        A missing file or column, a non-numeric, non-finite or non-positive value (naming
        the row), identical duplicated rows, or fewer than 3 runs.
    """
    path = Path(path)
    df, unit = _read_table(path)
    if df.empty:
        raise InputError(f"{path}: has no rows")
    by_key = {}
    for col in df.columns:
        by_key.setdefault(_key(col), col)
    found: dict[str, str] = {}
    for role, aliases in _ALIASES.items():
        override = (columns or {}).get(role)
        if override is not None:
            if override not in df.columns:
                raise InputError(f"{path}: no column {override!r} (columns: {', '.join(map(str, df.columns))})")
            found[role] = override
            continue
        for alias in aliases:
            if alias in by_key:
                found[role] = by_key[alias]
                break
    for role in ("N", "loss"):
        if role not in found:
            tried = ", ".join(_ALIASES[role])
            flag = "--params-column" if role == "N" else "--loss-column"
            raise InputError(f"{path}: no column for {_WHAT[role]} (tried {tried}); name it with {flag}")
    if "D" not in found and "C" not in found:
        raise InputError(
            f"{path}: needs a column of training tokens (D, tokens) or of compute (C, flops, compute_budget); "
            "name it with --tokens-column or --compute-column"
        )
    out = pd.DataFrame(index=df.index)
    offset = 2 if unit == "row" else 0  # CSV: header is line 1
    for role, col in found.items():
        if role == "run":
            out["run"] = df[col].astype(str)
            continue
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.argmax(bad))
            cell = df[col].iloc[i]
            shown = ("an empty cell" if not cell.strip() else repr(cell)) if isinstance(cell, str) else str(cell)
            raise InputError(f"{path}: column {col!r}, {unit} {i + offset}: {shown} is not a finite number")
        if (values <= 0).any():
            i = int(np.argmax(values <= 0))
            raise InputError(f"{path}: column {col!r}, {unit} {i + offset}: must be > 0, got {values[i]:g}")
        out[role] = values
    if "D" not in out:
        out["D"] = out["C"] / (6.0 * out["N"])
    if "C" not in out:
        out["C"] = 6.0 * out["N"] * out["D"]
    dup = out.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())[:2] + offset
        raise InputError(f"{path}: {unit}s {rows[0]} and {rows[1]} are identical (duplicated runs)")
    n_runs = out["run"].nunique() if "run" in out else len(out)
    if n_runs < 3:
        raise InputError(f"{path}: needs at least 3 runs, got {n_runs}")
    return out.reset_index(drop=True)
