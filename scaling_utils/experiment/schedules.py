"""Learning-rate schedules (no PyTorch needed, so the book can draw them)."""

from __future__ import annotations

import math

__all__ = ["COOLDOWN_SHAPES", "SCHEDULES", "cooldown_multiplier", "lr_multiplier", "warmup_length"]


def _cosine(p: float, floor: float = 0.1) -> float:
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))


SCHEDULES = {
    "constant": lambda p: 1.0,
    "wsd": lambda p: 1.0,  # warmup-stable-decay: the stable trunk; its cooldowns are branches
    "cosine": lambda p: _cosine(p),
    "cosine_to_zero": lambda p: _cosine(p, 0.0),
    "cosine_fast": lambda p: _cosine(2 * p),  # decays in the first half, then flat at the floor
    "linear": lambda p: 1.0 - p,
    "linear_half": lambda p: 1.0 - 0.5 * p,
    "step": lambda p: 1.0 if p < 0.5 else (0.1 if p < 0.75 else 0.01),
    "inv_sqrt": lambda p: 1.0 / math.sqrt(1.0 + 20 * p),
    "exp_fast": lambda p: math.exp(-6.0 * p),
    "exp_slow": lambda p: math.exp(-1.5 * p),
}
"""Decay shapes, as a multiplier of the peak rate against the fraction ``p`` of training done."""


def warmup_length(
    steps: int, warmup_frac: float, *, tokens_per_step: int = 1, min_steps: int = 0, min_tokens: int = 0
) -> int:
    """Warmup steps of a run whose schedule spans ``steps`` steps.

    With neither ``min_steps`` nor ``min_tokens`` (the committed sweeps) it is
    ``round(warmup_frac * steps)``. Otherwise it is ``max(min_steps, ceil(min_tokens /
    tokens_per_step))``, capped at ``floor(warmup_frac * steps)``: a warmup of at least
    ``k`` steps and at least ``N`` tokens, never more than a fraction of the schedule.

    Examples
    --------
    >>> warmup_length(1000, 0.05)
    50
    >>> warmup_length(1000, 0.05, tokens_per_step=2048, min_steps=20, min_tokens=30_000)
    20
    >>> warmup_length(1000, 0.05, tokens_per_step=2048, min_steps=20, min_tokens=300_000)
    50
    """
    if not 0.0 <= warmup_frac <= 1.0:
        raise ValueError(f"warmup_frac must be in [0, 1], got {warmup_frac!r}")
    if min_steps <= 0 and min_tokens <= 0:
        return round(warmup_frac * steps)
    want = max(int(min_steps), math.ceil(min_tokens / tokens_per_step))
    return min(want, math.floor(warmup_frac * steps))


def lr_multiplier(
    schedule: str, step: int, steps: int, warmup_frac: float, *, warmup: int | None = None, horizon: int | None = None
) -> float:
    """Learning-rate multiplier at ``step`` (0-based): linear warmup, then the decay.

    The decay runs over ``horizon`` steps (default ``steps``, the run's own length: the
    schedule matched to the run). A ``horizon`` longer than the run is Kaplan et al.'s
    setting: every run follows one long schedule and stops part-way down it. ``warmup``
    overrides the default ``round(warmup_frac * steps)`` warmup length.

    Examples
    --------
    >>> round(lr_multiplier("cosine", 99, 100, 0.0), 3)  # the floor, 10% of the peak
    0.1
    >>> round(lr_multiplier("cosine", 99, 100, 0.0, horizon=200), 3)  # half-way down
    0.557
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {sorted(SCHEDULES)}, got {schedule!r}")
    span = steps if horizon is None else horizon
    warm = round(warmup_frac * steps) if warmup is None else warmup
    if step < warm:
        return (step + 1) / warm
    p = (step - warm) / max(span - warm, 1)
    return SCHEDULES[schedule](p)


COOLDOWN_SHAPES = {
    "1-sqrt": lambda p: 1.0 - math.sqrt(p),  # Hägele et al. 2024's best shape
    "linear": lambda p: 1.0 - p,
    "cosine": lambda p: 0.5 * (1 + math.cos(math.pi * p)),
}
"""Cooldown shapes: the multiplier of the trunk's rate against the fraction ``p`` of the cooldown done."""


def cooldown_multiplier(shape: str, k: int, n: int, floor: float = 0.0) -> float:
    """Rate multiplier at step ``k`` (0-based) of an ``n``-step cooldown from the trunk's constant rate.

    Goes from just below 1 at ``k = 0`` to ``floor`` at the last step ``k = n - 1``:
    ``floor + (1 - floor) * shape((k + 1) / n)``.

    Examples
    --------
    >>> [round(cooldown_multiplier("1-sqrt", k, 4), 3) for k in range(4)]
    [0.5, 0.293, 0.134, 0.0]
    >>> cooldown_multiplier("linear", 3, 4, floor=0.1)
    0.1
    """
    if shape not in COOLDOWN_SHAPES:
        raise ValueError(f"cooldown_shape must be one of {sorted(COOLDOWN_SHAPES)}, got {shape!r}")
    if not 0 <= k < n:
        raise ValueError(f"cooldown step k must be in [0, {n}), got {k!r}")
    return floor + (1.0 - floor) * COOLDOWN_SHAPES[shape]((k + 1) / n)
