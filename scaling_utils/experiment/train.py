"""Train one run, or a group of same-shape runs, evaluating at checkpoints on every distribution.

The loop is shared by a single model (:class:`_Single`: a :class:`~.model.GPT` and
PyTorch's AdamW, as the committed sweeps trained) and a group (:class:`~.group.Group`:
the members' weights stacked, one batched matmul for all). It writes snapshots (model,
optimiser, sampler and the rows so far, atomically) so that a killed run resumes where
its last snapshot left it (:mod:`~.snapshot`), and runs the cooldown branches of a
warmup-stable-decay run from the trunk's state.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np
import torch

from scaling_utils.compute import flops_per_token_with_head, kaplan_flops_per_token, params_with_head
from scaling_utils.experiment import snapshot as snap
from scaling_utils.experiment.data import WindowSampler, epochs_trained
from scaling_utils.experiment.model import GPT
from scaling_utils.experiment.schedules import SCHEDULES, cooldown_multiplier, lr_multiplier
from scaling_utils.experiment.spec import NEW_FIELD_DEFAULTS, RunSpec, deepseek_batch, deepseek_lr, tuned_lr

__all__ = [
    "NEW_FIELD_DEFAULTS",
    "SCHEDULES",
    "RunDiverged",
    "RunSpec",
    "deepseek_batch",
    "deepseek_lr",
    "lr_multiplier",
    "train_group",
    "train_model",
    "train_run",
    "tuned_lr",
]

_INIT_LOCK = threading.Lock()
GROUP_KEYS = ("n_layer", "d_model", "n_head", "d_ff", "n_ctx", "tokens", "batch_size", "schedule", "warmup_frac",
              "train_dist", "eval_dists", "data_limit", "n_checkpoints", "eval_sequences", "beta1", "beta2",
              "grad_clip", "weight_decay", "warmup_steps", "warmup_tokens", "horizon_tokens", "checkpoint_tokens",
              "sampling", "branch_tokens", "cooldown_frac", "cooldown_shape", "cooldown_floor", "on_diverge",
              "corpus_sha")  # fmt: skip
"""What the members of a group must share (they may differ in seed, peak rate, budget and sweep)."""


class RunDiverged(RuntimeError):
    """A run's training loss became non-finite; the message names the run and the step."""


def _eval_set(data: np.ndarray, n_ctx: int, n_seq: int) -> torch.Tensor:
    """``n_seq`` fixed windows of ``n_ctx + 1`` bytes, evenly spaced through ``data``."""
    if data.size < n_ctx + 2:
        raise ValueError(f"an evaluation distribution has {data.size} bytes, fewer than n_ctx + 2 = {n_ctx + 2}")
    starts = np.linspace(0, data.size - n_ctx - 1, n_seq).astype(np.int64)
    return torch.from_numpy(np.stack([data[s : s + n_ctx + 1] for s in starts]).astype(np.int64))


def _new_model(spec: RunSpec, device: str) -> GPT:
    # The initial weights come from torch's global generator: seed and draw them under a lock,
    # so that runs sharing a process (a thread pool executor) each get their seed's weights.
    with _INIT_LOCK:
        torch.manual_seed(spec.seed)
        return GPT(spec.model_config).to(device)


class _Single:
    """One model and PyTorch's AdamW (decay on matrices only): the committed sweeps' training step."""

    def __init__(self, spec: RunSpec, device: str) -> None:
        self.spec, self.device = spec, device
        self.model = _new_model(spec, device)
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": spec.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=spec.lr,
            betas=(spec.beta1, spec.beta2),
        )

    def train_step(self, batches: list[np.ndarray], lrs: list[float]) -> list[float]:
        for group in self.opt.param_groups:
            group["lr"] = lrs[0]
        batch = torch.from_numpy(batches[0]).to(self.device)
        loss = self.model.loss(batch[:, :-1], batch[:, 1:])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.spec.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.spec.grad_clip)
        self.opt.step()
        return [loss.item()]

    @torch.no_grad()
    def evaluate(self, sets: dict[str, torch.Tensor]) -> list[dict[str, float]]:
        self.model.eval()
        out = {}
        for name, seqs in sets.items():
            seqs = seqs.to(self.device)
            total = 0.0
            for chunk in seqs.split(64):
                total += float(self.model.loss(chunk[:, :-1], chunk[:, 1:])) * chunk.shape[0]
            out[name] = total / seqs.shape[0]
        self.model.train()
        return [out]

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])

    def models(self) -> list[GPT]:
        return [self.model]

    @property
    def params_total(self) -> int:
        return self.model.params_total


def _base_row(spec: RunSpec, params_total: int, warm: int, horizon: int) -> dict:
    cfg = spec.model_config
    base = {
        "sweep": spec.sweep, "run_id": spec.run_id, "n_layer": cfg.n_layer, "d_model": cfg.d_model,
        "n_head": cfg.n_head, "d_ff": cfg.ff, "n_ctx": cfg.n_ctx, "params_nonembedding": cfg.params_nonembedding,
        "params_total": params_total, "lr": spec.lr, "schedule": spec.schedule, "warmup_frac": spec.warmup_frac,
        "budget_flops": spec.budget_flops, "seed": spec.seed, "data_limit": spec.data_limit,
    }  # fmt: skip
    if any(getattr(spec, k) != v for k, v in NEW_FIELD_DEFAULTS.items() if k != "checkpoint_tokens"):
        # Runs with the new settings record them (the committed runs' files stay as they were).
        base |= {
            "params_with_head": int(params_with_head(cfg.n_layer, cfg.d_model, cfg.ff)),
            "batch_size": spec.batch_size, "beta1": spec.beta1, "beta2": spec.beta2,
            "weight_decay": spec.weight_decay, "grad_clip": spec.grad_clip, "warmup_steps_used": warm,
            "horizon_steps": horizon, "flops_count": spec.flops_count, "eval_sequences": spec.eval_sequences,
        }  # fmt: skip
    if spec.sampling != "replace" or spec.branch_tokens:
        base |= {"sampling": spec.sampling, "corpus_sha": spec.corpus_sha, "phase": "run"}
        if spec.branch_tokens:
            base |= {"phase": "trunk", "trunk_id": spec.run_id}
    return base


def _check_group(specs: list[RunSpec]) -> None:
    if not specs:
        raise ValueError("train_group needs at least one run")
    first = specs[0]
    for s in specs[1:]:
        diff = [k for k in GROUP_KEYS if getattr(s, k) != getattr(first, k)]
        if diff:
            raise ValueError(f"runs {first.run_id} and {s.run_id} cannot train as one group: they differ in {diff}")
    if len({s.run_id for s in specs}) != len(specs):
        raise ValueError("a group lists the same run twice")


def train_group(specs: list[RunSpec], corpus: dict[str, bytes], device: str = "cpu", **kwargs) -> list[list[dict]]:
    """Train ``specs`` (one run, or several that share a shape and a schedule) and return each one's rows.

    Keyword arguments as :func:`_train` (snapshots).
    """
    return _train(specs, corpus, device, **kwargs)[0]


def _train(
    specs: list[RunSpec],
    corpus: dict[str, bytes],
    device: str = "cpu",
    *,
    snapshot_path: Path | None = None,
    snapshot_every_s: float = 300.0,
    snapshot_every_steps: int | None = None,
    stop_after_steps: int | None = None,
) -> tuple[list[list[dict]], object]:
    """Train ``specs`` and return each one's rows and the trainer.

    With ``snapshot_path``, the state is written there every ``snapshot_every_s`` seconds
    (or ``snapshot_every_steps`` steps) and a run whose snapshot exists resumes from it.
    ``stop_after_steps`` stops after that many trunk steps as a kill would (for tests).
    Raises :class:`RunDiverged` on a non-finite training loss unless the runs say
    ``on_diverge = "record"``; then a diverged member's rows end at its last finite
    checkpoint, and the rows carry ``diverged_step``.
    """
    _check_group(specs)
    spec = specs[0]
    missing = [d for d in (spec.train_dist, *spec.eval_dists) if d not in corpus]
    if missing:
        raise ValueError(f"corpus lacks distributions {missing}; it has {sorted(corpus)}")
    cfg = spec.model_config
    data = np.frombuffer(corpus[spec.train_dist], dtype=np.uint8)
    if spec.data_limit is not None:
        data = data[: spec.data_limit]
    samplers = [WindowSampler(data, cfg.n_ctx, s.batch_size, s.seed, s.sampling) for s in specs]
    sets = {d: _eval_set(np.frombuffer(corpus[d], dtype=np.uint8), cfg.n_ctx, spec.eval_sequences)
            for d in spec.eval_dists}  # fmt: skip
    if len(specs) == 1:
        trainer = _Single(spec, device)
    else:
        from scaling_utils.experiment.group import Group

        trainer = Group([_new_model(s, device) for s in specs], specs, device)
    steps, tps = spec.steps, spec.tokens_per_step
    warm, horizon = spec.warmup, spec.horizon_steps
    checkpoints = set(spec.checkpoint_steps())
    per_token_total = float(kaplan_flops_per_token(cfg.n_layer, cfg.d_model, cfg.n_ctx, cfg.ff))
    per_token_head = float(flops_per_token_with_head(cfg.n_layer, cfg.d_model, cfg.n_ctx, cfg.ff))
    params_total = trainer.params_total
    bases = [_base_row(s, params_total, warm, horizon) for s in specs]
    new_style = "phase" in bases[0]
    branches = spec.branch_plan
    g = len(specs)
    state = {"step": 0, "rows": [[] for _ in specs], "lr_sum": [0.0] * g, "diverged": [None] * g, "wall": 0.0}
    if snapshot_path is not None and Path(snapshot_path).is_file():
        state = snap.load(Path(snapshot_path), [s.run_id for s in specs], trainer, samplers)
    t0 = time.perf_counter() - state["wall"]
    last_snap = time.perf_counter()

    def record(step: int, losses: list[float], extra: dict) -> None:
        tokens = step * tps
        results = trainer.evaluate(sets)
        for m in range(g):
            if state["diverged"][m] is not None:
                continue
            for dist, value in results[m].items():
                row = bases[m] | {
                    "step": step, "tokens": tokens, "flops_6nd": 6.0 * cfg.params_nonembedding * tokens,
                    "flops_total": per_token_total * tokens,
                    **({"flops_with_head": per_token_head * tokens} if "params_with_head" in bases[m] else {}),
                    "distribution": dist, "loss": value, "train_loss": losses[m], "lr_sum": extra["lr_sum"][m],
                    "wall_s": time.perf_counter() - t0,
                }  # fmt: skip
                if new_style:
                    row["epochs"] = epochs_trained(tokens, data.size, cfg.n_ctx)
                row |= {k: v for k, v in extra.items() if k not in ("lr_sum",)}
                state["rows"][m].append(row)

    def check(step: int, losses: list[float]) -> bool:
        """Mark members whose loss is not finite; False when none is left training."""
        for m, value in enumerate(losses):
            if state["diverged"][m] is None and not math.isfinite(value):
                if specs[m].on_diverge != "record":
                    raise RunDiverged(
                        f"run {specs[m].run_id}: training loss {value} at step {step} of {steps} "
                        f'(lr {specs[m].lr:g}); lower the rate, or set on_diverge = "record" to keep diverged runs'
                    )
                state["diverged"][m] = step
        return any(d is None for d in state["diverged"])

    def run_branch(b: int, start: int, end: int) -> None:
        saved = snap.copy_state(trainer, samplers)
        lr_sum = list(state["lr_sum"])
        losses = [math.nan] * g
        for k, step in enumerate(range(start, end)):
            mult = cooldown_multiplier(spec.cooldown_shape, k, end - start, spec.cooldown_floor)
            lrs = [s.lr * mult for s in specs]
            lr_sum = [a + b_ for a, b_ in zip(lr_sum, lrs, strict=True)]
            losses = trainer.train_step([smp.batch_at(step) for smp in samplers], lrs)
            if not check(step + 1, losses):
                break
        extra = {"lr_sum": lr_sum, "phase": "cooldown", "branch_start_step": start, "cooldown_steps": end - start,
                 "cooldown_frac": spec.cooldown_frac, "cooldown_shape": spec.cooldown_shape,
                 "cooldown_floor": spec.cooldown_floor}  # fmt: skip
        before = [len(r) for r in state["rows"]]
        record(end, losses, extra)
        for m in range(g):
            for row in state["rows"][m][before[m] :]:
                row["run_id"] = f"{specs[m].run_id}~{specs[m].branch_tokens[b]}"
        snap.restore_state(trainer, samplers, saved)

    losses = [math.nan] * g
    for step in range(state["step"], steps + 1):
        for b, (start, end) in enumerate(branches):
            if start == step and not state.get(f"branch{b}"):
                run_branch(b, start, end)
                state[f"branch{b}"] = True
        if step == steps:
            break
        mult = lr_multiplier(spec.schedule, step, steps, spec.warmup_frac, warmup=warm, horizon=horizon)
        lrs = [s.lr * mult for s in specs]
        state["lr_sum"] = [a + b for a, b in zip(state["lr_sum"], lrs, strict=True)]
        losses = trainer.train_step([smp.batch_at(step) for smp in samplers], lrs)
        alive = check(step + 1, losses)
        if step + 1 in checkpoints or not alive:
            record(step + 1, losses, {"lr_sum": state["lr_sum"]})
        state["step"] = step + 1
        if not alive:
            break
        due = (snapshot_every_steps and (step + 1) % snapshot_every_steps == 0) or (
            not snapshot_every_steps and time.perf_counter() - last_snap > snapshot_every_s
        )
        if snapshot_path is not None and due and step + 1 < steps:
            state["wall"] = time.perf_counter() - t0
            snap.save(Path(snapshot_path), [s.run_id for s in specs], trainer, samplers, state)
            last_snap = time.perf_counter()
        if stop_after_steps is not None and step + 1 >= stop_after_steps:
            raise KeyboardInterrupt(f"stopped after {step + 1} steps (stop_after_steps)")
    for m in range(g):
        if state["diverged"][m] is not None:
            for row in state["rows"][m]:
                row["diverged_step"] = state["diverged"][m]
    return state["rows"], trainer


def train_run(spec: RunSpec, corpus: dict[str, bytes], device: str = "cpu", **kwargs) -> list[dict]:
    """Train ``spec``'s model on ``corpus[spec.train_dist]``; return one row per checkpoint and distribution.

    Rows carry the tidy columns of the results files (see :mod:`scaling_utils.analysis.results`)
    plus ``lr_sum`` (the learning rate summed over the steps so far) and ``wall_s``.
    Keyword arguments go to :func:`train_group` (snapshots).
    """
    return train_group([spec], corpus, device, **kwargs)[0]


def train_model(spec: RunSpec, corpus: dict[str, bytes], device: str = "cpu") -> tuple[list[dict], GPT]:
    """As :func:`train_run`, and also return the trained model (for tests and inspection)."""
    rows, trainer = _train([spec], corpus, device)
    return rows[0], trainer.models()[0]
