r"""Sweep files: a TOML file expands into validated :class:`~scaling_utils.experiment.train.RunSpec`\ s.

The format is described in :mod:`scaling_utils.experiment.sweep`; every key is checked here,
and a bad file stops with :class:`SweepConfigError` naming the grid entry and the key.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import fields
from pathlib import Path

from scaling_utils.compute import (
    flops_per_token_with_head,
    non_embedding_params,
    params_with_head,
)
from scaling_utils.experiment.data import SAMPLINGS
from scaling_utils.experiment.model_config import ModelConfig
from scaling_utils.experiment.schedules import COOLDOWN_SHAPES, SCHEDULES
from scaling_utils.experiment.spec import RunSpec, deepseek_batch, deepseek_lr, tuned_lr

__all__ = ["SweepConfigError", "load_sweep"]


_SPEC_FIELDS = {f.name for f in fields(RunSpec)} - {"extra", "sweep", "n_layer", "d_model", "n_head", "d_ff"}
_GRID_ONLY = {"shape", "lr_scale", "batch_scale", "checkpoint_budgets", "branch_budgets"}
_LIST_VALUED = {"checkpoint_budgets", "checkpoint_tokens", "eval_dists", "branch_budgets", "branch_tokens"}


def _is_axis(key: str, value) -> bool:
    """Whether a grid entry's value is an axis of the product.

    A list is an axis, except a single list-valued setting (``eval_dists = ["a", "b"]``);
    a list of lists is an axis for those too.
    """
    if not isinstance(value, list):
        return False
    return key not in _LIST_VALUED or all(isinstance(v, list) for v in value)


_TOP_KEYS = {"sweep", "train_dist", "eval_dists", "defaults", "grid", "executor", "allow_repeat", "requires_prediction"}
_FLOPS_COUNTS = ("6n", "head_attn")


class SweepConfigError(ValueError):
    """A sweep file asks for something the engine cannot run; the message names the field."""


def _flops_per_token(count: str, n_layer: int, d_model: int, n_ctx: int, d_ff: int | None) -> float:
    if count == "6n":
        return 6.0 * float(non_embedding_params(n_layer, d_model, d_ff))
    return float(flops_per_token_with_head(n_layer, d_model, n_ctx, d_ff))


def _check_number(where: str, key: str, value, *, low: float, high: float = float("inf"), closed_low: bool = False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= low if closed_low else value > low) and value <= high
    if not ok:
        bracket = "[" if closed_low else "("
        raise SweepConfigError(f"{where}: {key} must be a number in {bracket}{low:g}, {high:g}], got {value!r}")


def _check_choice(where: str, key: str, value, allowed) -> None:
    if value not in allowed:
        raise SweepConfigError(f"{where}: {key} must be one of {sorted(allowed)}, got {value!r}")


def _check_int(where: str, key: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SweepConfigError(f"{where}: {key} must be an int >= {low}, got {value!r}")


def _resolve_branches(kw: dict, where: str, per_token: float) -> None:
    """Warmup-stable-decay: branch budgets to token counts; the trunk runs to the last branch's start."""
    budgets = kw.pop("branch_budgets", None)
    if budgets is not None:
        if "branch_tokens" in kw:
            raise SweepConfigError(f"{where}: give branch_budgets or branch_tokens, not both")
        if not isinstance(budgets, list) or not budgets:
            raise SweepConfigError(f"{where}: branch_budgets must be a non-empty list, got {budgets!r}")
        for b in budgets:
            _check_number(where, "branch_budgets", b, low=0)
        kw["branch_tokens"] = [int(b / per_token) for b in budgets]
    if "branch_tokens" not in kw:
        if kw.get("schedule") == "wsd":
            raise SweepConfigError(f"{where}: schedule 'wsd' needs branch_tokens or branch_budgets (its cooldowns)")
        return
    tokens = kw["branch_tokens"]
    if not isinstance(tokens, (list, tuple)) or not tokens:
        raise SweepConfigError(f"{where}: branch_tokens must be a non-empty list, got {tokens!r}")
    for t in tokens:
        _check_number(where, "branch_tokens", t, low=0)
    if kw.get("schedule") != "wsd":
        raise SweepConfigError(f"{where}: cooldown branches need schedule = 'wsd', got {kw.get('schedule')!r}")
    if "tokens" in kw:
        raise SweepConfigError(f"{where}: a wsd trunk's length comes from its branches; drop tokens")
    _check_number(where, "cooldown_frac", kw.get("cooldown_frac", 0.2), low=0, high=0.999)
    _check_choice(where, "cooldown_shape", kw.get("cooldown_shape", "1-sqrt"), COOLDOWN_SHAPES)
    _check_number(where, "cooldown_floor", kw.get("cooldown_floor", 0.0), low=0, high=0.999, closed_low=True)
    kw["branch_tokens"] = tuple(sorted({int(t) for t in tokens}))
    kw["tokens"] = max(kw["branch_tokens"])  # until the batch is known (see _trunk_tokens)


def _trunk_tokens(kw: dict, where: str) -> None:
    """A wsd trunk runs to the start of its last cooldown branch."""
    frac = kw.get("cooldown_frac", 0.2)
    tps = kw["batch_size"] * kw.get("n_ctx", 128)
    ends = [max(1, round(t / tps)) for t in kw["branch_tokens"]]
    starts = [e - max(1, round(frac * e)) for e in ends]
    if min(starts) < 1:
        raise SweepConfigError(f"{where}: the branch of {kw['branch_tokens'][0]} tokens is shorter than 2 steps")
    kw["tokens"] = max(starts) * tps


def _resolve(kw: dict, where: str) -> RunSpec:
    """Turn one combination of sweep values into a RunSpec, checking every field."""
    n_layer, d_model, n_ctx, d_ff = kw["n_layer"], kw["d_model"], kw.get("n_ctx", 128), kw.get("d_ff")
    _check_int(where, "n_ctx", n_ctx, 1)
    try:
        ModelConfig(n_layer, d_model, kw["n_head"], n_ctx, d_ff)
    except ValueError as err:
        raise SweepConfigError(f"{where}: {err}") from None
    _check_int(where, "seed", kw.get("seed", 0), 0)
    _check_int(where, "n_checkpoints", kw.get("n_checkpoints", 12), 1)
    _check_int(where, "eval_sequences", kw.get("eval_sequences", 64), 1)
    _check_choice(where, "schedule", kw.get("schedule", "cosine"), SCHEDULES)
    _check_choice(where, "sampling", kw.get("sampling", "replace"), SAMPLINGS)
    _check_choice(where, "on_diverge", kw.get("on_diverge", "fail"), ("fail", "record"))
    count = kw.get("flops_count", "6n")
    if count not in _FLOPS_COUNTS:
        raise SweepConfigError(f"{where}: flops_count must be one of {list(_FLOPS_COUNTS)}, got {count!r}")
    n = float(non_embedding_params(n_layer, d_model, d_ff))
    _resolve_branches(kw, where, _flops_per_token(count, n_layer, d_model, n_ctx, d_ff))
    budget = kw.get("budget_flops")
    if budget is not None:
        _check_number(where, "budget_flops", budget, low=0)
        if "branch_tokens" not in kw:  # a wsd trunk's budget sets its rate and batch rules, not its length
            kw["tokens"] = int(budget / _flops_per_token(count, n_layer, d_model, n_ctx, d_ff))
    if "tokens" not in kw:
        raise SweepConfigError(f"{where}: gives neither tokens nor budget_flops")
    _check_number(where, "tokens", kw["tokens"], low=0)
    kw["tokens"] = int(kw["tokens"])
    for key in ("lr", "batch_size"):
        if kw.get(key) == "deepseek" and budget is None:
            raise SweepConfigError(f'{where}: {key} = "deepseek" needs budget_flops')
    if kw.get("lr") == "tuned":
        kw["lr"] = round(tuned_lr(n), 6)  # as the committed sweeps did (their run ids hash it)
    elif kw.get("lr") == "deepseek":
        kw["lr"] = float(f"{deepseek_lr(budget):.4g}")
    _check_number(where, "lr", kw.get("lr", 3e-3), low=0)
    if "lr_scale" in kw:
        scale = kw.pop("lr_scale")
        _check_number(where, "lr_scale", scale, low=0)
        kw["lr"] = float(f"{kw.get('lr', 3e-3) * scale:.4g}")
    if kw.get("batch_size") == "deepseek":
        kw["batch_size"] = deepseek_batch(budget, n_ctx)
    if "batch_scale" in kw:
        scale = kw.pop("batch_scale")
        _check_number(where, "batch_scale", scale, low=0)
        kw["batch_size"] = max(1, round(kw.get("batch_size", 32) * scale))
    batch = kw.get("batch_size", 32)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SweepConfigError(f'{where}: batch_size must be an int >= 1 (or "deepseek"), got {batch!r}')
    kw["batch_size"] = batch
    if kw.get("branch_tokens"):
        _trunk_tokens(kw, where)
    if batch * n_ctx > kw["tokens"]:
        raise SweepConfigError(
            f"{where}: batch_size x n_ctx = {batch * n_ctx} tokens is larger than the run's {kw['tokens']} tokens"
        )
    if kw.get("warmup_tokens") == "params":
        kw["warmup_tokens"] = int(params_with_head(n_layer, d_model, d_ff))
    _check_number(where, "warmup_frac", kw.get("warmup_frac", 0.05), low=0, high=1, closed_low=True)
    _check_number(where, "beta1", kw.get("beta1", 0.9), low=0, high=0.999999, closed_low=True)
    _check_number(where, "beta2", kw.get("beta2", 0.95), low=0, high=0.999999, closed_low=True)
    for key in ("weight_decay", "grad_clip", "warmup_steps", "warmup_tokens"):
        _check_number(where, key, kw.get(key, 0), low=0, closed_low=True)
    for key in ("warmup_steps", "warmup_tokens"):
        if key in kw:
            kw[key] = int(kw[key])
    if kw.get("horizon_tokens") is not None:
        _check_number(where, "horizon_tokens", kw["horizon_tokens"], low=0)
        kw["horizon_tokens"] = int(kw["horizon_tokens"])
        if kw["horizon_tokens"] < kw["tokens"]:
            raise SweepConfigError(
                f"{where}: horizon_tokens ({kw['horizon_tokens']}) is shorter than the run ({kw['tokens']} tokens)"
            )
    budgets = kw.pop("checkpoint_budgets", None)
    if budgets is not None:
        if not isinstance(budgets, list) or not budgets:
            raise SweepConfigError(f"{where}: checkpoint_budgets must be a non-empty list, got {budgets!r}")
        per_token = _flops_per_token(count, n_layer, d_model, n_ctx, d_ff)
        for b in budgets:
            _check_number(where, "checkpoint_budgets", b, low=0)
        kw["checkpoint_tokens"] = tuple(
            sorted({int(b / per_token) for b in budgets if int(b / per_token) <= kw["tokens"]})
        )
    if "checkpoint_tokens" in kw:
        kw["checkpoint_tokens"] = tuple(int(t) for t in kw["checkpoint_tokens"])
    dists = kw["eval_dists"]
    if not (isinstance(dists, (list, tuple)) and dists and all(isinstance(d, str) for d in dists)):
        raise SweepConfigError(f"{where}: eval_dists must be a non-empty list of distribution names, got {dists!r}")
    kw["eval_dists"] = tuple(dists)
    if kw.get("data_limit") is not None:
        _check_number(where, "data_limit", kw["data_limit"], low=0)
        kw["data_limit"] = int(kw["data_limit"])
        if kw["data_limit"] < batch * n_ctx + 1:
            raise SweepConfigError(
                f"{where}: data_limit ({kw['data_limit']} bytes) holds fewer than one batch of windows "
                f"(batch_size x n_ctx + 1 = {batch * n_ctx + 1}); the data would repeat within a step"
            )
    try:
        spec = RunSpec(**kw)
    except TypeError as err:
        raise SweepConfigError(f"{where}: {err}") from None
    if spec.branch_tokens and spec.branch_plan[0][0] < spec.warmup:
        raise SweepConfigError(
            f"{where}: the first cooldown branch starts at step {spec.branch_plan[0][0]}, inside the "
            f"{spec.warmup}-step warmup; shorten the warmup or drop the shortest branch"
        )
    return spec


def load_sweep(path: Path) -> tuple[dict, list[RunSpec]]:
    """Read a sweep file and expand it into run specs (in a stable order).

    Raises
    ------
    SweepConfigError
        On an unknown key, a missing entry, or a value out of range (a non-positive
        budget, a batch larger than the run's tokens, ...), naming the file, the grid entry
        and the field.
    """
    path = Path(path)
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise SweepConfigError(f"{path}: not valid TOML ({err})") from None
    unknown_top = sorted(set(config) - _TOP_KEYS)
    if unknown_top:
        raise SweepConfigError(f"{path}: unknown top-level keys {unknown_top}; allowed: {sorted(_TOP_KEYS)}")
    for key in ("sweep", "grid"):
        if key not in config:
            raise SweepConfigError(f"{path}: a sweep file needs a {key!r} entry")
    defaults = dict(config.get("defaults", {}))
    unknown = sorted(k for k in defaults if k not in _SPEC_FIELDS)
    if unknown:
        raise SweepConfigError(f"{path}: [defaults] has unknown run fields {unknown}")
    common = {
        "sweep": config["sweep"],
        "train_dist": config.get("train_dist", "train_fit"),
        "eval_dists": tuple(config.get("eval_dists", ["train"])),
    }
    specs: list[RunSpec] = []
    for g, grid in enumerate(config["grid"]):
        where = f"{path.name}: grid entry {g}"
        if "shape" not in grid:
            raise SweepConfigError(f"{where} needs a 'shape' list")
        if not isinstance(grid["shape"], list) or not grid["shape"]:
            raise SweepConfigError(f"{where}: shape must be a non-empty list of [n_layer, d_model, n_head(, d_ff)]")
        keys = [k for k in grid if k != "shape"]
        unknown = [k for k in keys if k not in _SPEC_FIELDS | _GRID_ONLY]
        if unknown:
            raise SweepConfigError(f"{where}: unknown run fields {unknown}")
        # A list is a grid axis, except for the keys whose single value is itself a list.
        values = [grid[k] if _is_axis(k, grid[k]) else [grid[k]] for k in keys]
        for shape in grid["shape"]:
            if not (isinstance(shape, list) and len(shape) in (3, 4) and all(isinstance(v, int) for v in shape)):
                raise SweepConfigError(f"{where}: shape must be [n_layer, d_model, n_head(, d_ff)], got {shape!r}")
            n_layer, d_model, n_head, *rest = shape
            for combo in itertools.product(*values):
                kw = defaults | common | dict(zip(keys, combo, strict=True))
                kw.update(n_layer=n_layer, d_model=d_model, n_head=n_head)
                if rest:
                    kw["d_ff"] = rest[0]
                try:
                    specs.append(_resolve(kw, where))
                except SweepConfigError:
                    raise
                except ValueError as err:
                    raise SweepConfigError(f"{where}, shape {shape}: {err}") from None
    ids = [s.run_id for s in specs]
    if len(set(ids)) != len(ids):
        raise SweepConfigError(f"{path}: the grid repeats a run")
    return config, specs
