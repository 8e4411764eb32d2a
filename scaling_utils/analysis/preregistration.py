"""The pre-registered analysis plan of the predictability experiment, read and checked.

The plan (``data/plans/predictable.toml``) is written and committed before the runs it
analyses: which sweeps, which budgets fit and which verify, the law forms, the counting,
how intervals are made and which approach is the primary prediction. Amendments are
appended as ``[[amendment]]`` entries in later commits, each saying whether it was made
after seeing a result. :func:`load_plan` refuses a plan that breaks the design's own rules
(a target less than 10x the largest fitting budget, a hyperparameter grid above a quarter
of it, fewer than two decades of fitting budgets, ...), naming the key.

Examples
--------
>>> from scaling_utils._paths import repo_root
>>> plan = load_plan(repo_root() / "data" / "plans" / "predictable.toml")
>>> plan["prediction"]["primary"], plan["target"]["budget"] / max(plan["fitting"]["budgets"])
('approach3', 10.0)
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

__all__ = ["PlanError", "load_plan"]

_SECTIONS = ("corpus", "counting", "hyperparameters", "fitting", "checks", "target", "laws", "prediction",
             "criteria", "backtests", "amendment")  # fmt: skip
_APPROACHES = ("approach1", "approach2", "approach3", "approach2_frontier")


class PlanError(ValueError):
    """The plan file breaks a rule of the design; the message names the key."""


def _budgets(plan: dict, section: str) -> list[float]:
    values = plan[section]["budgets"]
    ok = isinstance(values, list) and len(values) >= 3
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                    for v in values)  # fmt: skip
    if not ok or values != sorted(values) or len(set(values)) != len(values):
        raise PlanError(f"[{section}] budgets must be at least 3 increasing positive numbers, got {values!r}")
    return [float(v) for v in values]


def load_plan(path: Path) -> dict:
    """Read the plan at ``path`` and check it; return it as a dict.

    Raises
    ------
    PlanError
        A missing section or key, or a design rule broken, naming it.
    """
    path = Path(path)
    try:
        plan = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise PlanError(f"{path}: cannot be read as TOML ({err})") from None
    missing = [s for s in _SECTIONS if s not in plan]
    if missing:
        raise PlanError(f"{path}: missing sections {missing}")
    fit = _budgets(plan, "fitting")
    if math.log10(fit[-1] / fit[0]) < 2 - 1e-9:
        raise PlanError(f"[fitting] budgets span {math.log10(fit[-1] / fit[0]):.2f} decades; the design needs >= 2")
    hp = _budgets(plan, "hyperparameters")
    if hp[-1] > fit[-1] / 4 * (1 + 1e-9):
        raise PlanError(f"[hyperparameters] budgets reach {hp[-1]:g}, above a quarter of the largest fitting budget")
    target = plan["target"].get("budget")
    if not isinstance(target, (int, float)) or target < 10 * fit[-1] * (1 - 1e-9):
        raise PlanError(
            f"[target] budget must be at least 10x the largest fitting budget ({10 * fit[-1]:g}), got {target!r}"
        )
    for key, low in (("sizes_per_budget", 7), ("seeds", 2), ("seeds_smallest_two_budgets", 3)):
        v = plan["fitting"].get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise PlanError(f"[fitting] {key} must be an int >= {low}, got {v!r}")
    pred = plan["prediction"]
    if pred.get("primary") not in _APPROACHES:
        raise PlanError(f"[prediction] primary must be one of {list(_APPROACHES)}, got {pred.get('primary')!r}")
    for what, approach in pred.get("primary_after_amendment", {}).items():
        if approach not in _APPROACHES:
            raise PlanError(f"[prediction] primary_after_amendment.{what} must be one of {list(_APPROACHES)}")
    if not 0 < pred.get("interval", 0) < 1:
        raise PlanError(f"[prediction] interval must be in (0, 1), got {pred.get('interval')!r}")
    if "budgets" not in pred.get("bootstrap", ""):
        raise PlanError("[prediction] bootstrap must resample whole budgets (the unit that varies)")
    if plan["corpus"].get("max_epochs") != 1.0:
        raise PlanError(f"[corpus] max_epochs must be 1.0, got {plan['corpus'].get('max_epochs')!r}")
    for i, a in enumerate(plan["amendment"]):
        lacking = [k for k in ("date", "what", "why", "after_results") if k not in a]
        if lacking or not isinstance(a.get("after_results"), bool):
            raise PlanError(f"[[amendment]] {i}: needs date, what, why and after_results (a boolean); lacks {lacking}")
    return plan
