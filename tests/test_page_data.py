"""The data page: freshness against `SELECT count(*)` of every warehouse view, the ingest log and the quarantine
against their files read directly (and never the quarantined rows' values), and an upload through the browser
widget into the gate, then a rebuild; plus the freshness helpers."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import streamlit as st
from conftest import UNITS, case_row, export_schema
from streamlit.testing.v1 import AppTest

from dashboard.core import freshness
from dashboard.core.contract import REASONS, TABLES
from dashboard.core.db import REPO_ROOT, connect
from dashboard.core.period import BEIJING
from dashboard.core.text import t

APP = str(REPO_ROOT / "dashboard" / "app.py")
PAGE = "app_pages/data.py"
FRESH = {k: t(f"data_page.fresh.{k}", "zh") for k in ("table", "rows", "newest")}
LOG = {k: t(f"data_page.log.{k}", "zh") for k in ("file", "table", "status", "rows_in", "accepted", "quarantined", "why")}
QUARANTINE = {k: t(f"data_page.quarantine.{k}", "zh")
              for k in ("level", "reason", "code", "count", "source_row", "detail", "row", "file")}
STATUS = {k: t(f"data_page.status.{k}", "zh") for k in ("accepted", "partial", "quarantined")}


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _open(root, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("HALL_DATA", str(root))
    at = AppTest.from_file(APP, default_timeout=180)
    # The data page is the hall office's (demo mode: the role switcher stands in for sign-in).
    at.session_state["auth_demo_role"] = "office"
    at.query_params.update(query)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frame(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_freshness_rows_are_the_warehouse_views_counts(demo_lake, monkeypatch):
    at = _open(demo_lake.root, monkeypatch)
    table = _frame(at, FRESH["newest"])
    wh = connect(demo_lake)
    for name, spec in TABLES.items():
        want = wh.query(f'SELECT count(*) AS n FROM "{name}_versions"').column("n")[0].as_py()
        row = table[table[FRESH["table"]] == f"{spec.zh} ({name})"]
        assert row[FRESH["rows"]].item() == want, name
    cases = table[table[FRESH["table"]] == "办件 (cases)"]
    newest = max(r["accepted_at"] for r in pq.read_table(demo_lake.table_dir("cases")).to_pylist())
    assert cases[FRESH["newest"]].item() == newest.astimezone(BEIJING).strftime("%Y-%m") == "2025-06"
    assert table[table[FRESH["table"]] == "单位 (units)"][FRESH["newest"]].item() == t("data_page.fresh.not_monthly", "zh")
    # Built after the last ingest: no call to rebuild.
    assert not at.main.warning


def test_ingest_log_and_quarantine_from_their_files_without_row_contents(demo_lake, monkeypatch):
    at = _open(demo_lake.root, monkeypatch)
    log = pa.concat_tables(pq.read_table(p) for p in sorted(demo_lake.ingest_log.glob("*.parquet"))).to_pylist()
    shown = _frame(at, LOG["rows_in"])
    assert len(shown) == len(log)
    assert sorted(shown[LOG["file"]]) == sorted(r["source_file"] for r in log)
    assert shown[LOG["accepted"]].sum() == sum(r["rows_accepted"] for r in log)
    assert shown[LOG["quarantined"]].sum() == sum(r["rows_quarantined"] for r in log)

    q = pa.concat_tables(pq.read_table(p) for p in sorted((demo_lake.quarantine / "rows").glob("*/*.parquet")))
    q = q.to_pylist()
    counts = _frame(at, QUARANTINE["code"])
    got = {(r[LOG["table"]], r[QUARANTINE["code"]]): r[QUARANTINE["count"]] for r in counts.to_dict("records")
           if r[QUARANTINE["level"]] == QUARANTINE["row"]}
    assert got == dict(Counter((r["table"], r["reason"]) for r in q))
    for r in counts.to_dict("records"):
        assert r[QUARANTINE["reason"]] == REASONS[r[QUARANTINE["code"]]][0]

    sample = _frame(at, QUARANTINE["source_row"])
    assert len(sample) == min(len(q), freshness.SAMPLE_LIMIT)
    assert "raw" not in sample.columns
    raws = {r["raw"] for r in q if r["raw"]}
    assert not any(cell in raws for col in sample.columns for cell in sample[col].astype(str))
    assert not any("{" in str(cell) for cell in sample[QUARANTINE["detail"]])


def test_quarantine_sample_of_one_reason_from_the_url(demo_lake, monkeypatch):
    at = _open(demo_lake.root, monkeypatch, reason="unknown_unit", lang="en")
    assert at.selectbox(key="w_data_reason").value == "unknown_unit"
    sample = _frame(at, t("data_page.quarantine.source_row", "en"))
    assert len(sample) > 0
    assert set(sample[t("data_page.quarantine.reason", "en")]) == {REASONS["unknown_unit"][1]}


def _parquet_bytes(table: str, rows: list[dict]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=export_schema(table)), buf)
    return buf.getvalue()


@pytest.mark.slow  # runs the gate's worker processes
def test_upload_goes_through_the_gate_then_a_rebuild(lake, monkeypatch):
    at = _open(lake.root, monkeypatch)
    assert at.info  # nothing built yet
    cases = [case_row(i) for i in range(1, 6)] + [case_row(6, unit_code="U999")]
    at.file_uploader(key="data_upload").set_value([
        ("units.parquet", _parquet_bytes("units", UNITS), "application/octet-stream"),
        ("cases_2025-06.parquet", _parquet_bytes("cases", cases), "application/octet-stream"),
        ("notes.csv", b"a,b\n1,2\n", "text/csv"),
    ]).run()
    at.button(key="data_upload_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics[STATUS["accepted"]], metrics[STATUS["partial"]], metrics[STATUS["quarantined"]]) == ("1", "1", "1")
    assert metrics[t("data_page.upload.rows", "zh")] == f"{len(UNITS) + 5}"
    result = _frame(at, LOG["why"])
    assert dict(zip(result[LOG["file"]], result[LOG["status"]], strict=True)) == {
        "units.parquet": STATUS["accepted"], "cases_2025-06.parquet": STATUS["partial"],
        "notes.csv": STATUS["quarantined"]}
    assert t("data_page.upload.next", "zh") in [i.value for i in at.info]
    # The uploaded exports (with applicants' details) are not kept; the gate stored what it accepted.
    assert not any((lake.root / "demo" / "uploads").rglob("*.*"))
    wh = connect(lake)
    assert wh.query("SELECT count(*) AS n FROM cases").column("n")[0].as_py() == 5
    assert "王小明" not in str(wh.query("SELECT * FROM cases").to_pylist())
    fresh = _frame(at, FRESH["newest"])
    assert fresh[fresh[FRESH["table"]] == "办件 (cases)"][FRESH["rows"]].item() == 5
    assert at.main.warning  # ingested after the (absent) build

    at.button(key="data_build_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # The number of marts and the seconds taken are the build's own; the sentence up to them is the catalog's.
    assert any(s.value.startswith(t("data_page.build.done", "zh").partition("{")[0]) for s in at.success)
    assert (lake.marts / "unit_month.parquet").exists()
    assert not at.main.warning
    # The quarantined row is listed by reason, and the unknown file by its file reason.
    counts = _frame(at, QUARANTINE["code"])
    got = {(r[QUARANTINE["level"]], r[QUARANTINE["code"]]): r[QUARANTINE["count"]] for r in counts.to_dict("records")}
    assert got == {(QUARANTINE["row"], "unknown_unit"): 1, (QUARANTINE["file"], "unknown_table"): 1}


# ------------------------------------------------------------------------------------------- core helpers


def test_needs_build():
    t1 = dt.datetime(2025, 7, 1, 9, 0, tzinfo=BEIJING)
    assert not freshness.needs_build([None, None], None)
    assert freshness.needs_build([t1], None)
    assert freshness.needs_build([t1, None], "2025-07-01T08:59:59+08:00")
    assert not freshness.needs_build([t1], "2025-07-01T09:00:00+08:00")
    # A naive stamp is Beijing time; an aware one in UTC compares by the instant.
    assert not freshness.needs_build([t1], "2025-07-01T01:00:00+00:00")
    assert not freshness.needs_build(["2025-07-01T09:00:00"], "2025-07-01T09:00:00+08:00")


def test_status_counts_reason_and_notes_text():
    assert freshness.status_counts([{"status": "partial"}, {"status": "accepted"}, {"status": "partial"}]) == {
        "accepted": 1, "partial": 2, "quarantined": 0, "skipped": 0}
    assert freshness.reason_text("unknown_unit", "zh") == "单位编码不在单位表中"
    assert freshness.reason_text("empty_file", "en") == "The file is empty"
    assert freshness.reason_text("something_new", "en") == "something_new"
    assert freshness.notes_text("extra_columns_dropped: x, y; units_not_loaded", "en") == (
        "Columns outside the contract were not stored: x, y; No units table loaded yet, so unit codes were not checked")


def test_build_rows_and_scoped_freshness(demo_lake):
    info = {"facts": {"fact_cases": 3}, "marts": {"unit_month": 2}}
    assert freshness.build_rows(info) == [{"kind": "fact", "name": "fact_cases", "rows": 3},
                                          {"kind": "mart", "name": "unit_month", "rows": 2}]
    wh = connect(demo_lake)
    scoped = {r["table"]: r for r in freshness.table_freshness(wh, ("U001",))}
    want = wh.query("SELECT count(*) AS n FROM cases_versions WHERE unit_code = 'U001'").column("n")[0].as_py()
    assert scoped["cases"]["rows"] == want and scoped["cases"]["scoped"]
    assert scoped["units"]["scoped"] and scoped["units"]["rows"] == 1
    assert not scoped["calendar_overrides"]["scoped"]
