"""What-if rescoring: a period under two tiny rulesets on the demo lake, checked by hand from the marts and against
`scoring.score`; a shipped version scored by file equals the version in force; the period and version helpers."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import partial

import pytest

from dashboard.core import marts, scoring, whatif
from dashboard.core.db import connect
from dashboard.core.period import periods_holding
from dashboard.core.rules import loader
from dashboard.core.rules.diff import Version, versions

PERIOD = "2025-06"

HEAD = """id: {id}
name: {{zh: 试算{zh}, en: Tiny {en}}}
source: test
subject: unit
period: month
effective: {{from_period: 2023-01}}
model: {{kind: base_bonus_deduction, base: 80}}
sections:
  - id: bonus
    name: {{zh: 加分, en: Bonus}}
    pool: bonus
    items:
"""
SATISFIED = """      - id: satisfied
        name: {{zh: 好评率达98%, en: Satisfaction 98%}}
        kind: condition
        metric: satisfaction_rate
        op: ">="
        value: 0.98
        points: {points}
"""
ON_TIME = """      - id: on_time
        name: {zh: 按时办结率达99%, en: On time 99%}
        kind: condition
        metric: on_time_rate
        op: ">="
        value: 0.99
        points: 10
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A: 80 + 10 if satisfaction ≥ 98%. B: 80 + 5 if satisfaction ≥ 98% + 10 if on time ≥ 99% (no data: nothing)."""
    root = tmp_path_factory.mktemp("rulesets")
    for rid, zh, en, body in (("tiny_a", "甲", "A", SATISFIED.format(points=10)),
                              ("tiny_b", "乙", "B", SATISFIED.format(points=5) + ON_TIME)):
        (root / rid).mkdir()
        (root / rid / "2023-01.yaml").write_text(HEAD.format(id=rid, zh=zh, en=en) + body, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def wh(demo_lake):
    return connect(demo_lake)


def _at_least(num: int, den: int, line: Fraction) -> bool:
    return bool(den) and Fraction(num, den) >= line


def test_two_tiny_rulesets_by_hand_and_by_scoring(wh, tiny, monkeypatch):
    a = whatif.score_file(wh, "tiny_a/2023-01.yaml", PERIOD, root=tiny)
    b = whatif.score_file(wh, "tiny_b/2023-01.yaml", PERIOD, root=tiny)
    movers = whatif.compare(a.results.to_pylist(), b.results.to_pylist())

    # By hand, from the month's numerators and denominators.
    want, held = {}, {}
    for u in marts.slice_mart(wh, "unit_month", PERIOD, None).to_pylist():
        s = _at_least(u["satisfaction_rate_num"], u["satisfaction_rate_den"], Fraction(98, 100))
        o = _at_least(u["on_time_rate_num"], u["on_time_rate_den"], Fraction(99, 100))
        want[u["unit_code"]] = (Decimal(80 + 10 * s), Decimal(80 + 5 * s + 10 * o))
        held[u["unit_code"]] = (s, o)
    assert {r["subject"]: (r["total_a"], r["total_b"]) for r in movers} == want
    assert {r["subject"]: r["change"] for r in movers} == {k: b_ - a_ for k, (a_, b_) in want.items()}
    assert len({r["change"] for r in movers}) > 1  # the demo has units moving both ways or not at all

    # And independently through scoring.score, with the loader pointed at the tiny rulesets.
    monkeypatch.setattr(scoring, "find", partial(loader.find, root=tiny))
    sa = {r["subject"]: r for r in scoring.score(wh, "tiny_a", PERIOD).results.to_pylist()}
    sb = {r["subject"]: r for r in scoring.score(wh, "tiny_b", PERIOD).results.to_pylist()}
    for r in movers:
        assert r["change"] == sb[r["subject"]]["total"] - sa[r["subject"]]["total"]
        assert (r["rank_a"], r["rank_b"]) == (sa[r["subject"]]["rank"], sb[r["subject"]]["rank"])
        assert r["rank_change"] == r["rank_a"] - r["rank_b"]

    # Biggest moves first.
    sizes = [abs(r["change"]) for r in movers]
    assert sizes == sorted(sizes, reverse=True)

    # Why: the satisfaction line loses 5 where it held; the on-time line is B's alone. They add up to the change.
    a_lines, b_lines = a.lines.to_pylist(), b.lines.to_pylist()
    for r in movers:
        s, o = held[r["subject"]]
        lines = {x["line"]: x for x in whatif.why(a_lines, b_lines, r["subject"])}
        expected = {}
        if s:
            expected["satisfied"] = (Decimal(10), Decimal(5), Decimal(-5))
        if o:
            expected["on_time"] = (None, Decimal(10), Decimal(10))
        assert {k: (v["points_a"], v["points_b"], v["change"]) for k, v in lines.items()} == expected
        assert sum((v["change"] for v in lines.values()), Decimal(0)) == r["change"]


def test_a_shipped_version_by_file_is_the_version_in_force(wh):
    by_file = whatif.score_file(wh, "yuanling_units/2017.yaml", "2024")
    in_force = scoring.score(wh, "yuanling_units", "2024")
    assert by_file.results.to_pylist() == in_force.results.to_pylist()
    assert by_file.lines.equals(in_force.lines)
    scoped = whatif.score_file(wh, "yuanling_units/2017.yaml", "2024", scope=("U001", "U002"))
    assert sorted(scoped.results.column("subject").to_pylist()) == ["U001", "U002"]
    # Ranks stay hall-wide.
    ranks = {r["subject"]: r["rank"] for r in in_force.results.to_pylist()}
    assert {r["subject"]: r["rank"] for r in scoped.results.to_pylist()} == {s: ranks[s] for s in ("U001", "U002")}


def test_only_version_files_in_the_rulesets_folder_are_scored(wh, tiny):
    for bad in ("../pyproject.toml", "/etc/passwd", "tiny_a/missing.yaml", "tiny_a", "_catalog.yaml"):
        with pytest.raises(ValueError):
            whatif.score_file(wh, bad, PERIOD, root=tiny)


def test_subjects_scored_on_one_side_only_come_last_without_a_change():
    a = [{"subject": "U1", "name": "甲", "grp": "g", "total": Decimal("90"), "grade": "优秀", "rank": 1},
         {"subject": "U2", "name": "乙", "grp": "g", "total": Decimal("80"), "grade": "良好", "rank": 2}]
    b = [{"subject": "U2", "name": "乙", "grp": "g", "total": Decimal("95.5"), "grade": "优秀", "rank": 1},
         {"subject": "U3", "name": "丙", "grp": "g", "total": Decimal("70"), "grade": "合格", "rank": 2}]
    rows = whatif.compare(a, b)
    assert [(r["subject"], r["change"], r["rank_change"]) for r in rows] == [
        ("U2", Decimal("15.5"), 1), ("U1", None, None), ("U3", None, None)]


def test_periods_defaults_and_versions():
    months = ["2025-06", "2025-05", "2024-12", "2024-11", "2024-10"]
    assert periods_holding(months, "month") == months
    assert periods_holding(months, "quarter") == ["2025-Q2", "2024-Q4"]
    assert periods_holding(months, "year") == ["2025", "2024"]
    # 2025-Q2 lacks April; 2024-Q4 is whole. Neither year is whole.
    assert whatif.default_period(["2025-Q2", "2024-Q4"], months) == "2024-Q4"
    assert whatif.default_period(["2025", "2024"], months) == "2025"

    def v(rid, start, end=None, subject="unit", period="month"):
        return Version(rid, start, f"{rid}/{start}.yaml", start, end, "0" * 64, rid, rid, subject, period)

    old, new, other, yearly = v("r", "2023-01", "2024-12"), v("r", "2025-01"), v("s", "2020-01"), v("y", "2020", None,
                                                                                                      "unit", "year")
    vs = [old, new, other, yearly]
    assert whatif.in_force(vs, "r", "2024-06") == old
    assert whatif.in_force(vs, "r", "2025-03") == new
    assert whatif.in_force(vs, "r", "2022-01") == new  # before any version: the newest, as a what-if
    assert whatif.in_force(vs, "nope", "2025-03") is None
    assert whatif.compatible(vs, old) == [old, new, other]
    assert whatif.covers(old, "2024-12") and not whatif.covers(old, "2025-01")


def test_every_shipped_version_is_listed():
    listed = versions()
    assert {v.relpath for v in listed} == {p.relative_to(loader.RULESETS).as_posix() for p in loader.ruleset_files()}
