"""Audits (queries/audits/): each returns the rows that break its rule and fails the build naming itself and them.

Each test builds a two-case warehouse from a copy of queries/ with one mart deliberately broken, and expects the
build to stop at that audit with the rows worked out by hand from the two cases: both accepted, completed and
archived in June 2025 in hall H01, case 1 in U001 and case 2 in U002, both at window W001.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import UNITS, case_row, ts, write_warehouse

from dashboard.core import marts, queries
from dashboard.core.db import REPO_ROOT, Lake, connect


@pytest.fixture
def two_cases(tmp_path) -> Lake:
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    cases = [case_row(1), case_row(2, unit_code="U002")]
    write_warehouse(lake, "cases", [{k: v for k, v in r.items() if not k.startswith("applicant_")} for r in cases])
    return lake


@pytest.fixture
def edit(tmp_path, monkeypatch):
    """Build from a copy of queries/; `edit(file, old, new)` changes one file of the copy."""
    root = tmp_path / "queries"
    shutil.copytree(REPO_ROOT / "queries", root)
    monkeypatch.setattr(marts, "QUERIES", root)

    def change(name: str, old: str, new: str) -> None:
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, (name, old)
        path.write_text(text.replace(old, new), encoding="utf-8")

    return change


LAST = "\nselect * from final\n"


def test_the_unbroken_marts_pass_every_audit(two_cases, edit):
    """The same copy of queries/, unedited: the build goes through and its marts hold what the tests below break."""
    summary = marts.build(two_cases)
    assert summary.step_seconds["audits"] >= 0
    wh = connect(two_cases)
    assert wh.query("SELECT unit_code, cases_accepted, archive_rate_num, archive_rate_den FROM mart_unit_month "
                    "ORDER BY unit_code").to_pylist() == [
        {"unit_code": "U001", "cases_accepted": 1, "archive_rate_num": 1, "archive_rate_den": 1},
        {"unit_code": "U002", "cases_accepted": 1, "archive_rate_num": 1, "archive_rate_den": 1}]
    assert wh.query("SELECT period, hall_code, cases_accepted FROM mart_hall_month").to_pylist() == [
        {"period": "2025-06", "hall_code": "H01", "cases_accepted": 2}]


def test_a_repeated_key_fails_the_build(two_cases, edit):
    """U002's June row written twice: (2025-06, U002) is carried by two rows."""
    edit("unit_month.sql", LAST, "\nselect * from final union all select * from final where unit_code = 'U002'\n")
    with pytest.raises(marts.AuditError, match=r"audit unique_keys on unit_month \(One row per key, "
                       r".*unique_keys\.sql\) found 1 row breaking its rule; "
                       r"first: period=2025-06, unit_code=U002, copies=2$"):
        marts.build(two_cases)
    # A build an audit stopped records nothing: no build info claims these marts.
    assert marts.build_info(two_cases) == {}


def test_a_build_an_audit_stops_leaves_the_marts_that_were_there(two_cases, edit):
    """The first build's marts stay byte for byte when a second build's hall_month breaks an audit: no half-new set
    is ever read, and no staged file is left behind."""
    marts.build(two_cases)
    before = {p.name: p.read_bytes() for p in sorted(two_cases.marts.glob("*"))}
    edit("hall_month.sql", LAST, "\nselect * replace (cases_accepted + 1 as cases_accepted) from final\n")
    with pytest.raises(marts.AuditError):
        marts.build(two_cases)
    assert {p.name: p.read_bytes() for p in sorted(two_cases.marts.glob("*"))} == before
    assert connect(two_cases).query("SELECT cases_accepted FROM mart_hall_month").to_pylist() == [{"cases_accepted": 2}]


def test_a_numerator_above_its_denominator_fails_the_build(two_cases, edit):
    """Each window row's 归档率 numerator made num + den: 1 archived of 1 completed becomes 2 of 1, for both units'
    W001 rows; the other rates are untouched."""
    edit("window_month.sql", LAST,
         "\nselect * replace (archive_rate_num + archive_rate_den as archive_rate_num) from final\n")
    with pytest.raises(marts.AuditError, match=(
            r"audit rates_within_denominators on window_month \(.*\) found 2 rows breaking its rule; first: "
            r"period=2025-06, unit_code=U001, window_code=W001, indicator=archive_rate, numerator=2, denominator=1; "
            r"period=2025-06, unit_code=U002, window_code=W001, indicator=archive_rate, numerator=2, denominator=1$")):
        marts.build(two_cases)


def test_a_hall_that_is_not_its_units_sum_fails_the_build(two_cases, edit):
    """The hall's cases_accepted one too many: the units hold 1 + 1 = 2 in June, the hall 3."""
    edit("hall_month.sql", LAST, "\nselect * replace (cases_accepted + 1 as cases_accepted) from final\n")
    with pytest.raises(marts.AuditError, match=r"audit units_sum_to_hall \(Units add up to the hall, "
                       r".*units_sum_to_hall\.sql\) found 1 row breaking its rule; "
                       r"first: period=2025-06, column_name=cases_accepted, units_total=2, unattributed=0, hall_total=3$"):
        marts.build(two_cases)


def test_units_sum_to_hall_counts_work_whose_unit_is_unknown(two_cases):
    """A queue ticket at a window no table knows has no unit: the hall counts it and no unit row does, and the
    audit adds it back from the measures as work without a unit (0 + 1 = 1), so the build goes through."""
    write_warehouse(two_cases, "tickets", [{"ticket_id": "T1", "window_code": "W999", "hall_code": "H01",
                                            "issued_at": ts(2025, 6, 3, 9), "status": "no_show",
                                            "updated_at": ts(2025, 6, 3, 9)}])
    marts.build(two_cases)
    wh = connect(two_cases)
    assert wh.query("SELECT sum(tickets_issued)::BIGINT AS n FROM mart_unit_month").column("n")[0].as_py() == 0
    assert wh.query("SELECT sum(tickets_issued)::BIGINT AS n FROM mart_hall_month").column("n")[0].as_py() == 1
    assert wh.query("SELECT sum(tickets_issued)::BIGINT AS n FROM measures WHERE grain = 'unit_month' "
                    "AND unit_code IS NULL").column("n")[0].as_py() == 1


def test_every_audit_has_a_test_that_breaks_it():
    """An audit no test breaks could be returning nothing for any input."""
    audits = {n for n, q in queries.load().items() if q.kind == "audit"}
    assert audits == {"unique_keys", "rates_within_denominators", "units_sum_to_hall"}
