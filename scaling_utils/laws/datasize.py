"""How much text a Chinchilla-optimal model needs: the arithmetic behind the article's T2.

The article quotes a table (Thompson 2022, lifearchitect.ai) that turns model sizes into
training tokens (20 per parameter), bytes of text and books of 500 KB. Each step is a
function here, each assumption an argument whose default is the table's, so a reader can
change one and see every column move.

The table prints its numbers rounded, and does not state its bytes-per-token ratio. Its rows
constrain it: :func:`implied_ratio_interval` intersects, over the rows, the ratios that round
to each printed value. The default :data:`ARTICLE_BYTES_PER_TOKEN` lies inside that
interval (the tests check it); the often-quoted 1.66 does not reproduce the 1T and 10T rows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from scaling_utils._validation import as_positive, broadcast, positive_scalar, scalar_or_array
from scaling_utils.compute import training_flops
from scaling_utils.laws.chinchilla import ChinchillaLaw

__all__ = [
    "ARTICLE_BYTES_PER_BOOK",
    "ARTICLE_BYTES_PER_TOKEN",
    "ARTICLE_T2",
    "ARTICLE_TOKENS_PER_PARAM",
    "T2",
    "TEXT_STOCK_TOKENS",
    "ArticleRow",
    "books_for_bytes",
    "bytes_for_tokens",
    "data_needs",
    "format_quantity",
    "implied_ratio_interval",
    "parse_quantity",
    "regenerate_t2",
    "stock_columns",
    "t2_with_stock",
    "tokens_for_params",
]

FloatOrArray = float | NDArray[np.float64]

ARTICLE_TOKENS_PER_PARAM: float = 20.0
"""Chinchilla's rule of thumb, about 20 training tokens per parameter (Hoffmann et al. 2022)."""

ARTICLE_BYTES_PER_TOKEN: float = 1.664
"""Bytes of text per token; inside the interval the article's rows imply (see module doc)."""

ARTICLE_BYTES_PER_BOOK: float = 500e3
"""One book taken as 500 KB of text (decimal kilobytes), as the article's table states."""

_PREFIX = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15, "Q": 1e15}
_WORDS = {"trillion": 1e12, "quadrillion": 1e15, "billion": 1e9, "million": 1e6}


@dataclass(frozen=True)
class Quantity:
    """A number as printed: its value and the half-width of its last printed digit."""

    value: float
    half_unit: float
    text: str


def parse_quantity(text: str) -> Quantity:
    """Parse a printed quantity such as ``"2.3TB"``, ``"70B"``, ``"6.4M"`` or ``"2 Quadrillion"``.

    Returns the value and half a unit of its last printed digit, the rounding interval of
    the printed number.

    Examples
    --------
    >>> q = parse_quantity("2.3TB")
    >>> q.value, q.half_unit
    (2300000000000.0, 50000000000.0)
    >>> parse_quantity("2 Quadrillion").value
    2000000000000000.0
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    m = re.fullmatch(r"\s*([0-9]+(?:\.([0-9]+))?)\s*([A-Za-z]*)\s*", text)
    if m is None:
        raise ValueError(f"text must look like '2.3TB', '70B' or '5 Trillion', got {text!r}")
    number, decimals, unit = m.group(1), m.group(2) or "", m.group(3)
    word = unit.lower()
    if word in _WORDS:
        scale = _WORDS[word]
    else:
        prefix = unit[:-1] if unit.endswith("B") and len(unit) == 2 else unit
        if prefix not in _PREFIX:
            raise ValueError(f"text has an unknown unit {unit!r} in {text!r}")
        scale = _PREFIX[prefix]
    return Quantity(float(number) * scale, 0.5 * 10.0 ** (-len(decimals)) * scale, text.strip())


def format_quantity(value: float, unit: str = "", digits: int = 3) -> str:
    """Format with an SI-style prefix (K, M, G/B, T, P) and ``digits`` significant figures.

    Examples
    --------
    >>> format_quantity(2.3296e12, "B")
    '2.33 TB'
    >>> format_quantity(4.66e6)
    '4.66 M'
    """
    v = positive_scalar(value, "value")
    prefixes = [(1e15, "P"), (1e12, "T"), (1e9, "G" if unit else "B"), (1e6, "M"), (1e3, "K"), (1.0, "")]
    scale, p = next(((sc, pr) for sc, pr in prefixes if v >= sc), (1.0, ""))
    x = v / scale
    decimals = max(digits - 1 - math.floor(math.log10(x)), 0)
    return f"{x:.{decimals}f} {p}{unit}".rstrip()


def tokens_for_params(params: ArrayLike, tokens_per_param: float = ARTICLE_TOKENS_PER_PARAM) -> FloatOrArray:
    """Training tokens for models of ``params`` parameters at ``tokens_per_param``.

    Examples
    --------
    >>> tokens_for_params(70e9)
    1400000000000.0
    """
    p = as_positive(params, "params")
    return scalar_or_array(p * positive_scalar(tokens_per_param, "tokens_per_param"))


def bytes_for_tokens(tokens: ArrayLike, bytes_per_token: float = ARTICLE_BYTES_PER_TOKEN) -> FloatOrArray:
    """Bytes of text holding ``tokens`` tokens at ``bytes_per_token``.

    Examples
    --------
    >>> f"{bytes_for_tokens(1.4e12):.3g}"
    '2.33e+12'
    """
    t = as_positive(tokens, "tokens")
    return scalar_or_array(t * positive_scalar(bytes_per_token, "bytes_per_token"))


def books_for_bytes(n_bytes: ArrayLike, bytes_per_book: float = ARTICLE_BYTES_PER_BOOK) -> FloatOrArray:
    """Number of books of ``bytes_per_book`` bytes in ``n_bytes`` bytes of text.

    Examples
    --------
    >>> books_for_bytes(2.3e12)
    4600000.0
    """
    b = as_positive(n_bytes, "n_bytes")
    return scalar_or_array(b / positive_scalar(bytes_per_book, "bytes_per_book"))


def implied_ratio_interval(x: ArrayLike, printed: ArrayLike, half_unit: ArrayLike) -> tuple[float, float]:
    """The ratios ``r`` for which every ``r * x`` rounds to its ``printed`` value.

    Row ``i`` allows ``printed[i] - half_unit[i] <= r * x[i] < printed[i] + half_unit[i]``;
    the result is the intersection over rows, ``(low, high)``.

    Raises
    ------
    ValueError
        If the rows are inconsistent (empty intersection) or inputs are invalid.

    Examples
    --------
    >>> lo, hi = implied_ratio_interval([10, 20], [16.6, 33.3], [0.05, 0.05])
    >>> round(lo, 4), round(hi, 4)
    (1.6625, 1.665)
    """
    xs, ps, hs = broadcast(
        x=as_positive(x, "x"), printed=as_positive(printed, "printed"), half_unit=as_positive(half_unit, "half_unit")
    )
    low = float(np.max((ps - hs) / xs))
    high = float(np.min((ps + hs) / xs))
    if low >= high:
        raise ValueError(f"no single ratio reproduces every printed value (lower bound {low:g} >= upper {high:g})")
    return low, high


@dataclass(frozen=True)
class ArticleRow:
    """One row of the article's T2 exactly as printed (Thompson 2022, quoted by the article)."""

    params: str
    tokens: str
    data: str
    books: str
    comparison: str


ARTICLE_T2: tuple[ArticleRow, ...] = (
    ArticleRow("70B", "1.4 Trillion", "2.3TB", "6.4M", "the Kindle store on Amazon US"),
    ArticleRow("250B", "5 Trillion", "8.3TB", "16.6M", "all 30 libraries at Yale University"),
    ArticleRow("500B", "10 Trillion", "16.6TB", "33.2M", "the Google Books collection"),
    ArticleRow("1T", "20 Trillion", "33.3TB", "66.6M", "the US Library of Congress"),
    ArticleRow("10T", "200 Trillion", "333TB", "666M", "all US public libraries combined"),
    ArticleRow("100T", "2 Quadrillion", "3.3PB", "6.6B", "all bibles ever sold worldwide"),
    ArticleRow("250T", "5 Quadrillion", "8.3PB", "16.6B", "a stack all the way to the Moon"),
    ArticleRow("500T", "10 Quadrillion", "16.6PB", "33.2B", "4 books for every living human"),
)
"""The article's T2 as printed, kept as text so that its rounding can be reasoned about."""


def data_needs(
    params: ArrayLike,
    *,
    tokens_per_param: float = ARTICLE_TOKENS_PER_PARAM,
    bytes_per_token: float = ARTICLE_BYTES_PER_TOKEN,
    bytes_per_book: float = ARTICLE_BYTES_PER_BOOK,
) -> pd.DataFrame:
    """Tokens, bytes, books and ``6 N D`` training FLOPs for each model size in ``params``.

    Examples
    --------
    >>> df = data_needs([70e9, 1e12])
    >>> df["tokens"].tolist()
    [1400000000000.0, 20000000000000.0]
    """
    p = np.atleast_1d(as_positive(params, "params"))
    tokens = np.asarray(tokens_for_params(p, tokens_per_param))
    n_bytes = np.asarray(bytes_for_tokens(tokens, bytes_per_token))
    return pd.DataFrame(
        {
            "params": p,
            "tokens": tokens,
            "bytes": n_bytes,
            "books": np.asarray(books_for_bytes(n_bytes, bytes_per_book)),
            "flops": np.asarray(training_flops(p, tokens)),
        }
    )


def _matches(value: float, q: Quantity) -> bool:
    # Half-open rounding interval, with a relative epsilon for binary floating point.
    eps = 1e-9 * q.value
    return q.value - q.half_unit - eps <= value < q.value + q.half_unit + eps


def regenerate_t2(
    laws: tuple[ChinchillaLaw, ...] = (),
    *,
    tokens_per_param: float = ARTICLE_TOKENS_PER_PARAM,
    bytes_per_token: float = ARTICLE_BYTES_PER_TOKEN,
    bytes_per_book: float = ARTICLE_BYTES_PER_BOOK,
    rows: tuple[ArticleRow, ...] = ARTICLE_T2,
) -> pd.DataFrame:
    """Recompute every cell of the article's T2 and compare it with the printed value.

    Parameters
    ----------
    laws : tuple of ChinchillaLaw
        For each law, two extra columns: the loss it predicts for the row's (N, D), and the
        tokens per parameter of its exact compute-optimal allocation at the row's ``6 N D``.
    tokens_per_param, bytes_per_token, bytes_per_book : float
        The table's assumptions (defaults: the article's).
    rows : tuple of ArticleRow
        The printed table to compare with.

    Returns
    -------
    pandas.DataFrame
        One row per model size: computed ``params, tokens, bytes, books, flops``, the printed
        values (``article_*``), whether each computed value rounds to the printed one
        (``*_match``), and a ``note`` where the article's arithmetic or comparison differs.

    Examples
    --------
    >>> t2 = regenerate_t2()
    >>> bool(t2["tokens_match"].all()), bool(t2["bytes_match"].all())
    (True, True)
    """
    if not rows:
        raise ValueError("rows must hold at least one ArticleRow")
    params = [parse_quantity(r.params) for r in rows]
    df = data_needs(
        [q.value for q in params],
        tokens_per_param=tokens_per_param,
        bytes_per_token=bytes_per_token,
        bytes_per_book=bytes_per_book,
    )
    printed = {
        col: [parse_quantity(getattr(r, attr)) for r in rows]
        for col, attr in (("tokens", "tokens"), ("bytes", "data"), ("books", "books"))
    }
    for col, qs in printed.items():
        df[f"article_{col}"] = [q.text for q in qs]
        df[f"{col}_match"] = [_matches(v, q) for v, q in zip(df[col], qs, strict=True)]
    # Books from the article's own (rounded) data column: how the table was evidently made.
    books_from_printed = [books_for_bytes(q.value, bytes_per_book) for q in printed["bytes"]]
    notes = []
    for i, r in enumerate(rows):
        q = printed["books"][i]
        if df.loc[i, "books_match"]:
            notes.append("")
        elif _matches(books_from_printed[i], q):
            notes.append(
                f"{q.text} books is the article's rounded {r.data} / 500 KB; "
                f"unrounded data give {format_quantity(df.loc[i, 'books'])}"
            )
        else:
            notes.append(
                f"{q.text} is the count of the comparison ({r.comparison}), "
                f"not {r.data} / 500 KB = {format_quantity(books_from_printed[i])}"
            )
    df["comparison"] = [r.comparison for r in rows]
    df["note"] = notes
    for law in laws:
        df[f"loss: {law.name}"] = np.asarray(law.loss(df["params"].to_numpy(), df["tokens"].to_numpy()))
        df[f"D/N opt: {law.name}"] = np.asarray(law.tokens_per_parameter(df["flops"].to_numpy()))
    return df


TEXT_STOCK_TOKENS = 3e14
"""Villalobos et al. (2024): the effective stock of public human-generated text, ~300T tokens
(90% interval 100T-1,000T). Their "effective" stock already allows for some repetition."""


def stock_columns(params: ArrayLike, tokens: ArrayLike, law, stock: float = TEXT_STOCK_TOKENS) -> pd.DataFrame:
    """For models of ``params`` trained on ``tokens``: epochs of a text stock, and the loss.

    Parameters
    ----------
    params, tokens : array_like
        Each row's ``N`` and ``D`` (> 0).
    law : DataConstrainedLaw
        E.g. :data:`scaling_utils.laws.MUENNIGHOFF_2023`.
    stock : float
        Unique tokens that exist (> 0).

    Returns
    -------
    pandas.DataFrame
        ``epochs`` (``D / stock``; below 1 the stock suffices), ``loss_stock`` (the
        data-constrained loss with ``stock`` unique tokens) and ``loss_new`` (the same law
        with unlimited unique data).

    Examples
    --------
    >>> from scaling_utils.laws import MUENNIGHOFF_2023
    >>> t = stock_columns([1e12], [1e16], MUENNIGHOFF_2023, stock=1e14)
    >>> float(t["epochs"].iloc[0]), bool(t["loss_stock"].iloc[0] > t["loss_new"].iloc[0])
    (100.0, True)
    """
    n = np.atleast_1d(np.asarray(as_positive(params, "params"), dtype=float))
    d = np.atleast_1d(np.asarray(as_positive(tokens, "tokens"), dtype=float))
    n, d = broadcast(params=n, tokens=d)
    u = positive_scalar(stock, "stock")
    return pd.DataFrame(
        {
            "epochs": d / u,
            "loss_stock": np.atleast_1d(law.loss(n, d, u)),
            "loss_new": np.atleast_1d(law.loss(n, d, d)),
        }
    )


@dataclass(frozen=True)
class T2:
    """T2 regenerated, with each row's epochs over a text stock and the loss it costs (:func:`t2_with_stock`)."""

    table: pd.DataFrame  # regenerate_t2(...)
    stock: pd.DataFrame  # stock_columns(...): epochs, loss_stock, loss_new
    text_stock: float  # unique tokens that exist

    def summary(self) -> dict[str, float | int]:
        """The stock (trillions), rows beyond it, the most epochs and loss penalty, book notes, row 1's books (M)."""
        t2, stock = self.table, self.stock
        return {
            "stock_T": self.text_stock / 1e12,
            "t2_n_over_stock": int((stock["epochs"] > 1).sum()),
            "t2_max_epochs": float(stock["epochs"].max()),
            "t2_max_penalty": float((stock["loss_stock"] - stock["loss_new"]).max()),
            "t2_n_book_notes": int((t2["note"] != "").sum()),
            "t2_first_books": float(t2.iloc[0]["books"]) / 1e6,
        }


def t2_with_stock(
    laws: tuple[ChinchillaLaw, ...],
    stock_law,
    *,
    tokens_per_param: float = ARTICLE_TOKENS_PER_PARAM,
    bytes_per_token: float = ARTICLE_BYTES_PER_TOKEN,
    bytes_per_book: float = ARTICLE_BYTES_PER_BOOK,
    text_stock: float = TEXT_STOCK_TOKENS,
) -> T2:
    """:func:`regenerate_t2` with ``laws``' columns, and :func:`stock_columns` of ``stock_law`` for each row."""
    t2 = regenerate_t2(
        laws, tokens_per_param=tokens_per_param, bytes_per_token=bytes_per_token, bytes_per_book=bytes_per_book
    )
    stock = stock_columns(t2["params"], t2["tokens"], stock_law, stock=text_stock)
    return T2(table=t2, stock=stock, text_stock=text_stock)
