"""T2: the article's data-needs table, recomputed cell by cell."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_utils.laws import BESIROGLU_2024, HOFFMANN_2022
from scaling_utils.laws.datasize import (
    ARTICLE_BYTES_PER_TOKEN,
    ARTICLE_T2,
    books_for_bytes,
    bytes_for_tokens,
    data_needs,
    format_quantity,
    implied_ratio_interval,
    parse_quantity,
    regenerate_t2,
    tokens_for_params,
)


def _implied_interval():
    tokens = [parse_quantity(r.tokens).value for r in ARTICLE_T2]
    data = [parse_quantity(r.data) for r in ARTICLE_T2]
    return implied_ratio_interval(tokens, [q.value for q in data], [q.half_unit for q in data])


def test_tokens_and_bytes_match_every_printed_row():
    t2 = regenerate_t2()
    assert t2["tokens_match"].all()
    assert t2["bytes_match"].all()


def test_default_bytes_per_token_inside_the_rows_implied_interval():
    lo, hi = _implied_interval()
    assert lo <= ARTICLE_BYTES_PER_TOKEN < hi
    assert (lo, hi) == pytest.approx((1.6625, 1.665))


def test_rounded_166_misses_two_rows():
    t2 = regenerate_t2(bytes_per_token=1.66)
    missed = [r.params for r, ok in zip(ARTICLE_T2, t2["bytes_match"], strict=True) if not ok]
    assert missed == ["1T", "10T"]


def test_books_column_differences_are_explained():
    t2 = regenerate_t2()
    # Row 1: 2.3 TB / 500 KB = 4.6M books; the article prints the Kindle store's 6.4M.
    assert not t2.loc[0, "books_match"]
    assert "Kindle" in t2.loc[0, "note"]
    assert t2.loc[0, "books"] == pytest.approx(4.66e6, rel=0.01)
    # Every other mismatch is the article's rounded data / 500 KB.
    for i in range(1, len(t2)):
        if not t2.loc[i, "books_match"]:
            assert "rounded" in t2.loc[i, "note"]


def test_law_columns():
    t2 = regenerate_t2((HOFFMANN_2022, BESIROGLU_2024))
    assert t2.loc[0, f"loss: {HOFFMANN_2022.name}"] == pytest.approx(HOFFMANN_2022.loss(70e9, 1.4e12))
    c = 6 * 70e9 * 1.4e12
    assert t2.loc[0, f"D/N opt: {BESIROGLU_2024.name}"] == pytest.approx(BESIROGLU_2024.tokens_per_parameter(c))


def test_assumptions_propagate():
    df = data_needs([1e9], tokens_per_param=10, bytes_per_token=4, bytes_per_book=1e6)
    assert df.loc[0, "tokens"] == 1e10
    assert df.loc[0, "bytes"] == 4e10
    assert df.loc[0, "books"] == 4e4
    assert df.loc[0, "flops"] == 6e19


def test_parse_quantity():
    assert parse_quantity("70B").value == 70e9
    assert parse_quantity("16.6PB").value == pytest.approx(16.6e15)
    assert parse_quantity("333TB").half_unit == 0.5e12
    assert parse_quantity("1.4 Trillion").value == pytest.approx(1.4e12)
    with pytest.raises(ValueError, match="unknown unit"):
        parse_quantity("3 parsecs")
    with pytest.raises(ValueError, match="text must look like"):
        parse_quantity("lots")
    with pytest.raises(TypeError, match="text must be a str"):
        parse_quantity(3.0)  # type: ignore[arg-type]


def test_format_quantity():
    assert format_quantity(33.28e12, "B") == "33.3 TB"
    assert format_quantity(666e6) == "666 M"
    with pytest.raises(ValueError, match="value must be finite and > 0"):
        format_quantity(-1)


def test_inconsistent_rows_rejected():
    with pytest.raises(ValueError, match="no single ratio"):
        implied_ratio_interval([1, 1], [1.0, 2.0], [0.05, 0.05])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: tokens_for_params(0), "params"),
        (lambda: tokens_for_params(1e9, tokens_per_param=-20), "tokens_per_param"),
        (lambda: bytes_for_tokens(1e9, bytes_per_token=float("nan")), "bytes_per_token"),
        (lambda: books_for_bytes(1e9, bytes_per_book=0), "bytes_per_book"),
        (lambda: data_needs([1e9, float("inf")]), "params"),
    ],
)
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be finite and > 0"):
        call()


def test_empty_rows_rejected():
    with pytest.raises(ValueError, match="rows must hold"):
        regenerate_t2(rows=())


@given(p=st.floats(1e6, 1e16), tpp=st.floats(0.1, 1e3), bpt=st.floats(0.5, 10.0))
def test_columns_are_consistent(p, tpp, bpt):
    df = data_needs([p], tokens_per_param=tpp, bytes_per_token=bpt)
    assert df.loc[0, "tokens"] == pytest.approx(p * tpp)
    assert df.loc[0, "bytes"] == pytest.approx(p * tpp * bpt)
    assert df.loc[0, "flops"] == pytest.approx(6 * p * p * tpp)
