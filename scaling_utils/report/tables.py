"""Tables the book shows: "article vs reproduction" summaries and Table T1.

Plain pandas DataFrames, so that a notebook displays them with one call and a test can read
their cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from scaling_utils.fitting import Bootstrap
from scaling_utils.laws import PUBLISHED_T1, ChinchillaLaw, KaplanLaw, PublishedExponents

__all__ = [
    "CITATIONS",
    "SWEEP_NAMES",
    "BookTable",
    "book_table",
    "comparison_table",
    "fmt_interval",
    "t1_display",
    "t1_table",
    "tokens_per_parameter_table",
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


def t1_table(
    chinchilla_laws: Sequence[ChinchillaLaw] = (),
    kaplan: KaplanLaw | None = None,
    published: Sequence[PublishedExponents] = PUBLISHED_T1,
    refits: Mapping[str, Mapping[str, Bootstrap]] | None = None,
    refit_level: float = 0.8,
) -> BookTable:
    """T1, Hoffmann et al. (2022) Table 2, with exponents derived from the laws beside it.

    For each Chinchilla law, a row of approach 3 whose ``a = beta / (alpha + beta)`` and
    ``b = alpha / (alpha + beta)`` are computed from its constants; for the Kaplan law, a
    row from its Table 6 allocation exponents.

    ``refits`` maps a label (e.g. ``"our runs"``) to a mapping from approach number
    (``"1"``, ``"2"``, ``"3"``) to a :class:`Bootstrap` of that approach; for each label, its
    estimate of ``a`` and percentile interval at ``refit_level`` (default 0.8, the 10th-90th
    percentiles of the paper) fill the columns ``"a (<label>)"`` and ``"a (<label>) interval"``
    of the published row.

    Examples
    --------
    >>> from scaling_utils.laws import HOFFMANN_2022_UNROUNDED
    >>> t = t1_table([HOFFMANN_2022_UNROUNDED])
    >>> round(float(t.iloc[-1]["a"]), 4)
    0.4565
    """
    rows = [
        {
            "approach": p.approach,
            "source": f"printed ({p.citation})",
            "a": p.a,
            "a interval": fmt_interval(p.a_interval),
            "b": p.b,
            "b interval": fmt_interval(p.b_interval),
        }
        for p in published
    ]
    for law in chinchilla_laws:
        a, b = law.exponents
        rows.append(
            {
                "approach": "3. Parametric modelling of the loss",
                "source": f"derived: {law.name}",
                "a": a,
                "a interval": "",
                "b": b,
                "b interval": "",
            }
        )
    if kaplan is not None:
        rows.append(
            {
                "approach": "Kaplan et al. (2020)",
                "source": f"derived: {kaplan.name} Table 6",
                "a": kaplan.opt_n_exp,
                "a interval": "",
                "b": kaplan.opt_d_exp,
                "b interval": "",
            }
        )
    table = pd.DataFrame(rows)
    for label, boots in (refits or {}).items():
        col = f"a ({label})"
        table[col] = float("nan")
        table[f"{col} interval"] = ""
        for key, boot in boots.items():
            match = table.index[table["approach"].str.startswith(f"{key}.") & table["source"].str.startswith("printed")]
            if len(match) != 1:
                raise ValueError(f"refits key must be an approach number '1', '2' or '3', got {key!r}")
            table.loc[match[0], col] = boot.point["a"]
            table.loc[match[0], f"{col} interval"] = fmt_interval(boot.interval("a", refit_level))
    return BookTable(table)


def t1_display(t1: pd.DataFrame, digits: int = 3) -> BookTable:
    """T1 as the page shows it: approaches label the rows, sources named by author and year.

    Empty cells stay empty (no "NaN"), the exponents get ``digits`` decimals, and a citation
    key in the source column (``"printed (hoffmann2022)"``) becomes the paper's name.

    >>> from scaling_utils.laws import HOFFMANN_2022_UNROUNDED
    >>> t = t1_display(t1_table([HOFFMANN_2022_UNROUNDED]))
    >>> t.iloc[0]["source"], t.iloc[-1]["a interval"]
    ('Hoffmann et al. (2022), as printed', '')
    """

    def source(text: str) -> str:
        if text.startswith("printed (") and text.endswith(")"):
            key = text.removeprefix("printed (").removesuffix(")")
            return f"{CITATIONS.get(key, key)}, as printed"
        return "derived from " + text.removeprefix("derived: ") if text.startswith("derived: ") else text

    short = {
        "1. Minimum over training curves": "1. training curves",
        "2. IsoFLOP profiles": "2. IsoFLOP profiles",
        "3. Parametric modelling of the loss": "3. parametric fit",
    }
    df = t1.assign(source=t1["source"].map(source), approach=t1["approach"].map(lambda a: short.get(a, a)))
    numbers = [c for c in df.columns if c not in ("approach", "source") and not c.endswith("interval")]
    return book_table(df, {c: c for c in df.columns}, {c: f".{digits}f" for c in numbers}, index="approach")


def tokens_per_parameter_table(
    chinchilla_laws: Mapping[str, ChinchillaLaw],
    kaplan: KaplanLaw,
    chinchilla_model: tuple[float, float] = (70e9, 1.4e12),
    gpt3_model: tuple[float, float] = (175e9, 300e9),
) -> BookTable:
    """Every tokens-per-parameter figure of the book: which law or model, which count, which compute.

    Rows: the Chinchilla and GPT-3 models as trained (``(N, D)``), each Chinchilla law's
    compute-optimal ratio at both models' compute (``6ND``, total parameters, as Hoffmann et
    al. count), and Kaplan et al.'s compute-efficient allocation at GPT-3's compute
    (non-embedding parameters, compute in PF-days).

    >>> from scaling_utils.laws import BESIROGLU_2024, KAPLAN_2020
    >>> t = tokens_per_parameter_table({"Besiroglu et al. (2024)": BESIROGLU_2024}, KAPLAN_2020)
    >>> t.loc["Chinchilla, as trained", "tokens per parameter"]
    '20.0'
    """
    from scaling_utils.compute import pf_days, training_flops
    from scaling_utils.report.typeset import sci

    rows = []
    models = {"Chinchilla": chinchilla_model, "GPT-3": gpt3_model}
    for name, (n, d) in models.items():
        rows.append((f"{name}, as trained", "total", f"{name}'s, {sci(training_flops(n, d), 2)} FLOPs", d / n))
    for name, (n, d) in models.items():
        c = training_flops(n, d)
        for law_name, law in chinchilla_laws.items():
            rows.append((f"{law_name}, optimum", "total", f"{name}'s", float(law.tokens_per_parameter(c))))
    n, d = gpt3_model
    pfd = pf_days(training_flops(n, d))
    ratio = float(kaplan.optimal_d(pfd) / kaplan.optimal_n(pfd))
    rows.append(("Kaplan et al. (2020), compute-efficient", "non-embedding", f"GPT-3's, {sci(pfd, 2)} PF-days", ratio))
    df = pd.DataFrame(rows, columns=["law or model", "parameters counted", "at the compute of", "tokens per parameter"])
    return book_table(df, formats={"tokens per parameter": ".1f"}, index="law or model")
