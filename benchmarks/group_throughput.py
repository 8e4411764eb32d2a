"""Benchmark: tokens per second per core of grouped training against single runs, per model size.

Trains ``G`` same-shape members as one task (:class:`scaling_utils.experiment.group.Group`,
the members' weights stacked) and, for comparison, one model at a time with the engine's
single-run step (PyTorch's AdamW), both on one thread, with the engine's own training step
(forward, backward, per-member clipping, AdamW). The goal (engine issue): at least 2x the
tokens/s per core for models of at most 50k non-embedding parameters. Exits 1 when missed.
Measure on a quiet machine.

Usage: python benchmarks/group_throughput.py [--group 8] [--steps 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np
import torch

from scaling_utils.experiment.group import Group
from scaling_utils.experiment.spec import RunSpec
from scaling_utils.experiment.train import _new_model, _Single

SHAPES = [(1, 8, 2), (1, 16, 2), (2, 16, 2), (2, 32, 4), (3, 48, 4), (4, 64, 4), (4, 96, 4)]
GOAL, GOAL_MAX_N = 2.0, 50_000


def rate(trainer, g: int, spec: RunSpec, steps: int) -> float:
    """Tokens per second of ``steps`` training steps after 3 warm-up steps."""
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, 256, (spec.batch_size, spec.n_ctx + 1)) for _ in range(g)]
    for _ in range(3):
        trainer.train_step(batches, [1e-3] * g)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(batches, [1e-3] * g)
    return g * steps * spec.tokens_per_step / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--group", type=int, default=8)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--n-ctx", type=int, default=128)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print(f"one thread; batch {args.batch} x n_ctx {args.n_ctx}; group of {args.group}")
    print(f"{'shape':>12} {'N (non-emb.)':>13} {'single tok/s':>13} {'group tok/s':>12} {'speed-up':>9}")
    missed = []
    for n_layer, d_model, n_head in SHAPES:
        spec = RunSpec(sweep="bench", n_layer=n_layer, d_model=d_model, n_head=n_head, n_ctx=args.n_ctx,
                       tokens=10**6, batch_size=args.batch)  # fmt: skip
        single = rate(_Single(spec, "cpu"), 1, spec, args.steps)
        specs = [replace(spec, seed=s) for s in range(args.group)]
        group = rate(Group([_new_model(s, "cpu") for s in specs], specs), args.group, spec, max(3, args.steps // 2))
        n = spec.model_config.params_nonembedding
        ratio = group / single
        flag = ""
        if n <= GOAL_MAX_N and ratio < GOAL:
            missed.append((n_layer, d_model, n_head))
            flag = "  MISSED"
        print(f"{f'{n_layer}x{d_model}x{n_head}':>12} {n:>13,} {single:>13,.0f} {group:>12,.0f} {ratio:>8.2f}x{flag}")
    if missed:
        print(f"MISSED A GOAL: grouped training is under {GOAL}x for {missed} (N <= {GOAL_MAX_N:,})")
        return 1
    print(f"goal met: at least {GOAL}x for every model of at most {GOAL_MAX_N:,} non-embedding parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
