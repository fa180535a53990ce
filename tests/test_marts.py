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
    """A query nobody runs would be a definition nobody checks: every file is a fact stage or a mart, the calendar
    check, or an audit (each audit's own test sees the build run it)."""
    files = {p.relative_to(REPO_ROOT / "queries").as_posix() for p in (REPO_ROOT / "queries").rglob("*.sql")}
    steps = {marts.query_path(n).relative_to(REPO_ROOT / "queries").as_posix() for n in [*marts.FACTS, *marts.MARTS]}
    audits = {f for f in files if f.startswith("audits/")}
    assert files - {"checks/calendar_coverage.sql"} - audits == steps
    assert audits == {"audits/unique_keys.sql", "audits/rates_within_denominators.sql", "audits/units_sum_to_hall.sql"}


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
    every numerator, denominator and count; a distinct count (overdue items) is the sum over item_month exactly and
    lies between the largest and the sum of the other grains' values."""
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
    distinct = [m.id for m in metrics().values() if m.rollup == "distinct"]
    cols = [c for c in marts.metric_columns() if c not in distinct]
    wh = connect(lake)
    sums = ", ".join(f'sum("{c}")::BIGINT AS "{c}"' for c in cols)
    spans = ", ".join(f'sum("{c}")::BIGINT AS "{c}_sum", max("{c}") AS "{c}_max"' for c in distinct)
    unit = {(r["period"], r["unit_code"]): r for r in wh.query(
        f"SELECT period, unit_code, {', '.join([*cols, *distinct])} FROM mart_unit_month").to_pylist()}
    for grain in (*MONTH_GRAINS, "unit_day"):
        rolled = wh.query(f"SELECT period, unit_code, {sums}, {spans} FROM mart_{grain} GROUP BY ALL").to_pylist()
        for r in rolled:
            key = (r["period"], r["unit_code"])
            assert key in unit, (grain, key)
            for c in distinct:
                lo, hi = r.pop(f"{c}_max"), r.pop(f"{c}_sum")
                want = unit[key][c]
                assert (hi == want) if grain == "item_month" else (lo <= want <= hi), (grain, key, c, lo, hi, want)
            assert r == {k: unit[key][k] for k in r}, (grain, key, {c: (r[c], unit[key][c]) for c in cols
                                                                     if r[c] != unit[key][c]})
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


def test_the_as_of_instant_and_the_provisional_months_are_recorded(tmp_path):
    """The as-of instant is the newest cases.updated_at unless stated; a month stays provisional (数据未完结) until the
    rectification limit has run out after its last day."""
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    # Accepted in May and June; the newest record change is Fri 2025-07-04 10:00 (case 3 completed then).
    write_warehouse(lake, "cases", _stored([
        case_row(1, accepted_at=ts(2025, 5, 6, 9), completed_at=ts(2025, 5, 7, 9), updated_at=ts(2025, 5, 7, 9)),
        case_row(2),
        case_row(3, accepted_at=ts(2025, 6, 30, 9), completed_at=ts(2025, 7, 4, 10), updated_at=ts(2025, 7, 4, 10)),
    ]))
    summary = marts.build(lake)
    info = marts.build_info(lake)
    assert info["as_of"] == summary.as_of == "2025-07-04T10:00:00+08:00"
    assert info["as_of_source"] == "cases.updated_at" and info["options"]["as_of"] is None
    assert info["periods"] == {"first": "2025-05", "last": "2025-06"}
    # May's last day (Sat 05-31) is 23 working days before 07-04 (June's 20 less 06-02, plus 07-01…04): past 15, final.
    # June's last day (Mon 06-30) is 4 working days before: provisional.
    assert info["provisional"] == ["2025-06"]
    assert marts.is_provisional(lake, "2025-06") and marts.is_provisional(lake, "2025-Q2")
    assert not marts.is_provisional(lake, "2025-05")
    as_of = marts.data_as_of(connect(lake), None)
    assert as_of["latest_period"] == "2025-06" and as_of["latest_provisional"]
    # A stated export time 2025-07-22 18:00 (no offset: Beijing time): 06-30 is then 16 working days back (07-01…04,
    # 07…11, 14…18, 21, 22): June is final too.
    marts.build(lake, options=MetricOptions.from_overrides({"as_of": dt.datetime(2025, 7, 22, 18)}))
    info = marts.build_info(lake)
    assert (info["as_of"], info["as_of_source"], info["provisional"]) == ("2025-07-22T18:00:00+08:00", "option", [])
    # With a 20-day limit June is provisional again (16 ≤ 20), and so is nothing else.
    marts.build(lake, options=MetricOptions.from_overrides({"as_of": "2025-07-22T18:00:00+08:00",
                                                            "rectification_days": 20}))
    assert marts.build_info(lake)["provisional"] == ["2025-06"]


def test_a_stated_as_of_before_a_record_of_the_export_is_refused(tmp_path):
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    write_warehouse(lake, "cases", _stored([case_row(1)]))  # updated 2025-06-05 16:00
    with pytest.raises(MetricsError, match=r"as_of 2025-06-05T15:00:00\+08:00 is before the newest case record"):
        marts.build(lake, options=MetricOptions.from_overrides({"as_of": "2025-06-05T15:00:00"}))


def test_overdue_items_over_a_quarter_are_counted_once(tmp_path):
    """An item with overdue cases in May and in June is one item in Q2, not two (the months would sum to 2); a
    second item overdue only in June makes 2. Each month alone keeps its own count."""
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    write_warehouse(lake, "cases", _stored([
        # ITM00001: due 05-13, done 05-14 (late); due 06-10, done 06-11 (late).
        case_row(1, accepted_at=ts(2025, 5, 6, 9), completed_at=ts(2025, 5, 14, 9), updated_at=ts(2025, 5, 14, 9)),
        case_row(2, completed_at=ts(2025, 6, 11, 9), updated_at=ts(2025, 6, 11, 9)),
        # ITM00002 at another window: due 06-10, done 06-12 (late).
        case_row(3, item_code="ITM00002", window_code="W002", completed_at=ts(2025, 6, 12, 9),
                 updated_at=ts(2025, 6, 12, 9)),
        case_row(4, accepted_at=ts(2025, 7, 1, 9), completed_at=None, status="在办", updated_at=ts(2025, 7, 1, 9)),
    ]))
    marts.build(lake)
    wh = connect(lake)

    def overdue_items(grain: str, period: str) -> dict:
        keys = [k for k in marts.MARTS[grain] if k != "period"]
        return {tuple(r[k] for k in keys): r["overdue_items"]
                for r in marts.slice_mart(wh, grain, period, None).to_pylist() if r.get("unit_code") != "U002"}

    assert overdue_items("unit_month", "2025-05") == {("U001",): 1}
    assert overdue_items("unit_month", "2025-06") == {("U001",): 2}
    assert overdue_items("unit_month", "2025-Q2") == {("U001",): 2}  # ITM00001 once, ITM00002 once
    assert overdue_items("unit_month", "2025") == {("U001",): 2}
    assert overdue_items("window_month", "2025-Q2") == {("U001", "W001"): 1, ("U001", "W002"): 1}
    assert overdue_items("item_month", "2025-Q2") == {("U001", "ITM00001"): 1, ("U001", "ITM00002"): 1}
    assert overdue_items("hall_month", "2025-Q2") == {("H01",): 2}
    # The other counts still sum: 3 overdue cases in the quarter.
    q2 = marts.slice_mart(wh, "unit_month", "2025-Q2", None, "U001").to_pylist()[0]
    assert q2["overdue_cases"] == 3
    # Same columns in the same order as a single month's slice.
    assert marts.slice_mart(wh, "unit_month", "2025-Q2", None).column_names == \
        marts.slice_mart(wh, "unit_month", "2025-06", None).column_names


def test_the_deadline_option_rebuilds_the_facts(tmp_path):
    """deadline_includes_suspension changes the deadlines in fact_cases, so a change of it is not a reuse."""
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    write_warehouse(lake, "cases", _stored([case_row(1, deadline_at=ts(2025, 6, 10, 17), suspended_days=2),
                                            case_row(2, accepted_at=ts(2025, 7, 1, 9), completed_at=None,
                                                     status="在办", updated_at=ts(2025, 7, 1, 9))]))
    marts.build(lake)
    assert marts.build(lake).facts_reused
    again = marts.build(lake, options=MetricOptions.from_overrides({"deadline_includes_suspension": True}))
    assert not again.facts_reused
    deadline = connect(lake).query("SELECT deadline_date FROM fact_cases WHERE case_id = 'AJ00000000000001'")
    assert deadline.column("deadline_date")[0].as_py() == dt.date(2025, 6, 10)


@pytest.mark.parametrize(("text", "message"), [
    ('deadline_includes_suspension = "yes"', r"deadline_includes_suspension must be true or false, not 'yes'"),
    ('rejected_cases = "drop"', r"rejected_cases must be one of count \| exclude, not 'drop'"),
    ('as_of = "soon"', r"as_of must be an instant such as 2026-11-14T18:00:00\+08:00"),
    ("as_of = 2026-11-14", r"as_of must be an instant"),
])
def test_the_new_options_name_a_bad_value(tmp_path, text, message):
    (tmp_path / "metric_options.toml").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(MetricsError, match=message):
        MetricOptions.load(tmp_path)


def test_a_toml_export_time_is_read_as_beijing_time(tmp_path):
    (tmp_path / "metric_options.toml").write_text("as_of = 2026-11-14T18:00:00\n", encoding="utf-8")
    assert MetricOptions.load(tmp_path)["as_of"] == "2026-11-14T18:00:00+08:00"
