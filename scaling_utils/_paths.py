"""Where the repository is, and the one sha256 helper.

The library reads committed data relative to the repository and checks it by hash.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["repo_root", "sha256_bytes", "sha256_file"]


def repo_root() -> Path:
    """The repository root: the folder holding ``scaling_utils/`` and ``data/``."""
    return Path(__file__).resolve().parents[1]


def sha256_bytes(data: bytes) -> str:
    """The sha256 of ``data``, hex."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str) -> str:
    """The sha256 of a file's bytes, hex.

    Examples
    --------
    >>> sha256_file(repo_root() / "LICENSE") == sha256_bytes((repo_root() / "LICENSE").read_bytes())
    True
    """
    return sha256_bytes(Path(path).read_bytes())
