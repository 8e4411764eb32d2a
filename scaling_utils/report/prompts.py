"""In-context learning prompts, the article's opening example (Brown et al. 2020).

Zero-, one- and few-shot prompting differ only in how many solved examples precede the
query. The examples are computed, not typed, so the answers in them are always right.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ARTICLE_EXAMPLES", "ARTICLE_QUERY", "addition_example", "few_shot_prompt"]

ARTICLE_QUERY: tuple[int, int] = (8, 9)
"""The article's query, ``8+9=?``."""

ARTICLE_EXAMPLES: tuple[tuple[int, int], ...] = ((6, 7), (6, 6), (5, 5))
"""The operands of the article's solved examples (the one-shot prompt uses the last)."""


def addition_example(a: int, b: int) -> str:
    """A solved addition, e.g. ``'5+5=10'``.

    Examples
    --------
    >>> addition_example(6, 7)
    '6+7=13'
    """
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    return f"{a}+{b}={a + b}"


def few_shot_prompt(query: tuple[int, int], examples: Sequence[tuple[int, int]] = ()) -> str:
    """The prompt with ``len(examples)`` solved examples before the unsolved ``query``.

    Examples
    --------
    >>> few_shot_prompt((8, 9))
    '8+9=?'
    >>> few_shot_prompt((8, 9), [(5, 5)])
    '5+5=10, 8+9=?'
    """
    if len(query) != 2:
        raise ValueError(f"query must be a pair of ints (a, b), got {query!r}")
    shots = [addition_example(a, b) for a, b in examples]
    addition_example(*query)  # validates the operands
    return ", ".join([*shots, f"{query[0]}+{query[1]}=?"])
