"""Typing at the gate (类型转换): strict conversion of text and lossless conversion of typed columns to the
contract's types, each value that does not convert reported with its row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.core.contract import TIMESTAMP, TZ
from dashboard.core.ingest.errors import FileRejected

# Instants outside these years are typing errors in an export, not history or plans.
YEAR_MIN, YEAR_MAX = 1900, 2100
TS_PATTERN = (
    r"^(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})"
    r"(?:[ T](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
TRUE_WORDS = ("true", "1", "是", "yes", "y")
FALSE_WORDS = ("false", "0", "否", "no", "n")


def nfkc(arr: pa.Array) -> pa.Array:
    """NFKC-normalise and trim text; an empty string becomes null."""
    arr = pc.utf8_normalize(arr, form="NFKC")
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


@dataclass
class Parsed:
    """One converted column: typed values, and for each row the error detail (None when fine)."""

    values: pa.Array
    errors: np.ndarray  # object array of str | None


def no_errors(n: int) -> np.ndarray:
    """No row in error."""
    return np.full(n, None, dtype=object)


def errors_where(mask: np.ndarray, col: str, raw: pa.Array) -> np.ndarray:
    """An error detail quoting the raw value for each masked row."""
    errs = no_errors(len(mask))
    if mask.any():
        vals = raw.to_pylist()
        for i in np.flatnonzero(mask):
            errs[i] = f"{col}={str(vals[i])[:60]!r}"
    return errs


def valid_mask(arr: pa.Array) -> np.ndarray:
    """Where the array holds a value (not null)."""
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _parse_timestamps(s: pa.Array, col: str, date_only: bool = False) -> Parsed:
    n = len(s)
    m = pc.extract_regex(s, TS_PATTERN)
    ok = valid_mask(m) & valid_mask(s)
    fields = {k: pc.fill_null(m.field(k), "") for k in ("y", "mo", "d", "h", "mi", "s", "f", "tz")}

    def num(name: str) -> np.ndarray:
        f = fields[name]
        return pc.if_else(pc.equal(f, ""), "0", f).cast(pa.int64()).to_numpy(zero_copy_only=False)

    y, mo, d, h, mi, sec = (num(k) for k in ("y", "mo", "d", "h", "mi", "s"))
    frac = pc.utf8_rpad(pc.if_else(pc.equal(fields["f"], ""), "0", fields["f"]), 6, "0") \
        .cast(pa.int64()).to_numpy(zero_copy_only=False)
    in_range = (mo >= 1) & (mo <= 12) & (d >= 1) & (h <= 23) & (mi <= 59) & (sec <= 59) & (y >= YEAR_MIN) \
        & (y <= YEAR_MAX)
    ok &= in_range
    month_start = ((np.where(ok, y, 1970) - 1970) * 12 + np.where(ok, mo, 1) - 1).astype("datetime64[M]")
    days_in_month = ((month_start + 1).astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(int)
    ok &= d <= days_in_month
    if date_only:
        has_time = np.asarray(pc.not_equal(fields["h"], "").to_numpy(zero_copy_only=False), bool)
        ok &= ~has_time | ((h == 0) & (mi == 0) & (sec == 0))
    day = month_start.astype("datetime64[D]") + np.where(ok, d - 1, 0)
    wall_us = day.astype("datetime64[us]").astype(np.int64) + ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac
    tz = fields["tz"].to_numpy(zero_copy_only=False)
    offset_us = np.zeros(n, dtype=np.int64)
    has_tz = ok & np.asarray(pc.not_equal(fields["tz"], "").to_numpy(zero_copy_only=False), bool)
    for i in np.flatnonzero(has_tz):
        z = tz[i].replace(":", "")
        if z == "Z":
            continue
        hours, minutes = int(z[1:3]), int(z[3:5])
        if date_only or hours > 14 or minutes > 59:  # a date has no zone; real offsets stay within ±14:00
            ok[i] = False
            continue
        offset_us[i] = (1 if z[0] == "+" else -1) * (hours * 60 + minutes) * 60_000_000
    if date_only:
        ok &= ~(has_tz & np.asarray(pc.equal(fields["tz"], "Z").to_numpy(zero_copy_only=False), bool))
    errors = errors_where(valid_mask(s) & ~ok, col, s)
    if date_only:
        vals = pa.array(day.astype("datetime64[D]"), pa.date32(), mask=~ok)
        return Parsed(vals, errors)
    naive = pa.array(wall_us, pa.timestamp("us"), mask=~ok)
    local = pc.assume_timezone(naive, TZ, ambiguous="earliest", nonexistent="earliest")
    explicit = pa.array(wall_us - offset_us, pa.timestamp("us", tz="UTC"), mask=~ok).cast(TIMESTAMP)
    vals = pc.if_else(pa.array(has_tz), explicit, local.cast(TIMESTAMP))
    return Parsed(vals, errors)


def from_string(s: pa.Array, target: pa.DataType, col: str) -> Parsed:
    """Strict conversion of text to the contract type: nothing rounded, nothing guessed."""
    s = nfkc(s)
    n = len(s)
    if pa.types.is_string(target):
        return Parsed(s, no_errors(n))
    if pa.types.is_integer(target):
        ok = pc.fill_null(pc.match_substring_regex(s, r"^[+-]?\d{1,12}$"), False)
        vals = pc.if_else(ok, s, pa.scalar(None, pa.string())).cast(pa.int64())
        fits = pc.fill_null(pc.and_(pc.greater_equal(vals, -(2**31)), pc.less(vals, 2**31)), False)
        good = pc.and_(ok, fits)
        bad = valid_mask(s) & ~np.asarray(good.to_numpy(zero_copy_only=False), dtype=bool)
        return Parsed(pc.if_else(good, vals, pa.scalar(None, pa.int64())).cast(target), errors_where(bad, col, s))
    if pa.types.is_boolean(target):
        low = pc.utf8_lower(s)
        t = pc.is_in(low, pa.array(TRUE_WORDS))
        f = pc.is_in(low, pa.array(FALSE_WORDS))
        vals = pc.if_else(t, True, pc.if_else(f, False, pa.scalar(None, pa.bool_())))
        bad = valid_mask(s) & ~valid_mask(vals)
        return Parsed(vals, errors_where(bad, col, s))
    if pa.types.is_timestamp(target):
        return _parse_timestamps(s, col)
    if pa.types.is_date(target):
        return _parse_timestamps(s, col, date_only=True)
    if pa.types.is_decimal(target):
        pattern = rf"^[+-]?\d{{1,{target.precision - target.scale}}}(\.\d{{1,{target.scale}}})?$"
        ok = pc.fill_null(pc.match_substring_regex(s, pattern), False)
        vals = pc.if_else(ok, s, pa.scalar(None, pa.string())).cast(target)
        bad = valid_mask(s) & ~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
        return Parsed(vals, errors_where(bad, col, s))
    raise TypeError(target)


def from_typed(a: pa.Array, target: pa.DataType, col: str) -> Parsed:
    """Lossless conversion of a typed Parquet column; anything else rejects the file."""
    n = len(a)
    src = a.type
    if pa.types.is_dictionary(src):
        a = a.dictionary_decode()
        src = a.type
    if pa.types.is_string(src) or pa.types.is_large_string(src) or pa.types.is_string_view(src):
        return from_string(a.cast(pa.string()), target, col)
    if pa.types.is_null(src):
        return Parsed(pa.nulls(n, target), no_errors(n))
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(src):
        if src.tz is None:
            a = pc.assume_timezone(a, TZ, ambiguous="earliest", nonexistent="earliest")
        # Bounds in the source's own unit, so nothing can overflow before it is checked.
        lo, hi = (pa.scalar(dt.datetime(y, 1, 1, tzinfo=dt.UTC), pa.timestamp(src.unit, tz="UTC"))
                  for y in (YEAR_MIN, YEAR_MAX + 1))
        a = orig = a.cast(pa.timestamp(src.unit, tz="UTC"))
        good = pc.fill_null(pc.and_(pc.greater_equal(a, lo), pc.less(a, hi)), False)
        bad = valid_mask(a) & ~np.asarray(good.to_numpy(zero_copy_only=False), bool)
        a = pc.if_else(good, a, pa.scalar(None, a.type))
        if src.unit == "ns":
            a = pc.floor_temporal(a, unit="microsecond")
        # Out-of-range instants cannot even be shown as datetimes: report the raw count of units since 1970.
        raw = pc.binary_join_element_wise(orig.view(pa.int64()).cast(pa.string()), f" {src.unit} since 1970", "")
        return Parsed(a.cast(pa.timestamp("us", tz="UTC")).cast(TIMESTAMP), errors_where(bad, col, raw))
    if pa.types.is_timestamp(target) and pa.types.is_date(src):
        return Parsed(pc.assume_timezone(a.cast(pa.timestamp("us")), TZ).cast(TIMESTAMP), no_errors(n))
    if pa.types.is_date(target) and pa.types.is_date(src):
        return Parsed(a.cast(pa.date32()), no_errors(n))
    if pa.types.is_integer(target) and (pa.types.is_integer(src) or pa.types.is_floating(src)):
        f = a.cast(pa.float64()) if pa.types.is_floating(src) else None
        if f is not None:
            # A 4.5 rating is not a 5: only exactly integral floats pass.
            integral = pc.fill_null(pc.equal(pc.floor(f), f), False)
            within = pc.fill_null(pc.and_(pc.greater_equal(f, -(2**31)), pc.less(f, 2**31)), False)
            good = pc.and_(integral, within)
            vals = pc.if_else(good, f, pa.scalar(None, pa.float64())).cast(pa.int64())
        else:
            v64 = a.cast(pa.int64(), safe=False) if src != pa.uint64() else a
            good = pc.fill_null(pc.and_(pc.greater_equal(v64, -(2**31)), pc.less(v64, 2**31)), False)
            vals = pc.if_else(good, v64, pa.scalar(None, v64.type)).cast(pa.int64())
        bad = valid_mask(a) & ~np.asarray(good.to_numpy(zero_copy_only=False), dtype=bool)
        return Parsed(vals.cast(target), errors_where(bad, col, a))
    if pa.types.is_boolean(target) and pa.types.is_boolean(src):
        return Parsed(a, no_errors(n))
    if pa.types.is_decimal(target) and (pa.types.is_decimal(src) or pa.types.is_integer(src)):
        try:
            return Parsed(a.cast(target), no_errors(n))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise FileRejected("column_type", f"column {col}: {src} does not fit {target}: {e}") from e
    raise FileRejected("column_type", f"column {col} is {src}; the contract wants {target}")
