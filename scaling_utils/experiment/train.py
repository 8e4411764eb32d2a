"""Train one model and evaluate it at log-spaced checkpoints on every distribution."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from scaling_utils.compute import flops_per_token_with_head, kaplan_flops_per_token, params_with_head
from scaling_utils.experiment.model import GPT, ModelConfig
from scaling_utils.experiment.schedules import SCHEDULES, lr_multiplier, warmup_length

__all__ = [
    "NEW_FIELD_DEFAULTS",
    "SCHEDULES",
    "RunSpec",
    "deepseek_batch",
    "deepseek_lr",
    "lr_multiplier",
    "train_run",
    "tuned_lr",
]


_INIT_LOCK = threading.Lock()


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
        for key, default in NEW_FIELD_DEFAULTS.items():
            if d[key] == default or (key == "checkpoint_tokens" and not d[key]):
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


def _eval_set(data: np.ndarray, n_ctx: int, n_seq: int) -> torch.Tensor:
    """``n_seq`` fixed windows of ``n_ctx + 1`` bytes, evenly spaced through ``data``."""
    if data.size < n_ctx + 2:
        raise ValueError(f"an evaluation distribution has {data.size} bytes, fewer than n_ctx + 2 = {n_ctx + 2}")
    starts = np.linspace(0, data.size - n_ctx - 1, n_seq).astype(np.int64)
    return torch.from_numpy(np.stack([data[s : s + n_ctx + 1] for s in starts]).astype(np.int64))


@torch.no_grad()
def _evaluate(model: GPT, sets: dict[str, torch.Tensor], device: str) -> dict[str, float]:
    model.eval()
    out = {}
    for name, seqs in sets.items():
        seqs = seqs.to(device)
        total = 0.0
        for chunk in seqs.split(64):
            total += float(model.loss(chunk[:, :-1], chunk[:, 1:])) * chunk.shape[0]
        out[name] = total / seqs.shape[0]
    model.train()
    return out


def train_run(spec: RunSpec, corpus: dict[str, bytes], device: str = "cpu") -> list[dict]:
    """Train ``spec``'s model on ``corpus[spec.train_dist]``; return one row per checkpoint and distribution.

    Rows carry the tidy columns of the results files (see :mod:`scaling_utils.results`)
    plus ``lr_sum`` (the learning rate summed over the steps so far) and ``wall_s``.
    """
    return train_model(spec, corpus, device)[0]


def train_model(spec: RunSpec, corpus: dict[str, bytes], device: str = "cpu") -> tuple[list[dict], GPT]:
    """As :func:`train_run`, and also return the trained model (for tests and inspection)."""
    missing = [d for d in (spec.train_dist, *spec.eval_dists) if d not in corpus]
    if missing:
        raise ValueError(f"corpus lacks distributions {missing}; it has {sorted(corpus)}")
    rng = np.random.default_rng(spec.seed)
    cfg = spec.model_config
    # The initial weights come from torch's global generator: seed and draw them under a lock,
    # so that runs sharing a process (a thread pool executor) each get their seed's weights.
    with _INIT_LOCK:
        torch.manual_seed(spec.seed)
        model = GPT(cfg).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": spec.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=spec.lr,
        betas=(spec.beta1, spec.beta2),
    )
    data = np.frombuffer(corpus[spec.train_dist], dtype=np.uint8)
    if spec.data_limit is not None:
        data = data[: spec.data_limit]
    if data.size < cfg.n_ctx + 2:
        raise ValueError(f"training data has {data.size} bytes, fewer than n_ctx + 2")
    sets = {
        d: _eval_set(np.frombuffer(corpus[d], dtype=np.uint8), cfg.n_ctx, spec.eval_sequences) for d in spec.eval_dists
    }
    steps = spec.steps
    checkpoints = set(spec.checkpoint_steps())
    tokens_per_step = spec.tokens_per_step
    warm, horizon = spec.warmup, spec.horizon_steps
    per_token_total = float(kaplan_flops_per_token(cfg.n_layer, cfg.d_model, cfg.n_ctx, cfg.ff))
    per_token_head = float(flops_per_token_with_head(cfg.n_layer, cfg.d_model, cfg.n_ctx, cfg.ff))
    base = {
        "sweep": spec.sweep,
        "run_id": spec.run_id,
        "n_layer": cfg.n_layer,
        "d_model": cfg.d_model,
        "n_head": cfg.n_head,
        "d_ff": cfg.ff,
        "n_ctx": cfg.n_ctx,
        "params_nonembedding": cfg.params_nonembedding,
        "params_total": model.params_total,
        "lr": spec.lr,
        "schedule": spec.schedule,
        "warmup_frac": spec.warmup_frac,
        "budget_flops": spec.budget_flops,
        "seed": spec.seed,
        "data_limit": spec.data_limit,
    }
    if any(getattr(spec, k) != v for k, v in NEW_FIELD_DEFAULTS.items() if k != "checkpoint_tokens"):
        # Runs with the new settings record them (the committed runs' files stay as they were).
        base |= {
            "params_with_head": int(params_with_head(cfg.n_layer, cfg.d_model, cfg.ff)),
            "batch_size": spec.batch_size,
            "beta1": spec.beta1,
            "beta2": spec.beta2,
            "weight_decay": spec.weight_decay,
            "grad_clip": spec.grad_clip,
            "warmup_steps_used": warm,
            "horizon_steps": horizon,
            "flops_count": spec.flops_count,
            "eval_sequences": spec.eval_sequences,
        }
    rows = []
    lr_sum = 0.0
    offsets = torch.arange(cfg.n_ctx + 1)
    data_t = torch.from_numpy(data.astype(np.int64))
    t0 = time.perf_counter()
    for step in range(steps):
        lr = spec.lr * lr_multiplier(spec.schedule, step, steps, spec.warmup_frac, warmup=warm, horizon=horizon)
        for group in opt.param_groups:
            group["lr"] = lr
        lr_sum += lr
        starts = torch.from_numpy(rng.integers(0, data.size - cfg.n_ctx - 1, spec.batch_size))
        batch = data_t[starts[:, None] + offsets].to(device)
        loss = model.loss(batch[:, :-1], batch[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if spec.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
        opt.step()
        if step + 1 in checkpoints:
            tokens = (step + 1) * tokens_per_step
            for dist, value in _evaluate(model, sets, device).items():
                rows.append(
                    base
                    | {
                        "step": step + 1,
                        "tokens": tokens,
                        "flops_6nd": 6.0 * cfg.params_nonembedding * tokens,
                        "flops_total": per_token_total * tokens,
                        **({"flops_with_head": per_token_head * tokens} if "params_with_head" in base else {}),
                        "distribution": dist,
                        "loss": value,
                        "train_loss": loss.item(),
                        "lr_sum": lr_sum,
                        "wall_s": time.perf_counter() - t0,
                    }
                )
            if not math.isfinite(loss.item()):
                break
    return rows, model
