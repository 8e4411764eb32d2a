"""Several same-shape runs trained in one process: their weights stacked, one batched matmul for all.

Small models leave a CPU core idle between tiny kernels; stacking ``G`` members (seeds, or
peak rates, of one shape) along a leading axis makes each matmul ``G`` times larger for the
same number of Python-level operations. Each member keeps its own data order, its own
gradient clipping (the norm over its own parameters) and its own AdamW moments, written
here as PyTorch's AdamW computes them, with a per-member rate. The members are exactly the
models :class:`~scaling_utils.experiment.model.GPT` builds from their seeds; the group
differs from separate runs only by the order of floating-point sums in the batched
kernels (measured in ``tests/test_engine_v3.py``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from scaling_utils.experiment.model import GPT
from scaling_utils.experiment.model_config import VOCAB

__all__ = ["Group"]

_EPS = 1e-8  # torch.optim.AdamW's default


class Group:
    """``G`` members of one shape, trained together (see the module docstring)."""

    def __init__(self, models: list[GPT], specs, device: str = "cpu") -> None:
        self.specs, self.device, self.g = specs, device, len(models)
        self.cfg = specs[0].model_config
        self.names = [n for n, _ in models[0].named_parameters()]
        self.params = {
            n: torch.stack([dict(m.named_parameters())[n].detach() for m in models]).to(device).requires_grad_()
            for n in self.names
        }
        self.decay = {n: models[0].get_parameter(n).dim() >= 2 for n in self.names}
        self.m = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.t = 0
        self.params_total = models[0].params_total
        self._template = models[0]

    # ------------------------------------------------------------------ forward

    def _linear(self, x: torch.Tensor, name: str, bias: bool = True) -> torch.Tensor:
        g, b, t, d = x.shape
        w = self.params[f"{name}.weight"]  # (G, out, in)
        flat = x.reshape(g, b * t, d)
        if bias:
            y = torch.baddbmm(self.params[f"{name}.bias"][:, None, :], flat, w.transpose(1, 2))
        else:
            y = torch.bmm(flat, w.transpose(1, 2))
        return y.view(g, b, t, -1)

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        w, b = self.params[f"{name}.weight"], self.params[f"{name}.bias"]
        return F.layer_norm(x, (x.shape[-1],)) * w[:, None, None, :] + b[:, None, None, :]

    def logits(self, idx: torch.Tensor) -> torch.Tensor:
        """Next-byte logits ``(G, batch, n_ctx, 256)`` for byte ids ``idx`` of shape ``(G, batch, n_ctx)``."""
        g, b, t = idx.shape
        d, h = self.cfg.d_model, self.cfg.n_head
        offset = (torch.arange(g, device=idx.device) * VOCAB).view(g, 1, 1)
        x = F.embedding(idx + offset, self.params["tok.weight"].reshape(g * VOCAB, d))
        x = x + self.params["pos.weight"][:, None, :t, :]
        for layer in range(self.cfg.n_layer):
            p = f"blocks.{layer}"
            q, k, v = self._linear(self._norm(x, f"{p}.ln1"), f"{p}.qkv").split(d, dim=3)
            q, k, v = (z.reshape(g * b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(g, b, t, d)
            x = x + self._linear(y, f"{p}.proj")
            x = x + self._linear(F.gelu(self._linear(self._norm(x, f"{p}.ln2"), f"{p}.fc")), f"{p}.out")
        return self._linear(self._norm(x, "ln_f"), "head", bias=False)

    def losses(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Each member's mean cross-entropy, nats per byte, shape ``(G,)``."""
        logits = self.logits(idx)
        ce = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), reduction="none")
        return ce.view(self.g, -1).mean(dim=1)

    # ------------------------------------------------------------------ training

    def train_step(self, batches: list[np.ndarray], lrs: list[float]) -> list[float]:
        """One AdamW step of every member on its own batch, with its own rate; return the losses."""
        batch = torch.from_numpy(np.stack(batches)).to(self.device)
        for p in self.params.values():
            p.grad = None
        losses = self.losses(batch[:, :, :-1], batch[:, :, 1:])
        losses.sum().backward()  # members share no parameter: each gets its own gradient
        spec = self.specs[0]
        with torch.no_grad():
            if spec.grad_clip > 0:
                sq = sum(p.grad.pow(2).flatten(1).sum(dim=1) for p in self.params.values())
                coef = torch.clamp(spec.grad_clip / (sq.sqrt() + 1e-6), max=1.0)
                for p in self.params.values():
                    p.grad.mul_(coef.view(-1, *([1] * (p.dim() - 1))))
            self.t += 1
            b1, b2 = spec.beta1, spec.beta2
            bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
            lr = torch.tensor(lrs, dtype=torch.float32, device=self.device)
            for n, p in self.params.items():
                shape = (-1, *([1] * (p.dim() - 1)))
                if self.decay[n] and spec.weight_decay:
                    p.mul_((1 - lr * spec.weight_decay).view(shape))
                self.m[n].lerp_(p.grad, 1 - b1)
                self.v[n].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                denom = (self.v[n].sqrt() / math.sqrt(bc2)).add_(_EPS)
                p.sub_((lr / bc1).view(shape) * self.m[n] / denom)
        return [float(v) for v in losses.detach()]

    @torch.no_grad()
    def evaluate(self, sets: dict[str, torch.Tensor]) -> list[dict[str, float]]:
        """Each member's mean loss on each evaluation set (the same windows for all)."""
        out = [{} for _ in range(self.g)]
        for name, seqs in sets.items():
            seqs = seqs.to(self.device)
            total = torch.zeros(self.g)
            for chunk in seqs.split(64):
                c = chunk.expand(self.g, *chunk.shape)
                total += self.losses(c[:, :, :-1], c[:, :, 1:]).cpu() * chunk.shape[0]
            for m in range(self.g):
                out[m][name] = float(total[m]) / seqs.shape[0]
        return out

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict:
        """Weights, moments and step count (references; copy before changing them)."""
        return {"params": self.params, "m": self.m, "v": self.v, "t": self.t}

    def load_state_dict(self, state: dict) -> None:
        """Copy a :meth:`state_dict` back in."""
        with torch.no_grad():
            for key in ("params", "m", "v"):
                for n, tensor in getattr(self, key).items():
                    tensor.copy_(state[key][n])
        self.t = int(state["t"])

    def models(self) -> list[GPT]:
        """The members as separate :class:`GPT` models (copies)."""
        out = []
        for m in range(self.g):
            model = GPT(self.cfg)
            model.load_state_dict({n: self.params[n][m].detach().clone() for n in self.names})
            out.append(model)
        return out
