"""Row rules come from the contract: a table's declared cross-column rules and range reasons are applied by the
checks module with no table named in its code; each row keeps the first reason it earns."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from dashboard.core.contract import TABLES, TIMESTAMP, Before, Column, Table
from dashboard.core.ingest.checks import reason_rows
from dashboard.core.ingest.parsing import Parsed, no_errors

TZ8 = dt.timezone(dt.timedelta(hours=8))


def _at(hour: int | None) -> dt.datetime | None:
    return None if hour is None else dt.datetime(2025, 6, 3, hour, tzinfo=TZ8)


def _cols(t: Table, rows: list[dict]) -> dict[str, Parsed]:
    n = len(rows)
    return {c.name: Parsed(pa.array([r.get(c.name) for r in rows], c.type), no_errors(n)) for c in t.columns}


def test_a_made_up_table_gets_its_declared_order_and_range_rules():
    """A table the gate has never heard of: the rules it declares are the rules it gets."""
    trips = Table(
        name="trips", zh="行程", en="Trips", key=("trip_id",),
        columns=(Column("trip_id", pa.string(), True, "编号", "Id"),
                 Column("left_at", TIMESTAMP, True, "出发", "Left"),
                 Column("arrived_at", TIMESTAMP, False, "到达", "Arrived"),
                 Column("seats", pa.int32(), False, "座位", "Seats", min=1, max=9, range_reason="too_many_seats")),
        rules=(Before(earlier="left_at", later="arrived_at", reason="arrived_before_leaving"),),
    )
    rows = [{"trip_id": "T1", "left_at": _at(9), "arrived_at": _at(10), "seats": 4},  # fine
            {"trip_id": "T2", "left_at": _at(9), "arrived_at": _at(8), "seats": 4},  # arrives an hour early
            {"trip_id": "T3", "left_at": _at(9), "arrived_at": _at(9), "seats": 10},  # same instant is fine
            {"trip_id": "T4", "left_at": _at(9), "arrived_at": None, "seats": 0}]  # open: no order to break
    v = reason_rows(trips, _cols(trips, rows), None)
    assert v.reason.tolist() == [None, "arrived_before_leaving", "too_many_seats", "too_many_seats"]
    assert v.column.tolist() == [None, "arrived_at", "seats", "seats"]
    assert v.detail[1] == "arrived_at earlier than left_at"


def test_tickets_keep_their_two_order_rules_and_the_first_one_wins():
    t = TABLES["tickets"]
    base = {"ticket_id": "Q", "issued_at": _at(9), "status": "served"}
    rows = [base | {"called_at": _at(10), "finished_at": _at(11)},
            base | {"called_at": _at(8), "finished_at": _at(11)},   # called before it was issued
            base | {"called_at": _at(10), "finished_at": _at(9)},   # finished before it was called
            base | {"called_at": _at(8), "finished_at": _at(7)}]    # both: the contract's first rule is reported
    v = reason_rows(t, _cols(t, rows), None)
    assert v.reason.tolist() == [None, "called_before_issued", "finished_before_called", "called_before_issued"]
    assert v.column.tolist() == [None, "called_at", "finished_at", "called_at"]


def test_a_deadline_is_compared_by_beijing_day():
    """Accepted 2025-06-03 09:00 Beijing; a deadline at 00:00 that day is the same day (fine), the day before is not."""
    t = TABLES["cases"]
    base = {"case_id": "AJ1", "item_code": "I", "item_kind": "即办件", "unit_code": "U001", "status": "在办",
            "accepted_at": _at(9), "updated_at": _at(9)}
    rows = [base | {"deadline_at": _at(0)}, base | {"deadline_at": _at(0) - dt.timedelta(minutes=1)}]
    v = reason_rows(t, _cols(t, rows), None)
    assert v.reason.tolist() == [None, "deadline_before_accepted"]
