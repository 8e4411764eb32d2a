"""Tables of the chapter "generalization"."""

from __future__ import annotations

__all__: list[str] = []
