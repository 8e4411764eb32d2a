"""Tables of the chapter "beyond"."""

from __future__ import annotations

__all__: list[str] = []
