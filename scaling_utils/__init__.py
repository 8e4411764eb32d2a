"""scaling_utils: published LLM scaling laws, fitting, the book's runs and what the book shows.

The house has one floor per role; a module imports only from its own floor or those below::

    cli          the ``scaling-book`` command line
    report       what the book shows: figures, tables, provenance, book build helpers
    experiment   the training engine (PyTorch, optional)
    analysis     reading and analysing runs, the book's and peers'
    fitting      fitting laws to runs: power laws, the three approaches, bootstraps
    simulations  synthetic runs and the pruning perceptron
    laws         the published laws and their arithmetic
    compute, _validation, _paths   the ground floor: FLOPs and parameters, checks, paths

``tests/test_layout.py`` checks the order, counting imports inside functions too. Nothing
outside :mod:`scaling_utils.experiment` imports PyTorch.
"""

__version__ = "0.1.0"
