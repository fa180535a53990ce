"""One unit's detail: its score explained line by line, the months of its history, and its recorded events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from dashboard.core.contract import load_catalog
from dashboard.core.db import Warehouse
from dashboard.core.marts import scope_clause
from dashboard.core.period import BEIJING, Period
from dashboard.core.text import pick

_CENT = Decimal("0.01")
# The columns a unit's event list shows: never the free-text note or who recorded it (personal data).
EVENT_COLUMNS = ("occurred_at", "event_type", "name_zh", "name_en", "kind", "level", "severity", "count", "status")


@dataclass(frozen=True)
class Line:
    """One score line of a subject: id, names, points (exact, as scored)."""

    line: str
    order: int
    name_zh: str
    name_en: str
    points: Decimal

    def name(self, lang: str) -> str:
        return pick(self.name_zh, self.name_en, lang)


def points_text(value: Decimal, signed: bool = True) -> str:
    """Points with two decimals ("+2.00", "−6.00" as "-6.00"); a value finer than a cent keeps its digits, so the
    lines shown always add up to the total shown."""
    value = Decimal(value)
    shown = value.quantize(_CENT) if value == value.quantize(_CENT) else value.normalize()
    return f"{shown:+}" if signed else f"{shown}"


def lines_of(lines: list[dict], subject: str) -> list[Line]:
    """A subject's score lines in scoring order (base first, adjustments last)."""
    mine = [r for r in lines if r["subject"] == subject]
    mine.sort(key=lambda r: (r["order"], str(r["line"])))
    return [Line(str(r["line"]), int(r["order"]), str(r["name_zh"]), str(r["name_en"]), Decimal(r["points"]))
            for r in mine]


def explained(lines: list[Line]) -> tuple[list[Line], int]:
    """The lines that moved the score (non-zero), and how many lines scored nothing."""
    moved = [ln for ln in lines if ln.points != 0]
    return moved, len(lines) - len(moved)


def history_months(period: str, available: list[str], n: int = 12) -> list[str]:
    """Up to `n` months with data ending at `period`, oldest first."""
    return sorted(p for p in available if p <= period)[-n:]


def month_bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant after) of a month, quarter or year, in Beijing time."""
    p = Period.parse(period)
    return p.start, p.end


def event_types() -> dict[str, dict]:
    """The catalog's event types by code: zh, en, kind."""
    return {e["code"]: e for e in load_catalog()["event_types"]}


def unit_events(wh: Warehouse, unit: str, period: str, scope: tuple[str, ...] | None) -> pa.Table:
    """The hall office's records about a unit in the period (Beijing time), newest first, with the event type's
    catalog names; without notes or recorders."""
    clause, params = scope_clause(scope)
    first, end = month_bounds(period)
    got = wh.query(
        "SELECT occurred_at, event_type, level, severity, count, status FROM events "
        f"WHERE unit_code = ? AND occurred_at >= ? AND occurred_at < ?{clause} "
        "ORDER BY occurred_at DESC, event_type",
        [unit, first, end, *params],
    ).to_pylist()
    catalog = event_types()
    rows = []
    for r in got:
        e = catalog.get(r["event_type"], {})
        when = r["occurred_at"]
        rows.append({
            "occurred_at": when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if when is not None else None,
            "event_type": r["event_type"], "name_zh": e.get("zh", r["event_type"]),
            "name_en": e.get("en", r["event_type"]), "kind": e.get("kind"), "level": r["level"],
            "severity": r["severity"], "count": r["count"], "status": r["status"],
        })
    schema = pa.schema([("occurred_at", pa.string()), ("event_type", pa.string()), ("name_zh", pa.string()),
                        ("name_en", pa.string()), ("kind", pa.string()), ("level", pa.string()),
                        ("severity", pa.int32()), ("count", pa.int32()), ("status", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)
