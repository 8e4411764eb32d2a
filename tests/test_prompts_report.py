"""Prompts (N9) and the report tables (T1, comparisons)."""

from __future__ import annotations

import pytest

from scaling_utils.laws import HOFFMANN_2022_UNROUNDED, KAPLAN_2020, PUBLISHED_T1
from scaling_utils.report.prompts import ARTICLE_EXAMPLES, ARTICLE_QUERY, addition_example, few_shot_prompt
from scaling_utils.report.tables import comparison_table
from scaling_utils.report.tables.chinchilla import t1_table


def test_article_prompts():
    assert few_shot_prompt(ARTICLE_QUERY) == "8+9=?"
    assert few_shot_prompt(ARTICLE_QUERY, ARTICLE_EXAMPLES[-1:]) == "5+5=10, 8+9=?"
    assert few_shot_prompt(ARTICLE_QUERY, ARTICLE_EXAMPLES) == "6+7=13, 6+6=12, 5+5=10, 8+9=?"


def test_prompt_errors():
    with pytest.raises(TypeError, match="a must be an int"):
        addition_example(1.5, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="query must be a pair"):
        few_shot_prompt((1, 2, 3))  # type: ignore[arg-type]


def test_t1_table_has_published_and_derived_rows():
    t = t1_table([HOFFMANN_2022_UNROUNDED], KAPLAN_2020)
    assert len(t) == len(PUBLISHED_T1) + 2
    assert t.loc[2, "a interval"] == "(0.454, 0.455)"
    derived = t[t["source"].str.startswith("derived")]
    assert round(float(derived.iloc[0]["a"]), 2) == 0.46
    assert float(derived.iloc[1]["a"]) == 0.73


def test_comparison_table_validates_rows():
    t = comparison_table([("claim", "a", "b", "c")])
    assert list(t.columns) == ["Article", "This book", "Difference"]
    with pytest.raises(ValueError, match=r"rows\[0\] must have 4 fields"):
        comparison_table([("claim", "a")])


def test_t1_table_refit_columns():
    import pandas as pd

    from scaling_utils.fitting import Bootstrap

    boot = Bootstrap(
        point={"a": 0.5, "b": 0.5}, samples=pd.DataFrame({"a": [0.4, 0.6], "b": [0.6, 0.4]}), n_resamples=2, seed=0
    )
    t = t1_table(refits={"x": {"2": boot}, "y": {"3": boot}})
    assert t.loc[1, "a (x)"] == 0.5 and t.loc[2, "a (y)"] == 0.5
    assert t.loc[1, "a (x) interval"].startswith("(0.4")
    with pytest.raises(ValueError, match="refits key must be an approach number"):
        t1_table(refits={"x": {"Kaplan": boot}})


def test_book_table_reads_as_a_table_and_refuses_raw_headings():
    import pandas as pd

    from scaling_utils.report import tables

    t = pd.DataFrame({"n_params": [1e9, 7e9], "ok": [True, False], "loss": [2.0, float("nan")]})
    out = tables.book_table(
        t, {"n_params": "parameters", "ok": "matches", "loss": "loss (nats)"}, {"n_params": ".0e", "loss": ".3f"}
    )
    assert out.index.name == "parameters" and list(out.columns) == ["matches", "loss (nats)"]
    assert list(out["matches"]) == ["✓", "✗"] and list(out["loss (nats)"]) == ["2.000", ""]
    with pytest.raises(ValueError, match="has an underscore"):
        tables.book_table(t, {"n_params": "n_params"})
    with pytest.raises(ValueError, match="df has no column 'tokens'"):
        tables.book_table(t, {"tokens": "tokens"})
    with pytest.raises(ValueError, match="index 'loss' must be one of the columns kept"):
        tables.book_table(t, {"n_params": "parameters"}, index="loss")


def test_book_tables_show_long_cells_in_full():
    """pandas' HTML cuts text at 50 characters with '...'; the book's tables never do."""
    import pandas as pd

    from scaling_utils.report import tables

    note = "a note of well over fifty characters, whose end carries the point " * 2
    t = pd.DataFrame({"what": ["x"], "note": [note]})
    for table in (
        tables.book_table(t, {"what": "what", "note": "note"}),
        tables.comparison_table([("claim", "article", "book", note)]),
        tables.book_table(t, {"what": "what", "note": "note"}).head(1),  # stays a BookTable
    ):
        assert isinstance(table, tables.BookTable)
        assert note.strip() in table._repr_html_()
    # The option is restored: plain DataFrames elsewhere are untouched.
    assert pd.get_option("display.max_colwidth") == 50
