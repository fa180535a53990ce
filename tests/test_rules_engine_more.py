"""The engine's second round (issue 17): continuous slopes and item rounding against exact `Fraction` references,
floors per part, counts that know what they count, per-tier vetoes, awards with places and tie-breaks, scaled
partial roll-ups, grade flags and missing imports. Expected values are worked out by hand in each docstring or
computed by an independent Python reference."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pyarrow as pa
from helpers.budget import examples
from helpers.rules import RATES, TEXT, input_tables, probe_ruleset, query, rate_subjects, subject_names
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import compile_rollup, compile_ruleset, line_ids

D = Decimal


def _half_up(x: Fraction, places: int) -> Decimal:
    """A rational rounded half away from zero, as Decimal does with ROUND_HALF_UP (the reference, not the SQL)."""
    q = 10**places
    scaled = abs(x) * q
    whole = scaled.numerator // scaled.denominator
    if (scaled - whole) * 2 >= 1:
        whole += 1
    out = D(whole).scaleb(-places)
    return -out if x < 0 else out


def _continuous_reference(n: int, d: int, target: D, step: D, per_step: D, direction: str) -> Decimal:
    if d == 0:
        return D(0)
    gap = Fraction(target) - Fraction(n, d) if direction == "below" else Fraction(n, d) - Fraction(target)
    if gap <= 0:
        return D(0)
    return _half_up(Fraction(per_step) * gap / Fraction(step), 4)


@settings(max_examples=examples(50), deadline=None)
@given(target=st.sampled_from([D("1"), D("0.98"), D("0.995"), D("0.95"), D("0.9")]),
       step=st.sampled_from([D("0.01"), D("0.001"), D("0.005"), D("0.03")]),
       per_step=st.sampled_from([D("-1"), D("-0.2"), D("-2.5"), D("0.3"), D("-0.0001"), D("1.25")]),
       direction=st.sampled_from(["below", "above"]), pairs=RATES)
def test_continuous_slope_is_the_exact_rational_rounded_once(target, step, per_step, direction, pairs, rules_db):
    rs = probe_ruleset({"id": "x", "name": TEXT, "kind": "threshold_slope", "metric": "satisfaction_rate",
                        "target": str(target), "step": str(step), "points_per_step": str(per_step),
                        "direction": direction, "continuous": True})
    got = query(rules_db, input_tables(rate_subjects(pairs)), f'SELECT subject, "x" AS line FROM ({compile_ruleset(rs)})')
    got = {r["subject"]: r["line"] for r in got}
    for name, (n, d) in zip(subject_names(len(pairs)), pairs, strict=True):
        assert got[name] == _continuous_reference(n, d, target, step, per_step, direction), (n, d)


def _scorecard(items: list[dict], max_: str, **extra) -> m.Ruleset:
    return m.Ruleset.model_validate({
        "id": "probe", "name": TEXT, "source": "test", "subject": "unit", "period": "month",
        "effective": {"from_period": "2025-01"}, "model": {"kind": "scorecard", "max": max_},
        "sections": [{"id": "s", "name": TEXT, "max": max_, "items": items}], **extra})


def test_full_15_at_95_percent_one_point_per_point_below(rules_db):
    """93.27% on time against 95%: 1.73 points short → 15 − 1.73 = 13.27, not 13 (whole steps) nor 13.3."""
    rs = _scorecard([{"id": "x", "name": TEXT, "kind": "threshold_slope", "metric": "on_time_rate", "target": "0.95",
                      "step": "0.01", "points_per_step": "-1", "continuous": True, "max": 15, "round": 2}], "15")
    tables = input_tables({"subject": ["a", "b", "c"], "on_time_rate_num": [9327, 10, 96], "on_time_rate_den": [10000, 100, 100]})
    out = {r["subject"]: r for r in query(rules_db, tables, f"SELECT * FROM ({compile_ruleset(rs)})")}
    assert out["a"]["total"] == D("13.27")
    # 10% on time: 85 points short of 95% → −85, the item floors at 0 (扣完为止).
    assert out["b"]["total"] == D("0.00") and out["b"]["x__clamp"] == D(70)
    assert out["c"]["total"] == D("15.00")


@settings(max_examples=examples(40), deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 3000)), min_size=5, max_size=60),
       places=st.sampled_from([0, 1, 2]))
def test_item_rounding_is_half_up_and_lines_still_sum(pairs, places, rules_db):
    """2 points per percentage point below 100%, continuous, the item rounded to `places`; the total is Σ lines."""
    pairs = [(min(n, d), d) for n, d in pairs]
    rs = _scorecard([{"id": "x", "name": TEXT, "kind": "threshold_slope", "metric": "on_time_rate", "target": "1",
                      "step": "0.01", "points_per_step": "-2", "continuous": True, "max": 30, "round": places}], "30")
    names = subject_names(len(pairs))
    tables = input_tables({"subject": names, "on_time_rate_num": [n for n, _ in pairs],
                           "on_time_rate_den": [d for _, d in pairs]})
    rows = {r["subject"]: r for r in query(rules_db, tables, f"SELECT * FROM ({compile_ruleset(rs)})")}
    for k, (n, d) in zip(names, pairs, strict=True):
        line = _half_up(Fraction(-2) * (1 - Fraction(n, d)) / Fraction(1, 100), 4)
        item = max(D(30) + line, D(0))
        want = item.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)
        r = rows[k]
        assert r["x__score"] == want
        assert r["base"] + sum(r[c] for c in line_ids(rs)[1:]) == r["total"]


def test_base_floors_before_bonuses_are_added(rules_db):
    """鞍山 三(一)/(二): 22 quarrels (−110) and one late arrival (−2) floor the 100-point part at 0; two pennants
    (+3 each) then give 6 — not 0, which a floor on the whole total gives."""
    rs = m.Ruleset.model_validate({
        "id": "probe", "name": TEXT, "source": "test", "subject": "unit", "period": "month",
        "effective": {"from_period": "2025-01"},
        "model": {"kind": "base_bonus_deduction", "base": 100, "bonus_cap": 20, "base_floor": 0},
        "sections": [
            {"id": "d", "name": TEXT, "pool": "deduction", "items": [
                {"id": "quarrel", "name": TEXT, "kind": "per_event", "event_type": "quarrel", "points": -5},
                {"id": "late", "name": TEXT, "kind": "per_event", "event_type": "late", "points": -2}]},
            {"id": "b", "name": TEXT, "pool": "bonus", "items": [
                {"id": "pennant", "name": TEXT, "kind": "per_event", "event_type": "pennant", "points": 3}]}]})
    events = [{"subject": "a", "event_type": "quarrel", "count": 22}, {"subject": "a", "event_type": "late"},
              {"subject": "a", "event_type": "pennant", "count": 2}]
    [r] = query(rules_db, input_tables({"subject": ["a"]}, events), f"SELECT * FROM ({compile_ruleset(rs)})")
    assert r["total"] == D(6)
    assert r["base_floor"] == D(12)  # 100 − 112 = −12 lifted to 0
    assert r["base"] + sum(r[c] for c in line_ids(rs)[1:]) == r["total"]


def test_an_item_for_one_unit_kind_gives_others_nothing(rules_db):
    """咸阳 第七条(四) is for 镇 only: +2 per commendation to a 乡镇, nothing to a 部门, even with the same events."""
    rs = probe_ruleset({"id": "x", "name": TEXT, "kind": "per_event", "event_type": "pennant", "points": 2,
                        "unit_kinds": ["乡镇"]}, pool="bonus")
    tables = input_tables({"subject": ["town", "dept", "unknown"]},
                          [{"subject": s, "event_type": "pennant"} for s in ("town", "dept", "unknown")])
    tables["subjects"] = tables["subjects"].append_column("kind", pa.array(["乡镇", "部门", None], pa.string()))
    out = {r["subject"]: r["x"] for r in query(rules_db, tables, f"SELECT subject, x FROM ({compile_ruleset(rs)})")}
    assert out == {"town": D(2), "dept": D(0), "unknown": D(0)}


def test_a_sample_counts_at_most_its_size(rules_db):
    """001 每超期一件扣1分（每个乡镇抽查10个办件）: 3 overdue → −3; 58 overdue → −10, never more than the sample."""
    rs = probe_ruleset({"id": "x", "name": TEXT, "kind": "per_event", "metric": "overdue_cases", "points": -1,
                        "counts": "sample", "max_count": 10})
    out = {r["subject"]: r["x"] for r in query(rules_db, input_tables({"subject": ["a", "b", "c"], "overdue_cases": [3, 58, 0]}),
                                                         f"SELECT subject, x FROM ({compile_ruleset(rs)})")}
    assert out == {"a": D(-3), "b": D(-10), "c": D(0)}


def test_flags_from_a_count(rules_db):
    """鞍山 三(一)2 旷工 每月超过两次 → 书面通报: two absences raise nothing, three raise the flag."""
    rs = probe_ruleset({"id": "x", "name": TEXT, "kind": "per_event", "event_type": "post_empty", "points": -5,
                        "flags": ["reported_to_supervisor"], "flags_from_count": 3})
    events = [{"subject": "two", "event_type": "post_empty", "count": 2},
              {"subject": "three", "event_type": "post_empty"}, {"subject": "three", "event_type": "post_empty",
                                                                 "count": 2}]
    out = {r["subject"]: r for r in query(rules_db, input_tables({"subject": ["two", "three"]}, events),
                                                    f"SELECT subject, x, flags FROM ({compile_ruleset(rs)})")}
    assert out["two"]["flags"] == [] and out["two"]["x"] == D(-10)
    assert out["three"]["flags"] == ["reported_to_supervisor"] and out["three"]["x"] == D(-15)


def test_each_veto_tier_counts_its_own_types(rules_db):
    """剑阁: one complaint halves the 10-point item and bars excellence; overdue cases alone never trigger tier one,
    but complaints and overdue together reaching 2 zero it."""
    rs = _scorecard([{"id": "x", "name": TEXT, "kind": "per_event", "event_type": "late", "points": -1, "max": 10,
                      "veto": {"tiers": [
                          {"min_count": 1, "outcome": "half", "flags": ["no_excellence_year"],
                           "event_types": ["complaint_12345", "media_exposure"]},
                          {"min_count": 2, "outcome": "zero", "event_types": ["complaint_12345", "media_exposure"],
                           "metrics": ["overdue_cases"]}]}}], "10")
    subjects = {"subject": ["none", "overdue_only", "one_complaint", "complaint_and_overdue"],
                "overdue_cases": [0, 40, 0, 1]}
    events = [{"subject": "one_complaint", "event_type": "complaint_12345"},
              {"subject": "complaint_and_overdue", "event_type": "media_exposure"}]
    out = {r["subject"]: r for r in query(rules_db, input_tables(subjects, events), f"SELECT * FROM ({compile_ruleset(rs)})")}
    assert out["none"]["total"] == D(10) and out["none"]["flags"] == []
    # 40 overdue cases alone reach tier two (2 or more counted there) but tier one counts complaints only.
    assert out["overdue_only"]["total"] == D(0) and out["overdue_only"]["flags"] == []
    assert out["one_complaint"]["total"] == D(5) and out["one_complaint"]["flags"] == ["no_excellence_year"]
    assert out["complaint_and_overdue"]["total"] == D(0)


def _awarded(db, totals: dict[str, str], sat: dict[str, tuple[int, int]], ties: str) -> dict[str, dict]:
    rs = probe_ruleset({"id": "x", "name": TEXT, "kind": "manual", "min_value": "0", "max_value": "100"}, pool="bonus",
                       ranking={"awards": [{"name": {"zh": "红旗窗口", "en": "Red flag"}, "places": 1},
                                           {"name": {"zh": "优秀窗口", "en": "Excellent"}, "places": 2}],
                                "award_ties": ties, "tie_break": [{"metric": "satisfaction_rate"}]})
    names = list(totals)
    tables = input_tables({"subject": names, "satisfaction_rate_num": [sat[k][0] for k in names],
                           "satisfaction_rate_den": [sat[k][1] for k in names]},
                          manual=[{"subject": k, "item_id": "x", "value": D(v)} for k, v in totals.items()])
    return {r["subject"]: r for r in query(db, tables, f"SELECT subject, rank, award FROM ({compile_ruleset(rs)})")}


def test_six_tied_at_second_place_give_two_excellent_windows_by_the_tie_break(rules_db):
    """霍州 第一名 红旗窗口, 第二、三名 优秀窗口, 共三面: six windows tied on 95 behind a 99 are ordered by satisfaction;
    the best two get 优秀窗口 — three pennants in all, not seven."""
    totals = {"w1": "99", **{f"t{i}": "95" for i in range(6)}, "w8": "80"}
    sat = {"w1": (1, 1), "t0": (90, 100), "t1": (99, 100), "t2": (97, 100), "t3": (92, 100), "t4": (95, 100),
           "t5": (93, 100), "w8": (1, 1)}
    out = _awarded(rules_db, totals, sat, "exclude")
    assert out["w1"]["award"] == "红旗窗口"
    assert {k for k, r in out.items() if r["award"] == "优秀窗口"} == {"t1", "t2"}
    assert out["t1"]["rank"] == 2 and out["t2"]["rank"] == 3 and out["t0"]["rank"] == 7


def test_a_tie_left_after_the_tie_break_is_excluded_or_shared(rules_db):
    """Three windows equal on total and on satisfaction at places 2–4, with two 优秀 places: exclude gives none of
    them the award; include gives all three."""
    totals = {"w1": "99", "a": "95", "b": "95", "c": "95"}
    sat = {"w1": (1, 1), "a": (9, 10), "b": (90, 100), "c": (18, 20)}
    excluded = _awarded(rules_db, totals, sat, "exclude")
    assert [excluded[k]["award"] for k in "abc"] == [None, None, None]
    included = _awarded(rules_db, totals, sat, "include")
    assert [included[k]["award"] for k in "abc"] == ["优秀窗口"] * 3


def test_a_partial_quarter_is_scaled_to_a_whole_one(rules_db):
    """霍州 staff, quarter = Σ months: scored in two months (90 + 95) → (185 / 2) × 3 = 277.5; three months sum as
    they are (90 + 95 + 80 = 265)."""
    rs = m.Ruleset.model_validate({
        "id": "probe", "name": TEXT, "source": "test", "subject": "staff", "period": "month",
        "effective": {"from_period": "2025-01"}, "model": {"kind": "base_bonus_deduction", "base": 0},
        "sections": [{"id": "s", "name": TEXT, "pool": "bonus", "items": [
            {"id": "x", "name": TEXT, "kind": "manual", "min_value": 0, "max_value": 100}]}],
        "rollups": [{"period": "quarter", "combine": "sum", "partial": "scale"}]})
    rows = [("p1", "two", "90"), ("p2", "two", "95"), ("p1", "three", "90"), ("p2", "three", "95"),
            ("p3", "three", "80"), ("p1", "one", "33.33")]
    totals = pa.Table.from_pylist(
        [{"period": "Q", "part": p, "subject": s, "grp": "g", "volume": 0, "total": D(t), "flags": []} for p, s, t in rows],
        schema=pa.schema([("period", pa.string()), ("part", pa.string()), ("subject", pa.string()), ("grp", pa.string()),
                          ("volume", pa.int64()), ("total", pa.decimal128(18, 2)), ("flags", pa.list_(pa.string()))]))
    sql = f"SELECT subject, total FROM ({compile_rollup(rs, rs.rollups[0])})"
    out = {r["subject"]: r["total"] for r in query(rules_db, {"period_totals": totals}, sql)}
    # one month of 33.33 → 99.99 exactly.
    assert out == {"two": D("277.50"), "three": D("265.00"), "one": D("99.99")}


def test_a_grade_raises_its_flags(rules_db):
    """鞍山 四3: 不合格 → 取消当季评优评先资格; the 合格 unit is not flagged."""
    rs = probe_ruleset({"id": "x", "name": TEXT, "kind": "manual", "min_value": "0", "max_value": "100"}, pool="bonus",
                       grades=[{"name": {"zh": "合格", "en": "Pass"}, "min": 60},
                               {"name": {"zh": "不合格", "en": "Fail"}, "max": 60, "max_inclusive": False,
                                "flags": ["no_excellence_quarter"]}])
    tables = input_tables({"subject": ["a", "b"]}, manual=[{"subject": "a", "item_id": "x", "value": D(59)},
                                                           {"subject": "b", "item_id": "x", "value": D(60)}])
    out = {r["subject"]: r for r in query(rules_db, tables, f"SELECT subject, grade, flags FROM ({compile_ruleset(rs)})")}
    assert out["a"]["grade"] == "不合格" and out["a"]["flags"] == ["no_excellence_quarter"]
    assert out["b"]["grade"] == "合格" and out["b"]["flags"] == []


def test_a_missing_imported_score_is_flagged_as_no_data(rules_db):
    """沅陵: the hall's own score imported × 0.2; a unit without one gets 0 points and `import_missing`, not a silent 0."""
    rs = probe_ruleset({"id": "x", "name": TEXT, "kind": "import_score", "ruleset": "other", "scale": "0.2"}, pool="bonus")
    tables = input_tables({"subject": ["a", "b"]}, imported=[{"subject": "a", "ruleset": "other", "total": D(90)}])
    out = {r["subject"]: r for r in query(rules_db, tables, f"SELECT subject, x, flags FROM ({compile_ruleset(rs)})")}
    assert out["a"]["x"] == D(18) and out["a"]["flags"] == []
    assert out["b"]["x"] == D(0) and out["b"]["flags"] == ["import_missing"]


def test_events_filtered_by_duration_and_severity(rules_db):
    """鞍山 三(一)2 旷工 (空岗 over half a day, ≥ 240 min) counted apart from shorter absences: three 旷工 raise the
    report flag, while two 旷工 and five short absences do not; an event without a duration is not 旷工. 三(一)4
    情节严重 (severity 3) phone use is reported, severity 1 is not."""
    rs = m.Ruleset.model_validate({
        "id": "probe", "name": TEXT, "source": "test", "subject": "unit", "period": "month",
        "effective": {"from_period": "2025-01"}, "model": {"kind": "base_bonus_deduction", "base": 0,
                                                          "total_floor": None},
        "sections": [{"id": "s", "name": TEXT, "pool": "deduction", "items": [
            {"id": "absent", "name": TEXT, "kind": "per_event", "event_type": "post_empty", "min_minutes": 240,
             "flags": ["reported_to_supervisor"], "flags_from_count": 3},
            {"id": "phone", "name": TEXT, "kind": "per_event", "event_type": "phone", "severities": [3],
             "points": -5, "flags": ["no_excellence_quarter"]}]}]})
    events = [{"subject": "a", "event_type": "post_empty", "duration_min": 300} for _ in range(3)]
    events += [{"subject": "b", "event_type": "post_empty", "duration_min": 240} for _ in range(2)]
    events += [{"subject": "b", "event_type": "post_empty", "duration_min": 30} for _ in range(5)]
    events += [{"subject": "b", "event_type": "post_empty", "duration_min": None}]
    events += [{"subject": "b", "event_type": "phone", "severity": 1}, {"subject": "a", "event_type": "phone",
                                                                        "severity": 3}]
    out = {r["subject"]: r for r in query(rules_db, input_tables({"subject": ["a", "b"]}, events),
                                                    f"SELECT subject, phone, flags FROM ({compile_ruleset(rs)})")}
    assert sorted(out["a"]["flags"]) == ["no_excellence_quarter", "reported_to_supervisor"]
    assert out["a"]["phone"] == D(-5)
    assert out["b"]["flags"] == [] and out["b"]["phone"] == D(0)
