"""Train one model and evaluate it at log-spaced checkpoints on every distribution."""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from scaling_utils.compute import kaplan_flops_per_token
from scaling_utils.experiment.model import GPT, ModelConfig
from scaling_utils.experiment.schedules import SCHEDULES, lr_multiplier

__all__ = ["SCHEDULES", "RunSpec", "lr_multiplier", "train_run", "tuned_lr"]


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


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one training run (and so its ``run_id``)."""

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
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig(self.n_layer, self.d_model, self.n_head, self.n_ctx, self.d_ff)

    @property
    def run_id(self) -> str:
        d = asdict(self)
        d.pop("extra")
        blob = json.dumps(d, sort_keys=True, default=str).encode()
        return f"{self.sweep}-L{self.n_layer}-d{self.d_model}-h{self.n_head}-{hashlib.sha256(blob).hexdigest()[:10]}"

    @property
    def steps(self) -> int:
        return max(1, round(self.tokens / (self.batch_size * self.n_ctx)))


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
    missing = [d for d in (spec.train_dist, *spec.eval_dists) if d not in corpus]
    if missing:
        raise ValueError(f"corpus lacks distributions {missing}; it has {sorted(corpus)}")
    torch.manual_seed(spec.seed)
    rng = np.random.default_rng(spec.seed)
    cfg = spec.model_config
    model = GPT(cfg).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": spec.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=spec.lr,
        betas=(0.9, 0.95),
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
    checkpoints = set(_checkpoints(steps, spec.n_checkpoints))
    tokens_per_step = spec.batch_size * cfg.n_ctx
    per_token_total = float(kaplan_flops_per_token(cfg.n_layer, cfg.d_model, cfg.n_ctx, cfg.ff))
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
    rows = []
    lr_sum = 0.0
    offsets = torch.arange(cfg.n_ctx + 1)
    data_t = torch.from_numpy(data.astype(np.int64))
    t0 = time.perf_counter()
    for step in range(steps):
        lr = spec.lr * lr_multiplier(spec.schedule, step, steps, spec.warmup_frac)
        for group in opt.param_groups:
            group["lr"] = lr
        lr_sum += lr
        starts = torch.from_numpy(rng.integers(0, data.size - cfg.n_ctx - 1, spec.batch_size))
        batch = data_t[starts[:, None] + offsets].to(device)
        loss = model.loss(batch[:, :-1], batch[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
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
                        "distribution": dist,
                        "loss": value,
                        "train_loss": loss.item(),
                        "lr_sum": lr_sum,
                        "wall_s": time.perf_counter() - t0,
                    }
                )
            if not math.isfinite(loss.item()):
                break
    return rows
