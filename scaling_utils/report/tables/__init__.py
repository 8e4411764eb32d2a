"""The tables the book shows, one module per chapter, on the helpers of :mod:`~scaling_utils.report.tables.common`.

May import the wings below ``report`` and ``report.typeset``; tables present results, they compute nothing new.
"""

from scaling_utils.report.tables import beyond, chinchilla, experiment, generalization, predictable, reconcile
from scaling_utils.report.tables.common import (
    CITATIONS,
    SWEEP_NAMES,
    BookTable,
    book_table,
    comparison_table,
    fmt_interval,
)

__all__ = [
    "CITATIONS",
    "SWEEP_NAMES",
    "BookTable",
    "beyond",
    "book_table",
    "chinchilla",
    "comparison_table",
    "experiment",
    "fmt_interval",
    "generalization",
    "predictable",
    "reconcile",
]
