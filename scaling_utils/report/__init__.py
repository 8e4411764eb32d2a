"""What the book shows: each chapter's figures and tables, the artefact registry and provenance, book helpers.

May import every wing below it (ground floor, ``laws`` to ``experiment``); only ``cli`` is above it.

:mod:`~scaling_utils.report.figures` (one module per chapter), :mod:`~scaling_utils.report.tables`,
:mod:`~scaling_utils.report.provenance` with the registry (``registry/artefacts.yaml``),
:mod:`~scaling_utils.report.booktools` (the Sphinx extension, launch notebooks, ``glue_all``),
:mod:`~scaling_utils.report.prompts`, :mod:`~scaling_utils.report.typeset` and
:mod:`~scaling_utils.report.webfont`.
"""
