"""dashboard.core.period on hand-worked cases: spellings in and out, months and parts, the period before and a year
before across year ends, Beijing-time bounds (leap Februaries included), labels, ordering and bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.core.period import BEIJING, BEIJING_ZONE, Period, PeriodError, periods_holding

# Written independently of the module: UTC+8, the offset Beijing has kept since 1991.
UTC8 = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(("text", "kind"), [("2025-06", "month"), ("2025-12", "month"), ("2025-01", "month"),
                                             ("2025-Q1", "quarter"), ("2025-Q4", "quarter"), ("2025", "year")])
def test_a_spelling_round_trips_and_names_its_kind(text, kind):
    p = Period.parse(text)
    assert str(p) == text and p.kind == kind and Period.parse(str(p)) == p
    assert repr(p) == f"Period('{text}')"


@pytest.mark.parametrize("text", ["2025-13", "2025-00", "2025-6", "2025-Q0", "2025-Q5", "2025Q2", "2025-q2", "25-06",
                                  "0000", "2025-06-01", " 2025", "2025 ", "", "二〇二五", "2025-06'; DROP TABLE x"])
def test_bad_spellings_are_a_value_error_naming_the_text(text):
    with pytest.raises(ValueError, match="write a month \\(2025-06\\), a quarter \\(2025-Q2\\) or a year") as e:
        Period.parse(text)
    assert repr(text) in str(e.value) and isinstance(e.value, PeriodError)
    assert Period.parse_or_none(text) is None


def test_something_that_is_not_text_is_no_period():
    with pytest.raises(PeriodError, match="None"):
        Period.parse(None)  # type: ignore[arg-type]
    assert Period.parse_or_none(None) is None and Period.parse_or_none(202506) is None


def test_months_of_a_month_a_quarter_and_a_year():
    assert Period.parse("2025-06").months == ["2025-06"]
    assert Period.parse("2025-Q1").months == ["2025-01", "2025-02", "2025-03"]
    assert Period.parse("2025-Q4").months == ["2025-10", "2025-11", "2025-12"]
    assert Period.parse("2024").months == [f"2024-{m:02d}" for m in range(1, 13)]


def test_parts_of_a_year_and_a_quarter():
    year = Period.parse("2025")
    assert year.parts("quarter") == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert year.parts("year") == ["2025"] and year.parts("month") == year.months
    assert Period.parse("2025-Q3").parts("month") == ["2025-07", "2025-08", "2025-09"]
    assert Period.parse("2025-Q3").parts("quarter") == ["2025-Q3"]
    with pytest.raises(PeriodError, match="no quarters inside"):
        Period.parse("2025-06").parts("quarter")
    with pytest.raises(PeriodError, match="'week'"):
        year.parts("week")


def test_the_period_that_holds_one():
    assert str(Period.parse("2025-06").enclosing("quarter")) == "2025-Q2"
    assert str(Period.parse("2025-07").enclosing("quarter")) == "2025-Q3"
    assert str(Period.parse("2025-12").enclosing("year")) == "2025"
    assert str(Period.parse("2025-Q4").enclosing("year")) == "2025"
    assert Period.parse("2025-06").enclosing("month") == Period.parse("2025-06")
    with pytest.raises(PeriodError):
        Period.parse("2025").enclosing("quarter")


@pytest.mark.parametrize(("text", "before"), [("2025-06", "2025-05"), ("2025-01", "2024-12"), ("2024-03", "2024-02"),
                                               ("2025-Q2", "2025-Q1"), ("2025-Q1", "2024-Q4"), ("2025", "2024"),
                                               ("2000-01", "1999-12")])
def test_previous_is_the_same_kind_just_before(text, before):
    assert str(Period.parse(text).previous()) == before


@pytest.mark.parametrize(("text", "then"), [("2025-06", "2024-06"), ("2025-01", "2024-01"), ("2024-02", "2023-02"),
                                             ("2025-Q1", "2024-Q1"), ("2025-Q4", "2024-Q4"), ("2025", "2024")])
def test_same_period_last_year(text, then):
    assert str(Period.parse(text).same_period_last_year()) == then


def test_no_period_before_year_one():
    with pytest.raises(PeriodError, match="0001–9999"):
        Period.parse("0001-01").previous()


def test_start_and_end_are_beijing_midnights_and_leap_februaries_have_29_days():
    feb = Period.parse("2024-02")
    assert (feb.start, feb.end) == (dt.datetime(2024, 2, 1, tzinfo=UTC8), dt.datetime(2024, 3, 1, tzinfo=UTC8))
    assert (feb.end - feb.start).days == 29
    assert (Period.parse("2025-02").end - Period.parse("2025-02").start).days == 28
    assert (Period.parse("2100-02").end - Period.parse("2100-02").start).days == 28  # divisible by 100, not 400
    assert (Period.parse("2000-02").end - Period.parse("2000-02").start).days == 29  # divisible by 400
    assert (Period.parse("2024").end - Period.parse("2024").start).days == 366
    assert (Period.parse("2025").end - Period.parse("2025").start).days == 365
    # The last month of a year ends at the next year's first instant; a quarter ends where the next begins.
    assert Period.parse("2025-12").end == dt.datetime(2026, 1, 1, tzinfo=UTC8)
    assert Period.parse("2025-Q4").end == dt.datetime(2026, 1, 1, tzinfo=UTC8) == Period.parse("2026-Q1").start
    # 2025-06-01 00:00 in Beijing is still May 31st in UTC.
    assert Period.parse("2025-06").start.astimezone(dt.UTC) == dt.datetime(2025, 5, 31, 16, tzinfo=dt.UTC)


def test_beijing_time_in_python_and_by_name():
    assert dt.datetime(2025, 6, 1, tzinfo=BEIJING).utcoffset() == dt.timedelta(hours=8)
    assert BEIJING_ZONE == "Asia/Shanghai"


def test_labels_as_the_bulletin_writes_them():
    # Chinese: 年 and an unpadded month; English: the spelling, as the bulletin has always printed.
    assert Period.parse("2025-06").label("zh") == "2025年6月"
    assert Period.parse("2025-11").label("zh") == "2025年11月"
    assert Period.parse("2025-06").label("en") == "2025-06"
    assert Period.parse("2025-Q2").label("zh") == "2025年第2季度" and Period.parse("2025-Q2").label("en") == "2025-Q2"
    assert Period.parse("2025").label("zh") == "2025年" and Period.parse("2025").label("en") == "2025"


def test_ordering_is_chronological_within_a_kind():
    months = ["2025-01", "2024-12", "2025-10", "2024-02"]
    assert [str(p) for p in sorted(map(Period.parse, months))] == ["2024-02", "2024-12", "2025-01", "2025-10"]
    assert Period.parse("2024-Q4") < Period.parse("2025-Q1") < Period.parse("2025-Q2")
    assert Period.parse("2024") < Period.parse("2025")
    # At the same first month a shorter period sorts first: 2025-04 < 2025-Q2 < 2025-05.
    assert Period.parse("2025-04") < Period.parse("2025-Q2") < Period.parse("2025-05")
    assert len({Period.parse("2025-06"), Period.parse("2025-06")}) == 1


def test_only_whole_periods_can_be_built():
    assert Period(2025, 4, 3) == Period.parse("2025-Q2")
    for args in ((2025, 5, 3), (2025, 2, 12), (2025, 13, 1), (2025, 1, 2), (0, 1, 1)):
        with pytest.raises(PeriodError):
            Period(*args)


def test_periods_holding_months():
    months = ["2025-06", "2025-05", "2024-12", "2024-11", "2024-10", "2025-01"]
    assert periods_holding(months, "month") == ["2025-06", "2025-05", "2025-01", "2024-12", "2024-11", "2024-10"]
    assert periods_holding(months, "quarter") == ["2025-Q2", "2025-Q1", "2024-Q4"]
    assert periods_holding(months, "year") == ["2025", "2024"]
    assert periods_holding([], "quarter") == []
