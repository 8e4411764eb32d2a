"""Tables of the chapter "Generalization": F1's fits per distribution."""

from __future__ import annotations

from scaling_utils.analysis.measured import Transfer
from scaling_utils.report.tables.common import BookTable, book_table

__all__ = ["transfer_table"]

_TRANSFER_COLUMNS = ("exponent", "offset_small", "offset_large", "slope_vs_train", "intercept", "rms_end", "rms_mid")


def transfer_table(transfer: Transfer) -> BookTable:
    """F1's table: each distribution's exponent of L(N), offsets, line against the training loss, residuals."""
    return book_table(
        transfer.table.reset_index(),
        {
            "distribution": "distribution",
            "exponent": "exponent of L(N)",
            "offset_small": "offset, smallest model",
            "offset_large": "offset, largest model",
            "slope_vs_train": "slope vs training loss",
            "intercept": "intercept",
            "rms_end": "RMS residual, end",
            "rms_mid": "RMS residual, mid-training",
        },
        {k: ".3f" for k in _TRANSFER_COLUMNS},
    )
