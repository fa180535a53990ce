"""The period a page shows — a month, a quarter or a year (月/季/年) — and the comparisons it makes.

The period lives in the URL as it is spelled (?period=2025-06, 2025-Q2, 2025); its granularity is read from that
spelling, so a link reproduces both. A page chooses the granularity first, then one period of it; switching the
granularity keeps the place in time (2025-06 → 2025-Q2 → 2025, and back to the newest month with data).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import streamlit as st

from dashboard.core.metrics import PERIOD, months_of
from dashboard.ui import state
from dashboard.ui.i18n import t

GRANULARITIES = ("month", "quarter", "year")


def granularity(period: str | None) -> str:
    """month, quarter or year from a period's spelling; month for anything that is not a period."""
    if not period or not PERIOD.fullmatch(period):
        return "month"
    return "quarter" if "Q" in period else ("month" if "-" in period else "year")


def label(month: str, gran: str) -> str:
    """The month ('YYYY-MM'), quarter or year that holds the month."""
    if gran == "quarter":
        return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"
    return month[:4] if gran == "year" else month


def periods_of(months: list[str], gran: str) -> list[str]:
    """The months, quarters or years that hold any of the given months, newest first."""
    return sorted({label(mo, gran) for mo in months}, reverse=True)


def with_data(period: str, months: list[str]) -> list[str]:
    """The period's months that have data, oldest first."""
    have = set(months)
    return [mo for mo in months_of(period) if mo in have]


def convert(period: str | None, gran: str, months: list[str]) -> str | None:
    """The period re-expressed at another granularity: the one holding the period's newest month with data (the
    newest month of all when it has none, or is not a period)."""
    if not months:
        return None
    inside = with_data(period, months) if period and PERIOD.fullmatch(period) else []
    return label(inside[-1] if inside else max(months), gran)


def month_default(months: list[str]) -> str | None:
    """For a page that shows one month: the URL's period as a month (a quarter or year → its newest month)."""
    return convert(state.get("period"), "month", months)


def _shift(month: str, by: int) -> str:
    n = int(month[:4]) * 12 + int(month[5:7]) - 1 + by
    return f"{n // 12}-{n % 12 + 1:02d}"


class Comparison(NamedTuple):
    """What a period is compared with: its spelling (or "first～last" for some months of one) and those months."""

    kind: str  # previous | year_ago
    partial: bool  # the months are the same stretch of a period, not a whole one
    text: str
    months: list[str]


def comparison(period: str, months: list[str], kind: str) -> Comparison | None:
    """The same stretch one period back (`previous`) or one year back (`year_ago`): as many months as the period
    has data for, moved back together. None when any of them has no data, or when a year's `year_ago` (it is the
    previous year) is asked for."""
    gran = granularity(period)
    if gran == "year" and kind == "year_ago":
        return None
    mine = with_data(period, months)
    if not mine:
        return None
    step = len(months_of(period)) if kind == "previous" else 12
    theirs = [_shift(mo, -step) for mo in mine]
    have = set(months)
    if not all(mo in have for mo in theirs):
        return None
    whole = label(theirs[0], gran)
    if months_of(whole) == theirs:
        return Comparison(kind, False, whole, theirs)
    return Comparison(kind, True, theirs[0] if len(theirs) == 1 else f"{theirs[0]}～{theirs[-1]}", theirs)


def compare_text(c: Comparison, gran: str, lang: str, delta: str) -> str:
    """"较上季（2025-Q1）+0.30 个百分点", "较去年同期（2025-01～2025-10）…": the period compared with is written out."""
    which = "partial" if c.partial else gran
    return t(f"period.vs.{c.kind}.{which}", lang, period=c.text, delta=delta)


def since_text(c: Comparison, gran: str, lang: str) -> str:
    """The short word beside a metric's change: 较上月 / 较上季 / 较上年 / 较上期同期."""
    return t(f"period.since.{'partial' if c.partial else gran}", lang)


def partial_note(period: str, months: list[str], lang: str) -> str | None:
    """"2026-Q4 只有 1 个月的数据（2026-10）…" when a quarter or year has months without data; else None."""
    if granularity(period) == "month":
        return None
    mine = with_data(period, months)
    every = months_of(period)
    if len(mine) == len(every) or not mine:
        return None
    span = mine[0] if len(mine) == 1 else f"{mine[0]}～{mine[-1]}"
    return t("period.partial", lang, period=period, n=len(mine), total=len(every), months=span)


def word(key: str, period: str, lang: str) -> str:
    """A granularity's word in a phrase: key "this" → 本月 / 本季 / 本年, "one" → 月 / 季度 / 年度."""
    return t(f"period.{key}.{granularity(period)}", lang)


def pick(months: list[str], lang: str, page: str, *, gran_container: Any = None, period_container: Any = None,
         grans: tuple[str, ...] = GRANULARITIES) -> str | None:
    """The granularity control (月/季/年) and the period picker; returns the period chosen, kept in the URL."""
    if not months:
        return None
    current = state.get("period")
    start = granularity(current) if current and PERIOD.fullmatch(current) else grans[0]
    if start not in grans:
        start = grans[0]
    where = gran_container if gran_container is not None else st
    gran = where.segmented_control(t("period.granularity", lang), list(grans), default=start, required=True,
                                   format_func=lambda g: t(f"period.{g}", lang), key=f"w_{page}_granularity")
    gran = gran if gran in grans else start
    options = periods_of(months, gran)
    return state.select(t(f"period.pick.{gran}", lang), options, "period", page=page, container=period_container,
                        default=convert(current, gran, months))


def pick_month(label: str, months: list[str], lang: str, page: str, container: Any = None) -> tuple[str | None, str | None]:
    """For a page that shows months only: the month picker, opening on the URL's period (a quarter or a year opens
    on its newest month with data), and a note saying so when the URL carried a quarter or year."""
    incoming = state.get("period")
    month = state.select(label, months, "period", page=page, container=container, default=convert(incoming, "month", months))
    if month is None or granularity(incoming) == "month":
        return month, None
    return month, t("period.monthly_only", lang, period=incoming, month=month)
