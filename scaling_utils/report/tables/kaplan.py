"""Tables of the chapter "kaplan"."""

from __future__ import annotations

__all__: list[str] = []
