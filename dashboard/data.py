"""The dashboard's data layer: the only module that caches; every call carries the user's unit scope."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import polars as pl
import streamlit as st

from dashboard.core import marts
from dashboard.core.db import Lake, Warehouse, connect

Scope = tuple[str, ...] | None
# Marts change only on `hall build`, and every cache key also carries the mart files' stamps, so a rebuild
# is seen at once; the TTL only bounds memory held for months nobody looks at any more.
_TTL = "1h"
# (file name, mtime_ns, size) of every mart file.
_Stamp = tuple[tuple[str, int, int], ...]


class AsOf(TypedDict, total=False):
    """Freshness of the marts: when they were built, the newest month in scope, cases behind them."""

    built_at: str
    latest_period: str | None
    cases_rows: int
    options: dict


def _norm(scope: Scope) -> Scope:
    # One cache entry per set of units, whatever order the caller listed them in.
    return None if scope is None else tuple(sorted(set(scope)))


def _stamp(lake: Lake) -> _Stamp:
    out = []
    for path in sorted(lake.marts.glob("*.parquet")):
        try:
            st_ = path.stat()
        except FileNotFoundError:  # replaced between glob and stat by a concurrent build
            continue
        out.append((path.name, st_.st_mtime_ns, st_.st_size))
    return tuple(out)


@st.cache_resource(show_spinner=False)
def _warehouse(root: str, mart_files: tuple[str, ...]) -> Warehouse:
    # Views are registered at connect time, so a new set of mart files needs a new warehouse; a rebuilt file
    # under the same name is read afresh by its view. Warehouse is thread-safe: a cursor per query.
    return connect(Lake(Path(root)))


def _wh(root: str, stamp: _Stamp) -> Warehouse:
    return _warehouse(root, tuple(name for name, _, _ in stamp))


def _key() -> tuple[str, _Stamp]:
    lake = Lake.default()
    return str(lake.root), _stamp(lake)


@st.cache_data(ttl=_TTL, show_spinner=False)
def _periods(root: str, stamp: _Stamp, scope: Scope) -> list[str]:
    return marts.periods(_wh(root, stamp), scope)


@st.cache_data(ttl=_TTL, show_spinner=False)
def _unit_month(root: str, stamp: _Stamp, period: str, scope: Scope) -> pl.DataFrame:
    return pl.from_arrow(marts.unit_month(_wh(root, stamp), period, scope))


@st.cache_data(ttl=_TTL, show_spinner=False)
def _data_as_of(root: str, stamp: _Stamp, scope: Scope) -> AsOf:
    info = marts.data_as_of(_wh(root, stamp), scope)
    return AsOf(**info) if info else AsOf()


def periods(scope: Scope) -> list[str]:
    """Months with unit data the scope may see, newest first ('YYYY-MM')."""
    root, stamp = _key()
    return _periods(root, stamp, _norm(scope)) if stamp else []


def latest_period(scope: Scope) -> str | None:
    """The newest month with unit data in scope, or None before the first build."""
    p = periods(scope)
    return p[0] if p else None


def unit_month(period: str, scope: Scope) -> pl.DataFrame:
    """One month of the unit_month mart (numerators and denominators per unit), limited to the scope."""
    root, stamp = _key()
    return _unit_month(root, stamp, period, _norm(scope))


def data_as_of(scope: Scope) -> AsOf:
    """When the marts were built, the newest month in scope and the case rows behind them; empty before a build."""
    root, stamp = _key()
    return _data_as_of(root, stamp, _norm(scope)) if stamp else AsOf()


def _rules_stamp() -> tuple[tuple[str, int], ...]:
    # An edited ruleset file changes the scores: its name and mtime join every cache key that scores.
    from dashboard.core.rules.loader import ruleset_files

    return tuple((str(p), p.stat().st_mtime_ns) for p in ruleset_files())


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=64)
def _monthly_rulesets(period: str, rules: tuple) -> list[str]:
    from dashboard.core.rules.loader import RulesError, find, ruleset_files

    out = []
    for path in ruleset_files():
        try:
            rs = find(path.parent.name, period).ruleset
        except RulesError:
            continue
        if rs.period == "month" and rs.subject == "unit" and rs.id not in out:
            out.append(rs.id)
    return out


def monthly_rulesets(period: str) -> list[str]:
    """Ids of the monthly unit rulesets in force for the month (what a bulletin can be issued under)."""
    return _monthly_rulesets(period, _rules_stamp())


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=32)
def _bulletin(root: str, stamp: _Stamp, rules: tuple, period: str, ruleset: str, lang: str, scope: Scope):
    from dashboard.core import bulletin as core_bulletin

    return core_bulletin.build(_wh(root, stamp), period, ruleset, lang, scope)


def bulletin(period: str, ruleset: str, lang: str, scope: Scope):
    """The month's bulletin content (ranking, 红黑榜, breaches, deductions) for the scope, in one language."""
    root, stamp = _key()
    return _bulletin(root, stamp, _rules_stamp(), period, ruleset, lang, _norm(scope))


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=16)
def _bulletin_files(root: str, stamp: _Stamp, rules: tuple, period: str, ruleset: str, lang: str,
                    scope: Scope) -> tuple[bytes, bytes]:
    from dashboard.core import report

    b = _bulletin(root, stamp, rules, period, ruleset, lang, scope)
    return report.to_xlsx(b), report.to_pdf(b)[0]


def bulletin_files(period: str, ruleset: str, lang: str, scope: Scope) -> tuple[bytes, bytes]:
    """The bulletin as (XLSX, PDF) bytes, built once per month, ruleset, language and scope."""
    root, stamp = _key()
    return _bulletin_files(root, stamp, _rules_stamp(), period, ruleset, lang, _norm(scope))


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=64)
def _scores(root: str, stamp: _Stamp, rules: tuple, ruleset: str, period: str, scope: Scope):
    from dashboard.core import scoring

    s = scoring.score(_wh(root, stamp), ruleset, period, scope)
    return pl.from_arrow(s.results), pl.from_arrow(s.items), pl.from_arrow(s.lines)


def scores(ruleset: str, period: str, scope: Scope) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(results, score_items, score_lines) of a ruleset over a period, limited to the scope (ranks hall-wide)."""
    root, stamp = _key()
    return _scores(root, stamp, _rules_stamp(), ruleset, period, _norm(scope))


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=256)
def _slice(root: str, stamp: _Stamp, grain: str, period: str, scope: Scope, unit: str | None) -> pl.DataFrame:
    return pl.from_arrow(marts.slice_mart(_wh(root, stamp), grain, period, scope, unit))


def mart_slice(grain: str, period: str, scope: Scope, unit: str | None = None) -> pl.DataFrame:
    """A grain's rows for a month, quarter or year (Σnum/Σden over months), limited to the scope and a unit."""
    root, stamp = _key()
    return _slice(root, stamp, grain, period, _norm(scope), unit)


def all_rulesets() -> list[str]:
    """Every ruleset id shipped, sorted."""
    from dashboard.core.rules.loader import ruleset_files

    return sorted({p.parent.name for p in ruleset_files()})
