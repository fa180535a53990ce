"""Counting and refusing at the gate: unknown row counts, files with every row rejected, and the contract's limits
(text length, column count, the instants the calendar serves, XLSX rows), each bad file generated here."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import case_row, export_schema, ts, write_export
from typer.testing import CliRunner

from dashboard.cli import app
from dashboard.core import ingest as gate
from dashboard.core.contract import TABLES, reason_text
from dashboard.core.db import connect
from dashboard.core.ingest import readers

runner = CliRunner()


def by_name(report: gate.RunReport) -> dict[str, gate.FileReport]:
    return {f.source_file: f for f in report.files}


def quarantined_rows(lake) -> list[dict]:
    wh = connect(lake)
    try:
        return wh.query("SELECT source_file, source_row, reason, \"column\", detail, raw FROM quarantine_rows "
                        "ORDER BY source_file, source_row").to_pylist()
    finally:
        wh.close()


def ingest_json(*paths: Path):
    res = runner.invoke(app, ["ingest", *map(str, paths), "--json"])
    return res.exit_code, json.loads(res.output)


def test_an_unreadable_file_has_unknown_rows_in_the_summary_and_null_in_json(lake, units_file):
    bad = units_file.parent / "cases_2025-06.parquet"
    bad.write_bytes(b"PAR1" + b"\x00" * 300)  # a Parquet head with no footer: nothing can say how many rows
    res = runner.invoke(app, ["ingest", str(units_file.parent)])
    lines = res.output.splitlines()
    assert res.exit_code == 1, res.output
    [line] = [x for x in lines if " cases_2025-06.parquet " in x]
    assert line.startswith("✗") and "(unreadable: Parquet" in line and line.endswith("; rows: unknown")
    # The units file's 2 rows are counted; the unreadable file's are not, on either side of the equation.
    assert "rows in 2 + unknown (1 file not counted) = accepted 2 + quarantined 0 + unknown" in lines[-1]
    assert " 0 in" not in res.output

    code, d = ingest_json(bad)  # a second run: same file, same answer, now as JSON
    [f] = d["file_reports"]
    assert (code, f["status"], f["reason"], f["rows_in"], d["rows_unknown_files"]) == (1, "quarantined",
                                                                                      "unreadable", None, 1)
    # The ingest log keeps the unknown count as null too.
    log = connect(lake).query("SELECT rows_in FROM ingest_log WHERE source_file = 'cases_2025-06.parquet'")
    assert log.to_pylist() == [{"rows_in": None}, {"rows_in": None}]


def test_a_file_with_every_row_rejected_fails_the_run_like_a_quarantined_file(lake, units_file):
    runner.invoke(app, ["ingest", str(units_file)])
    all_bad = write_export(units_file.parent / "evaluations_2025-06.parquet", "evaluations", [
        {"eval_id": f"E{i}", "unit_code": "U001", "rated_at": ts(2025, 6, 4, 9), "rating": 9} for i in range(3)])
    code, d = ingest_json(all_bad)
    [f] = d["file_reports"]
    # Status stays "partial" (its rows are each quarantined with a reason); the exit code says the file failed.
    assert (f["status"], f["rows_in"], f["rows_accepted"], f["rows_quarantined"]) == ("partial", 3, 0, 3)
    assert (code, d["failed_files"]) == (1, 1)

    # One good row among bad ones: a partial file that delivered rows, which the run accepts (exit 0).
    some_good = write_export(units_file.parent / "evaluations_2025-07.parquet", "evaluations", [
        {"eval_id": "E10", "unit_code": "U001", "rated_at": ts(2025, 7, 4, 9), "rating": 5},
        {"eval_id": "E11", "unit_code": "U001", "rated_at": ts(2025, 7, 4, 9), "rating": 9}])
    code, d = ingest_json(some_good)
    [f] = d["file_reports"]
    assert (code, f["status"], f["rows_accepted"], d["failed_files"]) == (0, "partial", 1, 0)

    # A header-only file has no rows to reject: accepted, not failed.
    empty = write_export(units_file.parent / "evaluations_2025-08.parquet", "evaluations", [])
    code, d = ingest_json(empty)
    assert (code, d["file_reports"][0]["status"], d["file_reports"][0]["rows_in"]) == (0, "accepted", 0)


def test_text_longer_than_its_column_allows_quarantines_the_row_naming_the_column(lake, units_file):
    rows = [
        case_row(1, item_name="名" * 200),  # exactly the name limit: accepted
        case_row(2, item_name="名" * 201),
        case_row(3, window_code="W" * 64),  # exactly the code limit: accepted
        case_row(4, window_code="W" * 65),
        case_row(5, item_name="x" * (10 << 20)),  # the 10 MiB name of the issue
    ]
    src = write_export(units_file.parent / "cases_2025-06.parquet", "cases", rows)
    rep = by_name(gate.ingest([units_file, src], lake))[src.name]
    assert (rep.status, rep.rows_in, rep.rows_accepted, rep.rows_quarantined) == ("partial", 5, 2, 3)
    assert rep.reasons == {"too_long": 3}
    q = quarantined_rows(lake)
    assert [(r["source_row"], r["reason"], r["column"]) for r in q] == [
        (2, "too_long", "item_name"), (4, "too_long", "window_code"), (5, "too_long", "item_name")]
    assert q[0]["detail"] == "item_name has 201 characters; at most 200 are allowed"
    assert q[2]["detail"] == f"item_name has {10 << 20:,} characters; at most 200 are allowed"
    # Quarantine keeps the text cut at the limit (200 + "..."), not the megabytes.
    assert json.loads(q[2]["raw"])["item_name"] == "x" * 200 + "..."
    accepted = connect(lake).query("SELECT case_id, length(item_name) AS n FROM cases ORDER BY case_id")
    assert accepted.to_pylist() == [{"case_id": "AJ00000000000001", "n": 200},
                                    {"case_id": "AJ00000000000003", "n": 8}]  # 营业执照设立登记


def test_every_text_column_has_a_limit_by_kind():
    limits = {(t, c.name): c.max_chars for t, tab in TABLES.items() for c in tab.columns if pa.types.is_string(c.type)}
    assert None not in limits.values()
    assert (limits["units", "name"], limits["cases", "unit_code"], limits["events", "note"]) == (200, 64, 2000)
    assert limits["manual_scores", "reason"] == limits["evaluations", "bad_tags"] == 2000
    assert limits["cases", "applicant_id_number"] == 64


@pytest.mark.parametrize("extra, refused", [(200, False), (201, True)])
def test_a_parquet_with_too_many_columns_is_refused_whole(lake, units_file, extra, refused):
    base = pa.Table.from_pylist([case_row(i) for i in range(3)], schema=export_schema("cases"))
    for j in range(extra):
        base = base.append_column(f"x{j}", pa.array(["v"] * 3))
    src = units_file.parent / "cases_2025-06.parquet"
    pq.write_table(base, src)
    rep = by_name(gate.ingest([units_file, src], lake))[src.name]
    if refused:
        # 23 contract columns + 201 = 224 > 23 + 200; the footer still says how many rows were refused.
        assert (rep.status, rep.reason, rep.rows_in, rep.rows_quarantined) == ("quarantined", "too_many_columns", 3, 3)
        assert rep.detail.startswith("224 columns; a cases file may have at most 223")
    else:
        assert (rep.status, rep.rows_accepted) == ("accepted", 3)
        assert rep.notes[0].startswith("extra_columns_dropped: x0, x1")


def test_a_csv_with_3000_extra_columns_is_refused_before_it_is_parsed(lake, units_file):
    header = ["eval_id", "unit_code", "rated_at", "rating"] + [f"c{j}" for j in range(3000)]
    row = ["E1", "U001", "2025-06-03 10:00:00", "5"] + [""] * 3000
    src = units_file.parent / "evaluations_2025-06.csv"
    src.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    code, d = ingest_json(units_file, src)
    f = {r["source_file"]: r for r in d["file_reports"]}[src.name]
    assert (code, f["status"], f["reason"], f["rows_in"]) == (1, "quarantined", "too_many_columns", None)
    assert f["detail"].startswith("3,004 columns")


def test_an_instant_outside_the_served_years_quarantines_the_row_and_the_build_still_runs(lake, units_file):
    from dashboard.core import marts

    rows = [
        case_row(1),
        case_row(2, accepted_at=ts(1970, 1, 1, 8)),  # the 1970 accepted_at
        case_row(3, accepted_at=ts(1999, 12, 31, 23, 59, 59)),  # one second before 2000 in Beijing
        case_row(4, updated_at=ts(1999, 6, 1)),  # any instant column, not only the partition one
    ]
    src = write_export(units_file.parent / "cases_2025-06.parquet", "cases", rows)
    rep = by_name(gate.ingest([units_file, src], lake))[src.name]
    assert (rep.rows_in, rep.rows_accepted, rep.rows_quarantined) == (4, 1, 3)
    assert rep.reasons == {"date_out_of_range": 3}
    assert [(r["source_row"], r["column"]) for r in quarantined_rows(lake)] == [
        (2, "accepted_at"), (3, "accepted_at"), (4, "updated_at")]
    marts.build(lake)  # a row from 1970 in the warehouse would have stopped this
    assert connect(lake).query("SELECT count(*) AS n FROM cases").to_pylist() == [{"n": 1}]


def _xlsx(path: Path, n: int, *, hide_dimension: bool = False) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    for j, h in enumerate(["eval_id", "unit_code", "rated_at", "rating"]):
        ws.write(0, j, h)
    for i in range(1, n + 1):
        for j, v in enumerate([f"E{i}", "U001", "2025-06-03 10:00:00", 5]):
            ws.write(i, j, v)
    wb.close()
    if hide_dimension:
        # A bomb need not declare its size: claim a single cell, keep every row.
        with zipfile.ZipFile(path) as z:
            parts = {name: z.read(name) for name in z.namelist()}
        sheet = "xl/worksheets/sheet1.xml"
        parts[sheet] = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1"/>', parts[sheet])
        assert b'<dimension ref="A1"/>' in parts[sheet]
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in parts.items():
                z.writestr(name, data)
    return path


@pytest.mark.parametrize("hide_dimension", [False, True])
def test_an_xlsx_past_the_row_limit_is_refused_without_loading_it(lake, tmp_path, monkeypatch, hide_dimension):
    monkeypatch.setattr(readers, "XLSX_MAX_ROWS", 5)
    loaded = []
    monkeypatch.setattr(readers, "_string_table_from_xlsx", lambda *a: loaded.append(a) or pa.table({}))
    over = _xlsx(tmp_path / "evaluations_2025-06.xlsx", 6, hide_dimension=hide_dimension)
    with pytest.raises(gate.FileRejected) as e:
        readers.check_xlsx_rows(over, 0)
    assert e.value.reason == "too_many_rows" and "at most 5 are read from an XLSX" in e.value.detail
    assert loaded == []


def test_the_xlsx_row_limit_through_the_gate(lake, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "XLSX_MAX_ROWS", 5)
    folder = tmp_path / "in"
    folder.mkdir()
    at_limit = _xlsx(folder / "evaluations_2025-06.xlsx", 5)
    over = _xlsx(folder / "evaluations_2025-07.xlsx", 6, hide_dimension=True)
    # The gate runs files in worker processes, which import the module afresh: run in this process instead.
    monkeypatch.setattr("dashboard.core.ingest.run.Pool", _InlinePool)
    reps = by_name(gate.ingest([folder], lake))
    assert (reps[at_limit.name].status, reps[at_limit.name].rows_accepted) == ("accepted", 5)
    assert (reps[over.name].status, reps[over.name].reason, reps[over.name].rows_in) == \
        ("quarantined", "too_many_rows", None)


class _InlinePool:
    """A pool that runs each job in this process, so a monkeypatched limit applies."""

    def __init__(self, worker: str, n: int):
        self.done: list = []

    def has_room(self) -> bool:
        return True

    def busy(self) -> bool:
        return bool(self.done)

    def submit(self, job, tag):
        from dashboard.core.ingest.pool import Finished, run_job

        self.done.append(Finished(tag=tag, result=run_job(gate.process_file, job), exitcode=0, seconds=0.0))

    def wait(self):
        done, self.done = self.done, []
        return done

    def close(self) -> None:
        pass


def test_new_reasons_have_texts_in_both_languages():
    for code in ("too_long", "date_out_of_range", "too_many_columns", "too_many_rows"):
        zh, en = reason_text(code, "zh"), reason_text(code, "en")
        assert code not in (zh, en) and zh != en


def test_an_unbalanced_quote_counts_every_line_it_swallowed(lake, units_file):
    lines = ["eval_id,unit_code,rated_at,rating"] + [f"E{i},U001,2025-06-03 10:00:00,5" for i in range(1, 301)]
    lines[5] = 'E5,"U001,2025-06-03 10:00:00,5'  # data row 5 opens a quote that is never closed
    src = units_file.parent / "evaluations_2025-06.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rep = by_name(gate.ingest([units_file, src], lake))[src.name]
    # 300 data lines: rows 1–4 parse; row 5 and the 295 lines after it are inside the open quote.
    assert (rep.rows_in, rep.rows_accepted, rep.rows_quarantined) == (300, 4, 296)
    assert rep.reasons == {"malformed_row": 296}
    q = quarantined_rows(lake)
    assert [r["source_row"] for r in q] == list(range(5, 301))
    assert q[0]["detail"] == "expected 4 fields, got 2; a quote left open here runs over 296 lines"
    assert q[-1]["detail"] == "line taken into the quote left open in row 5"


@pytest.mark.parametrize("chunk", [1, 3, 7, 16, 17, 1 << 20])
def test_row_tags_are_counted_whatever_the_chunk_boundaries(chunk):
    # 4,999 rows written out, and an element whose name only starts with "row" (not a row).
    xml = b"<sheetData>" + b"".join(b'<row r="%d"><c/></row>' % i for i in range(1, 5000)) + b"</sheetData>" \
        + b"<rowBreaks/>"

    class Chunked(io.BytesIO):
        def read(self, n=-1):
            return super().read(chunk)

    assert readers.count_row_tags(Chunked(xml), 10_000) == 4999
    assert readers.count_row_tags(Chunked(xml), 10) <= 4999  # stops early, never over-counts
