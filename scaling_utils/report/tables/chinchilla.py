"""Tables of the chapter "Chinchilla" and its lab notes: T1 and the checks of the book's sweeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from scaling_utils.fitting import Bootstrap
from scaling_utils.laws import PUBLISHED_T1, ChinchillaLaw, KaplanLaw, PublishedExponents
from scaling_utils.report.tables.common import CITATIONS, BookTable, book_table, fmt_interval

__all__ = ["t1_display", "t1_table"]


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
