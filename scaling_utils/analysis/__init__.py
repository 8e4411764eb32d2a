"""Reading and analysing runs, the book's own and peers': loading, the approaches on sweeps, checks, plans, predictions.

May import the ground floor, ``laws``, ``simulations`` and ``fitting``; never ``experiment``, ``report`` or ``cli``.
"""
