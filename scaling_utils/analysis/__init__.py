"""Analysis of the book's own runs for the predictability experiment: the plan, hyperparameters, predictions.

May import the ground floor (``compute``, ``_paths``, ``_validation``), ``laws`` and ``fitting``;
never ``report`` or ``cli``.
"""
