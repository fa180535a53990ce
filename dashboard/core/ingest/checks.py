"""Row rules (行规则): what the contract declares beyond types — keys, required and allowed values, ranges, the
order of instants, personal numbers in identifiers, known units — each failing row given its first reason."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.core.contract import INSTANTS_BEFORE, INSTANTS_FROM, TIMESTAMP, TZ, Before, Table
from dashboard.core.ingest.parsing import Parsed, errors_where, valid_mask
from dashboard.core.ingest.personal import holds_personal_number, is_identifier


class Verdicts:
    """For each row of a batch, the first rule it fails: reason, column and detail (None while it passes)."""

    def __init__(self, n: int):
        self.n = n
        self.reason = np.full(n, None, dtype=object)
        self.column = np.full(n, None, dtype=object)
        self.detail = np.full(n, None, dtype=object)

    def mark(self, mask: np.ndarray, code: str, col: str | None, detail) -> None:
        """Give rows in `mask` that pass so far this reason; `detail` is one text or one per row."""
        take = mask & (self.reason == None)  # noqa: E711 - elementwise on an object array
        if take.any():
            self.reason[take] = code
            self.column[take] = col
            self.detail[take] = detail[take] if isinstance(detail, np.ndarray) else detail


def _bools(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), bool)


def _out_of_order(rule: Before, cols: dict[str, Parsed]) -> np.ndarray:
    earlier, later = cols[rule.earlier].values, cols[rule.later].values
    if rule.by_day:
        earlier, later = (pc.local_timestamp(x).cast(pa.date32()) for x in (earlier, later))
    return _bools(pc.less(later, earlier))


def _length_details(bad: np.ndarray, col: str, chars: pa.Array, limit: int) -> np.ndarray:
    # The length, never the text: the value may be megabytes.
    details = np.full(len(bad), None, dtype=object)
    lengths = chars.to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(bad):
        details[i] = f"{col} has {int(lengths[i]):,} characters; at most {limit:,} are allowed"
    return details


def _outside_instants(values: pa.Array) -> np.ndarray:
    lo, hi = (pa.scalar(dt.datetime.combine(d, dt.time(), tzinfo=ZoneInfo(TZ)), TIMESTAMP)
              for d in (INSTANTS_FROM, INSTANTS_BEFORE))
    return _bools(pc.or_kleene(pc.less(values, lo), pc.greater_equal(values, hi)))


def reason_rows(t: Table, cols: dict[str, Parsed], known_units: set[str] | None) -> Verdicts:
    """Apply the table's rules in the contract's order; a row keeps the first reason it earns."""
    v = Verdicts(len(next(iter(cols.values())).values))
    for k in t.key:
        v.mark(~valid_mask(cols[k].values) & (cols[k].errors == None), "missing_id", k, f"{k} is empty")  # noqa: E711
    for c in t.columns:
        if c.name in cols:
            v.mark(cols[c.name].errors != None, "bad_value", c.name, cols[c.name].errors)  # noqa: E711
    for c in t.columns:
        if c.name in cols and c.max_chars is not None:
            chars = pc.utf8_length(cols[c.name].values)
            bad = _bools(pc.greater(chars, c.max_chars))
            v.mark(bad, "too_long", c.name, _length_details(bad, c.name, chars, c.max_chars))
    for c in t.columns:
        if c.required and c.name not in t.key:
            v.mark(~valid_mask(cols[c.name].values), "missing_required", c.name, f"{c.name} is empty")
    for c in t.columns:
        if c.name not in cols:
            continue
        values = cols[c.name].values
        if c.allowed:
            bad = valid_mask(values) & ~_bools(pc.is_in(values, pa.array(c.allowed)))
            v.mark(bad, "not_allowed", c.name, errors_where(bad, c.name, values))
        if c.min is not None or c.max is not None:
            lo = pc.less(values, c.min) if c.min is not None else pa.nulls(len(values), pa.bool_())
            hi = pc.greater(values, c.max) if c.max is not None else pa.nulls(len(values), pa.bool_())
            bad = _bools(pc.or_kleene(lo, hi))
            v.mark(bad, c.range_reason, c.name, errors_where(bad, c.name, values))
        if c.type == TIMESTAMP:
            bad = _outside_instants(values)
            v.mark(bad, "date_out_of_range", c.name, errors_where(bad, c.name, values))
    for rule in t.rules:
        if rule.earlier in cols and rule.later in cols:
            v.mark(_out_of_order(rule, cols), rule.reason, rule.later, f"{rule.later} earlier than {rule.earlier}")
    for c in t.columns:
        if c.name in cols and c.pii is None and pa.types.is_string(c.type) and is_identifier(t, c.name):
            hit = holds_personal_number(cols[c.name].values)
            v.mark(hit, "pii_in_identifier", c.name, f"{c.name} holds an ID-card or mobile number")
    if known_units is not None and "unit_code" in cols and not t.dimension:
        units = cols["unit_code"].values
        bad = valid_mask(units) & ~_bools(pc.is_in(units, pa.array(sorted(known_units), pa.string())))
        v.mark(bad, "unknown_unit", "unit_code", errors_where(bad, "unit_code", units))
    return v
