r"""A synthetic text source whose entropy rate is known exactly.

An order-``k`` Markov chain over an alphabet of ``V`` byte values. Each context (the last
``k`` symbols) has its own next-symbol distribution: Zipf-like probabilities
``p_r ∝ r**-s`` over a random permutation of the alphabet, so that some continuations are
common and most are rare, as in text. The entropy rate

.. math:: H = \sum_{c} \pi(c)\, H\big(P(\cdot \mid c)\big)

(``π`` the stationary distribution of contexts) is the loss, in nats per byte, of a perfect
model: the irreducible loss ``E`` that a fitted ``L(N) = E + A N^{-α}`` should approach.
No paper can check its fitted ``E`` against the truth; on this source the book can.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

__all__ = ["MarkovSource"]


@dataclass(frozen=True)
class MarkovSource:
    """An order-``order`` Markov chain over ``vocab`` symbols, emitted as bytes.

    Parameters
    ----------
    vocab : int
        Alphabet size (2-95); symbols are written as the printable bytes from ``"!"``.
    order : int
        Context length ``k`` (1-3).
    zipf : float
        Exponent ``s`` of the next-symbol probabilities ``∝ rank**-s``.
    seed : int
        Seed of the per-context permutations.

    Examples
    --------
    >>> src = MarkovSource(vocab=16, order=2, zipf=1.2, seed=0)
    >>> round(src.entropy_rate, 4)
    2.172
    >>> len(src.sample(1000, seed=1))
    1000
    """

    vocab: int = 32
    order: int = 2
    zipf: float = 1.1
    seed: int = 0

    def __post_init__(self) -> None:
        for name, lo, hi in (("vocab", 2, 95), ("order", 1, 3)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"{name} must be an int in [{lo}, {hi}], got {v!r}")
        if not (isinstance(self.zipf, (int, float)) and np.isfinite(self.zipf) and self.zipf > 0):
            raise ValueError(f"zipf must be finite and > 0, got {self.zipf!r}")

    @cached_property
    def transition(self) -> NDArray[np.float64]:
        """``(V**k, V)`` next-symbol probabilities, one row per context."""
        rng = np.random.default_rng(self.seed)
        n_ctx = self.vocab**self.order
        base = np.arange(1, self.vocab + 1, dtype=np.float64) ** (-float(self.zipf))
        base /= base.sum()
        perms = np.argsort(rng.random((n_ctx, self.vocab)), axis=1)
        probs = np.empty((n_ctx, self.vocab))
        np.put_along_axis(probs, perms, np.broadcast_to(base, (n_ctx, self.vocab)), axis=1)
        return probs

    @cached_property
    def stationary(self) -> NDArray[np.float64]:
        """Stationary distribution over contexts, by power iteration to 1e-15."""
        p = self.transition
        n_ctx, v = p.shape
        pi = np.full(n_ctx, 1.0 / n_ctx)
        # Context c = (x_1..x_k) with index sum x_i V^(k-i); next context drops x_1, appends y.
        nxt = (np.arange(n_ctx)[:, None] % (n_ctx // v)) * v + np.arange(v)[None, :]
        for _ in range(100_000):
            new = np.bincount(nxt.ravel(), weights=(pi[:, None] * p).ravel(), minlength=n_ctx)
            if np.abs(new - pi).sum() < 1e-15:
                pi = new
                break
            pi = new
        return pi / pi.sum()

    @property
    def entropy_rate(self) -> float:
        """Exact entropy rate in nats per symbol (= per byte)."""
        p = self.transition
        h = -(p * np.log(p)).sum(axis=1)
        return float(self.stationary @ h)

    def sample(self, n: int, seed: int = 0) -> bytes:
        """``n`` bytes of text from the chain, started from its stationary distribution."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        rng = np.random.default_rng(seed)
        p = self.transition
        n_ctx, v = p.shape
        cdf = np.cumsum(p, axis=1)
        cdf[:, -1] = 1.0
        ctx = int(rng.choice(n_ctx, p=self.stationary))
        u = rng.random(n)
        out = np.empty(n, dtype=np.uint8)
        first = 33  # "!"
        step = n_ctx // v
        for i in range(n):
            y = int(np.searchsorted(cdf[ctx], u[i], side="right"))
            out[i] = first + y
            ctx = (ctx % step) * v + y
        return out.tobytes()
