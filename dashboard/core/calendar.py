"""Working-day calendar (工作日历): China's public holidays and 调休 working weekends, plus overrides."""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cached_property
from pathlib import Path

import holidays
import pyarrow as pa
from holidays.countries.china import ChinaStaticHolidays


class CalendarError(ValueError):
    """A question the calendar cannot answer truthfully (e.g. a year whose schedule is unpublished)."""


def published_years() -> set[int]:
    """Years for which the State Council's holiday schedule (放假安排, with 调休) is in the holidays package."""
    return set(ChinaStaticHolidays.special_public_holidays)


class WorkCalendar:
    """Answers is-this-a-working-day and counts working days, refusing years it does not know."""

    def __init__(self, overrides: Path | None = None):
        self.overrides_path = overrides
        self._overrides: dict[dt.date, tuple[bool, str]] = {}
        self._extra_years: set[int] = set()
        if overrides is not None and Path(overrides).exists():
            self._load_overrides(Path(overrides))
        self._years = published_years() | self._extra_years
        self._holidays = holidays.China(years=sorted(self._years))

    def _load_overrides(self, path: Path) -> None:
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise CalendarError(f"{path}: {e}") from e
        self._extra_years = {int(y) for y in doc.get("published_years", [])}
        for i, day in enumerate(doc.get("day", []), start=1):
            if not isinstance(day.get("date"), dt.date) or not isinstance(day.get("workday"), bool):
                raise CalendarError(f"{path}: [[day]] entry {i} needs `date = YYYY-MM-DD` and `workday = true|false`")
            self._overrides[day["date"]] = (day["workday"], str(day.get("note", "")))

    @property
    def years(self) -> set[int]:
        """Years the calendar can answer for."""
        return set(self._years)

    def _check(self, d: dt.date) -> None:
        if d.year not in self._years:
            have = f"{min(self._years)}–{max(self._years)}" if self._years else "none"
            raise CalendarError(
                f"no published holiday schedule for {d.year} (known years: {have}); add the year to the "
                f"calendar override file with `published_years = [{d.year}]` and its [[day]] entries"
            )

    def is_workday(self, d: dt.date) -> bool:
        """True when `d` is a working day (weekday not a holiday, or a 调休 working weekend)."""
        self._check(d)
        if d in self._overrides:
            return self._overrides[d][0]
        return self._holidays.is_working_day(d)

    def holiday_name(self, d: dt.date) -> str:
        """The holiday's name, the override's note, or '' for an ordinary day."""
        if d in self._overrides:
            return self._overrides[d][1]
        return self._holidays.get(d, "") or ""

    def add_workdays(self, d: dt.date, n: int) -> dt.date:
        """The n-th working day after `d` (d itself not counted); n = 0 gives `d`."""
        if n < 0:
            raise CalendarError("cannot add a negative number of working days")
        cur = d
        while n > 0:
            cur += dt.timedelta(days=1)
            if self.is_workday(cur):
                n -= 1
        self._check(cur)
        return cur

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: 0 when end is start or earlier."""
        n, cur = 0, start
        while cur < end:
            cur += dt.timedelta(days=1)
            n += self.is_workday(cur)
        return n

    @cached_property
    def _span(self) -> tuple[dt.date, dt.date]:
        return dt.date(min(self._years), 1, 1), dt.date(max(self._years), 12, 31)

    def table(self, start: dt.date | None = None, end: dt.date | None = None) -> pa.Table:
        """Arrow table (date, is_workday, workday_seq, holiday_name): workday_seq counts working days so far."""
        start = start or self._span[0]
        end = end or self._span[1]
        self._check(start)
        self._check(end)
        dates, work, seq, names = [], [], [], []
        n, cur = 0, start
        while cur <= end:
            w = self.is_workday(cur)
            n += w
            dates.append(cur)
            work.append(w)
            seq.append(n)
            names.append(self.holiday_name(cur))
            cur += dt.timedelta(days=1)
        return pa.table({
            "date": pa.array(dates, pa.date32()),
            "is_workday": pa.array(work, pa.bool_()),
            "workday_seq": pa.array(seq, pa.int32()),
            "holiday_name": pa.array(names, pa.string()),
        })
