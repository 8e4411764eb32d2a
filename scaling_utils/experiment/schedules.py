"""Learning-rate schedules (no PyTorch needed, so the book can draw them)."""

from __future__ import annotations

import math

__all__ = ["SCHEDULES", "lr_multiplier"]


def _cosine(p: float, floor: float = 0.1) -> float:
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))


SCHEDULES = {
    "constant": lambda p: 1.0,
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


def lr_multiplier(schedule: str, step: int, steps: int, warmup_frac: float) -> float:
    """Learning-rate multiplier at ``step`` (0-based) of ``steps``: linear warmup, then the decay."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {sorted(SCHEDULES)}, got {schedule!r}")
    warm = round(warmup_frac * steps)
    if step < warm:
        return (step + 1) / warm
    p = (step - warm) / max(steps - warm, 1)
    return SCHEDULES[schedule](p)
