"""The build: marts agree with each other, roll up as Σnumerator/Σdenominator, ignore the process time zone,
record their options, and refuse deadlines the calendar cannot answer."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from fractions import Fraction

import pyarrow.parquet as pq
import pytest
from conftest import TZ8, UNITS, case_row, ts, write_export, write_warehouse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.core import ingest, marts
from dashboard.core.db import REPO_ROOT, Lake, connect
from dashboard.core.metrics import MetricOptions, MetricsError, metrics

MONTH_GRAINS = ("window_month", "staff_month", "item_month")


def _stored(rows: list[dict]) -> list[dict]:
    """Export-shaped case rows without the personal columns the warehouse never holds."""
    return [{k: v for k, v in r.items() if not k.startswith("applicant_")} for r in rows]


def test_scope_limits_what_a_caller_sees(lake, units_file):
    folder = units_file.parent
    write_export(folder / "cases_s.parquet", "cases", [case_row(1), case_row(2, unit_code="U002")])
    ingest.ingest([folder], lake)
    marts.build(lake)
    wh = connect(lake)
    assert marts.unit_month(wh, "2025-06", None).column("unit_code").to_pylist() == ["U001", "U002"]
    assert marts.unit_month(wh, "2025-06", ("U002",)).column("unit_code").to_pylist() == ["U002"]
    assert marts.unit_month(wh, "2025-06", ()).num_rows == 0
    assert marts.periods(wh, ("U404",)) == []
    assert marts.slice_mart(wh, "window_month", "2025-06", ("U002",)).column("unit_code").to_pylist() == ["U002"]
    # A hall holds every unit's work, so a caller limited to some units gets no hall totals.
    assert marts.slice_mart(wh, "hall_month", "2025-06", ("U002",)).num_rows == 0
    assert marts.slice_mart(wh, "hall_month", "2025-06", None).num_rows == 1


def test_deadline_past_the_calendar_is_past_every_reported_month(lake, units_file):
    from dashboard.core.calendar import published_years

    # Accepted Dec 30 of the last published year, 5 working days promised: due next January, after every
    # reported month (the calendar reaches the end of December), so the build goes through and it is not due.
    last = max(published_years())
    late = case_row(9, accepted_at=ts(last, 12, 30, 9), completed_at=None, status="在办",
                    updated_at=ts(last, 12, 30, 9))
    write_export(units_file.parent / "cases_late.parquet", "cases", [late])
    ingest.ingest([units_file.parent], lake)
    marts.build(lake)
    rows = connect(lake).query("SELECT period, cases_accepted, due_cases FROM mart_unit_month "
                               "WHERE unit_code = 'U001' AND cases_accepted > 0").to_pylist()
    assert rows == [{"period": f"{last}-12", "cases_accepted": 1, "due_cases": 0}]


def test_build_refuses_cases_in_a_year_without_a_published_calendar(lake, units_file):
    from dashboard.core.calendar import CalendarError, published_years

    nxt = max(published_years()) + 1
    early = case_row(9, accepted_at=ts(nxt, 1, 4, 9), completed_at=None, status="在办", updated_at=ts(nxt, 1, 4, 9))
    write_export(units_file.parent / "cases_next.parquet", "cases", [case_row(1), early])
    ingest.ingest([units_file.parent], lake)
    with pytest.raises(CalendarError, match=r"1 cases .*AJ00000000000009.* without a published holiday schedule"):
        marts.build(lake)
    # Publishing that year (an override file) lets the same build through.
    lake.calendar_overrides.write_text(f"published_years = [{nxt}]\n", encoding="utf-8")
    assert marts.build(lake).marts["unit_month"] >= 2


def test_every_query_file_is_a_build_step():
    """A query nobody runs would be a definition nobody checks."""
    files = {p.relative_to(REPO_ROOT / "queries").as_posix() for p in (REPO_ROOT / "queries").rglob("*.sql")}
    steps = {marts.query_path(n).relative_to(REPO_ROOT / "queries").as_posix() for n in [*marts.FACTS, *marts.MARTS]}
    assert files - {"checks/calendar_coverage.sql"} == steps


def test_every_mart_carries_every_indicator_as_whole_numbers(demo_lake):
    """Numerators, denominators and counts are integers in every mart; only the handling quantiles are decimals."""
    wanted = set(marts.metric_columns())
    for grain in marts.MARTS:
        schema = pq.read_schema(demo_lake.marts / f"{grain}.parquet")
        assert wanted <= set(schema.names), (grain, wanted - set(schema.names))
        for f in schema:
            if f.name in wanted:
                assert str(f.type) == "int64", (grain, f.name, f.type)
            elif str(f.type).startswith(("double", "float", "decimal")):
                assert f.name in ("handling_days_median", "handling_days_p90"), (grain, f.name, f.type)


def test_no_query_averages_or_stores_a_rate():
    """Rates exist only at read time as Σnumerator/Σdenominator: no query divides, averages or rounds."""
    for path in sorted((REPO_ROOT / "queries").rglob("*.sql")):
        sql = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8")).lower()
        assert not re.search(r"\b(avg|mean|round)\s*\(", sql), path.name
        # A slash would be a division (integer // only finds quantile ranks in handling_quantiles.sql).
        assert "/" not in sql.replace("//", ""), path.name


def test_a_quarter_is_the_sum_of_its_months_not_their_average(tmp_path):
    """May 1/1 on time (100%), June 1/3 (33.33%): the quarter is 2/4 = 50%, not (100% + 33.33%)/2 = 66.67%."""
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    cases = [
        case_row(1, accepted_at=ts(2025, 5, 6, 9), completed_at=ts(2025, 5, 7, 9)),  # due 05-13, on time
        case_row(2),  # due 06-10, done 06-05: on time
        case_row(3, completed_at=ts(2025, 6, 11, 9)),  # due 06-10: late
        case_row(4, completed_at=ts(2025, 6, 12, 9)),  # due 06-10: late
        case_row(5, accepted_at=ts(2025, 7, 1, 9), completed_at=None, status="在办"),  # July: June has passed
    ]
    write_warehouse(lake, "cases", _stored(cases))
    marts.build(lake)
    wh = connect(lake)
    on_time = metrics()["on_time_rate"]
    monthly = {r["period"]: on_time.value(r["on_time_rate_num"], r["on_time_rate_den"])
               for r in marts.slice_mart(wh, "unit_month", "2025-Q2", None).to_pylist() if r["unit_code"] == "U001"}
    assert monthly == {"2025-Q2": Fraction(2, 4)}
    per_month = [on_time.value(r["on_time_rate_num"], r["on_time_rate_den"])
                 for r in (marts.slice_mart(wh, "unit_month", p, None, "U001").to_pylist()[0]
                           for p in ("2025-05", "2025-06"))]
    assert per_month == [Fraction(1), Fraction(1, 3)]
    assert sum(per_month) / 2 != Fraction(2, 4)
    # A zero denominator is "no data", never 0%: U002 had nothing in the quarter.
    u2 = marts.slice_mart(wh, "unit_month", "2025-Q2", None, "U002").to_pylist()[0]
    assert (u2["on_time_rate_num"], u2["on_time_rate_den"]) == (0, 0)
    assert on_time.value(0, 0) is None
    rows = {r["metric"]: r for r in marts.metric_rows(marts.slice_mart(wh, "unit_month", "2025-Q2", None, "U002"),
                                                       "unit_month")}
    assert rows["on_time_rate"]["value"] is None and rows["cases_accepted"]["value"] == 0


# Random small warehouses: two units, windows and staff across them (and none), three items, ratings with
# defaults and walk-ins, signals and tickets, over May–July 2025.
_day = st.integers(min_value=0, max_value=75)


@st.composite
def _warehouse(draw):
    start = dt.datetime(2025, 5, 1, tzinfo=TZ8)
    cases, evals, signals, tickets = [], [], [], []
    for i in range(draw(st.integers(min_value=1, max_value=25))):
        acc = start + dt.timedelta(days=draw(_day), hours=draw(st.integers(0, 23)))
        status = draw(st.sampled_from(["办结", "办结", "办结", "在办", "挂起", "退件"]))
        done = acc + dt.timedelta(days=draw(st.integers(0, 20)), hours=draw(st.integers(0, 5)))
        kind, item = draw(st.sampled_from([("承诺件", "ITM1"), ("即办件", "ITM2"), ("承诺件", "ITM3")]))
        cid = f"C{i}"
        cases.append({
            "case_id": cid, "item_code": item, "item_kind": kind, "unit_code": draw(st.sampled_from(["U001", "U002"])),
            "window_code": draw(st.sampled_from(["W001", "W002", "W101", None])),
            "staff_id": draw(st.sampled_from(["S0001", "S0002", "S0101", None])),
            "hall_code": draw(st.sampled_from(["H01", None])), "accepted_at": acc,
            "legal_days": draw(st.sampled_from([0, 10, 20])), "promised_days": draw(st.sampled_from([0, 1, 5, None])),
            "completed_at": None if status in ("在办", "挂起") else done, "status": status,
            "suspended_days": draw(st.integers(0, 3)), "full_online": draw(st.booleans()),
            "secondary_entry": draw(st.booleans()), "archived": draw(st.booleans()), "updated_at": done,
        })
        for j in range(draw(st.integers(0, 2))):
            evals.append({"eval_id": f"E{i}_{j}", "case_id": cid, "unit_code": "U001",
                          "rated_at": done + dt.timedelta(days=draw(st.integers(0, 3))),
                          "rating": draw(st.integers(1, 5)), "is_default": draw(st.booleans()),
                          "appeal": draw(st.sampled_from([None, "有效", "误评"])),
                          "rectified_at": done + dt.timedelta(days=draw(st.integers(1, 30)))})
        if draw(st.booleans()):
            signals.append({"signal_id": f"S{i}", "case_id": cid, "unit_code": "U001",
                            "signal": draw(st.sampled_from(["预警", "黄牌", "红牌"])), "issued_at": done})
    for k in range(draw(st.integers(0, 5))):
        evals.append({"eval_id": f"W{k}", "case_id": None, "unit_code": draw(st.sampled_from(["U001", "U002"])),
                      "window_code": draw(st.sampled_from(["W001", "W101", None])),
                      "rated_at": start + dt.timedelta(days=draw(_day)), "rating": draw(st.integers(1, 5))})
        issued = start + dt.timedelta(days=draw(_day), hours=9)
        tickets.append({"ticket_id": f"T{k}", "window_code": draw(st.sampled_from(["W001", "W101"])),
                        "issued_at": issued, "called_at": issued + dt.timedelta(minutes=draw(st.integers(0, 90))),
                        "status": draw(st.sampled_from(["served", "no_show"]))})
    return cases, evals, signals, tickets


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_warehouse())
def test_every_grain_rolls_up_to_unit_month(data, tmp_path_factory):
    """window_month, staff_month and item_month summed per unit, and unit_day summed per month, equal unit_month in
    every numerator, denominator and count."""
    cases, evals, signals, tickets = data
    lake = Lake(tmp_path_factory.mktemp("rollup") / "data")
    write_warehouse(lake, "units", UNITS)
    write_warehouse(lake, "windows", [
        {"window_code": w, "name": w, "unit_code": u, "updated_at": ts(2024, 1, 1)}
        for w, u in (("W001", "U001"), ("W002", "U001"), ("W101", "U002"))])
    for table, rows in (("cases", cases), ("evaluations", evals), ("supervision", signals), ("tickets", tickets)):
        for r in rows:
            r.setdefault("updated_at", ts(2025, 8, 1))
        if rows:
            write_warehouse(lake, table, rows)
    marts.build(lake)
    cols = marts.metric_columns()
    wh = connect(lake)
    sums = ", ".join(f'sum("{c}")::BIGINT AS "{c}"' for c in cols)
    unit = {(r["period"], r["unit_code"]): r for r in wh.query(
        f"SELECT period, unit_code, {', '.join(cols)} FROM mart_unit_month").to_pylist()}
    for grain in (*MONTH_GRAINS, "unit_day"):
        rolled = wh.query(f"SELECT period, unit_code, {sums} FROM mart_{grain} GROUP BY ALL").to_pylist()
        for r in rolled:
            key = (r["period"], r["unit_code"])
            assert key in unit, (grain, key)
            assert r == unit[key], (grain, key, {c: (r[c], unit[key][c]) for c in cols if r[c] != unit[key][c]})
        # And every unit-month with anything in it appears in the finer grain.
        busy = {k for k, v in unit.items() if any(v[c] for c in cols)}
        assert busy <= {(r["period"], r["unit_code"]) for r in rolled}, grain


def _build_under(tz: str, root) -> dict[str, list]:
    env = {**os.environ, "TZ": tz, "HALL_DATA": str(root)}
    subprocess.run([sys.executable, "-c", "from dashboard.core import marts; marts.build()"], env=env, check=True)
    return {g: pq.read_table(root / "lake" / "marts" / f"{g}.parquet").to_pylist() for g in marts.MARTS}


def test_the_process_time_zone_changes_nothing(tmp_path):
    """Built under TZ=UTC and TZ=Asia/Shanghai, every mart is identical; cases near midnight land in Beijing months."""
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    cases = [
        case_row(1, accepted_at=ts(2025, 6, 30, 23, 30), completed_at=ts(2025, 7, 1, 0, 10)),
        case_row(2, accepted_at=ts(2025, 7, 1, 0, 30), completed_at=ts(2025, 7, 1, 7, 0)),
        case_row(3, accepted_at=ts(2025, 5, 31, 23, 59), completed_at=ts(2025, 6, 3, 8, 0)),
        case_row(4, accepted_at=ts(2025, 8, 1, 9), completed_at=None, status="在办"),
    ]
    write_warehouse(lake, "cases", _stored(cases))
    write_warehouse(lake, "evaluations", [{"eval_id": "E1", "case_id": "AJ00000000000001", "unit_code": "U001",
                                           "rated_at": ts(2025, 7, 1, 0, 5), "rating": 5, "updated_at": ts(2025, 7, 1)}])
    utc = _build_under("UTC", lake.root)
    shanghai = _build_under("Asia/Shanghai", lake.root)
    assert utc == shanghai
    by_period = {r["period"]: r for r in utc["unit_month"] if r["unit_code"] == "U001"}
    assert by_period["2025-05"]["cases_accepted"] == 1  # 05-31 23:59 Beijing is 15:59 UTC the same day
    assert by_period["2025-06"]["cases_accepted"] == 1 and by_period["2025-06"]["cases_completed"] == 1
    assert by_period["2025-07"]["cases_accepted"] == 1 and by_period["2025-07"]["cases_completed"] == 2
    assert by_period["2025-07"]["satisfaction_rate_den"] == 1


def test_options_come_from_the_data_folder_and_are_recorded(tmp_path):
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    write_warehouse(lake, "cases", _stored([case_row(1)]))
    (lake.root / "metric_options.toml").write_text(
        'on_time_denominator = "completed"\nsatisfaction_levels = [4, 5]\n', encoding="utf-8")
    marts.build(lake)
    info = json.loads((lake.marts / "_build.json").read_text(encoding="utf-8"))
    assert info["options"]["on_time_denominator"] == "completed"
    assert info["options"]["satisfaction_levels"] == [4, 5]
    assert info["options"]["rectification_days"] == 15  # the default, recorded too
    assert "按时办结率分母：当期办结件" in marts.options_in_force(lake).describe("zh")


@pytest.mark.parametrize(("text", "message"), [
    ('on_time_denominater = "due"', r"unknown option 'on_time_denominater' \(did you mean on_time_denominator\?\)"),
    ("satisfaction_levels = [3, 5]", r"satisfaction_levels must be one of \[3,4,5\] \| \[4,5\], not \[3, 5\]"),
    ("rectification_days = 0", r"rectification_days must be a whole number of working days from 1 to 60"),
    ("same_day_scope = ", r"metric_options.toml: "),
])
def test_a_bad_options_file_names_the_file_and_the_key(tmp_path, text, message):
    (tmp_path / "metric_options.toml").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(MetricsError, match=message):
        MetricOptions.load(tmp_path)


def test_a_period_is_a_month_quarter_or_year():
    assert marts.months_of("2025-06") == ["2025-06"]
    assert marts.months_of("2025-Q4") == ["2025-10", "2025-11", "2025-12"]
    assert len(marts.months_of("2025")) == 12
    with pytest.raises(MetricsError, match="write a month"):
        marts.months_of("2025-13")


def test_facts_are_reused_until_the_warehouse_changes(tmp_path):
    """A second build with the same warehouse reuses the fact tables; new options still change the marts; a new
    warehouse file or --full rebuilds the facts."""
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    write_warehouse(lake, "cases", _stored([case_row(1), case_row(2, completed_at=ts(2025, 6, 11, 9)),
                                            case_row(3, accepted_at=ts(2025, 7, 1, 9), completed_at=None,
                                                     status="在办")]))
    assert not marts.build(lake).facts_reused
    again = marts.build(lake, options=MetricOptions.from_overrides({"on_time_denominator": "completed"}))
    assert again.facts_reused
    june = marts.slice_mart(connect(lake), "unit_month", "2025-06", None, "U001").to_pylist()[0]
    assert (june["on_time_rate_num"], june["on_time_rate_den"]) == (1, 2)  # over completed cases, not due ones
    write_warehouse(lake, "cases", _stored([case_row(4)]), source="later")
    assert not marts.build(lake).facts_reused
    assert marts.build(lake).facts_reused
    assert not marts.build(lake, full=True).facts_reused
    june = marts.slice_mart(connect(lake), "unit_month", "2025-06", None, "U001").to_pylist()[0]
    assert june["cases_accepted"] == 3
