"""Tables of the chapter "Predicting a run before training it" (R6)."""

from __future__ import annotations

import pandas as pd

from scaling_utils.report.tables.common import BookTable, book_table, comparison_table

__all__ = ["amendments_table", "backtest_table", "bias_table", "comparison", "prediction_table"]

# (key in the record, approach, quantity, primary key of the record's "primary" or None)
_PREDICTED = [
    ("loss_frontier", "frontier through approach 2's vertices", "lowest loss", ("loss", "approach2_frontier")),
    ("loss3", "approach 3", "lowest loss", None),
    ("n_opt1", "approach 1", "N_opt", None),
    ("n_opt2", "approach 2", "N_opt", ("n_opt", "approach2")),
    ("n_opt3", "approach 3", "N_opt", None),
    ("d_opt1", "approach 1", "D_opt (tokens)", None),
    ("d_opt2", "approach 2", "D_opt (tokens)", None),
    ("d_opt3", "approach 3", "D_opt (tokens)", None),
]


def amendments_table(plan: dict) -> BookTable:
    """Every amendment of the plan after the first commit: when, whether results were seen, what changed and why.

    Two columns, so that the long text flows in one of them on a narrow screen.
    """
    rows = []
    for i, a in enumerate(plan["amendment"][1:], start=1):
        seen = "after seeing a result" if a["after_results"] else "before any result"
        rows.append({"n": f"{i} ({a['date']}, {seen})",
                     "text": f"{' '.join(a['what'].split())} Why: {' '.join(a['why'].split())}"})  # fmt: skip
    return book_table(pd.DataFrame(rows), {"n": "amendment", "text": "what changed, and why"})


def backtest_table(porian: pd.DataFrame, sweep: pd.DataFrame) -> BookTable:
    """Absolute relative error of each law predicting held-out budgets: Porian et al.'s settings, the book's sweep.

    For Porian et al.'s points, the mean and the largest error over the settings where the law could be fitted.
    """
    key = ["law", "predicts"]
    p = porian.groupby(key, sort=False)["abs. rel. error"].agg(["mean", "max", "size"]).reset_index()
    s = sweep.groupby(key, sort=False)["abs. rel. error"].agg(["mean", "max"]).reset_index()
    t = p.merge(s, on=key, how="outer", suffixes=("_p", "_s"))
    return book_table(
        t,
        {"law": "law", "predicts": "predicts", "size": "Porian settings", "mean_p": "Porian: mean error",
         "max_p": "Porian: largest", "mean_s": "book's sweep: mean", "max_s": "book's sweep: largest"},
        {"size": ".0f", "mean_p": ".1%", "max_p": ".1%", "mean_s": ".1%", "max_s": ".1%"},
    )  # fmt: skip


def bias_table(bias: pd.DataFrame) -> BookTable:
    """The error in the exponent ``a`` of approaches 1-3 on synthetic runs from a known law, on the v3 grid."""
    return book_table(
        bias,
        {"alpha": "alpha", "beta": "beta", "true_a": "true a", "N_opt at 1.6e12": "true N opt at 1.6e12",
         "approach1 exact": "approach 1: error, exact runs", "approach2 exact": "approach 2: error, exact runs",
         "approach2 sd": "approach 2: sd, 0.5% noise", "approach3 exact": "approach 3: error, exact runs",
         "approach3 sd": "approach 3: sd, 0.5% noise"},
        {"alpha": ".2f", "beta": ".2f", "true_a": ".3f", "N_opt at 1.6e12": ",.0f", "approach1 exact": "+.3f",
         "approach2 exact": "+.3f", "approach2 sd": ".3f", "approach3 exact": "+.3f", "approach3 sd": ".3f"},
    )  # fmt: skip


def comparison(summary: dict) -> BookTable:
    """The chapter's closing table, from :meth:`scaling_utils.analysis.predictable.Progress.summary`."""
    ratio = f"{summary['target_ratio']:.0f}x the largest fitted budget"
    return comparison_table([
        ("a big run's loss is predictable from small ones (大模型的可预测性)",
         "shown by others (the GPT-4 report: 1,000-10,000x less compute)",
         f"the prediction: {summary['prediction_made']}",
         f"a pre-registered test at {ratio}, in progress"),
        ("the best learning rate falls with compute (DeepSeek: exponent -0.125)", "(not in article)",
         f"exponent {summary['lr_exp']:.3f} ({summary['lr_exp_lo']:.3f} to {summary['lr_exp_hi']:.3f})",
         "flatter on these models"),
        ("the best batch grows with compute (DeepSeek: exponent 0.327)", "(not in article)",
         f"exponent {summary['batch_exp']:.2f} ({summary['batch_exp_lo']:.2f} to {summary['batch_exp_hi']:.2f})",
         "the same, within the interval"),
    ])  # fmt: skip


def prediction_table(record: dict) -> BookTable:
    """The committed prediction at the target budget: each approach's point, 80% interval and jackknife error.

    ``record`` is ``data/plans/predictable_prediction.json``; the primary predictions (the plan's,
    fixed before any fitting result) are marked.
    """
    level = f"{record['interval_level']:.0%}"
    rows = []
    for key, approach, quantity, primary in _PREDICTED:
        if key not in record["point"]:
            continue
        lo, hi = record["interval"].get(key, (float("nan"), float("nan")))
        loss = quantity == "lowest loss"
        fmt = (lambda x: f"{x:.3f}") if loss else (lambda x: f"{x:,.0f}")
        rows.append({"quantity": quantity, "approach": approach, "point": fmt(record["point"][key]),
                     "interval": f"{fmt(lo)} to {fmt(hi)}", "se": fmt(record["jackknife_se"].get(key, float("nan"))),
                     "primary": primary is not None and record["primary"].get(primary[0]) == primary[1]})  # fmt: skip
    return book_table(
        pd.DataFrame(rows),
        {"quantity": "quantity", "approach": "approach", "point": "prediction", "interval": f"{level} interval",
         "se": "jackknife standard error", "primary": "primary"},
        index="quantity",
    )  # fmt: skip
