"""The training engine: corpus, model, training and sweeps of the book's own runs (PyTorch, optional).

May import the ground floor, ``laws``, ``simulations``, ``fitting`` and ``analysis`` (results are read back by
:mod:`scaling_utils.analysis.results`); never ``report`` or ``cli``.

Behind the optional ``[experiment]`` extra (PyTorch). The corpus builder
(:mod:`~scaling_utils.experiment.corpus`) and the synthetic Markov source
(:mod:`~scaling_utils.experiment.markov`) need only numpy; the model, the training loop and
the sweep runner need torch. Nothing outside this package imports torch, so the rest of
:mod:`scaling_utils` works without torch. Results are read back with
:mod:`scaling_utils.analysis.results`, which needs no torch either.

Command line: ``python -m scaling_utils.experiment --help``.
"""
