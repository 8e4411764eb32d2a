"""The analysis plan is read and checked; a plan that breaks the design's rules is refused by name."""

from __future__ import annotations

import pytest

from scaling_utils.analysis.preregistration import PlanError, load_plan
from tests.conftest import ROOT

PLAN = ROOT / "data" / "plans" / "predictable.toml"


def test_the_committed_plan_holds_the_design():
    plan = load_plan(PLAN)
    fit = plan["fitting"]["budgets"]
    assert fit[-1] / fit[0] >= 100 and plan["target"]["budget"] >= 10 * fit[-1]
    assert max(plan["hyperparameters"]["budgets"]) <= fit[-1] / 4


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("budget = 1.6e14 ", "budget = 1.6e13 ", "at least 10x the largest fitting budget"),
        ("budgets = [1.6e11, 8e11, 4e12]", "budgets = [1.6e11, 8e11, 8e12]", "above a quarter"),
        ("budgets = [1.6e11, 5e11, 1.6e12, 5e12, 1.6e13]", "budgets = [1.6e12, 5e12, 1.6e13]", "decades"),
        ('primary = "approach3"', 'primary = "vibes"', "primary must be one of"),
        ('bootstrap = "cluster_budgets_then_seeds"', 'bootstrap = "runs"', "resample whole budgets"),
        ("seeds = 2\nseeds_smallest", "seeds = 1\nseeds_smallest", "seeds must be an int >= 2"),
        ("after_results = false", 'after_results = "no"', "after_results \\(a boolean\\)"),
    ],
)
def test_a_plan_that_breaks_a_rule_is_refused(tmp_path, old, new, message):
    text = PLAN.read_text()
    assert old in text
    bad = tmp_path / "plan.toml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(PlanError, match=message):
        load_plan(bad)


def test_an_unreadable_plan_is_named(tmp_path):
    with pytest.raises(PlanError, match="cannot be read as TOML"):
        load_plan(tmp_path / "none.toml")
