"""Tables of the chapter "Predicting a run before training it" (R6)."""

from __future__ import annotations

import pandas as pd

from scaling_utils.report.tables.common import BookTable, book_table, comparison_table

__all__ = [
    "amendments_table",
    "backtest_table",
    "bias_table",
    "comparison",
    "cosine_table",
    "miss_table",
    "prediction_table",
    "t1_table",
    "verdict_table",
]

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


BACKTEST_ORDER = ("approach 1", "approach 2", "frontier E + k C^-gamma", "approach 3", "Kaplan L(N)", "Kaplan L(D)",
                  "Kaplan L(C_min)")  # fmt: skip
"""The backtest table's rows: the IsoFLOP laws as the plan ranks them, then Kaplan's."""


def backtest_table(porian: pd.DataFrame, sweep: pd.DataFrame, v3: pd.DataFrame | None = None,
                   kaplan: pd.DataFrame | None = None) -> BookTable:  # fmt: skip
    """Absolute relative error of each law predicting held-out budgets, on four sets of runs.

    For Porian et al.'s points, the mean and the largest error over the settings where the law
    could be fitted; for the book's corrected IsoFLOP sweep, the mean over its two backtests (4
    and 5 budgets fitted); the v3 fitting sweep's largest budget predicted from the other four;
    Kaplan's laws on the size and data sweeps, the last decade held out.
    """
    key = ["law", "predicts"]
    p = porian.groupby(key, sort=False)["abs. rel. error"].agg(["mean", "max", "size"]).reset_index()
    t = p.merge(sweep.groupby(key, sort=False)["abs. rel. error"].mean().rename("sweep").reset_index(),
                on=key, how="outer", sort=False)  # fmt: skip
    cols = {"law": "law", "predicts": "predicts", "size": "Porian settings", "mean": "Porian: mean",
            "max": "Porian: largest", "sweep": "IsoFLOP sweep"}  # fmt: skip
    fmt = {"size": ".0f", "mean": ".1%", "max": ".1%", "sweep": ".1%"}
    for name, extra, heading in (("v3", v3, "v3 sweep"), ("kaplan", kaplan, "size and data sweeps")):
        if extra is not None:
            t = t.merge(extra.groupby(key, sort=False)["abs. rel. error"].mean().rename(name).reset_index(),
                        on=key, how="outer", sort=False)  # fmt: skip
            cols[name], fmt[name] = heading, ".1%"
    order = {law: i for i, law in enumerate(BACKTEST_ORDER)}
    t = t.sort_values("law", key=lambda s: s.map(lambda x: order.get(x, len(order))), kind="stable")
    return book_table(t, cols, fmt)


_APPROACHES = {"a1": "approach 1", "a2": "approach 2", "a3": "approach 3", "spread": "largest difference (pair)"}


def t1_table(countings: pd.DataFrame, level: float = 0.8) -> BookTable:
    """T1 on the v3 sweep: ``a`` per approach (rows) and counting (columns), interval and jackknife error.

    ``countings`` is :func:`scaling_utils.analysis.countings.countings`' table.
    """
    from scaling_utils.analysis.countings import COUNTINGS

    def text(r) -> str:
        pair = getattr(r, "pair", None)
        named = f"approach {pair[1]} - {pair[4]}: " if isinstance(pair, str) else ""
        return f"{named}{r.a:.3f} ({r.lo:.3f} to {r.hi:.3f}), se {r.jackknife_se:.3f}"

    cell = countings.assign(text=[text(r) for r in countings.itertuples()])
    wide = cell.pivot(index="approach", columns="counting", values="text").reindex(list(_APPROACHES))
    wide = wide.reset_index().assign(approach=lambda d: d["approach"].map(_APPROACHES))
    return book_table(wide, {"approach": f"a ({level:.0%} interval), jackknife se", **COUNTINGS})


def cosine_table(check: pd.DataFrame) -> BookTable:
    """The cosine check: each full cosine run beside the cooldown branch of the same size, tokens and seed."""
    return book_table(
        check,
        {"budget": "budget (FLOPs)", "N": "parameters (with head)", "seed": "seed", "cosine": "loss, cosine run",
         "branch": "loss, cooldown branch", "rel": "branch - cosine"},
        {"budget": ".1e", "N": ",.0f", "seed": ".0f", "cosine": ".3f", "branch": ".3f", "rel": "+.1%"},
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


def comparison(summary: dict, t1: pd.DataFrame | None = None, cosine: dict | None = None,
               observed: dict | None = None) -> BookTable:  # fmt: skip
    """The chapter's closing table, from :meth:`scaling_utils.analysis.predictable.Progress.summary`.

    With ``t1`` (:func:`scaling_utils.analysis.countings.countings`) a row for T1 on the v3 sweep
    beside Hoffmann et al.'s Table 2; with ``cosine`` (:func:`~scaling_utils.analysis.verify.cosine_summary`)
    a row for the cooldown branches against matched cosine runs; with ``observed``
    (:func:`~scaling_utils.analysis.verify.observed_target`) the first row gives the target runs' verdict.
    """
    from scaling_utils.laws.chinchilla import PUBLISHED_T1

    ratio = f"{summary['target_ratio']:.0f}x the largest fitted budget"
    extra = []
    if t1 is not None:
        a = t1.set_index(["counting", "approach"])["a"]
        paper = ", ".join(f"{p.a:.2f}" for p in PUBLISHED_T1[:3])
        extra.append((
            "T1: N_opt ∝ C^a, approaches 1-3 (Chinchilla counting)", f"a = {paper}",
            f"a = {a[('total', 'a1')]:.2f}, {a[('total', 'a2')]:.2f}, {a[('total', 'a3')]:.2f} "
            f"(with the head: {a[('head', 'a1')]:.2f}, {a[('head', 'a2')]:.2f}, {a[('head', 'a3')]:.2f})",
            f"approach 2 {a[('total', 'a2')] - PUBLISHED_T1[1].a:+.2f}, approach 3 "
            f"{a[('total', 'a3')] - PUBLISHED_T1[2].a:+.2f} from the paper's"))  # fmt: skip
    if cosine is not None:
        extra.append((
            "a cooldown branch stands for a full run (Hägele et al. 2024)", "(not in article)",
            f"branches {cosine['cos_below_pct'] / 100:.1%} below matched cosine runs",
            "the branches' laws describe cooldown training"))  # fmt: skip
    return comparison_table([
        ("a big run's loss is predictable from small ones (大模型的可预测性)",
         "shown by others (the GPT-4 report: 1,000-10,000x less compute)",
         f"the prediction: {summary['prediction_made']}" if observed is None else
         f"N_opt off by a factor {observed['obs_n_factor']:.2f}; lowest loss {abs(observed['obs_loss_err']):.1%} "
         f"{'below' if observed['obs_loss_err'] < 0 else 'above'} the prediction",
         f"a pre-registered test at {ratio}, in progress" if observed is None else
         f"a pre-registered test at {ratio}: N_opt {'met' if observed['obs_pass_n'] else 'missed'}, "
         f"loss {'met' if observed['obs_pass_loss'] else 'missed'} (the plan's criteria)"),
        ("the best learning rate falls with compute (DeepSeek: exponent -0.125)", "(not in article)",
         f"exponent {summary['lr_exp']:.3f} ({summary['lr_exp_lo']:.3f} to {summary['lr_exp_hi']:.3f})",
         "flatter on these models"),
        ("the best batch grows with compute (DeepSeek: exponent 0.327)", "(not in article)",
         f"exponent {summary['batch_exp']:.2f} ({summary['batch_exp_lo']:.2f} to {summary['batch_exp_hi']:.2f})",
         "the same, within the interval"),
        *extra,
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


def verdict_table(record: dict, observed: dict) -> BookTable:
    """Each committed prediction of the lowest loss and of N_opt against what the target runs gave.

    ``observed`` is :func:`scaling_utils.analysis.verify.observed_target`. A loss row gives the
    relative error, an N_opt row the factor between prediction and observation; both say whether
    the observation fell inside the prediction's interval. Only the primary rows are judged, by
    the verdicts ``observed_target`` reached on the plan's criteria (``obs_pass_loss``,
    ``obs_pass_n``); the others are shown, not judged.

    Raises
    ------
    ValueError
        When ``observed`` lacks the observed vertex (``obs_loss``, ``obs_n``).
    """
    keys = ("obs_loss", "obs_n", "obs_loss_lo", "obs_loss_hi", "obs_n_lo", "obs_n_hi", "obs_pass_loss", "obs_pass_n")
    missing = [k for k in keys if k not in observed]
    if missing:
        raise ValueError(f"observed lacks {missing}: pass the result of verify.observed_target")
    level = f"{record['interval_level']:.0%}"
    rows = []
    for key, approach, quantity, primary in _PREDICTED[:5]:
        if key not in record["point"]:
            continue
        pred = record["point"][key]
        lo, hi = record["interval"].get(key, (float("nan"), float("nan")))
        loss = quantity == "lowest loss"
        obs = observed["obs_loss" if loss else "obs_n"]
        o_lo, o_hi = (
            (observed["obs_loss_lo"], observed["obs_loss_hi"]) if loss else (observed["obs_n_lo"], observed["obs_n_hi"])
        )
        fmt = (lambda x: f"{x:.3f}") if loss else (lambda x: f"{x:,.0f}")
        is_primary = primary is not None and record["primary"].get(primary[0]) == primary[1]
        error = f"{(obs - pred) / pred:+.1%}" if loss else f"x{max(pred / obs, obs / pred):.2f}"
        met = observed["obs_pass_loss" if loss else "obs_pass_n"]  # observed_target's verdict on the plan's criteria
        rows.append({"quantity": quantity, "approach": approach, "predicted": f"{fmt(pred)} ({fmt(lo)} to {fmt(hi)})",
                     "observed": f"{fmt(obs)} ({fmt(o_lo)} to {fmt(o_hi)})", "error": error,
                     "inside": "yes" if lo <= obs <= hi else "no",
                     "verdict": ("met" if met else "missed") if is_primary else "not judged"})  # fmt: skip
    return book_table(
        pd.DataFrame(rows),
        {"quantity": "quantity", "approach": "approach", "predicted": f"predicted ({level} interval)",
         "observed": f"observed ({level} seed interval)", "error": "error", "inside": "inside the interval",
         "verdict": "plan's criterion"},
        index="quantity",
    )  # fmt: skip


def miss_table(slopes: pd.DataFrame, gamma: float) -> BookTable:
    """The local slopes of the lowest loss beside the fitted frontier's exponent (why the loss was missed).

    ``slopes`` is :func:`scaling_utils.analysis.miss.local_slopes`; ``gamma`` the committed
    frontier's exponent. Slopes are given as ``-d ln L_min / d ln C``, positive like ``gamma``.
    """

    def span(lo: float, hi: float) -> str:
        return f"{lo:.2g} to {hi:.2g}"

    fitting = slopes[~slopes["observed_at_target"]]
    rows = [{"span": span(r.C_from, r.C_to), "source": "fitting budgets' vertices", "slope": f"{-r.slope:.3f}"}
            for r in fitting.itertuples()]  # fmt: skip
    rows.append({"span": span(fitting["C_from"].min(), fitting["C_to"].max()),
                 "source": "the committed frontier (its exponent)", "slope": f"{gamma:.3f}"})  # fmt: skip
    rows += [{"span": span(r.C_from, r.C_to), "source": "observed at the target (after the prediction)",
              "slope": f"{-r.slope:.3f}"} for r in slopes[slopes["observed_at_target"]].itertuples()]  # fmt: skip
    return book_table(
        pd.DataFrame(rows),
        {"span": "compute span (FLOPs)", "source": "from", "slope": "slope, −d ln L / d ln C"},
        index="span",
    )
