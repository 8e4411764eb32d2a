"""Where the repository is (the library reads committed data relative to it)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["repo_root"]


def repo_root() -> Path:
    """The repository root: the folder holding ``scaling_utils/`` and ``data/``."""
    return Path(__file__).resolve().parents[1]
