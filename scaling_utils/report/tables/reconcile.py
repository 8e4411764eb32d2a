"""Tables of the chapter "Kaplan vs Chinchilla" and its lab notes."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from scaling_utils.analysis.ladder import OwnLadder
from scaling_utils.analysis.porian import Refit
from scaling_utils.compute import training_flops
from scaling_utils.laws import ChinchillaLaw, KaplanLaw
from scaling_utils.report.tables.common import BookTable, book_table

__all__ = ["gpt3_table", "ladder_table", "own_ladder_table", "tokens_per_parameter_table", "warmup_table"]


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


def ladder_table(refit: Refit) -> pd.DataFrame:
    """R1's table: each setting of Porian et al.'s ladder, the paper's ``a``, the book's, its interval and budgets."""
    ladder, level = refit.ladder, refit.level
    intervals = [f"{lo:.3f} to {hi:.3f}" for lo, hi in zip(ladder["low"], ladder["high"], strict=True)]
    return pd.DataFrame(
        {
            "ladder": ladder["ladder"],
            "what changed": ladder["label"],
            "a (paper)": ladder["a_paper"].map("{:.3f}".format),
            "a (this book)": ladder["a_book"].map("{:.3f}".format),
            f"{100 * level:.0f}% interval": intervals,
            "budgets used": [f"{u} of {t}" for u, t in zip(ladder["budgets"], ladder["budgets_total"], strict=True)],
        }
    ).set_index(["ladder", "what changed"])


def gpt3_table(laws: Mapping[str, ChinchillaLaw], n: float, d: float) -> pd.DataFrame:
    """R4: each law's optimum at the compute of a model of ``n`` parameters on ``d`` tokens, and that model's gap."""
    c = training_flops(n, d)
    rows = []
    for name, law in laws.items():
        n_opt, d_opt = law.compute_optimal(c)
        rows.append(
            {
                "law": name,
                "optimal N (billions)": f"{n_opt / 1e9:.0f}",
                "tokens per parameter": f"{d_opt / n_opt:.1f}",
                "loss of GPT-3 (175B, 300B tokens)": f"{law.loss(n, d):.3f}",
                "loss at the optimum": f"{law.optimal_loss(c):.3f}",
                "gap (nats)": f"{law.loss(n, d) - law.optimal_loss(c):.3f}",
            }
        )
    return pd.DataFrame(rows).set_index("law")


def own_ladder_table(ladder: OwnLadder) -> BookTable:
    """R3: the ladder's rungs on the book's runs, approaches 1-3 beside Porian et al.'s RefinedWeb rungs."""
    return book_table(ladder.ladder, formats={c: ".3f" for c in ladder.ladder.columns[2:]})


def warmup_table(ladder: OwnLadder) -> BookTable:
    """Per Kaplan-way sweep and budget: the lowest-loss run, its steps and the warmup's share of them."""
    return book_table(ladder.warm)
