"""dashboard.core.breaches on hand-made months: strictly below, exact fractions, streaks and their breaks."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from dashboard.core.breaches import find
from dashboard.core.metrics import Threshold

SAT = Threshold("satisfaction_rate", Fraction(98, 100), "")
ON_TIME = Threshold("on_time_rate", Fraction(1), "")


def row(unit: str, sat: tuple[int, int] = (100, 100), on_time: tuple[int, int] = (10, 10)) -> dict:
    return {"unit_code": unit, "unit_name": f"单位{unit}", "unit_group": "第一圈层",
            "satisfaction_rate_num": sat[0], "satisfaction_rate_den": sat[1],
            "on_time_rate_num": on_time[0], "on_time_rate_den": on_time[1]}


def test_exactly_98_is_not_below_and_zero_denominator_is_no_data():
    months = {"2025-06": [row("A", (98, 100)), row("B", (9799, 10000)), row("C", (0, 0)), row("D", on_time=(0, 0))]}
    got = find("2025-06", months.get, [SAT, ON_TIME])
    assert [(b.unit, b.metric) for b in got] == [("B", "satisfaction_rate")]
    b = got[0]
    assert b.value == Fraction(9799, 10000) and (b.num, b.den) == (9799, 10000)
    assert b.gap_pp == Decimal("-0.01") and b.line == Fraction(98, 100)
    assert b.consecutive_months == 1 and b.new
    assert b.name == "单位B" and b.group == "第一圈层"


def test_streaks_count_back_and_stop_at_a_good_month_a_gap_or_no_data():
    months = {
        "2025-06": [row("A", (90, 100)), row("B", (90, 100)), row("C", (90, 100)), row("D", (90, 100))],
        "2025-05": [row("A", (90, 100)), row("B", (99, 100)), row("C", (0, 0)), row("D", (97, 100))],
        "2025-04": [row("A", (90, 100)), row("B", (90, 100)), row("C", (90, 100))],  # D absent
        "2025-03": [row("A", (98, 100)), row("D", (90, 100))],
        # 2025-02 missing from the mart entirely
        "2025-01": [row("D", (90, 100))],
    }
    got = {b.unit: b for b in find("2025-06", months.get, [SAT])}
    assert {u: (b.consecutive_months, b.new) for u, b in got.items()} == {
        "A": (3, False), "B": (1, True), "C": (1, True), "D": (2, False)}


def test_only_months_needed_are_read_and_the_streak_is_capped():
    reads = []

    def rows_of(month):
        reads.append(month)
        return [row("A", (1, 2))]

    got = find("2025-06", rows_of, [SAT], max_months=5)
    assert got[0].consecutive_months == 5 and len(reads) == 5
    reads.clear()
    assert find("2025-06", lambda m: reads.append(m) or [row("A")], [SAT]) == [] and reads == ["2025-06"]


def test_a_streak_counts_back_across_the_new_year():
    reads = []

    def rows_of(month):
        reads.append(month)
        return [row("A", (1, 2))]

    # Written out by hand: four calendar months before 2025-02 are 2025-01, then 2024-12, 2024-11, 2024-10.
    assert find("2025-02", rows_of, [SAT], max_months=5)[0].consecutive_months == 5
    assert reads == ["2025-02", "2025-01", "2024-12", "2024-11", "2024-10"]


def test_order_is_lines_then_furthest_below():
    months = {"2025-06": [row("A", (97, 100), (9, 10)), row("B", (90, 100)), row("C", (96, 100), (5, 10))]}
    got = find("2025-06", months.get, [SAT, ON_TIME])
    assert [(b.metric, b.unit) for b in got] == [
        ("satisfaction_rate", "B"), ("satisfaction_rate", "C"), ("satisfaction_rate", "A"),
        ("on_time_rate", "C"), ("on_time_rate", "A")]
    assert got[-1].gap_pp == Decimal("-10.00")
