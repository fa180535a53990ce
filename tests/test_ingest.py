"""The ingest gate: one test per bad-input class, accounting, idempotency, versions, personal data."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import case_row, ts, write_export
from pii import scan_lake

from dashboard.core import ingest as gate
from dashboard.core.db import connect

EVAL_MAPPING = """
table = "evaluations"
match = ["评价明细*.csv"]
encoding = "gb18030"
[columns]
"评价编号" = "eval_id"
"办件编号" = "case_id"
"单位编码" = "unit_code"
"评价时间" = "rated_at"
"评价等级" = "rating"
"是否默认评价" = "is_default"
"评价人电话" = "rater_phone"
[values.is_default]
"是" = "true"
"否" = "false"
"""


def run(lake, *paths, **kw) -> gate.RunReport:
    report = gate.ingest(list(paths), lake, **kw)
    for f in report.files:
        if f.rows_in is not None:
            assert f.rows_in == f.rows_accepted + f.rows_quarantined, f
    return report


def by_name(report: gate.RunReport) -> dict[str, gate.FileReport]:
    return {f.source_file: f for f in report.files}


def quarantine(lake) -> list[dict]:
    wh = connect(lake)
    try:
        return wh.query("SELECT * FROM quarantine_rows ORDER BY source_file, source_row").to_pylist()
    finally:
        wh.close()


def warehouse_digest(lake) -> dict[str, str]:
    """Content hash of every warehouse and quarantine file (not the ingest log), by relative path."""
    return {
        str(p.relative_to(lake.lake)): hashlib.sha256(repr(pq.read_table(p).to_pylist()).encode()).hexdigest()
        for p in sorted(lake.lake.rglob("*.parquet")) if "ingest_log" not in p.parts
    }


@pytest.mark.parametrize(
    ("change", "reason", "column"),
    [
        ({"case_id": None}, "missing_id", "case_id"),
        ({"case_id": "  "}, "missing_id", "case_id"),
        ({"completed_at": ts(2025, 6, 2, 8)}, "completed_before_accepted", "completed_at"),
        ({"deadline_at": ts(2025, 5, 30)}, "deadline_before_accepted", "deadline_at"),
        ({"unit_code": "U999"}, "unknown_unit", "unit_code"),
        ({"status": "已办"}, "not_allowed", "status"),
        ({"item_kind": None}, "missing_required", "item_kind"),
        ({"promised_days": -1}, "out_of_range", "promised_days"),
    ],
)
def test_row_rule_sends_the_row_to_quarantine_with_its_reason(lake, units_file, change, reason, column):
    rows = [case_row(1), case_row(2, **change), case_row(3)]
    src = write_export(units_file.parent / "cases_2025-06.parquet", "cases", rows)
    rep = by_name(run(lake, units_file, src))["cases_2025-06.parquet"]
    assert (rep.status, rep.rows_in, rep.rows_accepted, rep.rows_quarantined) == ("partial", 3, 2, 1)
    assert rep.reasons == {reason: 1}
    [q] = quarantine(lake)
    assert (q["reason"], q["column"], q["source_row"]) == (reason, column, 2)


def test_rating_outside_one_to_five_is_quarantined(lake, units_file):
    rows = [{"eval_id": f"E{i}", "unit_code": "U001", "rated_at": ts(2025, 6, 3, 10), "rating": r}
            for i, r in enumerate([5, 9, 0, 1])]
    src = write_export(units_file.parent / "evaluations_2025-06.parquet", "evaluations", rows)
    rep = by_name(run(lake, units_file, src))["evaluations_2025-06.parquet"]
    assert rep.reasons == {"rating_out_of_range": 2}
    assert [q["source_row"] for q in quarantine(lake)] == [2, 3]


def test_float_rating_is_never_rounded(lake, units_file):
    """A Parquet column of doubles where the contract has integers: 4.0 passes, 4.5 is not a 5."""
    t = pa.table({"eval_id": ["E1", "E2"], "unit_code": ["U001", "U001"],
                  "rated_at": pa.array([ts(2025, 6, 3, 10)] * 2, pa.timestamp("us", tz="Asia/Shanghai")),
                  "rating": pa.array([4.0, 4.5])})
    pq.write_table(t, units_file.parent / "evaluations_x.parquet")
    rep = by_name(run(lake, units_file, units_file.parent / "evaluations_x.parquet"))["evaluations_x.parquet"]
    assert rep.reasons == {"bad_value": 1}
    [q] = quarantine(lake)
    assert q["detail"] == "rating=4.5" or q["detail"] == "rating='4.5'" or "4.5" in q["detail"]
    wh = connect(lake)
    assert wh.query("SELECT eval_id, rating FROM evaluations").to_pylist() == [{"eval_id": "E1", "rating": 4}]


def test_truncated_parquet_is_quarantined_whole(lake, units_file):
    good = write_export(units_file.parent / "cases_a.parquet", "cases", [case_row(i) for i in range(50)])
    data = good.read_bytes()
    bad = units_file.parent / "cases_truncated.parquet"
    bad.write_bytes(data[: len(data) // 2])
    good.unlink()
    rep = by_name(run(lake, units_file, bad))["cases_truncated.parquet"]
    assert (rep.status, rep.reason) == ("quarantined", "unreadable")
    wh = connect(lake)
    files = wh.query("SELECT source_file, reason FROM quarantine_files").to_pylist()
    assert files == [{"source_file": "cases_truncated.parquet", "reason": "unreadable"}]
    assert wh.query("SELECT count(*) AS n FROM cases").column("n")[0].as_py() == 0


def test_corrupt_page_rejects_the_whole_file_not_half_of_it(lake, units_file):
    """A file whose footer reads but whose data pages are garbage: nothing from it reaches the warehouse."""
    src = write_export(units_file.parent / "cases_c.parquet", "cases", [case_row(i) for i in range(2000)])
    data = bytearray(src.read_bytes())
    for i in range(200, len(data) // 2):
        data[i] = (data[i] * 7 + 13) % 256
    src.write_bytes(bytes(data))
    rep = by_name(run(lake, units_file, src))["cases_c.parquet"]
    assert rep.status == "quarantined"
    assert rep.reason == "unreadable"
    assert rep.rows_in == 2000 and rep.rows_quarantined == 2000
    assert not list(lake.table_dir("cases").rglob("*.parquet"))


def test_empty_file_is_quarantined(lake, units_file):
    empty = units_file.parent / "cases_empty.parquet"
    empty.write_bytes(b"")
    rep = by_name(run(lake, units_file, empty))["cases_empty.parquet"]
    assert (rep.status, rep.reason, rep.rows_in) == ("quarantined", "empty_file", 0)


def test_unknown_file_name_is_quarantined(lake, units_file):
    other = units_file.parent / "report.parquet"
    shutil.copy(units_file, other)
    rep = by_name(run(lake, other))["report.parquet"]
    assert (rep.status, rep.reason) == ("quarantined", "unknown_table")


def test_missing_required_column_rejects_the_file(lake, units_file):
    t = pa.table({"case_id": ["AJ1"], "unit_code": ["U001"]})
    pq.write_table(t, units_file.parent / "cases_thin.parquet")
    rep = by_name(run(lake, units_file, units_file.parent / "cases_thin.parquet"))["cases_thin.parquet"]
    assert (rep.status, rep.reason) == ("quarantined", "missing_column")
    assert "item_code" in rep.detail and "accepted_at" in rep.detail


def test_column_of_the_wrong_kind_rejects_the_file(lake, units_file):
    t = pa.Table.from_pylist([case_row(1, promised_days=None)], schema=pa.schema(
        [(c.name, pa.bool_() if c.name == "promised_days" else c.type) for c in gate.TABLES["cases"].columns]))
    t = t.set_column(t.column_names.index("promised_days"), "promised_days", pa.array([True]))
    pq.write_table(t, units_file.parent / "cases_b.parquet")
    rep = by_name(run(lake, units_file, units_file.parent / "cases_b.parquet"))["cases_b.parquet"]
    assert (rep.status, rep.reason) == ("quarantined", "column_type")


def test_extra_column_is_dropped_and_reported_rows_kept(lake, units_file):
    t = pa.Table.from_pylist([case_row(1), case_row(2)], schema=pa.schema(
        [(c.name, c.type) for c in gate.TABLES["cases"].columns]))
    t = t.append_column("内部备注", pa.array(["x", "y"]))
    pq.write_table(t, units_file.parent / "cases_extra.parquet")
    rep = by_name(run(lake, units_file, units_file.parent / "cases_extra.parquet"))["cases_extra.parquet"]
    assert (rep.status, rep.rows_accepted) == ("accepted", 2)
    assert rep.notes == ["extra_columns_dropped: 内部备注"]
    wh = connect(lake)
    assert "内部备注" not in wh.query("SELECT * FROM cases LIMIT 1").column_names


def _gb18030_csv(folder: Path, body: list[str]) -> Path:
    (folder / "mappings").mkdir(exist_ok=True)
    header = "评价编号,办件编号,单位编码,评价时间,评价等级,是否默认评价,评价人电话"
    path = folder / "评价明细_2025-06.csv"
    path.write_bytes(("\n".join([header, *body]) + "\n").encode("gb18030"))
    return path


def test_gb18030_csv_with_chinese_headers_goes_through_its_mapping(lake, units_file):
    (lake.root / "mappings" / "evaluations_zh.toml").write_text(EVAL_MAPPING, encoding="utf-8")
    src = _gb18030_csv(units_file.parent, [
        "E1,AJ00000000000001,U001,2025/6/3 10:00,5,否,13912345678",
        "E2,,U002,2025-06-03 11:00:00,9,是,",  # rating 9
        "E3,,U002,2025-06-03 11:00:00,4.5,是,",  # not an integer
        "E4,,U002,2025-02-30 11:00:00,4,是,",  # no such day (pyarrow would roll it to March 2)
        "Ｅ５,,Ｕ００２,2025-06-04T08:00:00+00:00,3,否,",  # full-width letters and digits: NFKC; UTC offset
        "E6,,U002,2025-06-04,3",  # a short row
    ])
    rep = by_name(run(lake, units_file, src))[src.name]
    assert (rep.rows_in, rep.rows_accepted, rep.rows_quarantined) == (6, 2, 4)
    assert rep.reasons == {"rating_out_of_range": 1, "bad_value": 2, "malformed_row": 1}
    wh = connect(lake)
    got = wh.query("SELECT eval_id, unit_code, strftime(rated_at, '%Y-%m-%d %H:%M') AS t, rating, is_default "
                   "FROM evaluations ORDER BY eval_id").to_pylist()
    # Naive 10:00 is Beijing time; 08:00+00:00 is 16:00 in Beijing.
    assert got == [
        {"eval_id": "E1", "unit_code": "U001", "t": "2025-06-03 10:00", "rating": 5, "is_default": False},
        {"eval_id": "E5", "unit_code": "U002", "t": "2025-06-04 16:00", "rating": 3, "is_default": False},
    ]
    reasons = {(q["source_row"], q["reason"]) for q in quarantine(lake)}
    assert {(2, "rating_out_of_range"), (3, "bad_value"), (4, "bad_value"), (6, "malformed_row")} <= reasons


def test_csv_not_in_its_declared_encoding_is_rejected_with_the_line(lake, units_file):
    (lake.root / "mappings" / "evaluations_zh.toml").write_text(EVAL_MAPPING.replace("gb18030", "utf-8"), "utf-8")
    src = _gb18030_csv(units_file.parent, ["E1,,U001,2025-06-03 10:00,5,否,"])
    rep = by_name(run(lake, units_file, src))[src.name]
    assert (rep.status, rep.reason) == ("quarantined", "encoding_error")
    assert rep.detail.startswith("line 1:")


def test_same_file_twice_changes_nothing(lake, units_file):
    src = write_export(units_file.parent / "cases_2025-06.parquet", "cases",
                       [case_row(1), case_row(2, unit_code="U999")])
    run(lake, units_file, src)
    before = warehouse_digest(lake)
    again = run(lake, units_file, src)
    assert {f.status for f in again.files} == {"skipped"}
    assert warehouse_digest(lake) == before
    forced = run(lake, units_file, src, force=True)
    assert {f.status for f in forced.files} == {"accepted", "partial"}
    assert warehouse_digest(lake) == before


def test_latest_version_wins_even_when_a_stale_export_arrives_last(lake, units_file):
    folder = units_file.parent
    v1 = write_export(folder / "cases_v1.parquet", "cases",
                      [case_row(1, status="在办", completed_at=None, updated_at=ts(2025, 6, 3, 10))])
    v2 = write_export(folder / "cases_v2.parquet", "cases", [case_row(1, updated_at=ts(2025, 6, 5, 16))])
    run(lake, units_file, v2)
    run(lake, v1)  # the stale re-export comes in after the newer one
    wh = connect(lake)
    assert wh.query("SELECT count(*) AS n FROM cases_versions").column("n")[0].as_py() == 2
    assert wh.query("SELECT status FROM cases").to_pylist() == [{"status": "办结"}]


def test_tie_on_updated_at_is_broken_the_same_way_whatever_the_order(tmp_path, monkeypatch, units_file):
    from dashboard.core.db import Lake

    folder = units_file.parent
    a = write_export(folder / "cases_a.parquet", "cases", [case_row(1, item_name="甲")])
    b = write_export(folder / "cases_b.parquet", "cases", [case_row(1, item_name="乙")])
    monkeypatch.setenv("HALL_HMAC_KEY", "k")
    winners = []
    for order in ([a, b], [b, a]):
        lk = Lake(tmp_path / f"lake{len(winners)}")
        run(lk, units_file)
        for p in order:
            run(lk, p)
        winners.append(connect(lk).query("SELECT item_name FROM cases").column("item_name")[0].as_py())
    assert winners[0] == winners[1]
    # The tie-break is the greater source-file SHA-256 (then the later row), worked out independently here.
    expected = "甲" if gate.sha256_of(a) > gate.sha256_of(b) else "乙"
    assert winners[0] == expected


def test_worker_that_dies_quarantines_its_file_and_the_run_goes_on(lake, units_file):
    src = write_export(units_file.parent / "cases_1.parquet", "cases", [case_row(1)])
    report = run(lake, units_file, src, worker="crashing_worker:process_file")
    rep = by_name(report)
    assert rep["cases_1.parquet"].reason == "worker_crashed"
    assert rep["units.parquet"].reason == "worker_crashed"
    assert "exited with code" in rep["cases_1.parquet"].detail
    # The same file goes through with the real worker afterwards: a crash is not recorded as ingested.
    again = by_name(run(lake, units_file, src))
    assert again["cases_1.parquet"].status == "accepted"


def test_xlsx_with_chinese_headers_goes_through_the_repository_mapping(lake, units_file):
    import xlsxwriter

    from dashboard.core.ingest import load_mappings

    [m] = [m for m in load_mappings(lake.mappings) if m.table == "cases"]
    header = {v: k for k, v in m.columns.items()}
    row = case_row(7)
    path = units_file.parent / "办件明细_2025-06.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    cols = [c for c in header if c in row]
    for j, c in enumerate(cols):
        ws.write(0, j, header[c])
        v = row[c]
        if hasattr(v, "strftime"):
            v = v.strftime("%Y-%m-%d %H:%M:%S")
        elif isinstance(v, bool):
            v = "是" if v else "否"
        ws.write(1, j, v)
    wb.close()
    rep = by_name(run(lake, units_file, path))[path.name]
    assert (rep.table, rep.status, rep.rows_accepted) == ("cases", "accepted", 1)
    got = connect(lake).query("SELECT case_id, archived, promised_days, strftime(accepted_at, '%H:%M') AS t FROM cases")
    assert got.to_pylist() == [{"case_id": "AJ00000000000007", "archived": True, "promised_days": 5, "t": "09:30"}]


def test_no_personal_data_reaches_warehouse_or_quarantine(lake, units_file):
    rows = [case_row(1), case_row(2, unit_code="U999"), case_row(3, completed_at=ts(2025, 1, 1))]
    src = write_export(units_file.parent / "cases_2025-06.parquet", "cases", rows)
    events = write_export(units_file.parent / "events_2025-06.parquet", "events", [
        {"event_id": "EV1", "occurred_at": ts(2025, 6, 3, 9), "unit_code": "U001", "event_type": "complaint_12345",
         "note": "来电人 13812345678 反映排队久，身份证 11010519491231002X"},
        {"event_id": "EV2", "occurred_at": ts(2025, 6, 3, 9), "unit_code": "U999", "event_type": "late",
         "note": "电话 139-1234-5678"},
    ])
    run(lake, units_file, src, events)
    hits = scan_lake(lake.lake)
    assert hits == []
    wh = connect(lake)
    assert wh.query("SELECT note FROM events").to_pylist() == [{"note": "来电人 [已脱敏] 反映排队久,身份证 [已脱敏]"}]  # NFKC: full-width comma → ","
    keys = wh.query("SELECT DISTINCT applicant_key FROM cases").column("applicant_key").to_pylist()
    assert len(keys) == 1 and keys[0].startswith("ak")
    assert "applicant_name" not in wh.query("SELECT * FROM cases").column_names
    raw = [json.loads(q["raw"]) for q in quarantine(lake)]
    assert all("applicant_id_number" not in r and "applicant_phone" not in r for r in raw)


def test_pii_scanner_finds_what_it_should(tmp_path):
    """The scanner itself must be able to fail: plant an ID number and a phone and expect both found."""
    t = pa.table({"a": ["x 11010519491231002X y", "13812345678", "AJ20250601000123", "11010519491231002Y"]})
    pq.write_table(t, tmp_path / "t.parquet")
    kinds = sorted(h[2] for h in scan_lake(tmp_path))
    assert kinds == ["id_number", "mobile"]


def test_ingest_log_records_every_file_and_run(lake, units_file):
    src = write_export(units_file.parent / "cases_2025-06.parquet", "cases", [case_row(1)])
    run(lake, units_file, src)
    run(lake, units_file, src)
    log = connect(lake).query("SELECT source_file, status FROM ingest_log ORDER BY run_id, source_file").to_pylist()
    assert [r["status"] for r in log] == ["accepted", "accepted", "skipped", "skipped"]


def test_without_a_units_table_unit_codes_pass_but_the_file_says_so(lake, tmp_path):
    src = write_export(tmp_path / "in" / "cases_2025-06.parquet", "cases", [case_row(1, unit_code="U999")])
    rep = by_name(run(lake, src))["cases_2025-06.parquet"]
    assert (rep.status, rep.notes) == ("accepted", ["units_not_loaded"])


def test_event_type_outside_the_catalog_is_quarantined(lake, units_file):
    src = write_export(units_file.parent / "events_2025-06.parquet", "events", [
        {"event_id": "EV1", "occurred_at": ts(2025, 6, 3, 9), "unit_code": "U001", "event_type": "pennant"},
        {"event_id": "EV2", "occurred_at": ts(2025, 6, 3, 9), "unit_code": "U001", "event_type": "锦旗"},
    ])
    rep = by_name(run(lake, units_file, src))["events_2025-06.parquet"]
    assert rep.reasons == {"not_allowed": 1}
    [q] = quarantine(lake)
    assert (q["column"], q["source_row"]) == ("event_type", 2)


def test_scrubbing_catches_adjacent_numbers_letters_full_width_and_old_ids(lake, units_file):
    notes = [
        "联系电话 13812345678/13912345678",  # two numbers one character apart
        "ID11010519491231002X",  # a letter touching the number
        "旧身份证 110105491231002",  # 15-digit card (before 1999)
        "电话 １３８１２３４５６７８",  # full-width digits
    ]
    rows = [{"event_id": f"EV{i}", "occurred_at": ts(2025, 6, 3, 9), "unit_code": "U001", "event_type": "late",
             "note": n, "source": "群众 13812345678 来电"} for i, n in enumerate(notes)]
    # A quarantined row (unknown unit) with a newline before an ID number, as JSON would escape it.
    rows.append({"event_id": "EV9", "occurred_at": ts(2025, 6, 3, 9), "unit_code": "U999", "event_type": "late",
                 "note": "身份证号\n11010519491231002X，电话 １３９１２３４５６７８"})
    src = write_export(units_file.parent / "events_2025-06.parquet", "events", rows)
    run(lake, units_file, src)
    assert scan_lake(lake.lake) == []
    got = connect(lake).query("SELECT note, source FROM events ORDER BY event_id").to_pylist()
    assert [g["note"] for g in got] == ["联系电话 [已脱敏]/[已脱敏]", "ID[已脱敏]", "旧身份证 [已脱敏]", "电话 [已脱敏]"]
    assert {g["source"] for g in got} == {"群众 [已脱敏] 来电"}
    [q] = quarantine(lake)
    assert json.loads(q["raw"])["note"] == "身份证号\n[已脱敏],电话 [已脱敏]"


def test_identifier_holding_a_personal_number_quarantines_the_row(lake, units_file):
    src = write_export(units_file.parent / "cases_2025-06.parquet", "cases",
                       [case_row(1), case_row(2, staff_id="13812345678")])
    rep = by_name(run(lake, units_file, src))["cases_2025-06.parquet"]
    assert rep.reasons == {"pii_in_identifier": 1}
    assert scan_lake(lake.lake) == []


def test_worker_dying_before_it_reads_a_job_does_not_crash_the_run(lake, units_file):
    src = write_export(units_file.parent / "cases_1.parquet", "cases", [case_row(1)])
    report = run(lake, units_file, src, worker="crashing_worker_on_import:process_file")
    assert {f.reason for f in report.files} == {"worker_crashed"}
    log = connect(lake).query("SELECT source_file, reason FROM ingest_log ORDER BY source_file").to_pylist()
    assert log == [{"source_file": "cases_1.parquet", "reason": "worker_crashed"},
                   {"source_file": "units.parquet", "reason": "worker_crashed"}]


def test_a_rejected_file_still_counts_its_rows(lake, units_file):
    t = pa.Table.from_pylist([case_row(i, promised_days=None) for i in range(5)], schema=pa.schema(
        [(c.name, pa.bool_() if c.name == "promised_days" else c.type) for c in gate.TABLES["cases"].columns]))
    pq.write_table(t, units_file.parent / "cases_b.parquet")
    report = run(lake, units_file, units_file.parent / "cases_b.parquet")
    rep = by_name(report)["cases_b.parquet"]
    assert (rep.reason, rep.rows_in, rep.rows_quarantined) == ("column_type", 5, 5)
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (7, 2, 5)


def test_deadline_given_as_a_bare_date_on_the_acceptance_day_is_fine(lake, units_file):
    src = write_export(units_file.parent / "cases_2025-06.parquet", "cases", [
        case_row(1, item_kind="即办件", promised_days=0, deadline_at=ts(2025, 6, 3))])
    rep = by_name(run(lake, units_file, src))["cases_2025-06.parquet"]
    assert rep.status == "accepted"


def test_cases_without_updated_at_are_quarantined(lake, units_file):
    src = write_export(units_file.parent / "cases_2025-06.parquet", "cases", [case_row(1, updated_at=None)])
    rep = by_name(run(lake, units_file, src))["cases_2025-06.parquet"]
    assert rep.reasons == {"missing_required": 1}


def test_impossible_instants_are_errors_not_wraps(lake, units_file):
    t = pa.table({"eval_id": ["E1", "E2"], "unit_code": ["U001", "U001"],
                  "rated_at": pa.array([1_750_000_000, 10**15], pa.timestamp("s")), "rating": [5, 5]})
    pq.write_table(t, units_file.parent / "evaluations_t.parquet")
    csv_rows = ["E3,,U001,2025-06-03 10:00 +99:99,5,否,", "E4,,U001,2025-06-03 10:00 +08:00,5,否,"]
    (lake.root / "mappings" / "evaluations_zh.toml").write_text(EVAL_MAPPING, encoding="utf-8")
    csv = _gb18030_csv(units_file.parent, csv_rows)
    report = by_name(run(lake, units_file, units_file.parent / "evaluations_t.parquet", csv))
    assert report["evaluations_t.parquet"].reasons == {"bad_value": 1}
    assert report[csv.name].reasons == {"bad_value": 1}
    ids = connect(lake).query("SELECT eval_id FROM evaluations ORDER BY eval_id").column("eval_id").to_pylist()
    assert ids == ["E1", "E4"]
