"""Tables of the chapter "Beyond power-law scaling" and its lab notes: T2, inference, repeated data."""

from __future__ import annotations

import pandas as pd

from scaling_utils.analysis.repeated import RepeatStudy, ShiftCheck
from scaling_utils.laws import ChinchillaLaw, DataConstrainedLaw
from scaling_utils.laws.allocation import InferencePlan
from scaling_utils.laws.datasize import T2, format_quantity
from scaling_utils.report.tables.common import BookTable, book_table

__all__ = ["inference_table", "repeat_table", "shift_table", "t2_laws_table", "t2_table"]


def _shown(t2: T2) -> pd.DataFrame:
    """T2 with its quantities written as the article writes them (``1.4T``, ``2.8 TB``)."""
    fq, t = format_quantity, t2.table
    return t.assign(
        params=[fq(v) for v in t["params"]],
        tokens=[fq(v) for v in t["tokens"]],
        bytes=[fq(v, "B") for v in t["bytes"]],
        books=[fq(v) for v in t["books"]],
    )


def t2_table(t2: T2) -> BookTable:
    """T2 regenerated: parameters, tokens, bytes, books and compute, and whether each matches the print."""
    return book_table(
        _shown(t2),
        {
            "params": "parameters",
            "tokens": "tokens",
            "bytes": "data (bytes)",
            "books": "books of 500 KB",
            "flops": "compute 6ND (FLOPs)",
            "tokens_match": "tokens as printed",
            "bytes_match": "data as printed",
            "books_match": "books as printed",
            "article_books": "books, printed",
        },
        {"flops": ".2e"},
    )


def t2_laws_table(t2: T2, hof: ChinchillaLaw, bes: ChinchillaLaw) -> BookTable:
    """T2's rows under the two laws (loss, optimal D/N) and under the data-constrained law with the text stock."""
    h, b = hof.name, bes.name
    view = _shown(t2).assign(
        **{"epochs": t2.stock["epochs"], "loss_stock": t2.stock["loss_stock"], "loss_new": t2.stock["loss_new"]}
    )
    return book_table(
        view,
        {
            "params": "parameters",
            f"loss: {h}": "loss, Hoffmann",
            f"D/N opt: {h}": "optimal D/N, Hoffmann",
            f"loss: {b}": "loss, Besiroglu",
            f"D/N opt: {b}": "optimal D/N, Besiroglu",
            "epochs": "epochs of the text stock",
            "loss_stock": "loss, stock only (M23)",
            "loss_new": "loss, all new (M23)",
        },
        {
            f"loss: {h}": ".3f",
            f"D/N opt: {h}": ".0f",
            f"loss: {b}": ".3f",
            f"D/N opt: {b}": ".0f",
            "epochs": ".3g",
            "loss_stock": ".4f",
            "loss_new": ".4f",
        },
    )


def inference_table(plan: InferencePlan) -> pd.DataFrame:
    """B3: the inference-aware model per demand, as shares of Chinchilla's reaching the same loss."""
    inf = plan.table
    shown = inf.assign(
        inference_tokens=[f"{v:.0e}" if v else "0" for v in inf["inference_tokens"]],
        N=[format_quantity(v) for v in inf["N"]],
        D=[format_quantity(v) for v in inf["D"]],
    ).rename(
        columns={
            "inference_tokens": "inference tokens",
            "N": "parameters N",
            "D": "training tokens D",
            "tokens_per_param": "tokens per parameter",
            "N_share": "N / Chinchilla's",
            "D_share": "D / Chinchilla's",
            "flops_share": "total FLOPs / Chinchilla's",
        }
    )
    return shown.set_index("inference tokens").round(3)


def repeat_table(study: RepeatStudy, law: DataConstrainedLaw) -> pd.DataFrame:
    """B2: observed loss per epochs against the fit and against ``law``'s R_D* (Muennighoff et al.'s)."""
    f, d, one = study.fit, study.tokens, study.one_epoch()
    rows = []
    for _, r in study.mean().iterrows():
        unique = d / r["epochs"]
        e, b, beta = f.base[r["size"]]
        theirs = float(e + b * law.effective_data(d, unique) ** -beta)
        rows.append(
            {
                "model": r["size"],
                "epochs": f"{r['epochs']:.0f}",
                "loss, mean of 2 seeds": f"{r['loss']:.3f}",
                "excess over 1 epoch": f"{r['loss'] - one[r['size']]:+.3f}",
                f"fit (R*D = {f.rd_star:.1f})": f"{float(f.predict(r['size'], d, unique)):.3f}",
                f"with R*D = {law.rd_star:.1f} (M23)": f"{theirs:.3f}",
            }
        )
    return pd.DataFrame(rows).set_index(["model", "epochs"])


def shift_table(check: ShiftCheck, tokens: float = 8e6) -> pd.DataFrame:
    """The bigram proxy's rise for a prefix and for random blocks of U bytes, beside the runs' excess loss."""
    shift, excess = check.shift, check.excess
    base = shift.iloc[0]
    return pd.DataFrame(
        {
            "unique bytes U": [f"{u:,.0f}" for u in shift["unique"]],
            "epochs": [f"{tokens / u:.0f}" for u in shift["unique"]],
            "prefix: rise over U = 8M": (shift["prefix"] - base["prefix"]).map("{:+.3f}".format),
            "random blocks: rise": (shift["random"] - base["random"]).map("{:+.3f}".format),
            **{f"runs' excess loss, {z}": [f"{excess.loc[u, z]:+.3f}" for u in shift["unique"]] for z in check.sizes},
        }
    ).set_index("unique bytes U")
