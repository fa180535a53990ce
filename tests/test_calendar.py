"""Working-day calendar: 调休 working weekends, holidays, overrides, unpublished years."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.core.calendar import CalendarError, WorkCalendar

D = dt.date


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def test_tiaoxiu_sunday_is_a_working_day(cal):
    # 2025-09-28 is a Sunday worked in exchange for the National Day holiday (国务院办公厅 2024 通知).
    assert D(2025, 9, 28).weekday() == 6
    assert cal.is_workday(D(2025, 9, 28))


def test_national_day_is_not_a_working_day(cal):
    assert D(2025, 10, 1).weekday() == 2
    assert not cal.is_workday(D(2025, 10, 1))
    assert not cal.is_workday(D(2025, 10, 8))  # the extended Mid-Autumn/National Day break
    assert cal.is_workday(D(2025, 10, 11))  # Saturday worked


def test_plain_weekend_and_weekday(cal):
    assert not cal.is_workday(D(2025, 6, 7))  # Saturday
    assert cal.is_workday(D(2025, 6, 9))  # Monday


def test_add_workdays_skips_the_golden_week(cal):
    # Working days after Tue 2025-09-30: Oct 1–8 off, Thu Oct 9, Fri Oct 10, Sat Oct 11 (worked).
    assert cal.add_workdays(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert cal.add_workdays(D(2025, 9, 30), 3) == D(2025, 10, 11)
    assert cal.add_workdays(D(2025, 9, 30), 0) == D(2025, 9, 30)
    assert cal.workdays_between(D(2025, 9, 30), D(2025, 10, 11)) == 3


def test_unpublished_year_is_a_clear_error(cal):
    with pytest.raises(CalendarError, match="no published holiday schedule for 2030"):
        cal.is_workday(D(2030, 1, 2))


def test_override_file_adds_a_year_and_moves_a_day(tmp_path):
    path = tmp_path / "calendar_overrides.toml"
    path.write_text(
        "published_years = [2030]\n"
        "[[day]]\ndate = 2030-01-01\nworkday = false\nnote = \"元旦\"\n"
        "[[day]]\ndate = 2025-06-09\nworkday = false\nnote = \"台风停工\"\n",
        encoding="utf-8",
    )
    cal = WorkCalendar(path)
    assert not cal.is_workday(D(2030, 1, 1))
    assert cal.is_workday(D(2030, 1, 2))
    assert not cal.is_workday(D(2025, 6, 9))
    assert cal.holiday_name(D(2025, 6, 9)) == "台风停工"


def test_override_file_with_a_bad_entry_names_it(tmp_path):
    path = tmp_path / "calendar_overrides.toml"
    path.write_text("[[day]]\ndate = \"2030-01-01\"\nworkday = false\n", encoding="utf-8")
    with pytest.raises(CalendarError, match=r"\[\[day\]\] entry 1"):
        WorkCalendar(path)


def test_table_counts_working_days(cal):
    t = cal.table(D(2025, 9, 26), D(2025, 10, 12)).to_pylist()
    seq = {r["date"]: r["workday_seq"] for r in t}
    work = {r["date"]: r["is_workday"] for r in t}
    # Independently: count the working days from the list itself.
    assert seq[D(2025, 10, 12)] - seq[D(2025, 9, 26)] == sum(work[d] for d in work if d > D(2025, 9, 26))
    assert seq[D(2025, 10, 9)] == seq[D(2025, 9, 30)] + 1
