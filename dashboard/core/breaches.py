"""Breaches (预警): units below a watched line in a month, by how much, and for how many months running."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from dashboard.core.metrics import Threshold, half_up, thresholds
from dashboard.core.period import Period

# How far back a streak is followed: two years of months is more than any bulletin reports.
MAX_MONTHS = 24


@dataclass(frozen=True)
class Breach:
    """One unit below one watched line in the month."""

    unit: str
    name: str
    group: str | None
    metric: str
    value: Fraction
    num: int
    den: int
    line: Fraction
    gap_pp: Decimal  # (value − line) × 100, half-up to two decimals: negative, in percentage points
    consecutive_months: int  # this month and every calendar month straight before it below the same line
    new: bool  # not below the line the month before (or no data then)


def _value(row: dict, metric: str) -> tuple[Fraction | None, int | None, int | None]:
    num, den = row.get(f"{metric}_num"), row.get(f"{metric}_den")
    if num is None or not den:
        return None, num, den
    return Fraction(int(num), int(den)), int(num), int(den)


def below(row: dict, th: Threshold) -> bool:
    """The row's rate is known (denominator > 0) and strictly below the line, compared as exact fractions."""
    value = _value(row, th.metric)[0]
    return value is not None and value < th.min


def find(period: str, rows_of: Callable[[str], Iterable[dict] | None], lines: Sequence[Threshold] | None = None,
         max_months: int = MAX_MONTHS) -> list[Breach]:
    """Every (unit, watched line) below the line in `period`, with its streak.

    `rows_of(month)` gives that month's unit_month rows (already limited to the user's scope), or None when the
    mart has no such month. A streak counts back one calendar month at a time while the unit is below the same
    line; a month without data for the indicator (no such month, unit absent, zero denominator) ends it, since
    "no data" is not "below". Months before are read only while some streak is still running."""
    lines = list(thresholds() if lines is None else lines)
    current = list(rows_of(period) or [])
    found: list[tuple[dict, Threshold]] = [(r, th) for r in current for th in lines if below(r, th)]
    streak = {(r["unit_code"], th.metric): 1 for r, th in found}
    running = set(streak)
    month = Period.parse(period)
    for _ in range(max_months - 1):
        if not running:
            break
        month = month.previous()
        earlier = {r["unit_code"]: r for r in (rows_of(str(month)) or [])}
        still = set()
        for unit, metric in running:
            th = next(x for x in lines if x.metric == metric)
            row = earlier.get(unit)
            if row is not None and below(row, th):
                streak[(unit, metric)] += 1
                still.add((unit, metric))
        running = still
    out = []
    for r, th in found:
        value, num, den = _value(r, th.metric)
        assert value is not None and num is not None and den is not None
        n = streak[(r["unit_code"], th.metric)]
        out.append(Breach(unit=r["unit_code"], name=r.get("unit_name") or r["unit_code"], group=r.get("unit_group"),
                          metric=th.metric, value=value, num=num, den=den, line=th.min,
                          gap_pp=half_up((value - th.min) * 100), consecutive_months=n, new=n == 1))
    # Watched lines in catalog order, then the furthest below first, then the unit code.
    order = {th.metric: i for i, th in enumerate(lines)}
    out.sort(key=lambda b: (order[b.metric], b.value - b.line, b.unit))
    return out
