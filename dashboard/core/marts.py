"""Marts (指标汇总表): run queries/*.sql over the warehouse and write one Parquet file per grain."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.core.calendar import CalendarError, WorkCalendar
from dashboard.core.db import REPO_ROOT, Lake, Warehouse, connect

QUERIES = REPO_ROOT / "queries"
BUILD_INFO = "_build.json"
# Sort keys per grain: marts are read by period and unit, so files are laid out that way.
ORDER = {"unit_month": "period, unit_code"}


@dataclass
class BuildSummary:
    """What one `hall build` produced."""

    marts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def query_files() -> list[Path]:
    """The mart queries, in build order (alphabetical for now; no mart reads another yet)."""
    return sorted(QUERIES.glob("*.sql"))


def write_calendar(lake: Lake) -> int:
    """Write the working-day calendar (工作日历) the queries join against; returns its row count."""
    cal = WorkCalendar(lake.calendar_overrides)
    table = cal.table()
    lake.lake.mkdir(parents=True, exist_ok=True)
    tmp = lake.lake / "calendar.parquet.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, lake.lake / "calendar.parquet")
    return table.num_rows


def build(lake: Lake | None = None, progress: Callable[[str, int, int], None] | None = None) -> BuildSummary:
    """Build every mart from the warehouse; each file is replaced atomically."""
    lake = lake or Lake.default()
    t0 = time.perf_counter()
    write_calendar(lake)
    lake.marts.mkdir(parents=True, exist_ok=True)
    # A bounded build spills to the lake's temp folder instead of growing with the warehouse.
    wh = connect(lake, memory_limit=os.environ.get("HALL_BUILD_MEMORY", "4GB"))
    summary = BuildSummary()
    files = query_files()
    try:
        _check_calendar(wh)
        for i, path in enumerate(files):
            name = path.stem
            if progress:
                progress(name, i, len(files))
            table = wh.query(f"SELECT * FROM ({path.read_text(encoding='utf-8')}) ORDER BY {ORDER.get(name, 'ALL')}")
            tmp = lake.marts / f".{name}.parquet.tmp"
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, lake.marts / f"{name}.parquet")
            summary.marts[name] = table.num_rows
    finally:
        wh.close()
    summary.seconds = time.perf_counter() - t0
    info = {
        "built_at": dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds"),
        "marts": summary.marts,
        }
    (lake.marts / BUILD_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    if progress:
        progress("done", len(files), len(files))
    return summary


def _check_calendar(wh: Warehouse) -> None:
    """Refuse to build when a deadline needs working days from a year without a published schedule."""
    row = wh.query((QUERIES / "checks" / "calendar_coverage.sql").read_text(encoding="utf-8")).to_pylist()[0]
    if row["cases"]:
        raise CalendarError(
            f"{row['cases']:,} cases (accepted {row['first_accepted']} – {row['last_accepted']}, e.g. "
            f"{row['example_case']}) need working days in a year without a published holiday schedule; add that "
            "year to the calendar override file (published_years and [[day]] entries) and build again"
        )


def _scope_clause(scope: tuple[str, ...] | None) -> tuple[str, list]:
    if scope is None:
        return "", []
    return " AND unit_code IN (SELECT unnest(?::VARCHAR[]))", [list(scope)]


def _has_mart(wh: Warehouse, name: str) -> bool:
    return (wh.lake.marts / f"{name}.parquet").exists()


def periods(wh: Warehouse, scope: tuple[str, ...] | None) -> list[str]:
    """Months that have unit data the scope may see, newest first."""
    if not _has_mart(wh, "unit_month"):
        return []
    clause, params = _scope_clause(scope)
    t = wh.query(f"SELECT DISTINCT period FROM mart_unit_month WHERE true{clause} ORDER BY period DESC", params)
    return t.column("period").to_pylist()


def latest_period(wh: Warehouse, scope: tuple[str, ...] | None) -> str | None:
    """The newest month with data in scope, or None before the first build."""
    p = periods(wh, scope)
    return p[0] if p else None


def unit_month(wh: Warehouse, period: str, scope: tuple[str, ...] | None) -> pa.Table:
    """One month of the unit_month mart, limited to the scope."""
    clause, params = _scope_clause(scope)
    return wh.query(
        f"SELECT * FROM mart_unit_month WHERE period = ?{clause} ORDER BY unit_code", [period, *params]
    )


def data_as_of(wh: Warehouse, scope: tuple[str, ...] | None) -> dict:
    """When the marts were built, the newest month in scope and how many cases in scope stand behind them."""
    path = wh.lake.marts / BUILD_INFO
    if not path.exists():
        return {}
    info = json.loads(path.read_text(encoding="utf-8"))
    clause, params = _scope_clause(scope)
    t = wh.query(f"SELECT coalesce(sum(cases_accepted), 0)::BIGINT AS n FROM mart_unit_month WHERE true{clause}", params)
    return {"built_at": info["built_at"], "latest_period": latest_period(wh, scope),
            "cases_rows": t.column("n")[0].as_py()}
