"""Tables of the chapter "The experiment": sources, learning-rate tuning, the sweeps, the synthetic check."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from scaling_utils.report.tables.common import SWEEP_NAMES, BookTable, book_table

__all__ = ["sources_table", "sweeps_table", "synthetic_table", "tune_table"]


def sources_table(sources: Sequence) -> BookTable:
    """The corpus's sources (``scaling_utils.experiment.corpus.SOURCES``): role, package, origin, version, licence."""
    rows = [
        {
            "distribution": "training mix" if s.role == "train" else s.role,
            "package": s.package,
            "origin": s.origin,
            "version": s.version,
            "licence": s.licence,
        }
        for s in sources
    ]
    return book_table(pd.DataFrame(rows))


def tune_table(tune: pd.DataFrame) -> BookTable:
    """The learning-rate tuning sweep's final losses: one row per size, one column per rate."""
    wide = tune.pivot_table(index="params_nonembedding", columns="lr", values="loss").reset_index()
    rates = wide.columns[1:]
    return book_table(
        wide,
        {"params_nonembedding": "non-embedding parameters", **{lr: f"loss at lr {lr:g}" for lr in rates}},
        {"params_nonembedding": ",.0f", **{lr: ".3f" for lr in rates}},
    )


def sweeps_table(summary: pd.DataFrame) -> BookTable:
    """Every committed sweep (``scaling_utils.analysis.measured.sweep_summary``) with its human name.

    The results file of each name is listed on the Provenance page (the table has no room for it).
    """
    summary = summary.reset_index()
    summary["name"] = summary["sweep"].map(SWEEP_NAMES).fillna(summary["sweep"])
    return book_table(
        summary,
        {
            "name": "sweep",
            "runs": "runs",
            "complete": "complete",
            "seeds": "seeds",
            "max_epochs": "most epochs",
            "tokens": "tokens",
            "flops_6nd": "compute 6ND (FLOPs)",
            "wall_s": "wall time (s)",
            "train_s": "runs' time (s)",
            "device": "device",
        },
        {"tokens": ".3g", "flops_6nd": ".2e", "wall_s": ",.0f", "train_s": ",.0f", "seeds": "d", "max_epochs": ".2f"},
    )


def synthetic_table(table: pd.DataFrame) -> BookTable:
    """The synthetic sources' final losses by size (``Saturation.table``)."""
    return book_table(
        table.reset_index(),
        {
            "params_nonembedding": "non-embedding parameters",
            "markov1": "16 symbols, order 1",
            "markov2": "16 symbols, order 2",
            "markov": "32 symbols, order 2",
        },
        {"params_nonembedding": ",.0f", "markov1": ".4f", "markov2": ".4f", "markov": ".4f"},
    )
