"""The v3 fitting sweep the generator writes holds the plan's design (sizes, seeds, steps, epochs, rule)."""

from __future__ import annotations

import pytest

from scaling_utils.analysis.design import cosine_points, cosine_sweep_toml, fit_sweep_toml, fit_trunks
from scaling_utils.analysis.hyperparams import DEEPSEEK, HyperparameterRule
from scaling_utils.analysis.preregistration import load_plan
from scaling_utils.compute import flops_per_token_with_head
from tests.conftest import ROOT

PLAN = load_plan(ROOT / "data" / "plans" / "predictable.toml")
RULE = HyperparameterRule(DEEPSEEK["lr_coef"], DEEPSEEK["lr_exp"], DEEPSEEK["batch_coef"], DEEPSEEK["batch_exp"],
                          (0, 0), (0, 0), (), 0)  # fmt: skip


def test_every_budget_has_seven_sizes_with_enough_seeds_and_steps():
    trunks = fit_trunks(PLAN, RULE)
    budgets = PLAN["fitting"]["budgets"]
    for i, b in enumerate(budgets):
        serving = [t for t in trunks if b in t["budgets"]]
        assert len({t["rung"] for t in serving}) == 7
        assert all(len(t["seeds"]) >= (3 if i < 2 else 2) for t in serving)
        for t in serving:  # each budget's point is a branch of the trunk, at D = C / per-token FLOPs
            per_token = flops_per_token_with_head(*t["shape"][:2], 128, 4 * t["shape"][1])
            assert int(b / per_token) in t["branch_tokens"]
    for t in trunks:
        assert min(t["branch_tokens"]) / (t["batch_size"] * 128) >= PLAN["fitting"]["min_steps"]
        assert max(t["branch_tokens"]) <= 145_000_000  # within one epoch of mix_fit (146 MB)


def test_a_trunk_never_spans_more_than_the_rule_allows():
    for t in fit_trunks(PLAN, RULE):
        lo, hi = min(t["budgets"]), max(t["budgets"])
        assert RULE.lr(lo) / RULE.lr(hi) <= 1.5 and (hi / lo) ** RULE.batch_exp <= 2.0


def test_the_written_sweep_file_loads(tmp_path):
    pytest.importorskip("torch")
    from scaling_utils.experiment.sweep import load_sweep

    f = tmp_path / "fit.toml"
    f.write_text(fit_sweep_toml(PLAN, RULE, "test"))
    config, specs = load_sweep(f)
    assert config["sweep"] == "predictable_fit" and all(s.schedule == "wsd" and s.branch_tokens for s in specs)


def test_the_cosine_check_is_matched_to_three_branches_of_the_fitting_sweep(tmp_path):
    points = cosine_points(PLAN, RULE)
    budgets = PLAN["fitting"]["budgets"]
    assert [p["budget"] for p in points] == [budgets[0], budgets[2], budgets[-1]]
    trunks = fit_trunks(PLAN, RULE)
    for p in points:  # same shape, rate, batch and token count as a branch of a trunk serving the budget
        t = next(t for t in trunks if t["rung"] == p["rung"] and p["budget"] in t["budgets"])
        assert (p["shape"], p["lr"], p["batch_size"]) == (t["shape"], t["lr"], t["batch_size"])
        assert p["tokens"] in t["branch_tokens"] and p["seeds"] == [0, 1]
    pytest.importorskip("torch")
    from scaling_utils.experiment.sweep import load_sweep

    f = tmp_path / "cosine.toml"
    f.write_text(cosine_sweep_toml(PLAN, RULE, "test"))
    config, specs = load_sweep(f)
    assert config["sweep"] == "predictable_cosine" and len(specs) == 6
    assert all(s.schedule == "cosine" and not s.branch_tokens for s in specs)
