"""Personal numbers at the gate beyond cell values: grouped forms ("138-1234-5678"), file names and column headers.

The ID numbers used carry a valid GB 11643 check character (worked out with weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5
8 4 2 and the table 10X98765432), so the independent scanner in tests/pii.py can see them:
110101 1990 0307 123 → 3, 110105 1949 1231 002 → X, 440304 1985 1115 321 → 0.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import case_row, write_export
from pii import scan_lake, scan_text

from dashboard.core import ingest as gate
from dashboard.core.db import connect
from dashboard.core.ingest.personal import SCRUBBED, clean_name, clean_text, holds_personal_number

M = SCRUBBED

GROUPED = [
    ("110101 19900307 1233", M),
    ("110101-19900307-123X", M),  # the check character is not the scrubber's business: the shape is enough
    ("110101 1990 0307 1233", M),
    ("110101.19900307.1233", M),
    ("11010519491231002X", M),
    ("110105 491231 002", M),  # a 15-digit card in groups
    ("138-1234-5678", M),
    ("138 1234 5678", M),
    ("138.1234.5678", M),
    ("138 - 1234 - 5678", M),
    ("138–1234–5678", M),  # en dash: no NFKC form
    ("+86 138 1234 5678", M),
    ("0086-13812345678", M),
    ("电话 138 1234 5678,身份证 110101-19900307-1233。", f"电话 {M},身份证 {M}。"),
    ("ID110101 19900307 1233号", f"ID{M}号"),
]
# Full-width separators become ASCII under NFKC, which clean_text applies first.
FULL_WIDTH = [
    ("１３８－１２３４－５６７８", M),
    ("110101\u300019900307\u30001233", M),
    ("138．1234．5678", M),
]
ORDINARY = [
    "2025-06-03",  # a date
    "2025-06-03 13:45:00",
    "2025.06.03",
    "AJ00000000000012",  # a case id
    "U001",  # a unit code
    "ITM00001",
    "1381234.5678",  # an amount: a dot between only two groups is a decimal point
    "138.12345678",
    "12,345,678.90",
    "138-1234-567",  # one digit short
    "0138-1234-5678",  # a longer number that contains the shape
    "128-1234-5678",  # 12x is no mobile prefix
    "1381 2345 678",  # grouped 4-4-3, not 3-4-4
    "110101-19901307-1233",  # month 13: not a birth date
    "110101 19900307 123",  # one digit short
    "共 138 件, 1234 人",
]


@pytest.mark.parametrize(("text", "want"), GROUPED + FULL_WIDTH)
def test_grouped_numbers_are_scrubbed(text, want):
    assert clean_text(text) == want


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_are_left_alone(text):
    assert clean_text(text) == text
    assert not holds_personal_number(pa.array([text]))[0]


def test_identifiers_in_groups_are_caught():
    got = holds_personal_number(pa.array(["138-1234-5678", "110101 19900307 1233", "AJ00000000000012", None]))
    assert got.tolist() == [True, True, False, False]


def test_a_name_is_kept_as_it_came_unless_it_holds_a_number():
    assert clean_name("cases_13812345678.parquet") == f"cases_{M}.parquet"
    assert clean_name("备注110101199003071233") == f"备注{M}"
    # Without a number the name is not even NFKC-normalised: it is shown as the user saved it.
    assert clean_name("办件（副本）2025-06.csv") == "办件（副本）2025-06.csv"
    assert clean_name("办件（副本）１３８１２３４５６７８.csv") == f"办件(副本){M}.csv"


def test_the_scanner_sees_grouped_numbers_and_names(tmp_path):
    """The scanner itself must be able to fail on what the gate now scrubs."""
    assert scan_text("110101 19900307 1233") == ["id_number"]
    assert scan_text("110101-19900307-1234") == []  # wrong check character
    assert scan_text("138-1234-5678") == ["mobile"]
    assert scan_text("138．1234．5678") == ["mobile"]
    assert scan_text("2025-06-03 AJ00000000000012 U001") == []
    pq.write_table(pa.table({"13812345678": [1]}), tmp_path / "x_110101199003071233.parquet")
    assert sorted(h[1:] for h in scan_lake(tmp_path)) == [("<file>", "id_number"), ("<name>", "mobile")]


def _report_hits(report: gate.RunReport) -> list[str]:
    """Personal numbers in the report's text; timings, hashes and the run id are the gate's own digits (a timing's
    18 decimals pass an ID number's check one time in eleven)."""
    machine = {"seconds", "sha256", "run_id"}

    def text(v):
        if isinstance(v, dict):
            return {k: text(x) for k, x in v.items() if k not in machine}
        return [text(x) for x in v] if isinstance(v, list) else v

    return scan_text(json.dumps(text(report.to_dict()), ensure_ascii=False))


def test_personal_numbers_in_file_names_are_masked_everywhere(lake, units_file):
    folder = units_file.parent
    phone = write_export(folder / "cases_13812345678.parquet", "cases", [case_row(1), case_row(2)])
    # Grouped ID number; one row with an unknown unit goes to the quarantine with the file's name.
    grouped = write_export(folder / "cases_110101 19900307 1233.parquet", "cases",
                           [case_row(3), case_row(4, unit_code="U999")])
    # Quarantined whole before any worker sees it.
    empty = folder / "cases_440304-19851115-3210.parquet"
    empty.write_bytes(b"")
    report = gate.ingest([units_file, phone, grouped, empty], lake)
    by_sha = {f.sha256: f for f in report.files}
    shas = {p: gate.sha256_of(p) for p in (phone, grouped, empty)}
    assert {p: (by_sha[s].source_file, by_sha[s].status) for p, s in shas.items()} == {
        phone: (f"cases_{M}.parquet", "accepted"),
        grouped: (f"cases_{M}.parquet", "partial"),
        empty: (f"cases_{M}.parquet", "quarantined"),
    }
    assert scan_lake(lake.lake) == []
    assert _report_hits(report) == []
    wh = connect(lake)
    lineage = wh.query("SELECT DISTINCT _source_file, _source_sha256 FROM cases ORDER BY 2").to_pylist()
    # Identity is the hash: two files of one masked name stay apart.
    assert lineage == sorted([{"_source_file": f"cases_{M}.parquet", "_source_sha256": shas[p]}
                              for p in (phone, grouped)], key=lambda r: r["_source_sha256"])
    [q] = wh.query("SELECT source_file, source_sha256, reason FROM quarantine_rows").to_pylist()
    assert q == {"source_file": f"cases_{M}.parquet", "source_sha256": shas[grouped], "reason": "unknown_unit"}
    logged = wh.query("SELECT source_file, source_sha256 FROM ingest_log WHERE source_file <> 'units.parquet'")
    assert sorted(logged.to_pylist(), key=lambda r: r["source_sha256"]) == sorted(
        [{"source_file": f"cases_{M}.parquet", "source_sha256": s} for s in shas.values()],
        key=lambda r: r["source_sha256"])


def _evaluation(i: int) -> dict:
    return {"eval_id": f"E{i}", "unit_code": "U001", "rated_at": "2025-06-03 10:00:00", "rating": "5",
            "is_default": "false"}


def test_personal_numbers_in_column_headers_are_not_stored(lake, units_file):
    folder = units_file.parent
    # Parquet: an extra column whose name holds an ID number.
    t = pa.Table.from_pylist([case_row(1)], schema=pa.schema([(c.name, c.type) for c in gate.TABLES["cases"].columns]))
    pq.write_table(t.append_column("备注110101199003071233", pa.array(["x"])), folder / "cases_h.parquet")
    # CSV: a header that is a mobile number, and one in groups.
    head = list(_evaluation(1))
    lines = [",".join([*head, "13812345678", "联系 138-1234-5678"]), ",".join([*_evaluation(1).values(), "a", "b"])]
    (folder / "evaluations_h.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # XLSX: the number as a numeric header cell.
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(folder / "evaluations_h.xlsx"))
    ws = wb.add_worksheet()
    for j, (k, v) in enumerate(_evaluation(2).items()):
        ws.write(0, j, k)
        ws.write(1, j, v)
    ws.write_number(0, len(head), 13912345678)
    ws.write(1, len(head), "c")
    wb.close()
    report = gate.ingest([units_file, folder / "cases_h.parquet", folder / "evaluations_h.csv",
                          folder / "evaluations_h.xlsx"], lake)
    notes = {f.source_file: (f.status, f.notes) for f in report.files if f.source_file != "units.parquet"}
    assert notes == {
        "cases_h.parquet": ("accepted", [f"extra_columns_dropped: 备注{M}"]),
        "evaluations_h.csv": ("accepted", [f"extra_columns_dropped: {M}, 联系 {M}"]),
        "evaluations_h.xlsx": ("accepted", [f"extra_columns_dropped: {M}"]),
    }
    assert scan_lake(lake.lake) == []
    assert _report_hits(report) == []
    logged = connect(lake).query("SELECT notes FROM ingest_log WHERE notes IS NOT NULL ORDER BY notes").to_pylist()
    assert [r["notes"] for r in logged] == sorted(f"extra_columns_dropped: {x}" for x in (f"备注{M}", f"{M}, 联系 {M}", M))


def test_an_upload_s_audit_entry_masks_the_file_name(lake, tmp_path):
    """The audit line is written before the gate runs (here the upload is refused), from the names as uploaded."""
    from test_access import LEADER, _audit_lines, _session, _units_export

    _session(tmp_path, LEADER, "upload", files=[("units_138 1234 5678.parquet", _units_export())])
    [e] = _audit_lines(lake)
    assert (e["outcome"], e["detail"]) == ("refused", {"files": [f"units_{M}.parquet"]})
