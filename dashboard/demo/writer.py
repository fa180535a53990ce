"""Writing the exports (Parquet per table and month, the first month's cases as Chinese-header XLSX) and
`generate`, which runs the whole 24 months."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xlsxwriter

from dashboard.core.calendar import CalendarError, WorkCalendar
from dashboard.core.contract import (
    TABLES,
)
from dashboard.demo.arrays import _add_months, _ym
from dashboard.demo.events import _manual_scores
from dashboard.demo.hall import _Ctx, _dims, _People, _profile
from dashboard.demo.month import _month
from dashboard.demo.plan import CASES_ZH, GAP_MONTHS, GAP_UNIT, MONTHS, ROW_GROUP, UTC_OFFSET, XLSX_ROWS


@dataclass
class DemoSummary:
    """What `generate` wrote: folder, file names, rows per table, months covered and seconds taken."""

    out_dir: Path
    files: list[str]
    rows: dict[str, int]
    months: list[str]
    seconds: float


# ----------------------------------------------------------------------------------------------- writing


def _schema(name: str) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.type) for c in TABLES[name].columns])


def _write(table: pa.Table, path: Path, name: str) -> None:
    pq.write_table(table.select(TABLES[name].names).cast(_schema(name)), path, compression="zstd",
                   row_group_size=ROW_GROUP)


def _concat(parts: list[pa.Table], name: str) -> pa.Table:
    return pa.concat_tables(parts) if parts else _schema(name).empty_table()


def _drop_gap(table: pa.Table, i: int) -> pa.Table:
    if i not in GAP_MONTHS or table.num_rows == 0:
        return table
    return table.filter(pc.not_equal(table["unit_code"], GAP_UNIT))


def _xlsx_cells(a: pa.Array) -> list:
    """One column as the cells an approval system writes: wall-clock text, 是/否, numbers and text."""
    if pa.types.is_timestamp(a.type):
        local = pc.cast(pc.add(a.cast(pa.int64()), UTC_OFFSET * 1_000_000), pa.timestamp("us"))
        return pc.strftime(local.cast(pa.timestamp("s")), "%Y-%m-%d %H:%M:%S").to_pylist()
    if pa.types.is_boolean(a.type):
        return [None if v is None else ("是" if v else "否") for v in a.to_pylist()]
    return a.to_pylist()


def _xlsx(table: pa.Table, path: Path, created: dt.datetime) -> None:
    """办件明细 as the approval system hands it over: Chinese headers, text timestamps, 是/否 flags."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"title": "办件明细", "author": "政务服务一体化平台", "created": created})
    ws = wb.add_worksheet("办件明细")
    names = TABLES["cases"].names
    writers = []
    for j, c in enumerate(names):
        typ = TABLES["cases"].column(c).type
        writers.append(ws.write_number if pa.types.is_integer(typ) else ws.write_string)
        ws.set_column(j, j, 20 if pa.types.is_timestamp(typ) else 14)
        ws.write_string(0, j, CASES_ZH[c])
    r = 1
    # Python objects for a whole month would cost gigabytes at 50M cases: convert a slice at a time.
    for batch in table.select(names).to_batches(max_chunksize=65_536):
        cols = [_xlsx_cells(batch.column(j)) for j in range(len(names))]
        for row in zip(*cols, strict=True):
            for j, v in enumerate(row):
                if v is not None:
                    writers[j](r, j, v)
            r += 1
    wb.close()


def default_end_month(today: dt.date | None = None, cal: WorkCalendar | None = None) -> str:
    """Last calendar month before today, pulled back so that two months after it are in the calendar."""
    today = today or dt.date.today()
    end = _add_months((today.year, today.month), -1)
    top = ((max((cal or WorkCalendar()).years)), 10)
    end = min(end, top)
    return f"{end[0]:04d}-{end[1]:02d}"


def generate(out_dir: Path, *, cases: int = 1_000_000, seed: int = 7, end_month: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> DemoSummary:
    """Write 24 months of demo exports ending at `end_month` into `out_dir`; same arguments, same bytes."""
    t0 = time.perf_counter()
    if cases < 0:
        raise ValueError("cases must be ≥ 0")
    cal = WorkCalendar()
    end = _ym(end_month or default_end_month(cal=cal))
    after = _add_months(end, 2)
    if after[0] not in cal.years or _add_months(end, -MONTHS + 1)[0] not in cal.years:
        raise CalendarError(f"demo data ending {end[0]:04d}-{end[1]:02d} needs the holiday schedule from "
                            f"{_add_months(end, -MONTHS + 1)[0]} to {after[0]}; known years end at {max(cal.years)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = _Ctx(end, cases, cal)
    seeds = np.random.SeedSequence(seed).spawn(MONTHS + 2)
    stamp = ctx.month_start[0]
    dims = _dims(np.random.default_rng(seeds[0]), np.array([stamp]), dt.date(*ctx.months[0], 1))
    prof = _profile(ctx, dims, np.random.default_rng(seeds[MONTHS + 1]))
    people = _People(seed * 1_000_003 + 17, int(cases * 0.75), dims.name_pool)

    files: list[str] = []
    rows: dict[str, int] = {}

    def emit(table: pa.Table, name: str, fname: str) -> None:
        _write(table, out_dir / fname, name)
        files.append(fname)
        rows[name] = rows.get(name, 0) + table.num_rows

    for name, table in (("units", dims.units), ("windows", dims.windows), ("staff", dims.staff),
                        ("items", dims.items)):
        emit(table, name, f"{name}.parquet")

    pending: dict[str, dict[int, list[pa.Table]]] = {t: {} for t in ("cases", "evaluations", "supervision")}
    for i in range(MONTHS):
        mo = _month(ctx, dims, prof, people, i, np.random.default_rng(seeds[i + 1]))
        for name, parts in (("cases", mo.reexports), ("evaluations", mo.evaluations),
                            ("supervision", mo.supervision)):
            for m, t in parts:
                pending[name].setdefault(m, []).append(t)
        label = ctx.labels[i]
        later = pending["cases"].pop(i, [])
        if i == 0:
            first = pa.concat_tables([mo.cases, *later])
            created = dt.datetime.fromtimestamp(int(ctx.export_at[0]), dt.UTC).replace(tzinfo=None)
            # A worksheet holds 1 048 576 rows: bigger months are handed over in numbered parts.
            parts = max(1, -(-first.num_rows // XLSX_ROWS))
            for p in range(parts):
                fname = f"办件明细_{label}.xlsx" if parts == 1 else f"办件明细_{label}_{p + 1}.xlsx"
                _xlsx(first.slice(p * XLSX_ROWS, XLSX_ROWS), out_dir / fname, created)
                files.append(fname)
            rows["cases"] = rows.get("cases", 0) + first.num_rows
        else:
            emit(_drop_gap(pa.concat_tables([mo.cases, *later]), i), "cases", f"cases_{label}.parquet")
        for name in ("evaluations", "supervision"):
            t = _concat(pending[name].pop(i, []), name)
            key = "rated_at" if name == "evaluations" else "issued_at"
            if t.num_rows:
                t = t.take(pc.sort_indices(t, sort_keys=[(key, "ascending")]))
            emit(_drop_gap(t, i), name, f"{name}_{label}.parquet")
        emit(mo.tickets, "tickets", f"tickets_{label}.parquet")
        emit(mo.events, "events", f"events_{label}.parquet")
        if progress is not None:
            progress(i + 1, MONTHS)
    manual = _manual_scores(dims, ctx, np.random.default_rng(seeds[0].spawn(1)[0]))
    if manual.num_rows:
        emit(manual, "manual_scores", "manual_scores.parquet")
    return DemoSummary(out_dir=out_dir, files=files, rows=rows, months=list(ctx.labels),
                       seconds=time.perf_counter() - t0)
