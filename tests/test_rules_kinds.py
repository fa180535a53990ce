"""Each compiled rule kind against a Python reference in exact arithmetic, on thousands of generated values."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import compile_ruleset

TEXT = {"zh": "测试", "en": "test"}


def _ruleset(item: dict) -> m.Ruleset:
    return m.Ruleset.model_validate({
        "id": "probe", "name": TEXT, "source": "test", "subject": "unit", "period": "month",
        "effective": {"from_period": "2025-01"}, "model": {"kind": "base_bonus_deduction", "base": 0,
                                                          "total_floor": None},
        "sections": [{"id": "s", "name": TEXT, "pool": "deduction", "items": [item]}],
    })


def _run(rs: m.Ruleset, subjects: pa.Table) -> list[dict]:
    con = duckdb.connect(":memory:")
    try:
        cur = con.cursor()
        cur.register("subjects", subjects)
        cur.register("subject_events", pa.table({
            "subject": pa.array([], pa.string()), "event_type": pa.array([], pa.string()),
            "level": pa.array([], pa.string()), "severity": pa.array([], pa.int32()),
            "duration_min": pa.array([], pa.int32()), "count": pa.array([], pa.int32())}))
        sql = f'SELECT subject, "slope" AS line FROM ({compile_ruleset(rs)}) ORDER BY subject'
        return cur.sql(sql).to_arrow_table().to_pylist()
    finally:
        con.close()


def _slope_reference(num: int, den: int, target: Decimal, step: Decimal, per_step: Decimal, direction: str,
                     cap: Decimal | None) -> Decimal:
    """Whole steps short of (or beyond) the target in exact fractions; no data gives no points."""
    if den == 0:
        return Decimal(0)
    rate = Fraction(num, den)
    gap = Fraction(target) - rate if direction == "below" else rate - Fraction(target)
    steps = math.floor(gap / Fraction(step)) if gap > 0 else 0
    points = Decimal(steps) * per_step
    if cap is not None:
        points = max(min(points, cap), -cap)
    return points


@settings(max_examples=40, deadline=None)
@given(
    target=st.sampled_from([Decimal("1"), Decimal("0.98"), Decimal("0.995"), Decimal("0.9"), Decimal("0.985")]),
    step=st.sampled_from([Decimal("0.01"), Decimal("0.001"), Decimal("0.005"), Decimal("0.0001")]),
    per_step=st.sampled_from([Decimal("-0.2"), Decimal("-1"), Decimal("-0.05"), Decimal("0.5")]),
    direction=st.sampled_from(["below", "above"]),
    cap=st.sampled_from([None, Decimal("5"), Decimal("10")]),
    pairs=st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 20_000)), min_size=50, max_size=200),
)
def test_threshold_slope_matches_exact_fractions(target, step, per_step, direction, cap, pairs):
    rs = _ruleset({"id": "slope", "name": TEXT, "kind": "threshold_slope", "metric": "satisfaction_rate",
                   "target": str(target), "step": str(step), "points_per_step": str(per_step),
                   "direction": direction, **({"max": str(cap)} if cap is not None else {})})
    # Rates near the edges matter most: 9999/10000 against 100%, exact hits on the target.
    pairs = [(min(n, d), d) for n, d in pairs] + [(9999, 10000), (98, 100), (995, 1000), (0, 0), (7, 0)]
    subjects = pa.table({"subject": [f"s{i:05d}" for i in range(len(pairs))],
                         "satisfaction_rate_num": [n for n, _ in pairs],
                         "satisfaction_rate_den": [d for _, d in pairs]})
    got = {r["subject"]: r["line"] for r in _run(rs, subjects)}
    for i, (n, d) in enumerate(pairs):
        assert got[f"s{i:05d}"] == _slope_reference(n, d, target, step, per_step, direction, cap), (n, d)


def test_one_hundredth_of_a_percent_short_is_exactly_one_step():
    """99.99% against 100% in 0.01-point steps: one step (floating point makes it zero)."""
    assert 1 - 9999 / 10000 < 0.0001  # the float trap this kind avoids
    rs = _ruleset({"id": "slope", "name": TEXT, "kind": "threshold_slope", "metric": "satisfaction_rate",
                   "target": "1", "step": "0.0001", "points_per_step": "-0.2"})
    rows = _run(rs, pa.table({"subject": ["a"], "satisfaction_rate_num": [9999], "satisfaction_rate_den": [10000]}))
    assert rows == [{"subject": "a", "line": Decimal("-0.2")}]
