"""Rankings and trends arithmetic the pages show: rank changes, ranks shared by ties within a group, the 红黑榜,
12-month score sparklines, pooled group averages and the lines a ruleset draws on an indicator.

Pure Python (no Streamlit): rates stay exact fractions, scores Decimals, until a page draws or prints them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from dashboard.core.rules import kinds
from dashboard.core.rules import model as m


def rank_change(now: int | None, before: int | None) -> int | None:
    """Places gained since the previous period (positive = moved up, 0 = same), None when there was no rank."""
    if now is None or before is None:
        return None
    return before - now


def change_label(now: int | None, before: int | None, new: str) -> str:
    """"↑2", "↓1", "—" (unchanged), `new` when ranked now but not before, "" when not ranked now."""
    if now is None:
        return ""
    delta = rank_change(now, before)
    if delta is None:
        return new
    if delta == 0:
        return "—"
    return f"↑{delta}" if delta > 0 else f"↓{-delta}"


def shared_ranks(rows: Iterable[dict], by: str = "total", within: str | None = "grp",
                 key: str = "subject") -> dict[str, int]:
    """Rank by `by` (highest first) within each `within` group (None: all together); ties share a rank (1, 2, 2, 4)."""
    rows = list(rows)
    groups: dict[object, list] = {}
    for r in rows:
        groups.setdefault(r[within] if within else None, []).append(r[by])
    return {r[key]: 1 + sum(1 for v in groups[r[within] if within else None] if v > r[by]) for r in rows}


def red_black(rows: Sequence[dict], n: int, within: str = "grp", by: str = "total",
              key: str = "subject") -> list[dict]:
    """The 红黑榜: per group, the subjects ranked 1..n from the top (red) and 1..n from the bottom (black).

    Ties share a place, so a list can hold more than n. Each row is the input row plus `list` ("red"/"black"),
    `group_rank` (from the top) and `place` (its place on that list). Red rows are listed best first, black rows
    worst first; groups in sorted order.
    """
    out: list[dict] = []
    by_group: dict[str, list[dict]] = {}
    for r in rows:
        by_group.setdefault(r[within] or "", []).append(r)
    for g in sorted(by_group):
        members = by_group[g]
        top = {r[key]: 1 + sum(1 for x in members if x[by] > r[by]) for r in members}
        bottom = {r[key]: 1 + sum(1 for x in members if x[by] < r[by]) for r in members}
        red = sorted((r for r in members if top[r[key]] <= n), key=lambda r: (top[r[key]], r[key]))
        black = sorted((r for r in members if bottom[r[key]] <= n), key=lambda r: (bottom[r[key]], r[key]))
        out += [{**r, "list": "red", "group_rank": top[r[key]], "place": top[r[key]]} for r in red]
        out += [{**r, "list": "black", "group_rank": top[r[key]], "place": bottom[r[key]]} for r in black]
    return out


def last_months(periods: Sequence[str], end: str, n: int) -> list[str]:
    """The n months up to and including `end` that `periods` holds, oldest first ('YYYY-MM' sorts as dates)."""
    return sorted(p for p in periods if p <= end)[-n:] if n > 0 else []


def sparklines(history: Iterable[dict], months: Sequence[str], value: str = "total",
               key: str = "subject") -> dict[str, list[float | None]]:
    """Per subject, its `value` in each of `months` in order (None where it was not scored), for a sparkline."""
    at = {m_: i for i, m_ in enumerate(months)}
    out: dict[str, list[float | None]] = {}
    for r in history:
        i = at.get(r["period"])
        if i is None:
            continue
        series = out.setdefault(r[key], [None] * len(months))
        series[i] = None if r[value] is None else float(r[value])
    return out


def pooled(rows: Iterable[dict], columns: Sequence[str], by: Sequence[str]) -> dict[tuple, tuple[int, ...]]:
    """Σ of each column per `by` key (e.g. (period, group)): the pooled numerator and denominator of a group,
    never an average of its members' rates."""
    out: dict[tuple, list[int]] = {}
    for r in rows:
        k = tuple(r[b] for b in by)
        acc = out.setdefault(k, [0] * len(columns))
        for i, c in enumerate(columns):
            acc[i] += int(r[c] or 0)
    return {k: tuple(v) for k, v in out.items()}


def group_average(rows: Iterable[dict], num: str, den: str | None, group: str,
                  period: str = "period") -> dict[tuple[str, str], tuple[int, int | None]]:
    """(period, group) → (Σnum, Σden) over the group's members; a count metric (den None) gives (Σnum/members…)
    as (Σnum, members) so its average is a mean per member."""
    rows = list(rows)
    if den is not None:
        return {k: (v[0], v[1]) for k, v in pooled(rows, (num, den), (period, group)).items()}
    sums = pooled(rows, (num,), (period, group))
    members: dict[tuple, int] = {}
    for r in rows:
        k = (r[period], r[group])
        members[k] = members.get(k, 0) + 1
    return {k: (v[0], members[k]) for k, v in sums.items()}


def pass_line(grades: Sequence[m.Grade]) -> Decimal | None:
    """The score a subject needs to pass: the lower edge of the lowest grade above the last (failing) band, e.g.
    合格 ≥ 60; None when the ruleset grades nothing or the band has no lower edge."""
    names = [g.name.zh for g in grades]
    if "合格" in names:
        return grades[names.index("合格")].min
    if len(grades) >= 2:
        return grades[-2].min
    return None


def progress(total: Decimal | None, line: Decimal | None) -> float | None:
    """How far a score is towards a line, as a fraction in [0, 1] (1 = at or above it); None without either."""
    if total is None or line is None or line <= 0:
        return None
    return float(min(Decimal(1), max(Decimal(0), Decimal(total) / Decimal(line))))


def grade_progress(total: Decimal | None,
                   bands: Sequence[tuple[str, Decimal | None, bool]]) -> tuple[float, str] | None:
    """How far a score has come from its grade's lower edge towards the next grade's, as (fraction in [0, 1], the
    next grade's name); (1.0, "") in the top grade. `bands` are (name, lower edge, edge inclusive) from the top
    grade down, as a ruleset's grades. None without a score or bands, or when the score lies in no band."""
    if total is None or not bands:
        return None
    total = Decimal(total)
    for i, (_, low, inclusive) in enumerate(bands):
        if low is not None and not (total > low or (inclusive and total == low)):
            continue
        if i == 0:
            return 1.0, ""
        name, target, _ = bands[i - 1]
        start = low if low is not None else Decimal(0)
        if target is None or target <= start:
            return None
        return float(min(Decimal(1), max(Decimal(0), (total - start) / (target - start)))), name
    return None


@dataclass(frozen=True)
class RuleLine:
    """A value a ruleset compares an indicator with (a rate as a fraction, a mean in its display unit)."""

    value: Decimal
    item_zh: str
    item_en: str
    kind: str  # threshold_slope target, step band edge, condition / all_of value
    op: str  # ">=", "<", … as the rule compares ("target" for a slope's target)


def rule_lines(rs: m.Ruleset, metric: str) -> list[RuleLine]:
    """Every line the ruleset's items draw on `metric` (each kind's watched values: slope targets, step band edges,
    condition values)."""
    out: list[RuleLine] = []

    def add(value: Decimal | None, item, kind: str, op: str) -> None:
        if value is None:
            return
        line = RuleLine(Decimal(value), item.name.zh, item.name.en, kind, op)
        if not any(x.value == line.value and x.item_zh == line.item_zh for x in out):
            out.append(line)

    for sec in rs.sections:
        for it in sec.items:
            for value, op in kinds.of(it).watched(it, metric):
                add(value, it, it.kind, op)
    return out


def value_of(kind: str, scale: int, num: int | None, den: int | None) -> Fraction | None:
    """An indicator's exact value from its columns: a count as is, otherwise num/(den·scale); None for no data."""
    if kind == "count":
        return None if num is None else Fraction(int(num))
    if num is None or not den:
        return None
    return Fraction(int(num), int(den) * scale)
