"""Scoring a period from the warehouse: events and marts in, totals, grades, flags and lines that add up out."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from decimal import Decimal

from conftest import UNITS, case_row, ts, write_warehouse
from typer.testing import CliRunner

from dashboard.cli import app
from dashboard.core import marts, scoring
from dashboard.core.db import REPO_ROOT, Lake, connect
from dashboard.core.rules.loader import load, ruleset_files

ANSHAN = REPO_ROOT / "rulesets" / "anshan_stationed" / "2023-04.yaml"


def _event(i: int, unit: str, event_type: str, when, **kw) -> dict:
    return {"event_id": f"EV{i}", "occurred_at": when, "unit_code": unit, "event_type": event_type,
            "updated_at": when, **kw}


def _lake(tmp_path) -> Lake:
    lake = Lake(tmp_path / "data")
    write_warehouse(lake, "units", UNITS)
    write_warehouse(lake, "cases", [{k: v for k, v in case_row(1).items() if not k.startswith("applicant_")}])
    write_warehouse(lake, "events", [
        _event(1, "U001", "late", ts(2025, 6, 3, 9), count=2),
        _event(2, "U001", "pennant", ts(2025, 6, 10, 9)),
        _event(3, "U001", "phone", ts(2025, 6, 11, 9), severity=1, verified=False),  # 待核实: not yet
        _event(4, "U001", "late", ts(2025, 5, 30, 9)),  # May: another period
        _event(5, "U002", "criticized", ts(2025, 6, 30, 23, 30)),  # Beijing June 30th, late evening
    ])
    marts.build(lake)
    return lake


def test_a_month_scored_by_hand(tmp_path):
    # U001: 100 − 2 × 2 (迟到, one record counting 2) + 3 (锦旗) = 99 → 优秀; the unverified phone use and May's
    # lateness do not count. U002: 100 − 5 (点名批评) = 95 → 优秀, and its flags.
    lake = _lake(tmp_path)
    s = scoring.score(connect(lake), "anshan_stationed", "2025-06")
    results = {r["subject"]: r for r in s.results.to_pylist()}
    assert (results["U001"]["total"], results["U001"]["grade"], results["U001"]["flags"]) == (Decimal("99"), "优秀", [])
    assert (results["U002"]["total"], results["U002"]["grade"]) == (Decimal("95"), "优秀")
    assert sorted(results["U002"]["flags"]) == ["no_excellence_quarter", "reported_to_supervisor"]
    assert results["U001"]["name"] == "市场监督管理局"
    lines = {(ln["subject"], ln["line"]): ln["points"] for ln in s.lines.to_pylist() if ln["points"] != 0}
    assert {k: v for k, v in lines.items() if k[0] == "U001"} == {
        ("U001", "base"): 100, ("U001", "late"): -4, ("U001", "pennant"): 3}
    # Every row says which rules, which version and which file made it.
    sha = hashlib.sha256(ANSHAN.read_bytes()).hexdigest()
    assert set(s.results.column("sha256").to_pylist()) == {sha}
    assert set(s.lines.column("version").to_pylist()) == {"2023-04"}


def test_every_ruleset_explains_every_total_on_the_demo(demo_lake):
    """The invariant: for every unit, the lines of its explanation sum exactly to its total."""
    wh = connect(demo_lake)
    month = marts.latest_period(wh, None)  # 2025-06: the demo covers 2023-07 … 2025-06, so 2024 is a whole year
    own = {"month": month, "quarter": "2025-Q2", "year": "2024"}
    for path in ruleset_files():
        rs = load(path).ruleset
        # The ruleset's own period, and every roll-up it defines (a quarter or year of its months).
        for period in [own[rs.period], *(own[r.period] for r in rs.rollups)]:
            s = scoring.score(wh, rs.id, period)
            sums: dict[str, Decimal] = defaultdict(Decimal)
            for ln in s.lines.to_pylist():
                sums[ln["subject"]] += ln["points"]
            assert s.results.num_rows > 0
            totals = {r["subject"]: r["total"] for r in s.results.to_pylist()}
            assert dict(sums) == totals, (path, period)
            assert len({r["total"] for r in s.results.to_pylist()}) > 1, (path, period)  # the demo gives varied scores
            if period == own[rs.period]:
                # Each item's score is its start, its rule's line, its clamp, its veto and its own rounding.
                for item in s.items.to_pylist():
                    assert item["start"] + item["line"] + item["clamp"] + item["veto"] + item["rounding"] \
                        == item["score"], item


def test_a_quarter_rolls_up_its_months_with_titles(demo_lake):
    """霍州: the quarter is the sum of the three months, a window scored in fewer months its mean × 3 (a partial
    quarter scaled, computed here in Decimal); rank 1 is 红旗窗口 and two 优秀窗口 follow, never more than three
    pennants; equal totals are ordered by the tie-break, so a rank lies between the strictly-better count + 1 and the
    at-least-as-good count."""
    from decimal import ROUND_DOWN, ROUND_HALF_UP

    wh = connect(demo_lake)
    quarter = scoring.score(wh, "huozhou_windows", "2025-Q2")
    months = [scoring.score(wh, "huozhou_windows", m) for m in ("2025-04", "2025-05", "2025-06")]
    by_month: dict[str, list[Decimal]] = defaultdict(list)
    for s in months:
        for r in s.results.to_pylist():
            by_month[r["subject"]].append(r["total"])
    want = {k: (sum(v, Decimal(0)) if len(v) == 3 else
                (sum(v, Decimal(0)) * 3 / len(v)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
                .quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) for k, v in by_month.items()}
    rows = quarter.results.to_pylist()
    assert {r["subject"]: r["total"] for r in rows} == want
    assert any(len(v) < 3 for v in by_month.values())  # the demo has windows that missed a month
    awards = [r["award"] for r in rows if r["award"]]
    # Windows still equal after the tie-breaks share a rank; a tie at first place wins no pennant (award_ties:
    # exclude), so there are never more than three: one 红旗窗口 when exactly one window is first.
    eligible_ranks = [r["rank"] for r in rows if r["rank"] is not None
                      and not {"no_excellence_quarter", "no_excellence_year"} & set(r["flags"])]
    firsts = eligible_ranks.count(min(eligible_ranks))
    assert awards.count("红旗窗口") == (1 if firsts == 1 else 0) and awards.count("优秀窗口") <= 2
    for r in rows:
        eligible = not ({"no_excellence_quarter", "no_excellence_year"} & set(r["flags"]))
        if r["award"] == "红旗窗口":
            assert eligible and r["total"] == max(x["total"] for x in rows
                                                   if not ({"no_excellence_quarter", "no_excellence_year"} & set(x["flags"])))
        assert 1 + sum(1 for x in rows if x["total"] > r["total"]) <= r["rank"] \
            <= sum(1 for x in rows if x["total"] >= r["total"])


def test_hall_score_prints_results_and_lines(tmp_path, monkeypatch):
    lake = _lake(tmp_path)
    monkeypatch.setenv("HALL_DATA", str(lake.root))
    res = CliRunner().invoke(app, ["score", "--ruleset", "anshan_stationed", "--period", "2025-06", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["subject"]: r for r in json.loads(res.output)}
    assert rows["U001"]["total"] == "99.00"
    assert [ln["line"] for ln in rows["U001"]["lines"] if Decimal(ln["points"]) != 0] == ["base", "late", "pennant"]
    res = CliRunner().invoke(app, ["score", "--ruleset", "anshan_stationed", "--period", "2025-06", "--unit", "U001"])
    assert res.exit_code == 0 and "-4.00 迟到早退" in res.output and "+3.00 收到锦旗、表扬信" in res.output
    res = CliRunner().invoke(app, ["score", "--ruleset", "anshan", "--period", "2025-06"])
    assert res.exit_code == 2 and "没有考核方案 'anshan'；现有：anshan_stationed" in res.output
