"""Reading a table of runs for ``scaling-book fit``, with errors that name the file, row or column."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scaling_utils._validation import (
    COMPUTE_COUNTS,
    PLAUSIBLE,
    compute_ratio_problem,
    out_of_range,
    tokens_per_param_problem,
)

__all__ = ["InputError", "read_runs"]

_ALIASES = {
    "N": ("n", "params", "parameters", "modelsize", "nparams", "paramsnonembedding"),
    "D": ("d", "tokens", "ntokens", "trainingtokens"),
    "C": ("c", "flops", "compute", "computebudget", "trainingflop", "trainingflops", "budget", "budgetflops"),
    "loss": ("loss", "finalloss"),
    "run": ("run", "runid"),
}
_WHAT = {"N": "parameters", "D": "training tokens", "C": "compute (FLOPs)", "loss": "loss", "run": "run"}


if TYPE_CHECKING:
    import pandas as pd


class InputError(ValueError):
    """Bad input to the command line: the message names the file, row or column."""


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _read_table(path: Path) -> tuple[pd.DataFrame, str]:
    import pandas as pd  # imported when runs are read: --help and plan stay fast

    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file of runs")
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
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, csv.Error) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise InputError(f"{path}: cannot be read as CSV ({first})") from None


_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_MANGLED = re.compile(r"^(.*)\.(\d+)$")


def _check_header(path: Path, df: pd.DataFrame) -> None:
    """A header that splits on another delimiter, or a column named twice, is an error."""
    for col in map(str, df.columns):
        for sep, what in _DELIMITERS.items():
            if sep in col and len(col.split(sep)) > 1:
                raise InputError(
                    f"{path}: the header {col[:60]!r} splits on {what} ({sep!r}), not commas: save the file "
                    "comma-separated, with '.' as the decimal point"
                )
    names = set(map(str, df.columns))
    for col in map(str, df.columns):
        m = _MANGLED.match(col)
        if m and m.group(1) in names:
            raise InputError(f"{path}: column {m.group(1)!r} appears more than once in the header")


def _find_columns(path: Path, df: pd.DataFrame, columns: dict[str, str | None]) -> dict[str, str]:
    """The column of each role; two columns for one role is an error naming both."""
    found: dict[str, str] = {}
    for role, aliases in _ALIASES.items():
        override = columns.get(role)
        if override is not None:
            if override not in df.columns:
                raise InputError(f"{path}: no column {override!r} (columns: {', '.join(map(str, df.columns))})")
            found[role] = override
            continue
        hits = [col for col in df.columns if _key(col) in aliases]
        if len(hits) > 1:
            flag = _FLAGS.get(role, "")
            raise InputError(
                f"{path}: columns {hits[0]!r} and {hits[1]!r} both look like {_WHAT[role]}: "
                f"say which to use with {flag}"
            )
        if hits:
            found[role] = hits[0]
    return found


_FLAGS = {
    "N": "--params-column",
    "D": "--tokens-column",
    "C": "--compute-column",
    "loss": "--loss-column",
    "run": "a single run column",
}


def _numbers(path: Path, df: pd.DataFrame, col: str, unit: str, offset: int) -> np.ndarray:
    """A column as floats; booleans, text, empty cells and non-finite values name the row."""
    import pandas as pd  # imported when runs are read: --help and plan stay fast

    raw = df[col]
    if raw.dtype == bool or raw.dtype == object:
        is_bool = raw.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
        if is_bool.any():
            i = int(np.argmax(is_bool))
            raise InputError(
                f"{path}: column {col!r}, {unit} {i + offset}: {bool(raw.iloc[i])!r} is a boolean, not a number"
            )
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        cell = raw.iloc[i]
        shown = ("an empty cell" if not cell.strip() else repr(cell)) if isinstance(cell, str) else repr(cell)
        raise InputError(f"{path}: column {col!r}, {unit} {i + offset}: {shown} is not a finite number")
    if (values <= 0).any():
        i = int(np.argmax(values <= 0))
        raise InputError(f"{path}: column {col!r}, {unit} {i + offset}: must be > 0, got {values[i]:g}")
    return values


def _check_derived(path: Path, out: pd.DataFrame, unit: str, offset: int) -> None:
    """Filled-in columns in range; plausible tokens per parameter at each run's end."""
    # Early checkpoints of a learning curve may have seen fewer tokens than parameters; a run's end may not.
    last = out.groupby("run")["D"].idxmax().to_numpy() if "run" in out else out.index.to_numpy()
    problem = tokens_per_param_problem(out["N"].to_numpy()[last], out["D"].to_numpy()[last])
    if problem is not None:
        i, why = problem
        raise InputError(f"{path}: {unit} {int(last[i]) + offset}: {why}")
    for role in ("D", "C"):
        low, high = PLAUSIBLE[role]
        bad = ~((out[role] >= low) & (out[role] <= high)).to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"{path}: " + out_of_range(f"{role} (from C = 6ND)", role, out[role].iloc[i], f"{unit} {i + offset}")
            )


def read_runs(
    path: Path | str, columns: dict[str, str | None] | None = None, compute_count: str = "full"
) -> pd.DataFrame:
    """Read a table of runs into columns ``N, D, C, loss`` (and ``run`` for learning curves).

    Accepted layouts: (N, D, loss), (N, C, loss), (N, D, C, loss), or learning curves
    (run, N, tokens, loss). Columns are found by name (``N``/``params``/``Model Size``,
    ``D``/``tokens``, ``C``/``flops``/``compute_budget``/``Training FLOP``, ``loss``/
    ``final_loss``, ``run``/``run_id``; case, spaces and underscores ignored) or named
    with ``columns`` (``{"N": "my_params"}``). The missing one of ``D`` and ``C`` is filled
    with ``C = 6 N D``. Where both are given, ``C / 6ND`` must lie in
    :data:`~scaling_utils._validation.COMPUTE_COUNTS` ``[compute_count]``; every value
    must lie in :data:`~scaling_utils._validation.PLAUSIBLE`, and each run's last point
    must have plausible tokens per parameter (:func:`~scaling_utils._validation.tokens_per_param_problem`).

    Raises
    ------
    InputError
        A missing file or column, a non-numeric, non-finite or non-positive value (naming
        the row), identical duplicated rows, or fewer than 3 runs.
    """
    import pandas as pd  # imported when runs are read: --help and plan stay fast

    path = Path(path)
    if compute_count not in COMPUTE_COUNTS:
        raise ValueError(f"compute_count must be one of {list(COMPUTE_COUNTS)}, got {compute_count!r}")
    df, unit = _read_table(path)
    df = df.reset_index(drop=True)
    if df.empty:
        raise InputError(f"{path}: has no rows")
    _check_header(path, df)
    found = _find_columns(path, df, columns or {})
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
        out[role] = _numbers(path, df, col, unit, offset)
        low, high = PLAUSIBLE[role]
        bad = ~((out[role] >= low) & (out[role] <= high)).to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"{path}: " + out_of_range(f"column {col!r}", role, out[role].iloc[i], f"{unit} {i + offset}")
            )
    if "D" in out and "C" in out:
        problem = compute_ratio_problem(out["N"], out["D"], out["C"], compute_count)
        if problem is not None:
            i, why = problem
            raise InputError(f"{path}: {unit} {i + offset}: {why}")
    if "D" not in out:
        out["D"] = out["C"] / (6.0 * out["N"])
    if "C" not in out:
        out["C"] = 6.0 * out["N"] * out["D"]
    dup = out.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())[:2] + offset
        raise InputError(f"{path}: {unit}s {rows[0]} and {rows[1]} are identical (duplicated runs)")
    _check_derived(path, out, unit, offset)
    n_runs = out["run"].nunique() if "run" in out else len(out)
    if n_runs < 3:
        raise InputError(f"{path}: needs at least 3 runs, got {n_runs}")
    return out.reset_index(drop=True)
