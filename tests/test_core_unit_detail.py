"""dashboard.core.unit_detail: points as shown, the lines that moved a score, history months, month bounds, events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dashboard.core.db import connect
from dashboard.core.unit_detail import (
    EVENT_COLUMNS,
    Line,
    explained,
    history_months,
    lines_of,
    month_bounds,
    points_text,
    unit_events,
)

CST = dt.timezone(dt.timedelta(hours=8))


def test_points_text_two_decimals_unless_finer():
    assert points_text(Decimal("-6.0000")) == "-6.00"
    assert points_text(Decimal("2")) == "+2.00"
    assert points_text(Decimal("100.0000"), signed=False) == "100.00"
    assert points_text(Decimal("0.3333")) == "+0.3333"  # kept, so the shown lines still add up exactly
    assert points_text(Decimal("-0.0050")) == "-0.005"


def test_lines_of_and_explained():
    rows = [{"subject": "U1", "line": "b", "order": 2, "name_zh": "乙", "name_en": "B", "points": Decimal("-1.5")},
            {"subject": "U1", "line": "base", "order": 0, "name_zh": "基础分", "name_en": "Base",
             "points": Decimal("100")},
            {"subject": "U1", "line": "a", "order": 1, "name_zh": "甲", "name_en": "A", "points": Decimal("0")},
            {"subject": "U2", "line": "a", "order": 1, "name_zh": "甲", "name_en": "A", "points": Decimal("5")}]
    lines = lines_of(rows, "U1")
    assert [ln.line for ln in lines] == ["base", "a", "b"]
    moved, zero = explained(lines)
    assert moved == [Line("base", 0, "基础分", "Base", Decimal("100")), Line("b", 2, "乙", "B", Decimal("-1.5"))]
    assert zero == 1 and moved[1].name("en") == "B"


def test_history_months():
    available = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01", "2025-02"]
    assert history_months("2025-02", available) == [*(f"2024-{m:02d}" for m in range(3, 13)), "2025-01", "2025-02"]
    assert history_months("2024-02", available) == ["2024-01", "2024-02"]


def test_month_bounds_are_beijing_time():
    assert month_bounds("2025-12") == (dt.datetime(2025, 12, 1, tzinfo=CST), dt.datetime(2026, 1, 1, tzinfo=CST))
    assert month_bounds("2025-Q2") == (dt.datetime(2025, 4, 1, tzinfo=CST), dt.datetime(2025, 7, 1, tzinfo=CST))


def test_unit_events_scope_and_columns(demo_lake):
    wh = connect(demo_lake)
    got = unit_events(wh, "U001", "2025-06", None)
    assert tuple(got.column_names) == EVENT_COLUMNS
    assert "note" not in got.column_names and "recorded_by" not in got.column_names
    assert all(v.startswith("2025-06") for v in got.column("occurred_at").to_pylist())
    assert got.num_rows > 0 and all(got.column("name_zh").to_pylist())
    assert unit_events(wh, "U001", "2025-06", ("U002",)).num_rows == 0
    assert unit_events(wh, "U001", "2025-06", ("U001", "U002")).num_rows == got.num_rows
