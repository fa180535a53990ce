"""The period a page shows — a month, a quarter or a year (月/季/年) — and the comparisons it makes.

The period lives in the URL as it is spelled (?period=2025-06, 2025-Q2, 2025); its granularity is read from that
spelling, so a link reproduces both. A page chooses the granularity first, then one period of it; switching the
granularity keeps the place in time (2025-06 → 2025-Q2 → 2025, and back to the newest month with data).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import streamlit as st

from dashboard.core.period import KINDS, Period, periods_holding
from dashboard.ui import state
from dashboard.ui.i18n import t


def with_data(period: str, months: list[str]) -> list[str]:
    """The period's months that have data, oldest first."""
    have = set(months)
    return [mo for mo in Period.parse(period).months if mo in have]


def convert(period: str | None, gran: str, months: list[str]) -> str | None:
    """The period re-expressed at another granularity: the one holding the period's newest month with data (the
    newest month of all when it has none, or is not a period)."""
    if not months:
        return None
    inside = with_data(period, months) if Period.parse_or_none(period) else []
    return str(Period.parse(inside[-1] if inside else max(months)).enclosing(gran))


def month_default(months: list[str]) -> str | None:
    """For a page that shows one month: the URL's period as a month (a quarter or year → its newest month)."""
    return convert(state.get("period"), "month", months)


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
    now = Period.parse(period)
    if now.kind == "year" and kind == "year_ago":
        return None
    mine = with_data(period, months)
    if not mine:
        return None
    # The same places in the other period: a quarter's 2nd and 3rd months against the previous quarter's.
    then = now.previous() if kind == "previous" else now.same_period_last_year()
    theirs = [then.months[now.months.index(mo)] for mo in mine]
    have = set(months)
    if not all(mo in have for mo in theirs):
        return None
    if then.months == theirs:
        return Comparison(kind, False, str(then), theirs)
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
    p = Period.parse(period)
    if p.kind == "month":
        return None
    mine, every = with_data(period, months), p.months
    if len(mine) == len(every) or not mine:
        return None
    span = mine[0] if len(mine) == 1 else f"{mine[0]}～{mine[-1]}"
    return t("period.partial", lang, period=period, n=len(mine), total=len(every), months=span)


def word(key: str, period: str, lang: str) -> str:
    """A granularity's word in a phrase: key "this" → 本月 / 本季 / 本年, "one" → 月 / 季度 / 年度."""
    return t(f"period.{key}.{Period.parse(period).kind}", lang)


def pick(months: list[str], lang: str, page: str, *, gran_container: Any = None, period_container: Any = None,
         grans: tuple[str, ...] = KINDS) -> str | None:
    """The granularity control (月/季/年) and the period picker; returns the period chosen, kept in the URL."""
    if not months:
        return None
    current = state.get("period")
    wanted = Period.parse_or_none(current)
    start = wanted.kind if wanted else grans[0]
    if start not in grans:
        start = grans[0]
    where = gran_container if gran_container is not None else st
    gran = where.segmented_control(t("period.granularity", lang), list(grans), default=start, required=True,
                                   format_func=lambda g: t(f"period.{g}", lang), key=f"w_{page}_granularity")
    gran = gran if gran in grans else start
    options = periods_holding(months, gran)
    return state.select(t(f"period.pick.{gran}", lang), options, "period", page=page, container=period_container,
                        default=convert(current, gran, months))


def pick_month(label: str, months: list[str], lang: str, page: str, container: Any = None) -> tuple[str | None, str | None]:
    """For a page that shows months only: the month picker, opening on the URL's period (a quarter or a year opens
    on its newest month with data), and a note saying so when the URL carried a quarter or year."""
    incoming = state.get("period")
    month = state.select(label, months, "period", page=page, container=container, default=convert(incoming, "month", months))
    wanted = Period.parse_or_none(incoming)
    if month is None or wanted is None or wanted.kind == "month":
        return month, None
    return month, t("period.monthly_only", lang, period=incoming, month=month)
