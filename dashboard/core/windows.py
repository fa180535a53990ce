"""One window's month from the fact tables: handling-time histogram, bad-rating tags and the weekday × hour load.

The marts hold every window's numerators and denominators; what they cannot hold (a distribution, the tags a
rating carried, the hour a case came in) is read here from the build's fact tables, one window at a time, with
every value a bound parameter.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

import pyarrow as pa

from dashboard.core.db import Warehouse
from dashboard.core.marts import scope_clause
from dashboard.core.metrics import half_up
from dashboard.core.period import BEIJING_ZONE, Period

# Weekday × hour load can be counted from either source; tickets exist only where the hall has a queue system.
LOAD_SOURCES = ("cases", "tickets")
# Bad-rating tags are ';'-separated in the contract; the gate's NFKC already turned '；' into ';'. A comma is
# accepted too, because hand-kept exports use one.
TAG_SEPARATORS = (";", ",", "、")


def _month_starts(period: str) -> list[dt.date]:
    return [Period.parse(m).start.date() for m in Period.parse(period).months]


def _where(period: str, unit: str, window: str, scope: tuple[str, ...] | None, month_col: str) -> tuple[str, list]:
    clause, params = scope_clause(scope)
    sql = (f"{month_col} IN (SELECT unnest(?::DATE[])) AND unit_code = ? AND window_code = ?{clause}")
    return sql, [_month_starts(period), unit, window, *params]


def handling_histogram(wh: Warehouse, period: str, unit: str, window: str,
                       scope: tuple[str, ...] | None) -> pa.Table:
    """(handling_days, cases): completed 承诺件 of the window by working days taken, in the months they were
    completed — the same cases the mart's mean, median and P90 of handling time are computed over."""
    where, params = _where(period, unit, window, scope, "completed_month")
    return wh.query(
        "SELECT handling_days::INTEGER AS handling_days, count(*)::BIGINT AS cases FROM fact_cases "
        f"WHERE is_completed AND item_kind = '承诺件' AND handling_days IS NOT NULL AND {where} "
        "GROUP BY ALL ORDER BY handling_days", params)


def quantile(bins: Iterable[tuple[int, int]], q: Fraction) -> Decimal | None:
    """The q-quantile of a histogram of integers, interpolated linearly between the two nearest ranks
    (position (n − 1)·q, as quantile_cont and numpy do), rounded half-up to two decimals; None when empty."""
    values = sorted((int(v), int(n)) for v, n in bins if n)
    total = sum(n for _, n in values)
    if not total:
        return None
    pos = (total - 1) * Fraction(q)
    lo_rank = int(pos)
    frac = pos - lo_rank

    def at(rank: int) -> int:
        upto = 0
        for v, n in values:
            upto += n
            if upto > rank:
                return v
        return values[-1][0]

    lo, hi = at(lo_rank), at(min(lo_rank + 1, total - 1))
    return half_up(lo + (hi - lo) * frac)


def bad_rating_tags(wh: Warehouse, period: str, unit: str, window: str,
                    scope: tuple[str, ...] | None) -> list[str | None]:
    """The tag text of every counted bad rating (1–2) the window received in the period's months, one entry per
    rating (None where the rater chose no tag): the ratings the mart's 差评率 numerator counts."""
    where, params = _where(period, unit, window, scope, "rated_month")
    t = wh.query(f"SELECT bad_tags FROM fact_ratings WHERE counted AND rating <= 2 AND {where} ORDER BY eval_id",
                 params)
    return t.column("bad_tags").to_pylist()


def split_tags(text: str | None) -> list[str]:
    """The distinct tags of one rating's tag text, in the order written, blanks dropped."""
    if not text:
        return []
    for sep in TAG_SEPARATORS[1:]:
        text = text.replace(sep, TAG_SEPARATORS[0])
    out: list[str] = []
    for part in text.split(TAG_SEPARATORS[0]):
        tag = part.strip()
        if tag and tag not in out:
            out.append(tag)
    return out


def tag_counts(values: Iterable[str | None]) -> tuple[list[tuple[str, int]], int]:
    """([(tag, ratings carrying it)], ratings with no tag): most frequent first, ties by tag. A rating counts
    once per tag even if it repeats the tag; a rating with several tags counts under each."""
    counts: Counter[str] = Counter()
    untagged = 0
    for v in values:
        tags = split_tags(v)
        if not tags:
            untagged += 1
        counts.update(tags)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), untagged


def load_bins(wh: Warehouse, source: str, period: str, unit: str, window: str,
              scope: tuple[str, ...] | None) -> pa.Table:
    """(weekday 1 = Monday … 7, hour 0–23, n): cases accepted or queue tickets issued at the window in the
    period's months, by Beijing local weekday and hour."""
    if source == "cases":
        table, at, month = "fact_cases", "accepted_at", "accepted_month"
    elif source == "tickets":
        table, at, month = "fact_tickets", "issued_at", "issued_month"
    else:
        raise ValueError(f"load source {source!r}: choose one of {', '.join(LOAD_SOURCES)}")
    where, params = _where(period, unit, window, scope, month)
    local = f"timezone('{BEIJING_ZONE}', {at})"
    return wh.query(
        f"SELECT isodow({local})::INTEGER AS weekday, hour({local})::INTEGER AS hour, count(*)::BIGINT AS n "
        f"FROM {table} WHERE {where} GROUP BY ALL ORDER BY weekday, hour", params)


def heatmap_matrix(rows: Iterable[dict]) -> list[list[int]]:
    """A 7 × 24 grid (Monday first, hour 0 first) of counts from (weekday, hour, n) rows; empty cells are 0."""
    grid = [[0] * 24 for _ in range(7)]
    for r in rows:
        wd, hour = int(r["weekday"]), int(r["hour"])
        if not (1 <= wd <= 7 and 0 <= hour <= 23):
            raise ValueError(f"not a weekday and hour: {wd}, {hour}")
        grid[wd - 1][hour] += int(r["n"])
    return grid


def busy_hours(grid: list[list[int]]) -> list[int]:
    """The hours that have any load on any day, from the first to the last (so a chart skips the empty night)."""
    used = [h for h in range(24) if any(row[h] for row in grid)]
    return list(range(used[0], used[-1] + 1)) if used else []
