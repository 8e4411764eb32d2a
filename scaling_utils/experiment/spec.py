"""What defines a training run: :class:`RunSpec` (and so its ``run_id``), and the learning-rate rules.

No PyTorch here: sweep files are read and checked without it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from scaling_utils.experiment.model_config import ModelConfig
from scaling_utils.experiment.schedules import warmup_length

__all__ = ["NEW_FIELD_DEFAULTS", "RunSpec", "deepseek_batch", "deepseek_lr", "tuned_lr"]


def tuned_lr(params_nonembedding: float) -> float:
    """Peak learning rate for a model of ``params_nonembedding`` parameters (``lr = "tuned"``).

    From the recorded pilot sweep ``data/experiments/lr_pilot.csv`` (3 sizes x 5 rates,
    2M tokens, cosine): the best rate was at least 0.016 at 3k parameters and 0.008 at 55k
    and 442k (0.016 diverged there). So 0.008 between 55k and 442k, rising as
    ``N**-0.24`` below (0.016 at 3k) and, by the same slope, falling above (an
    extrapolation, checked by the standard preset's ``lr_tune`` sweep).

    Examples
    --------
    >>> round(tuned_lr(3072), 4), tuned_lr(1e5), round(tuned_lr(1.57e6), 4)
    (0.016, 0.008, 0.0059)
    """
    n = float(params_nonembedding)
    if not n > 0:
        raise ValueError(f"params_nonembedding must be > 0, got {params_nonembedding!r}")
    lo, hi = 55296.0, 442368.0
    if n < lo:
        return 0.008 * (n / lo) ** -0.24
    if n > hi:
        return 0.008 * (n / hi) ** -0.24
    return 0.008


def deepseek_lr(budget_flops: float) -> float:
    """Peak learning rate ``0.3118 C^-0.125`` (DeepSeek LLM, Bi et al. 2024, Sec. 3.1, Eq. 1).

    Fitted by DeepSeek at 1e17-3e20 FLOPs with ``C`` counted as non-embedding FLOPs per
    token (attention included) times tokens; the book plugs in its corrected count
    (:func:`scaling_utils.compute.flops_per_token_with_head`) at 1e12-1e14 FLOPs, an
    extrapolation over five decades that the sweep's learning-rate check (x0.5, x1, x2) tests.

    Examples
    --------
    >>> round(deepseek_lr(1e12), 5)
    0.00986
    """
    c = float(budget_flops)
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"budget_flops must be finite and > 0, got {budget_flops!r}")
    return 0.3118 * c**-0.125


def deepseek_batch(budget_flops: float, n_ctx: int) -> int:
    """Batch in sequences of ``n_ctx``: DeepSeek's ``B = 0.2920 C^0.3271`` tokens, rounded down to a power of two.

    Rounded down (within a factor 2 below the rule): at these budgets the runs are short,
    and a smaller batch buys optimiser steps, which the committed runs lacked.

    Examples
    --------
    >>> deepseek_batch(1e12, 128), deepseek_batch(4e12, 128), deepseek_batch(1.6e13, 128)
    (16, 16, 32)
    """
    c = float(budget_flops)
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"budget_flops must be finite and > 0, got {budget_flops!r}")
    seqs = 0.2920 * c**0.3271 / n_ctx
    return max(1, 2 ** math.floor(math.log2(seqs)))


NEW_FIELD_DEFAULTS: dict = {
    "beta1": 0.9,
    "beta2": 0.95,
    "grad_clip": 1.0,
    "warmup_steps": 0,
    "warmup_tokens": 0,
    "horizon_tokens": None,
    "checkpoint_tokens": (),
    "flops_count": "6n",
    "sampling": "replace",
    "corpus_sha": "",
    "branch_tokens": (),
    "cooldown_frac": 0.2,
    "cooldown_shape": "1-sqrt",
    "cooldown_floor": 0.0,
    "on_diverge": "fail",
}
"""Fields added after the committed sweeps ran, at the values those sweeps used.

A field at this value is left out of :attr:`RunSpec.run_id`, so the committed runs keep
their ids (and resume finds their files) while new settings give new ids."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one training run (and so its ``run_id``).

    The training settings: AdamW (``beta1``, ``beta2``, ``weight_decay`` on matrices only),
    gradient clipping at ``grad_clip`` (0 turns it off), a linear warmup then ``schedule``.
    The warmup is ``round(warmup_frac * steps)`` unless ``warmup_steps`` or
    ``warmup_tokens`` is set; then it is ``max(warmup_steps, warmup_tokens / batch
    tokens)`` capped at ``warmup_frac`` of the schedule (see
    :func:`~scaling_utils.experiment.schedules.warmup_length`). The schedule decays over the
    run's own length, or over ``horizon_tokens`` when given (Kaplan's fixed long horizon:
    the run stops part-way down). Evaluation happens at ``n_checkpoints`` log-spaced steps,
    or at the listed ``checkpoint_tokens`` (plus the last step). ``flops_count`` records how
    a budget was turned into tokens: ``"6n"`` (``C = 6 N_ne D``, Kaplan) or ``"head_attn"``
    (:func:`~scaling_utils.compute.flops_per_token_with_head`).

    Engine v3 (see :mod:`scaling_utils.experiment.data`): ``sampling = "permute"`` draws
    the training windows without replacement, a seeded permutation per epoch, so the data
    position is the number of windows read; ``"replace"`` is the committed sweeps' uniform
    draw with replacement. ``corpus_sha`` (the first 16 hex digits of the training text's
    sha256, filled in by the sweep runner) puts the corpus in the run id. A
    warmup-stable-decay run (``schedule = "wsd"``) trains a constant-rate trunk and, for
    each entry of ``branch_tokens``, a cooldown branch that starts from the trunk at
    ``(1 - cooldown_frac)`` of those tokens and ends at them, decaying as
    ``cooldown_shape`` to ``cooldown_floor`` times the peak (Hägele et al. 2024). A
    non-finite loss stops the run with an error naming its step (``on_diverge = "fail"``),
    or is recorded as a diverged run (``"record"``, for learning-rate grids).
    """

    sweep: str
    n_layer: int
    d_model: int
    n_head: int
    n_ctx: int
    tokens: int
    d_ff: int | None = None
    lr: float = 3e-3
    schedule: str = "cosine"
    warmup_frac: float = 0.05
    batch_size: int = 32
    seed: int = 0
    budget_flops: float | None = None
    train_dist: str = "train_fit"
    eval_dists: tuple[str, ...] = ("train",)
    data_limit: int | None = None
    n_checkpoints: int = 12
    eval_sequences: int = 64
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    warmup_steps: int = 0
    warmup_tokens: int = 0
    horizon_tokens: int | None = None
    checkpoint_tokens: tuple[int, ...] = ()
    flops_count: str = "6n"
    sampling: str = "replace"
    corpus_sha: str = ""
    branch_tokens: tuple[int, ...] = ()
    cooldown_frac: float = 0.2
    cooldown_shape: str = "1-sqrt"
    cooldown_floor: float = 0.0
    on_diverge: str = "fail"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def model_config(self) -> ModelConfig:
        """The model's shape."""
        return ModelConfig(self.n_layer, self.d_model, self.n_head, self.n_ctx, self.d_ff)

    @property
    def run_id(self) -> str:
        """``<sweep>-L<n>-d<d>-h<h>-<hash>``; new fields left at their defaults are not hashed."""
        d = asdict(self)
        d.pop("extra")
        d.pop("on_diverge")  # what to do if the run diverges does not change the run
        for key, default in NEW_FIELD_DEFAULTS.items():
            if key in d and (d[key] == default or (key in ("checkpoint_tokens", "branch_tokens") and not d[key])):
                d.pop(key)
        blob = json.dumps(d, sort_keys=True, default=str).encode()
        return f"{self.sweep}-L{self.n_layer}-d{self.d_model}-h{self.n_head}-{hashlib.sha256(blob).hexdigest()[:10]}"

    @property
    def tokens_per_step(self) -> int:
        """``batch_size x n_ctx``."""
        return self.batch_size * self.n_ctx

    @property
    def steps(self) -> int:
        """Optimiser steps: the tokens over the tokens per step, rounded, at least 1."""
        return max(1, round(self.tokens / self.tokens_per_step))

    @property
    def horizon_steps(self) -> int:
        """Steps the learning-rate schedule spans (the run's own, or the fixed horizon)."""
        if self.horizon_tokens is None:
            return self.steps
        return max(self.steps, round(self.horizon_tokens / self.tokens_per_step))

    @property
    def warmup(self) -> int:
        """Warmup steps actually used."""
        return warmup_length(
            self.horizon_steps,
            self.warmup_frac,
            tokens_per_step=self.tokens_per_step,
            min_steps=self.warmup_steps,
            min_tokens=self.warmup_tokens,
        )

    @property
    def branch_plan(self) -> list[tuple[int, int]]:
        """``(start_step, end_step)`` of each cooldown branch, in the order of ``branch_tokens``.

        A branch of ``D`` tokens ends at step ``round(D / tokens_per_step)`` and starts
        ``max(1, round(cooldown_frac * end))`` steps earlier, from the trunk's state there.
        """
        plan = []
        for t in self.branch_tokens:
            end = max(1, round(t / self.tokens_per_step))
            plan.append((end - max(1, round(self.cooldown_frac * end)), end))
        return plan

    def checkpoint_steps(self) -> list[int]:
        """Steps (1-based) at which the run is evaluated."""
        if not self.checkpoint_tokens:
            return _checkpoints(self.steps, self.n_checkpoints)
        pts = {min(self.steps, max(1, round(t / self.tokens_per_step))) for t in self.checkpoint_tokens}
        return sorted(pts | {self.steps})


def _checkpoints(steps: int, n: int) -> list[int]:
    """Log-spaced steps (1-based) ending at ``steps``."""
    first = min(steps, 8)
    pts = np.unique(np.round(np.geomspace(first, steps, n)).astype(int))
    return [int(s) for s in pts]
