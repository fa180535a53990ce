"""A table column as every export writes it (bulletin, page downloads): key in the rows, header, and kind."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A table column: its key in the rows, its header, and how it is shown (text, int, pct, score, change)."""

    key: str
    header: str
    kind: str = "text"
