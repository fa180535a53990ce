"""Strict text parsing at the gate, checked against Python's own datetime and int on generated values."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pyarrow as pa
from helpers.budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.ingest.parsing import from_string as _from_string

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 12, 31)),
                min_size=1, max_size=20))
def test_naive_timestamps_are_beijing_wall_time(values):
    text = pa.array([v.strftime("%Y-%m-%d %H:%M:%S.%f") for v in values])
    parsed = _from_string(text, pa.timestamp("us", tz="Asia/Shanghai"), "t")
    assert all(e is None for e in parsed.errors)
    assert parsed.values.to_pylist() == [v.replace(tzinfo=SH) for v in values]


@settings(max_examples=examples(300), deadline=None)
@given(st.integers(min_value=1990, max_value=2040), st.integers(min_value=1, max_value=12),
       st.integers(min_value=1, max_value=31))
def test_impossible_dates_are_errors_never_rolled_over(y, m, d):
    text = pa.array([f"{y}-{m:02d}-{d:02d} 10:00:00"])
    parsed = _from_string(text, pa.timestamp("us", tz="Asia/Shanghai"), "t")
    try:
        expected = dt.datetime(y, m, d, 10, tzinfo=SH)
    except ValueError:
        expected = None
    assert parsed.values.to_pylist() == [expected]
    assert (parsed.errors[0] is None) == (expected is not None)


@settings(max_examples=examples(300), deadline=None)
@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_integers_round_trip_exactly(n):
    parsed = _from_string(pa.array([str(n)]), pa.int32(), "n")
    assert parsed.values.to_pylist() == [n] and parsed.errors[0] is None


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not float(f).is_integer()))
def test_fractional_numbers_are_not_integers(f):
    parsed = _from_string(pa.array([repr(f)]), pa.int32(), "n")
    assert parsed.values.to_pylist() == [None] and parsed.errors[0] is not None


def test_offsets_and_full_width_digits():
    text = pa.array(["2025-06-04T08:00:00Z", "2025-06-04 08:00+0530", "２０２５-０６-０４ ０８:００", "2025/6/4 8:00"])
    got = _from_string(text, pa.timestamp("us", tz="Asia/Shanghai"), "t").values.to_pylist()
    assert [v.strftime("%Y-%m-%d %H:%M") for v in got] == [
        "2025-06-04 16:00", "2025-06-04 10:30", "2025-06-04 08:00", "2025-06-04 08:00"]


def test_out_of_range_integer_is_an_error_not_a_wrap():
    parsed = _from_string(pa.array(["2147483648", "-2147483649"]), pa.int32(), "n")
    assert parsed.values.to_pylist() == [None, None]
    assert all(e is not None for e in parsed.errors)
