"""Reporting periods (统计周期) — a month, a quarter or a year — and Beijing time, the zone every period is cut in.

A period is spelled 2025-06, 2025-Q2 or 2025: in URLs, marts, SQL parameters and ruleset files alike. `Period` is
that spelling parsed; the lists it hands back (its months, its parts) stay spelled, the form all of those key on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Beijing time: the zone months are cut in and naive instants mean (the input contract). China has kept UTC+8
# without daylight saving since 1991, so a fixed offset is exact for any data the hall holds.
BEIJING = dt.timezone(dt.timedelta(hours=8))
# The same zone by name, for SQL (DuckDB's timezone()) and Arrow timestamp types.
BEIJING_ZONE = "Asia/Shanghai"

# The kinds of period, shortest first, and how many months each covers.
KINDS = ("month", "quarter", "year")
_LENGTH = {"month": 1, "quarter": 3, "year": 12}
_KIND = {n: kind for kind, n in _LENGTH.items()}
# A period's spelling: a month (2025-06), a quarter (2025-Q2) or a year (2025); year 0000 names no period.
SPELLING = re.compile(r"(?!0000)(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?")


class PeriodError(ValueError):
    """Text that does not spell a period, or a step a period cannot take."""


@dataclass(frozen=True, order=True)
class Period:
    """A month, a quarter or a year; ordered by its first month, a shorter period before a longer one there."""

    year: int
    first_month: int  # 1–12: the period's first calendar month
    length: int  # months covered: 1, 3 or 12

    def __post_init__(self) -> None:
        kind = _KIND.get(self.length)
        if kind is None or not 1 <= self.year <= 9999 or (self.first_month - 1) % self.length \
                or not 1 <= self.first_month <= 12:
            raise PeriodError(f"no {kind or 'period'} of {self.length} months starts at {self.year}-{self.first_month}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """The period a spelling names; a PeriodError (a ValueError) naming the text otherwise."""
        match = SPELLING.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise PeriodError(f"period {text!r}: write a month (2025-06), a quarter (2025-Q2) or a year (2025)")
        year, month, quarter = match.groups()
        if month:
            return cls(int(year), int(month), 1)
        if quarter:
            return cls(int(year), (int(quarter) - 1) * 3 + 1, 3)
        return cls(int(year), 1, 12)

    @classmethod
    def parse_or_none(cls, text: object) -> Period | None:
        """The period a spelling names, or None for anything else (a missing or hand-edited URL parameter)."""
        try:
            return cls.parse(text)  # type: ignore[arg-type]
        except PeriodError:
            return None

    def __str__(self) -> str:
        if self.length == 1:
            return f"{self.year:04d}-{self.first_month:02d}"
        if self.length == 3:
            return f"{self.year:04d}-Q{self.first_month // 3 + 1}"
        return f"{self.year:04d}"

    def __repr__(self) -> str:
        return f"Period({str(self)!r})"

    @property
    def kind(self) -> str:
        """month, quarter or year."""
        return _KIND[self.length]

    @property
    def months(self) -> list[str]:
        """The months covered, oldest first, spelled 'YYYY-MM'."""
        return [f"{self.year:04d}-{m:02d}" for m in range(self.first_month, self.first_month + self.length)]

    def parts(self, kind: str) -> list[str]:
        """The periods of a kind no longer than this one's that make it up, oldest first (a year's four quarters)."""
        n = _length(kind)
        if n > self.length:
            raise PeriodError(f"a {self.kind} ({self}) has no {kind}s inside it")
        return [str(Period(self.year, m, n)) for m in range(self.first_month, self.first_month + self.length, n)]

    def enclosing(self, kind: str) -> Period:
        """The period of a kind no shorter than this one's that holds it (2025-06 → 2025-Q2 → 2025)."""
        n = _length(kind)
        if n < self.length:
            raise PeriodError(f"a {kind} cannot hold the {self.kind} {self}")
        return Period(self.year, (self.first_month - 1) // n * n + 1, n)

    def _moved(self, months: int) -> Period:
        at = self.year * 12 + self.first_month - 1 + months
        if not 12 <= at < 10000 * 12:
            raise PeriodError(f"{self} moved by {months} months leaves the years 0001–9999")
        return Period(at // 12, at % 12 + 1, self.length)

    def previous(self) -> Period:
        """The period of the same kind just before (2025-01 → 2024-12, 2025-Q1 → 2024-Q4, 2025 → 2024)."""
        return self._moved(-self.length)

    def same_period_last_year(self) -> Period:
        """The same month, quarter or year one year earlier."""
        return self._moved(-12)

    @property
    def start(self) -> dt.datetime:
        """The period's first instant, Beijing time."""
        return dt.datetime(self.year, self.first_month, 1, tzinfo=BEIJING)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period, Beijing time (the period is [start, end))."""
        at = self.year * 12 + self.first_month - 1 + self.length
        return dt.datetime(at // 12, at % 12 + 1, 1, tzinfo=BEIJING)

    def label(self, lang: str) -> str:
        """The period in prose: 2025年6月 / 2025年第2季度 / 2025年 in Chinese; its spelling (2025-06) in English."""
        if lang != "zh":
            return str(self)
        if self.length == 1:
            return f"{self.year}年{self.first_month}月"
        if self.length == 3:
            return f"{self.year}年第{self.first_month // 3 + 1}季度"
        return f"{self.year}年"


def _length(kind: str) -> int:
    if kind not in _LENGTH:
        raise PeriodError(f"kind of period {kind!r}: choose one of {', '.join(KINDS)}")
    return _LENGTH[kind]


def periods_holding(months: Iterable[str], kind: str) -> list[str]:
    """The periods of a kind that hold any of the months ('YYYY-MM'), newest first."""
    return [str(p) for p in sorted({Period.parse(mo).enclosing(kind) for mo in months}, reverse=True)]


__all__ = ["BEIJING", "BEIJING_ZONE", "KINDS", "SPELLING", "Period", "PeriodError", "periods_holding"]
