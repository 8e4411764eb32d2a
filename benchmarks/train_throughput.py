"""Benchmark: training throughput of the experiment's model, per size, on this machine's CPU.

For each model size: tokens per second of a full training step (forward, backward, AdamW)
on one thread, the FLOP/s that implies (Kaplan's 6N plus attention, per token), that rate as
a fraction of this machine's measured single-thread fp32 matrix-multiply rate, and the
speed against a plain eager reference of the same model (attention written out as
softmax(QK^T)V with an explicit mask, instead of scaled_dot_product_attention).

Usage: python benchmarks/train_throughput.py [--threads 1] [--steps 30]
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn
from torch.nn import functional as F

from scaling_utils.compute import kaplan_flops_per_token
from scaling_utils.experiment.model import GPT, ModelConfig

SHAPES = [(1, 16, 2), (2, 32, 4), (2, 64, 4), (4, 64, 4), (4, 96, 4), (8, 128, 8)]


class ReferenceBlock(nn.Module):
    """The same block with attention written out by hand (the plain eager reference)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.h = cfg.n_head
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.fc, self.out = nn.Linear(cfg.d_model, cfg.ff), nn.Linear(cfg.ff, cfg.d_model)
        self.register_buffer("mask", torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool)))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.h)
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class Reference(GPT):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        self.blocks = nn.ModuleList(ReferenceBlock(cfg) for _ in range(cfg.n_layer))


def step_rate(model: nn.Module, n_ctx: int, batch: int, steps: int) -> float:
    """Tokens per second of full training steps (after 3 warm-up steps)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, 256, (batch, n_ctx + 1))
    for i in range(steps + 3):
        if i == 3:
            t0 = time.perf_counter()
        loss = model.loss(x[:, :-1], x[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * batch * n_ctx / (time.perf_counter() - t0)


def matmul_rate(n: int = 512, reps: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--n-ctx", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    peak = matmul_rate()
    print(f"threads {args.threads}; fp32 512x512 matmul: {peak / 1e9:.1f} GFLOP/s (the reference peak)")
    print(f"{'shape':>12} {'N':>9} {'tok/s':>9} {'GFLOP/s':>8} {'of peak':>8} {'vs eager ref':>12}")
    for n_layer, d_model, n_head in SHAPES:
        cfg = ModelConfig(n_layer, d_model, n_head, args.n_ctx)
        ours = step_rate(GPT(cfg), args.n_ctx, args.batch, args.steps)
        ref = step_rate(Reference(cfg), args.n_ctx, args.batch, args.steps)
        flops = ours * float(kaplan_flops_per_token(n_layer, d_model, args.n_ctx))
        print(
            f"{(n_layer, d_model, n_head)!s:>12} {cfg.params_nonembedding:>9,d} {ours:>9,.0f} "
            f"{flops / 1e9:>8.2f} {flops / peak:>8.1%} {ours / ref:>11.2f}x"
        )


if __name__ == "__main__":
    main()
