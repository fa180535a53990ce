"""The foundation's unit_month mart on hand-made cases, every number worked out by hand below."""

from __future__ import annotations

from conftest import case_row, ts, write_export

from dashboard.core import ingest, marts
from dashboard.core.db import connect


def test_unit_month_by_hand(lake, units_file):
    folder = units_file.parent
    cases = [
        # A: accepted Tue 06-03, promised 5 working days → due 06-10 (06-04,05,06,09,10); done 06-05: on time.
        case_row(1, completed_at=ts(2025, 6, 5, 16)),
        # B: same deadline 06-10, done 06-11: late.
        case_row(2, completed_at=ts(2025, 6, 11, 9), updated_at=ts(2025, 6, 11, 9)),
        # C: 3 suspended working days push 06-10 to 06-13 (06-11,12,13); done 06-12: on time.
        case_row(3, suspended_days=3, completed_at=ts(2025, 6, 12, 9), updated_at=ts(2025, 6, 12, 9)),
        # D: accepted in May with an explicit deadline 06-02 (a holiday, still June); open: due, not on time.
        case_row(4, accepted_at=ts(2025, 5, 28, 9), deadline_at=ts(2025, 6, 2, 17), status="在办",
                 completed_at=None),
        # E: 即办件 promised 0 → due the same day 06-04; done 06-04: on time and same day.
        case_row(5, item_kind="即办件", promised_days=0, accepted_at=ts(2025, 6, 4, 9),
                 completed_at=ts(2025, 6, 4, 15)),
    ]
    evals = [{"eval_id": f"E{i}", "unit_code": "U001", "rated_at": ts(2025, 6, 5, 10), "rating": r}
             for i, r in enumerate([5, 2, 3])]
    write_export(folder / "cases_h.parquet", "cases", cases)
    write_export(folder / "evaluations_h.parquet", "evaluations", evals)
    ingest.ingest([folder], lake)
    marts.build(lake)
    rows = connect(lake).query("SELECT * EXCLUDE (unit_name, unit_kind, unit_group) FROM mart_unit_month "
                               "ORDER BY period").to_pylist()
    assert rows == [
        # May: D accepted; nothing else happened in May.
        {"period": "2025-05", "unit_code": "U001", "cases_accepted": 1, "cases_completed": 0, "due_cases": 0,
         "on_time_cases": 0, "same_day_cases": 0, "ratings": 0, "satisfied_ratings": 0},
        # June: accepted A B C E; completed A B C E, same day E; due A B C D E, on time A C E;
        # ratings 5, 2, 3 → 3 ratings, 2 satisfied (≥ 3).
        {"period": "2025-06", "unit_code": "U001", "cases_accepted": 4, "cases_completed": 4, "due_cases": 5,
         "on_time_cases": 3, "same_day_cases": 1, "ratings": 3, "satisfied_ratings": 2},
    ]


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
    rows = connect(lake).query("SELECT period, cases_accepted, due_cases FROM mart_unit_month").to_pylist()
    assert rows == [{"period": f"{last}-12", "cases_accepted": 1, "due_cases": 0}]


def test_build_refuses_cases_in_a_year_without_a_published_calendar(lake, units_file):
    import pytest

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
