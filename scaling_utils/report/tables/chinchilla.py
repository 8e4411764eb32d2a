"""Tables of the chapter "Chinchilla" and its lab notes: T1 and the checks of the book's sweeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from scaling_utils.analysis.isoflop import ThreeApproaches
from scaling_utils.analysis.sweep_checks import Batch8, Batch16
from scaling_utils.analysis.sweep_span import Span
from scaling_utils.fitting import Bootstrap
from scaling_utils.laws import PUBLISHED_T1, ChinchillaLaw, KaplanLaw, PublishedExponents
from scaling_utils.report.tables.common import CITATIONS, BookTable, book_table, fmt_interval

__all__ = [
    "approaches_table",
    "batch8_table",
    "batch16_table",
    "countings_table",
    "leave_one_out_table",
    "seed_pairs_table",
    "span_table",
    "t1_display",
    "t1_table",
]


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


def approaches_table(own: ThreeApproaches) -> BookTable:
    """The three approaches on the corrected sweep: ``a``, its 80% interval and what each used."""
    return book_table(
        own.table().reset_index(),
        {
            "approach": "approach",
            "a": "a",
            "low": "80% interval, low",
            "high": "80% interval, high",
            "width": "width",
            "used": "what it used",
        },
        {k: ".3f" for k in ("a", "low", "high", "width")},
    )


def seed_pairs_table(span: Span) -> pd.DataFrame:
    """The runs repeated with a second seed, by budget and size, and their difference."""
    pairs = span.pairs.copy()
    pairs.index = pairs.index.set_names(["budget (FLOPs)", "N"])
    pairs = pairs.reset_index()
    pairs["budget (FLOPs)"] = pairs["budget (FLOPs)"].map("{:.1e}".format)
    pairs["N"] = pairs["N"].map("{:,.0f}".format)
    return pairs.set_index(["budget (FLOPs)", "N"]).round(4)


def span_table(span: Span) -> BookTable:
    """``a`` and its interval width per approach, on the first five budgets and on all six."""
    lo_hi, lo_hi5 = span.intervals(), span.intervals(five=True)
    rows = pd.DataFrame(
        {
            "approach": [1, 2, 3],
            "a5": [span.own5.exponents[k] for k in (1, 2, 3)],
            "w5": [hi - lo for lo, hi in lo_hi5.values()],
            "a6": [span.own.exponents[k] for k in (1, 2, 3)],
            "w6": [hi - lo for lo, hi in lo_hi.values()],
        }
    )
    n5, n6 = span.own5.runs["group"].nunique(), span.own.runs["group"].nunique()
    return book_table(
        rows,
        {
            "approach": "approach",
            "a5": f"a, {n5} budgets",
            "w5": f"interval width, {n5} budgets",
            "a6": f"a, {n6} budgets",
            "w6": f"interval width, {n6} budgets",
        },
        {"a5": ".3f", "w5": ".3f", "a6": ".3f", "w6": ".3f"},
    )


def leave_one_out_table(span: Span) -> BookTable:
    """The three exponents and E with each budget left out in turn."""
    loo = span.loo.copy()
    loo["left out"] = loo["left_out"].map(lambda g: "none" if np.isnan(g) else f"{g:.1e} FLOPs")
    return book_table(
        loo,
        {
            "left out": "budget left out",
            "a1": "a (approach 1)",
            "a2": "a (approach 2)",
            "a3": "a (approach 3)",
            "E": "E (approach 3)",
        },
        {"a1": ".3f", "a2": ".3f", "a3": ".3f", "E": ".3f"},
    )


def batch16_table(b16: Batch16) -> BookTable:
    """Each budget's vertex and lowest loss at the rule's batch and at batch 16."""
    vert = b16.vertices.assign(batch=b16.vertices["group"].map(b16.settings.main_batch))
    vert["batch 16"] = np.where(vert["swapped"], "rerun at 16", "16 already")
    return book_table(
        vert,
        {
            "group": "budget (FLOPs)",
            "batch": "batch by the rule",
            "N_opt_reference": "vertex N, rule",
            "N_opt_check": "vertex N, batch 16",
            "loss_reference": "lowest loss, rule",
            "loss_check": "lowest loss, batch 16",
        },
        {
            "group": ".1e",
            "batch": ".0f",
            "N_opt_reference": ",.0f",
            "N_opt_check": ",.0f",
            "loss_reference": ".3f",
            "loss_check": ".3f",
        },
    )


def batch8_table(b8: Batch8) -> BookTable:
    """Each budget's vertex and lowest loss at the rule's batch, at 16 and at 8."""
    wide, settings = b8.wide, ("rule", "16", "8")
    rows = pd.DataFrame(
        {
            "group": wide.index,
            **{f"n_{k}": wide[("N_opt", k)].to_numpy() for k in settings},
            **{f"l_{k}": wide[("loss_min", k)].to_numpy() for k in settings},
        }
    )
    return book_table(
        rows,
        {
            "group": "budget (FLOPs)",
            "n_rule": "vertex N, rule",
            "n_16": "vertex N, batch 16",
            "n_8": "vertex N, batch 8",
            "l_rule": "lowest loss, rule",
            "l_16": "lowest loss, batch 16",
            "l_8": "lowest loss, batch 8",
        },
        {"group": ".1e", **{f"n_{k}": ",.0f" for k in settings}, **{f"l_{k}": ".3f" for k in settings}},
    )


def countings_table(table: pd.DataFrame) -> BookTable:
    """The book's runs in the three countings (:func:`scaling_utils.analysis.ladder.countings`): ``a`` per approach."""
    t = table.reset_index()
    t["approach"] = t["approach"].map(lambda k: f"approach {k}")
    return book_table(
        t,
        {"approach": "approach", "kaplan": "non-embedding N (Kaplan's count)",
         "head": "N with the output head (this book's)", "total": "all parameters (Chinchilla's count)"},
        {"kaplan": ".3f", "head": ".3f", "total": ".3f"},
    )  # fmt: skip
