"""Query headers (queries/**/*.sql): what the build reads from them, and a strict parse that names `file:line`.

Each broken header below is an edit to a copy of queries/; the line numbers are read off the files as they stand
(e.g. unit_month.sql: lines 1–3 state the grain, 4 @kind, 5 @keys, … 11 @depends, 12 `with`).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dashboard.core import marts, queries, scoring
from dashboard.core.db import REPO_ROOT


def test_the_headers_give_what_the_code_used_to_state_by_hand():
    """The values below are the dicts marts.py and scoring.py spelled out before the headers replaced them; the
    build order now follows the inputs (facts, stages, then marts by name)."""
    assert marts.FACTS == {
        "fact_cases": "accepted_month, unit_code", "fact_ratings": None, "fact_signals": None, "fact_tickets": None,
        "handling_quantiles": "grain, month, date, unit_code", "measures": "grain, month, date, unit_code"}
    assert marts.BASE_FACTS == ("fact_cases", "fact_ratings", "fact_signals", "fact_tickets")
    assert marts.MARTS == {
        "hall_month": ("period", "hall_code"), "item_month": ("period", "unit_code", "item_code"),
        "staff_month": ("period", "unit_code", "staff_id"), "unit_day": ("date", "unit_code"),
        "unit_month": ("period", "unit_code"), "window_month": ("period", "unit_code", "window_code")}
    assert list(marts.MARTS) == ["hall_month", "item_month", "staff_month", "unit_day", "unit_month", "window_month"]
    assert marts.LABELS == {
        "unit_month": ("unit_name", "unit_kind", "unit_group"), "window_month": ("window_name", "window_kind"),
        "staff_month": ("staff_name", "staff_window_code"),
        "item_month": ("item_name", "item_kind", "legal_days", "promised_days"), "hall_month": (),
        "unit_day": ("period",)}
    assert scoring.GRAINS == {"unit": ("unit_month", "unit_code", "unit_name"),
                              "window": ("window_month", "window_code", "window_name"),
                              "staff": ("staff_month", "staff_id", "staff_name")}
    # Marts are written sorted by their keys, as before.
    assert all(marts.CATALOG[n].order == keys for n, keys in marts.MARTS.items())


def _reads(text: str) -> set[str]:
    """Relations a query reads, found independently of its header: names after FROM or JOIN (not a function call,
    not `is distinct from`), less the CTEs the file defines; `@this` is the mart a per-mart audit runs on."""
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    ctes = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s+as\s*\(", code))
    found = re.findall(r"(?<!distinct )\b(?:from|join|unpivot)\s+(?:\(\s*)?(?:unpivot\s+)?(@?[a-z_][a-z0-9_]*)\b"
                       r"(?!\s*\()", code)
    return {"this" if f == "@this" else f for f in found} - ctes - {"select"}


@pytest.mark.parametrize("name", sorted(marts.CATALOG))
def test_declared_inputs_are_what_the_sql_reads(name):
    """@depends lists every relation the SQL reads and nothing more, so the build order and the facts' fingerprint
    (the warehouse tables the facts read) follow the SQL."""
    q = marts.CATALOG[name]
    assert set(q.depends) == _reads(q.text), q.file


def test_the_facts_fingerprint_covers_the_tables_the_facts_read(tmp_path):
    """Touching a table a fact reads (supervision) changes the fingerprint; one only a mart reads (staff) does not."""
    from conftest import UNITS, ts, write_warehouse

    from dashboard.core.db import Lake

    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    before = marts.facts_fingerprint(lake)
    write_warehouse(lake, "staff", [{"staff_id": "S1", "name": "张三", "unit_code": "U001"}])
    assert marts.facts_fingerprint(lake) == before
    write_warehouse(lake, "supervision", [{"signal_id": "X1", "unit_code": "U001", "signal": "预警",
                                           "issued_at": ts(2025, 6, 3, 9), "updated_at": ts(2025, 6, 3, 9)}])
    assert marts.facts_fingerprint(lake) != before


def test_built_marts_carry_their_declared_keys_order_and_attributes(demo_lake):
    """Every key, sort column and attribute a mart's header names is a column of the built file."""
    import pyarrow.parquet as pq

    for name in marts.MARTS:
        q = marts.CATALOG[name]
        columns = set(pq.read_schema(demo_lake.marts / f"{name}.parquet").names)
        assert {*q.keys, *q.order, *q.attributes} <= columns, name


@pytest.fixture
def copy(tmp_path) -> Path:
    root = tmp_path / "queries"
    shutil.copytree(REPO_ROOT / "queries", root)
    return root


def _edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (name, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


BROKEN = {
    "unknown field": ([("unit_month.sql", "-- @attributes", "-- @labels    ")],
                      r"unit_month\.sql:7: unknown header field @labels \(known: attributes, depends, each"),
    "missing field": ([("unit_month.sql", "-- @keys       period, unit_code\n", "")],
                      r"unit_month\.sql:4: missing header field @keys \(a mart needs @depends, @keys, @kind"),
    "no header": ([("facts/fact_tickets.sql", "-- @kind     fact\n-- @keys     ticket_id\n-- @label.zh 排队叫号事实表\n"
                    "-- @label.en Queue ticket facts\n-- @depends  tickets, windows\n", "")],
                  r"fact_tickets\.sql:3: missing header field @kind"),
    "grain not first": ([("unit_day.sql", "-- grain: one row per unit × day", "-- unit × day\n-- grain: one row")],
                        r"unit_day\.sql:1: the first comment states the grain"),
    "repeated": ([("hall_month.sql", "-- @order    period, hall_code\n",
                   "-- @order    period, hall_code\n-- @order    hall_code\n")],
                 r"hall_month\.sql:8: @order given twice \(first on line 7\)"),
    "prose among fields": ([("window_month.sql", "-- @subject    window\n",
                             "-- @subject    window\n-- (scored in rankings)\n")],
                           r"window_month\.sql:9: prose after the header fields"),
    "field in the body": ([("item_month.sql", "with\n\nmeasured as (\n", "with\n\n-- @order item_code\nmeasured as (\n")],
                          r"item_month\.sql:13: header field @order outside the file's leading comment block"),
    "empty value": ([("hall_month.sql", "-- @label.en Hall × month", "-- @label.en")],
                    r"hall_month\.sql:9: @label.en has no value"),
    "kind of another folder": ([("unit_month.sql", "-- @kind       mart", "-- @kind       fact")],
                               r"unit_month\.sql:4: @kind fact: a file directly under queries/ is mart"),
    "field of another kind": ([("facts/fact_tickets.sql", "-- @depends  tickets, windows\n",
                                "-- @depends  tickets, windows\n-- @subject  ticket\n")],
                              r"fact_tickets\.sql:9: @subject does not apply to a fact"),
    "not a list of names": ([("unit_month.sql", "-- @keys       period, unit_code", "-- @keys       period unit_code")],
                            r"unit_month\.sql:5: @keys: 'period unit_code' is not a column or table name"),
    "subject without a name": ([("hall_month.sql", "-- @order    period, hall_code\n",
                                 "-- @order    period, hall_code\n-- @subject  hall\n")],
                               r"hall_month\.sql:8: a scored @subject needs @attributes"),
    "subject twice": ([("staff_month.sql", "-- @subject    staff", "-- @subject    unit")],
                      r"unit_month\.sql:8: @subject unit is also staff_month"),
    "unknown input": ([("unit_month.sql", "handling_quantiles, units\n", "handling_quantiles, unitz\n")],
                      r"unit_month\.sql:11: @depends unitz: not a fact, stage or mart, a warehouse table"),
    "fact reading a stage": ([("facts/fact_tickets.sql", "-- @depends  tickets, windows",
                               "-- @depends  tickets, windows, measures")],
                             r"fact_tickets\.sql:8: @depends measures: a fact cannot read a stage"),
    "cycle": ([("facts/fact_tickets.sql", "-- @depends  tickets, windows", "-- @depends  tickets, windows, fact_cases"),
               ("facts/fact_cases.sql", "-- @depends  cases, items", "-- @depends  cases, fact_tickets, items")],
              r"fact_cases\.sql:11: @depends forms a cycle among fact_cases, fact_ratings, fact_signals, fact_tickets"),
    "mart in a non-audit": ([("unit_month.sql", "handling_quantiles, units\n", "handling_quantiles, units, this\n")],
                            r"unit_month\.sql:11: @depends this: not a fact"),
    "this without @each": ([("audits/units_sum_to_hall.sql", "-- @depends  unit_month,", "-- @depends  this, unit_month,")],
                           r"units_sum_to_hall\.sql:8: @depends this: only an audit with @each mart has one"),
    "each of something else": ([("audits/unique_keys.sql", "-- @each     mart", "-- @each     unit")],
                               r"unique_keys\.sql:4: @each 'unit': an audit runs once per mart or once"),
    "undeclared parameter": ([("facts/fact_cases.sql", "-- @params   deadline_includes_suspension\n", "")],
                             r"fact_cases\.sql:70: \$deadline_includes_suspension is not declared in @params"),
    "unused parameter": ([("checks/calendar_coverage.sql", "-- @params   deadline_includes_suspension",
                           "-- @params   deadline_includes_suspension, as_of")],
                         r"calendar_coverage\.sql:10: @params as_of: the SQL never uses \$as_of"),
    "macro outside an audit": ([("unit_day.sql", "    from measures\n", "    from @this\n")],
                               r"unit_day\.sql:17: @this in the SQL: only @this and @keys, in an audit with @each"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_a_broken_header_fails_with_file_and_line(copy, case):
    edits, message = BROKEN[case]
    for name, old, new in edits:
        _edit(copy, name, old, new)
    with pytest.raises(queries.QueryError, match=message):
        queries.load(copy)


def test_the_unedited_copy_loads_as_the_repository(copy):
    """The copy the cases above break loads cleanly, with the same queries."""
    assert {n: q.kind for n, q in queries.load(copy).items()} == {n: q.kind for n, q in marts.CATALOG.items()}


def test_the_build_refuses_a_parameter_it_does_not_have(copy, tmp_path, monkeypatch):
    """A declared and used parameter no option supplies stops the build at the header line that declares it."""
    from conftest import UNITS, write_warehouse

    from dashboard.core.db import Lake

    _edit(copy, "checks/calendar_coverage.sql", "-- @params   deadline_includes_suspension",
          "-- @params   deadline_includes_suspension, horizon")
    _edit(copy, "checks/calendar_coverage.sql", "(select max(date) from calendar) as last_date",
          "(select max(date) from calendar where $horizon is null) as last_date")
    monkeypatch.setattr(marts, "QUERIES", copy)
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    with pytest.raises(queries.QueryError, match=r"calendar_coverage\.sql:10: @params horizon: the build has no "
                       r"such parameter \(it has active_eval_denominator, "):
        marts.build(lake)
