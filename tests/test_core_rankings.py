"""dashboard.core.rankings: rank changes, shared ranks, the 红黑榜 with ties, sparklines, pooled group averages,
grade progress and the lines a ruleset draws on an indicator — each against numbers worked by hand."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from dashboard.core import rankings as rk
from dashboard.core.rules.loader import find
from dashboard.core.rules.model import Grade, Text


def test_rank_change_reads_up_down_unchanged_and_new():
    assert rk.rank_change(3, 7) == 4 and rk.rank_change(7, 3) == -4 and rk.rank_change(2, 2) == 0
    assert rk.rank_change(2, None) is None and rk.rank_change(None, 2) is None
    assert [rk.change_label(n, b, "新") for n, b in ((3, 7), (7, 3), (2, 2), (2, None), (None, 4))] == \
        ["↑4", "↓4", "—", "新", ""]


def test_shared_ranks_skip_after_a_tie_within_each_group():
    rows = [{"subject": s, "grp": g, "total": Decimal(v)} for s, g, v in
            (("A", "x", "90"), ("B", "x", "95"), ("C", "x", "90"), ("D", "x", "80"), ("E", "y", "70"), ("F", "y", "75"))]
    assert rk.shared_ranks(rows) == {"B": 1, "A": 2, "C": 2, "D": 4, "F": 1, "E": 2}
    assert rk.shared_ranks(rows, within=None) == {"B": 1, "A": 2, "C": 2, "D": 4, "F": 5, "E": 6}


def test_red_black_lists_hold_every_tie_at_the_cut():
    # Group x: 95, 90, 90, 80, 80. Top 2: 95 (1st), 90 and 90 (2nd, tied) → three names.
    # Bottom 2: 80 and 80 (both 1st from the bottom) → two names; place 3 from the bottom would be the 90s.
    rows = [{"subject": s, "grp": "x", "total": Decimal(v)} for s, v in
            (("A", "95"), ("B", "90"), ("C", "90"), ("D", "80"), ("E", "80"))]
    rows.append({"subject": "F", "grp": "y", "total": Decimal("60")})
    got = rk.red_black(rows, 2)
    red_x = [(r["subject"], r["place"]) for r in got if r["list"] == "red" and r["grp"] == "x"]
    black_x = [(r["subject"], r["place"], r["group_rank"]) for r in got if r["list"] == "black" and r["grp"] == "x"]
    assert red_x == [("A", 1), ("B", 2), ("C", 2)]
    assert black_x == [("D", 1, 4), ("E", 1, 4)]
    # A group of one is both its own top and its own bottom.
    assert [(r["list"], r["place"]) for r in got if r["grp"] == "y"] == [("red", 1), ("black", 1)]


def test_last_months_and_sparklines_align_on_the_months():
    periods = ["2025-06", "2025-05", "2025-04", "2025-03", "2024-12"]
    assert rk.last_months(periods, "2025-05", 3) == ["2025-03", "2025-04", "2025-05"]
    assert rk.last_months(periods, "2025-06", 0) == []
    months = ["2025-03", "2025-04", "2025-05"]
    history = [{"period": "2025-05", "subject": "A", "total": Decimal("91.50")},
               {"period": "2025-03", "subject": "A", "total": Decimal("88")},
               {"period": "2025-04", "subject": "B", "total": Decimal("70")},
               {"period": "2024-12", "subject": "B", "total": Decimal("1")}]  # outside the window: ignored
    assert rk.sparklines(history, months) == {"A": [88.0, None, 91.5], "B": [None, 70.0, None]}


def test_group_average_is_pooled_not_a_mean_of_rates():
    # Unit 1: 99/100 = 99%; unit 2: 1/2 = 50%. Mean of rates 74.5%; pooled (99+1)/(100+2) = 100/102.
    rows = [{"period": "2025-06", "grp": "g", "n": 99, "d": 100}, {"period": "2025-06", "grp": "g", "n": 1, "d": 2},
            {"period": "2025-06", "grp": "h", "n": 5, "d": 0}]
    got = rk.group_average(rows, "n", "d", "grp")
    assert got[("2025-06", "g")] == (100, 102) and Fraction(*got[("2025-06", "g")]) == Fraction(50, 51)
    assert got[("2025-06", "h")] == (5, 0)  # a zero denominator stays visible: "no data", never 0%
    # A count: total over members (7 + 2) / 2.
    counts = [{"period": "p", "grp": "g", "n": 7}, {"period": "p", "grp": "g", "n": 2}]
    assert rk.group_average(counts, "n", None, "grp") == {("p", "g"): (9, 2)}


def _g(zh: str, lo: str | None, inclusive: bool = True, hi: str | None = None) -> Grade:
    return Grade(name=Text(zh=zh, en=zh), min=None if lo is None else Decimal(lo), min_inclusive=inclusive,
                 max=None if hi is None else Decimal(hi))


ANSHAN = [_g("优秀", "90", False), _g("良好", "80", hi="90"), _g("合格", "60", hi="80"), _g("不合格", None, hi="60")]


def test_pass_line_is_the_lower_edge_of_pass():
    assert rk.pass_line(ANSHAN) == Decimal(60)
    assert rk.pass_line([_g("A", "90"), _g("B", "50"), _g("C", None)]) == Decimal(50)
    assert rk.pass_line([]) is None


def test_grade_progress_respects_exclusive_edges():
    bands = [(g.name.zh, g.min, g.min_inclusive) for g in ANSHAN]
    # 85 is 良好 (80–90): half way from 80 to the 优秀 line 90.
    assert rk.grade_progress(Decimal("85"), bands) == (0.5, "优秀")
    # Exactly 90 is not 优秀 (min exclusive): still 良好, at its top.
    assert rk.grade_progress(Decimal("90"), bands) == (1.0, "优秀")
    assert rk.grade_progress(Decimal("90.5"), bands) == (1.0, "")
    # 30 is 不合格 (no lower edge: from 0): 30 / 60 of the way to 合格.
    assert rk.grade_progress(Decimal("30"), bands) == (0.5, "合格")
    assert rk.grade_progress(None, bands) is None and rk.grade_progress(Decimal(1), []) is None
    assert rk.progress(Decimal("75"), Decimal("100")) == 0.75 and rk.progress(Decimal("120"), Decimal("100")) == 1.0
    assert rk.progress(None, Decimal("100")) is None


def test_rule_lines_of_the_huozhou_windows_ruleset():
    rs = find("huozhou_windows", "2025-06").ruleset
    # Its service-quality items: satisfaction and on-time below 100% lose points per point (target 1),
    # same-day completion in bands at 80% and 60% (the band below 60% has no lower edge).
    sat = rk.rule_lines(rs, "satisfaction_rate")
    assert [(x.value, x.op, x.kind) for x in sat] == [(Decimal(1), "target", "threshold_slope")]
    same_day = rk.rule_lines(rs, "same_day_rate")
    assert sorted(x.value for x in same_day) == [Decimal("0.6"), Decimal("0.8")]
    assert all(x.kind == "step" and x.op == ">=" for x in same_day)
    assert rk.rule_lines(rs, "cases_accepted") == []


def test_value_of_counts_rates_and_means():
    assert rk.value_of("count", 1, 7, None) == 7
    assert rk.value_of("rate", 1, 1330, 1350) == Fraction(1330, 1350)
    assert rk.value_of("rate", 1, 0, 0) is None  # no data, never 0%
    assert rk.value_of("mean", 60, 600, 5) == 2  # 600 s over 5 tickets = 2 minutes
