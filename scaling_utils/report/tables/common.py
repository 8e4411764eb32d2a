"""What every chapter's tables share: :class:`BookTable`, human headings and formats, "article vs reproduction".

Plain pandas DataFrames, so that a notebook displays them with one call and a test can read
their cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "CITATIONS",
    "SWEEP_NAMES",
    "BookTable",
    "book_table",
    "comparison_table",
    "fmt_interval",
]

CITATIONS = {
    "hoffmann2022": "Hoffmann et al. (2022)",
    "kaplan2020": "Kaplan et al. (2020)",
    "besiroglu2024": "Besiroglu et al. (2024)",
}
"""How a table names a paper: the author and year for a citation key of ``book/references.bib``."""

SWEEP_NAMES = {
    "size": "the size sweep",
    "data": "the data sweep",
    "shape": "the shape sweep",
    "lr_pilot": "the learning-rate pilot",
    "lr_tune": "the learning-rate tuning sweep",
    "lr_schedule": "the schedule sweep",
    "isoflop": "the first IsoFLOP sweep",
    "chinchilla_isoflop": "the corrected IsoFLOP sweep",
    "chinchilla_isoflop_checks": "the learning-rate and batch checks",
    "chinchilla_isoflop_batch16": "the batch-16 sweep",
    "chinchilla_isoflop_batch8": "the batch-8 sweep",
    "kaplan_isoflop": "the short-warmup Kaplan-way sweep",
    "kaplan_isoflop_v2": "the long-warmup Kaplan-way sweep",
    "repeat": "the repeated-data sweep",
    "synthetic": "the synthetic-source sweep",
    "hp_grid": "the learning-rate and batch grid",
    "predictable_fit": "the fitting sweep of the prediction",
    "predictable_cosine": "the matched-cosine checks of the prediction",
    "predictable_target": "the target sweep of the prediction",
}
"""The one human name of each committed sweep, used in the prose, the tables and the figures."""


class BookTable(pd.DataFrame):
    """A DataFrame whose HTML shows every cell and row in full.

    pandas cuts text cells at ``display.max_colwidth`` (50 characters) with "...", which
    on a page silently drops the end of a note; the book's tables are never cut.
    """

    @property
    def _constructor(self) -> type[BookTable]:
        return BookTable

    def _repr_html_(self) -> str | None:
        with pd.option_context("display.max_colwidth", None, "display.max_rows", None, "display.max_columns", None):
            return super()._repr_html_()


def book_table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, str] | None = None,
    *,
    index: str | None = None,
) -> BookTable:
    """A table as readers see it: human headings, formatted numbers, ✓/✗ for yes and no.

    Every table the book shows goes through here, so they all read alike.

    Parameters
    ----------
    df : DataFrame
        The analysis' table (raw column names are fine).
    columns : mapping, optional
        ``{raw name: heading}``; when given, only these columns are kept, in this order.
        Headings should name units, e.g. ``"data (bytes)"``.
    formats : mapping, optional
        ``{raw name: format spec}`` (e.g. ``".3f"``, ``",.0f"``, ``".2e"``) for numeric
        columns; booleans always become ✓ and ✗, missing values an empty cell.
    index : str, optional
        The column (raw name) whose cells label the rows (default: the first one kept).

    Raises
    ------
    ValueError
        Naming a column that ``df`` lacks, or a heading with an underscore (a raw name).

    Examples
    --------
    >>> t = pd.DataFrame({"n_params": [1e9, 7e9], "fits": [True, False], "loss": [2.0, 1.91234]})
    >>> book_table(t, {"n_params": "parameters", "fits": "matches", "loss": "loss (nats)"},
    ...            {"n_params": ".0e", "loss": ".3f"}, index="n_params")
               matches loss (nats)
    parameters
    1e+09            ✓       2.000
    7e+09            ✗       1.912
    """
    columns = dict(columns) if columns is not None else {c: str(c) for c in df.columns}
    formats = dict(formats or {})
    missing = [c for c in [*columns, *formats] if c not in df.columns]
    if missing:
        raise ValueError(f"df has no column {missing[0]!r}; it has {list(df.columns)}")
    bad = [h for h in columns.values() if "_" in h]
    if bad:
        raise ValueError(f"heading {bad[0]!r} has an underscore: give it a human name in columns=")
    if index is not None and index not in columns:
        raise ValueError(f"index {index!r} must be one of the columns kept: {list(columns)}")

    def cell(value, spec: str | None) -> str:
        if isinstance(value, (bool, np.bool_)):
            return "✓" if value else "✗"
        if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
            return ""
        if spec is not None and isinstance(value, (int, float, np.integer, np.floating)):
            return format(value, spec)
        return str(value)

    out = pd.DataFrame({heading: [cell(v, formats.get(raw)) for v in df[raw]] for raw, heading in columns.items()})
    return BookTable(out.set_index(columns[index if index is not None else next(iter(columns))]))


def comparison_table(rows: Sequence[Sequence[str]]) -> BookTable:
    """The closing table of each chapter: one row per claim.

    Parameters
    ----------
    rows : sequence of (claim, article, reproduction, difference)
        All four as display strings.

    Examples
    --------
    >>> comparison_table([("GPT-3 tokens/param", "1.7", "1.71", "none")]).shape
    (1, 3)
    """
    columns = ["Claim", "Article", "This book", "Difference"]
    for i, r in enumerate(rows):
        if len(r) != 4:
            raise ValueError(f"rows[{i}] must have 4 fields {columns}, got {len(r)}")
    return BookTable(pd.DataFrame([list(r) for r in rows], columns=columns).set_index("Claim"))


def fmt_interval(interval: tuple[float, float] | None, digits: int = 3) -> str:
    """``'(0.454, 0.455)'`` or an empty string.

    Examples
    --------
    >>> fmt_interval((0.4541, 0.455))
    '(0.454, 0.455)'
    """
    if interval is None:
        return ""
    return f"({interval[0]:.{digits}f}, {interval[1]:.{digits}f})"
