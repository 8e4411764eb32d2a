"""The book's own training runs: corpus, model, training and sweeps.

Behind the optional ``[experiment]`` extra (PyTorch). The corpus builder
(:mod:`~scaling_utils.experiment.corpus`) and the synthetic Markov source
(:mod:`~scaling_utils.experiment.markov`) need only numpy; the model, the training loop and
the sweep runner need torch. Nothing outside this package imports it, so the rest of
:mod:`scaling_utils` works without torch. Results are read back with
:mod:`scaling_utils.results`, which needs no torch either.

Command line: ``python -m scaling_utils.experiment --help``.
"""
