"""The v3 fitting sweep, written from the plan and the measured hyperparameter rule.

Each budget of the plan gets 7 consecutive rungs of :data:`LADDER`, moving up two rungs a
budget (the optimum doubles per half decade at ``a`` near 0.6, the committed sweeps'
value; the rungs are 1.45x apart, so the window also holds a vertex at ``a`` 0.45-0.8).
Each rung trains warmup-stable-decay trunks whose cooldown branches end at the budgets it
serves, plus one branch at the geometric middle of each pair of consecutive budgets (more
(N, D) points for approaches 1 and 3). A trunk's rate and batch follow the rule at the
geometric mean of its budgets; a rung whose budgets span more than 1.5x in the rule's rate
or 2x in its batch is split into several trunks (plan, ``[hyperparameters]``).
"""

from __future__ import annotations

import itertools
import math

from scaling_utils.compute import flops_per_token_with_head

__all__ = ["LADDER", "Trunk", "cosine_points", "cosine_sweep_toml", "fit_sweep_toml", "fit_trunks"]

LADDER = ((1, 8, 2), (1, 12, 2), (1, 16, 2), (2, 16, 2), (2, 20, 2), (2, 24, 2), (2, 32, 4), (2, 40, 4),
          (3, 40, 4), (3, 48, 4), (4, 48, 4), (4, 56, 4), (4, 64, 4), (5, 72, 6), (6, 80, 5), (6, 96, 6),
          (8, 96, 8), (8, 112, 8), (8, 128, 8))  # fmt: skip
"""(n_layer, d_model, n_head); N with the head from 2.8k to 1.6M, about 1.45x a rung."""
N_CTX = 128


class Trunk(dict):
    """One trunk: shape, rate, batch, branch token counts, seeds, and the budgets it serves."""


def _segments(budgets: list[float], rule) -> list[list[float]]:
    segs: list[list[float]] = []
    for b in sorted(budgets):
        if segs:
            first = segs[-1][0]
            lr_ratio = rule.lr(first) / rule.lr(b)
            batch_ratio = (b / first) ** rule.batch_exp
            if max(lr_ratio, 1 / lr_ratio) <= 1.5 and batch_ratio <= 2.0:
                segs[-1].append(b)
                continue
        segs.append([b])
    return segs


def fit_trunks(plan: dict, rule) -> list[Trunk]:
    """The trunks of the fitting sweep for ``plan`` (its ``[fitting]`` budgets and seeds) and ``rule``."""
    budgets = plan["fitting"]["budgets"]
    per = plan["fitting"]["sizes_per_budget"]
    seeds, seeds_small = plan["fitting"]["seeds"], plan["fitting"]["seeds_smallest_two_budgets"]
    min_steps = plan["fitting"]["min_steps"]
    serves: dict[int, list[float]] = {}
    for i, b in enumerate(budgets):
        for r in range(2 * i, 2 * i + per):
            if r >= len(LADDER):
                raise ValueError(f"budget {b:g} needs rung {r}, beyond the ladder's {len(LADDER)}")
            serves.setdefault(r, []).append(b)
    trunks = []
    for r, bs in sorted(serves.items()):
        n_layer, d_model, n_head = LADDER[r]
        per_token = flops_per_token_with_head(n_layer, d_model, N_CTX, 4 * d_model)
        for seg in _segments(bs, rule):
            mid = math.exp(sum(math.log(b) for b in seg) / len(seg))
            points = set(seg) | {math.sqrt(a * b) for a, b in itertools.pairwise(seg)}
            small = any(b in budgets[:2] for b in seg)
            tokens = sorted(int(p / per_token) for p in points)
            batch = rule.batch(mid, N_CTX)
            while batch > 1 and tokens[0] / (batch * N_CTX) < min_steps:
                batch //= 2  # the plan's minimum of optimiser steps wins over the rule's batch
            trunks.append(Trunk(
                rung=r, shape=[n_layer, d_model, n_head], lr=float(f"{rule.lr(mid):.4g}"), batch_size=batch,
                rule_batch=rule.batch(mid, N_CTX), budgets=seg, branch_tokens=tokens,
                seeds=list(range(seeds_small if small else seeds)),
            ))  # fmt: skip
    return trunks


def fit_sweep_toml(plan: dict, rule, rule_source: str) -> str:
    """The text of ``experiments/v3/predictable_fit.toml``."""
    lines = _header(plan, rule, rule_source, "step 2: the fitting sweep", plan["fitting"]["sweep"], "wsd")
    lines += [f"cooldown_frac = {plan['fitting']['cooldown']['frac']}", "", "[executor]\ngroup = 3"]
    for t in fit_trunks(plan, rule):
        lines += [
            "",
            f"[[grid]]  # rung {t['rung']}, budgets {', '.join(f'{b:g}' for b in t['budgets'])}"
            + (
                f"; batch halved from the rule's {t['rule_batch']} for >= 500 steps"
                if t["batch_size"] < t["rule_batch"]
                else ""
            ),
            f"shape = [{t['shape']}]",
            f"lr = {t['lr']}",
            f"batch_size = {t['batch_size']}",
            f"branch_tokens = {t['branch_tokens']}",
            f"seed = {t['seeds']}",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _header(plan: dict, rule, rule_source: str, what: str, sweep: str, schedule: str) -> list[str]:
    return [
        f"# Predictable scaling, {what} (written by scaling_utils.analysis.design from",
        f"# data/plans/predictable.toml and the measured rule {rule_source}; do not edit by hand).",
        f"# Rule: lr = {rule.lr_coef:.4g} C^{rule.lr_exp:.3f}, "
        f"batch = {rule.batch_coef:.4g} C^{rule.batch_exp:.3f} tokens.",
        f'sweep = "{sweep}"',
        f'train_dist = "{plan["corpus"]["train_dist"]}"',
        f'eval_dists = ["{plan["corpus"]["eval_dist"]}"]',
        "",
        "[defaults]",
        f"n_ctx = {N_CTX}",
        'flops_count = "head_attn"',
        'sampling = "permute"',
        f'schedule = "{schedule}"',
        "beta1 = 0.9\nbeta2 = 0.99\nweight_decay = 0.1\ngrad_clip = 1.0",
        'warmup_steps = 20\nwarmup_tokens = "params"\nwarmup_frac = 0.05',
        f"eval_sequences = {plan['corpus']['eval_windows']}",
        "n_checkpoints = 3",
    ]


def cosine_points(plan: dict, rule) -> list[dict]:
    """The (N, D) points of the cosine check, fixed by the plan before any result.

    The middle rung of the smallest, the middle and the largest fitting budget (the fourth of
    its 7 rungs, where the design expects the vertex), at the token count of that budget's
    branch, with the trunk's rate, batch and first two seeds.
    """
    budgets = plan["fitting"]["budgets"]
    picks = [0, len(budgets) // 2, len(budgets) - 1][: plan["checks"]["points"]]
    trunks = fit_trunks(plan, rule)
    points = []
    for i in picks:
        rung = 2 * i + plan["fitting"]["sizes_per_budget"] // 2
        t = next(t for t in trunks if t["rung"] == rung and budgets[i] in t["budgets"])
        n_layer, d_model, _ = t["shape"]
        tokens = int(budgets[i] / flops_per_token_with_head(n_layer, d_model, N_CTX, 4 * d_model))
        points.append(dict(budget=budgets[i], rung=rung, shape=t["shape"], lr=t["lr"], batch_size=t["batch_size"],
                           tokens=tokens, seeds=t["seeds"][:2]))  # fmt: skip
    return points


def cosine_sweep_toml(plan: dict, rule, rule_source: str) -> str:
    """The text of ``experiments/v3/predictable_cosine.toml``: full cosine runs matched to branches."""
    lines = _header(plan, rule, rule_source, "step 3: the cosine check", plan["checks"]["sweep"], "cosine")
    lines += ["", "[executor]\ngroup = 2"]
    for p in cosine_points(plan, rule):
        lines += [
            "",
            f"[[grid]]  # rung {p['rung']} at {p['budget']:g}, matched to its cooldown branch",
            f"shape = [{p['shape']}]",
            f"lr = {p['lr']}",
            f"batch_size = {p['batch_size']}",
            f"tokens = {p['tokens']}",
            f"seed = {p['seeds']}",
        ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m scaling_utils.analysis.design PLAN RULE_JSON OUT_DIR``: write the fitting and cosine sweeps."""
    import json
    import sys
    from pathlib import Path

    from scaling_utils.analysis.hyperparams import GridOptimum, HyperparameterRule
    from scaling_utils.analysis.preregistration import load_plan

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m scaling_utils.analysis.design PLAN RULE_JSON OUT_DIR", file=sys.stderr)
        return 2
    plan = load_plan(args[0])
    raw = json.loads(Path(args[1]).read_text())
    raw = {k: raw[k] for k in HyperparameterRule.__dataclass_fields__}
    raw["optima"] = tuple(GridOptimum(**o) for o in raw["optima"])
    raw["lr_exp_interval"], raw["batch_exp_interval"] = tuple(raw["lr_exp_interval"]), tuple(raw["batch_exp_interval"])
    rule = HyperparameterRule(**raw)
    out = Path(args[2])
    source = Path(args[1]).as_posix()
    (out / f"{plan['fitting']['sweep']}.toml").write_text(fit_sweep_toml(plan, rule, source))
    (out / f"{plan['checks']['sweep']}.toml").write_text(cosine_sweep_toml(plan, rule, source))
    print(f"wrote {out}/{plan['fitting']['sweep']}.toml and {out}/{plan['checks']['sweep']}.toml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
