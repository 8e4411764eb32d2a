"""The decoder's shape (no PyTorch needed)."""

from __future__ import annotations

from dataclasses import dataclass

from scaling_utils.compute import non_embedding_params

__all__ = ["VOCAB", "ModelConfig"]

VOCAB = 256


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the decoder; ``d_ff`` defaults to ``4 * d_model``."""

    n_layer: int
    d_model: int
    n_head: int
    n_ctx: int
    d_ff: int | None = None

    def __post_init__(self) -> None:
        for name in ("n_layer", "d_model", "n_head", "n_ctx"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if self.d_model % self.n_head:
            raise ValueError(f"d_model must be divisible by n_head, got {self.d_model} and {self.n_head}")
        if self.d_ff is not None and (not isinstance(self.d_ff, int) or self.d_ff < 1):
            raise ValueError(f"d_ff must be an int >= 1, got {self.d_ff!r}")

    @property
    def ff(self) -> int:
        """The feed-forward width (``4 d_model`` unless set)."""
        return 4 * self.d_model if self.d_ff is None else self.d_ff

    @property
    def params_nonembedding(self) -> int:
        """Kaplan's count ``2 n_layer d_model (2 d_model + d_ff)`` (no biases, no norms)."""
        return int(non_embedding_params(self.n_layer, self.d_model, self.ff))
