"""Training windows: drawn without replacement within an epoch (engine v3), or with replacement (legacy).

A text of ``n`` bytes holds ``W = (n - 1) // n_ctx`` windows of ``n_ctx + 1`` bytes at
stride ``n_ctx`` (each window's inputs are ``n_ctx`` bytes and its targets the same bytes
shifted by one). ``sampling = "permute"`` reads them in a seeded random order, a new
permutation each epoch: window ``k`` of the run (``k = step x batch + row``) is
``perm_e[k mod W]`` with ``e = k // W``. So the data position of a run is the number of
windows it has read, a run of at most one epoch never trains a window twice, and the
sampler has no state to save beyond the step. ``sampling = "replace"`` is the committed
sweeps' draw: ``batch`` uniform starts a step from a :class:`numpy.random.Generator`,
whose state a snapshot saves.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SAMPLINGS", "WindowSampler", "epochs_trained", "n_windows"]

SAMPLINGS = ("replace", "permute")


def n_windows(n_bytes: int, n_ctx: int) -> int:
    """How many disjoint training windows (stride ``n_ctx``) a text of ``n_bytes`` holds.

    Examples
    --------
    >>> n_windows(1000, 99)
    10
    """
    return max(0, (int(n_bytes) - 1) // int(n_ctx))


def epochs_trained(tokens: int, n_bytes: int, n_ctx: int) -> float:
    """Epochs a run of ``tokens`` trained tokens spends on a text of ``n_bytes`` (over its windows' tokens).

    Examples
    --------
    >>> epochs_trained(5000, 1001, 100)
    5.0
    """
    w = n_windows(n_bytes, n_ctx)
    if w < 1:
        raise ValueError(f"a text of {n_bytes} bytes holds no window of n_ctx + 1 = {n_ctx + 1} bytes")
    return float(tokens) / (w * n_ctx)


class WindowSampler:
    """The training batches of one run, as a function of the step.

    Parameters
    ----------
    data : numpy.ndarray
        The training text, ``uint8`` (kept as it is: a view, never copied to int64).
    n_ctx, batch, seed : int
        Window length, windows per step and the run's seed.
    sampling : {"permute", "replace"}

    Examples
    --------
    >>> s = WindowSampler(np.arange(41, dtype=np.uint8), n_ctx=4, batch=5, seed=0, sampling="permute")
    >>> first = np.concatenate([s.window_ids(0), s.window_ids(1)])
    >>> sorted(first.tolist()) == list(range(10))  # one epoch: every window once
    True
    """

    def __init__(self, data: np.ndarray, n_ctx: int, batch: int, seed: int, sampling: str = "permute") -> None:
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {list(SAMPLINGS)}, got {sampling!r}")
        if data.dtype != np.uint8:
            raise TypeError(f"training data must be uint8 bytes, got {data.dtype}")
        if data.size < n_ctx + 2:
            raise ValueError(f"training data has {data.size} bytes, fewer than n_ctx + 2 = {n_ctx + 2}")
        self.data, self.n_ctx, self.batch, self.seed, self.sampling = data, n_ctx, batch, seed, sampling
        self.windows = n_windows(data.size, n_ctx)
        self._offsets = np.arange(n_ctx + 1)
        self._perm: dict[int, np.ndarray] = {}
        self.rng = np.random.default_rng(seed)  # the legacy draw's generator

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch not in self._perm:
            if len(self._perm) > 2:
                self._perm.pop(min(self._perm))
            rng = np.random.default_rng([self.seed, epoch, 0x5EED])
            self._perm[epoch] = rng.permutation(self.windows).astype(np.int64)
        return self._perm[epoch]

    def window_ids(self, step: int) -> np.ndarray:
        """The ids (0 .. windows - 1) of the windows of ``step`` (0-based); ``permute`` only."""
        if self.sampling != "permute":
            raise ValueError("window_ids is defined for sampling='permute' only")
        k = np.arange(step * self.batch, (step + 1) * self.batch)
        epochs, pos = np.divmod(k, self.windows)
        return np.array([self._permutation(int(e))[p] for e, p in zip(epochs, pos, strict=True)])

    def starts(self, step: int) -> np.ndarray:
        """Byte offsets of the windows of ``step``."""
        if self.sampling == "permute":
            return self.window_ids(step) * self.n_ctx
        return self.rng.integers(0, self.data.size - self.n_ctx - 1, self.batch)

    def batch_at(self, step: int) -> np.ndarray:
        """The ``(batch, n_ctx + 1)`` int64 windows of ``step`` (only the batch is widened)."""
        return self.data[self.starts(step)[:, None] + self._offsets].astype(np.int64)

    def state(self) -> dict:
        """What a snapshot needs to continue the draw (the legacy generator's state)."""
        return {"rng": self.rng.bit_generator.state}

    def load_state(self, state: dict) -> None:
        """Continue from :meth:`state`."""
        self.rng.bit_generator.state = state["rng"]
