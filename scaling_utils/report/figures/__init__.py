"""One module per chapter, one function per figure, all in one style (:mod:`~scaling_utils.report.figures.style`).

May import the wings below ``report``; figures draw results, they compute nothing the book reports.

``generalization``, ``kaplan``, ``chinchilla`` (with its lab notes), ``reconcile`` (Kaplan vs
Chinchilla), ``predictable`` (predicting a run before training it) and ``beyond`` (beyond power
laws, with its lab notes).
"""

from scaling_utils.report.figures import beyond, chinchilla, generalization, kaplan, predictable, reconcile, style

__all__ = ["beyond", "chinchilla", "generalization", "kaplan", "predictable", "reconcile", "style"]
