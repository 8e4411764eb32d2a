"""Tables of the chapter "Kaplan vs Chinchilla" and its lab notes."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from scaling_utils.laws import ChinchillaLaw, KaplanLaw
from scaling_utils.report.tables.common import BookTable, book_table

__all__ = ["tokens_per_parameter_table"]


def tokens_per_parameter_table(
    chinchilla_laws: Mapping[str, ChinchillaLaw],
    kaplan: KaplanLaw,
    chinchilla_model: tuple[float, float] = (70e9, 1.4e12),
    gpt3_model: tuple[float, float] = (175e9, 300e9),
) -> BookTable:
    """Every tokens-per-parameter figure of the book: which law or model, which count, which compute.

    Rows: the Chinchilla and GPT-3 models as trained (``(N, D)``), each Chinchilla law's
    compute-optimal ratio at both models' compute (``6ND``, total parameters, as Hoffmann et
    al. count), and Kaplan et al.'s compute-efficient allocation at GPT-3's compute
    (non-embedding parameters, compute in PF-days).

    >>> from scaling_utils.laws import BESIROGLU_2024, KAPLAN_2020
    >>> t = tokens_per_parameter_table({"Besiroglu et al. (2024)": BESIROGLU_2024}, KAPLAN_2020)
    >>> t.loc["Chinchilla, as trained", "tokens per parameter"]
    '20.0'
    """
    from scaling_utils.compute import pf_days, training_flops
    from scaling_utils.report.typeset import sci

    rows = []
    models = {"Chinchilla": chinchilla_model, "GPT-3": gpt3_model}
    for name, (n, d) in models.items():
        rows.append((f"{name}, as trained", "total", f"{name}'s, {sci(training_flops(n, d), 2)} FLOPs", d / n))
    for name, (n, d) in models.items():
        c = training_flops(n, d)
        for law_name, law in chinchilla_laws.items():
            rows.append((f"{law_name}, optimum", "total", f"{name}'s", float(law.tokens_per_parameter(c))))
    n, d = gpt3_model
    pfd = pf_days(training_flops(n, d))
    ratio = float(kaplan.optimal_d(pfd) / kaplan.optimal_n(pfd))
    rows.append(("Kaplan et al. (2020), compute-efficient", "non-embedding", f"GPT-3's, {sci(pfd, 2)} PF-days", ratio))
    df = pd.DataFrame(rows, columns=["law or model", "parameters counted", "at the compute of", "tokens per parameter"])
    return book_table(df, formats={"tokens per parameter": ".1f"}, index="law or model")
