"""Tables of the chapter "experiment"."""

from __future__ import annotations

__all__: list[str] = []
