"""The rankings page on the demo: ranks, rank changes, scores, grades and 12-month sparklines against the score
tables ranked by hand; the 红黑榜 with ties; windows under their own ruleset; a selected row opens its page; rulesets
offered by name in either language, and quarters and years reached through the period choice (月/季/年)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import scoring
from dashboard.core.contract import load_catalog
from dashboard.core.db import REPO_ROOT, connect
from dashboard.core.period import Period
from dashboard.core.rules.loader import RulesError, find, ruleset_files
from dashboard.core.text import t

APP = str(REPO_ROOT / "dashboard" / "app.py")
PERIOD, PREVIOUS = "2025-06", "2025-05"
MONTHS = [f"2024-{m:02d}" for m in range(7, 13)] + [f"2025-{m:02d}" for m in range(1, 7)]
TITLE = t("rankings.title", "zh")
COL = {k: t(f"rankings.col.{k}", "zh")
       for k in ("rank", "name", "code", "group", "total", "grade", "progress", "place", "trend", "trend_months")}


def _open(demo_lake, monkeypatch, **params: str) -> AppTest:
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["period"] = PERIOD
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("app_pages/rankings.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _hand_rank(results: list[dict]) -> dict[str, int]:
    """Across the hall, ties shared: 1 + how many scored strictly more."""
    return {r["subject"]: 1 + sum(1 for x in results if x["total"] > r["total"]) for r in results}


@pytest.fixture(scope="module")
def wh(demo_lake):
    return connect(demo_lake)


def _offered(subject: str, period: str) -> dict[str, object]:
    """Independently of the page: {id: ruleset} of every ruleset in force for the period that scores the subject over
    a period of that length — its own, or a shorter one with a declared roll-up to it."""
    kind = Period.parse(period).kind
    out = {}
    for path in ruleset_files():
        try:
            rs = find(path.parent.name, period).ruleset
        except RulesError:
            continue
        if rs.subject == subject and (rs.period == kind or any(r.period == kind for r in rs.rollups)):
            out[rs.id] = rs
    return out


def test_units_are_the_score_table_ranked_with_changes_and_sparklines(demo_lake, monkeypatch, wh):
    # Anshan stays selectable whatever the default; the URL names it by id.
    at = _open(demo_lake, monkeypatch, ruleset="anshan_stationed")
    assert at.title[0].value == TITLE
    now = scoring.score(wh, "anshan_stationed", PERIOD).results.to_pylist()
    before = _hand_rank(scoring.score(wh, "anshan_stationed", PREVIOUS).results.to_pylist())
    rank = _hand_rank(now)
    table = at.dataframe[0].value
    assert len(table) == len(now) == 40
    by_code = {r["subject"]: r for r in now}
    for _, row in table.iterrows():
        r = by_code[row[COL["code"]]]
        assert row[COL["rank"]] == rank[r["subject"]]
        assert Decimal(str(row[COL["total"]])).quantize(Decimal("0.01")) == r["total"]
        assert (row[COL["name"]], row[COL["group"]], row[COL["grade"]]) == (r["name"], r["grp"], r["grade"])
        diff = before[r["subject"]] - rank[r["subject"]]
        assert row[t("period.since.month", "zh")] == ("—" if diff == 0 else f"↑{diff}" if diff > 0 else f"↓{-diff}")
    # Best first; ties in code order.
    assert table[COL["rank"]].tolist() == sorted(table[COL["rank"]].tolist())
    # The sparkline: the subject's total in each of the twelve months to June, each month scored on its own.
    code = table[COL["code"]].iloc[0]
    want = [float(next(x["total"] for x in scoring.score(wh, "anshan_stationed", mo).results.to_pylist()
                       if x["subject"] == code)) for mo in MONTHS]
    assert list(table[COL["trend"]].iloc[0]) == want
    # Progress to the next grade: 优秀 (above 90) is full; 良好 85 would be half way from 80 to 90.
    for _, row in table.iterrows():
        total = by_code[row[COL["code"]]]["total"]
        if total > 90:
            assert row[COL["progress"]] == 1.0
        elif total >= 80:
            assert row[COL["progress"]] == pytest.approx(float((total - 80) / 10))
    assert at.query_params["grain"] == "unit" and at.query_params["ruleset"] == "anshan_stationed"


def test_red_and_black_lists_per_group_share_places(demo_lake, monkeypatch, wh):
    at = _open(demo_lake, monkeypatch, view="red_black", top_n="5", ruleset="anshan_stationed")
    results = scoring.score(wh, "anshan_stationed", PERIOD).results.to_pylist()
    red, black = at.dataframe[0].value, at.dataframe[1].value
    for g in {r["grp"] for r in results}:
        members = [r for r in results if r["grp"] == g]
        top = {r["name"]: 1 + sum(1 for x in members if x["total"] > r["total"]) for r in members}
        bottom = {r["name"]: 1 + sum(1 for x in members if x["total"] < r["total"]) for r in members}
        shown_red = red[red[COL["group"]] == g]
        shown_black = black[black[COL["group"]] == g]
        assert set(shown_red[COL["name"]]) == {n for n, p in top.items() if p <= 5}
        assert set(shown_black[COL["name"]]) == {n for n, p in bottom.items() if p <= 5}
        assert all(top[n] == p for n, p in zip(shown_red[COL["name"]], shown_red[COL["place"]], strict=True))
        assert all(bottom[n] == p for n, p in zip(shown_black[COL["name"]], shown_black[COL["place"]], strict=True))
    assert at.query_params["top_n"] == "5" and at.query_params["view"] == "red_black"


def test_windows_rank_under_the_window_ruleset_in_english(demo_lake, monkeypatch, wh):
    at = _open(demo_lake, monkeypatch, grain="window", lang="en")
    assert at.title[0].value == t("rankings.title", "en")
    results = scoring.score(wh, "huozhou_windows", PERIOD).results.to_pylist()
    table = at.dataframe[0].value
    assert len(table) == len(results)
    rank = _hand_rank(results)
    code, to_next = t("rankings.col.code", "en"), t("rankings.col.progress", "en")
    assert {c: r for c, r in zip(table[code], table[t("rankings.col.rank", "en")], strict=True)} == rank
    # No grades in this ruleset: the bar is the score's share of 100.
    by_code = {r["subject"]: r["total"] for r in results}
    assert all(p == pytest.approx(float(by_code[c] / 100)) for c, p in zip(table[code], table[to_next], strict=True))
    # The ruleset is named, never shown by its id.
    assert any("Huozhou service hall — windows" in c.value for c in at.caption)
    assert not any("huozhou_windows" in c.value for c in at.caption)
    assert at.query_params["ruleset"] == "huozhou_windows"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_ruleset_picker_shows_names_and_the_url_keeps_the_id(demo_lake, monkeypatch, lang):
    at = _open(demo_lake, monkeypatch, lang=lang)
    box = at.selectbox(key="w_rankings_ruleset")
    offered = _offered("unit", PERIOD)
    assert len(offered) >= 2  # Anshan and at least one more monthly unit ruleset
    names = {i: (rs.name.zh if lang == "zh" else rs.name.en) for i, rs in offered.items()}
    assert box.options == [names[i] for i in offered]
    assert not set(box.options) & set(offered)
    # The default: the catalog's declared default for units when it is in force, else the first.
    declared = load_catalog()["default_rulesets"]["unit"]
    chosen = declared if declared in offered else next(iter(offered))
    assert box.value == chosen and at.query_params["ruleset"] == chosen
    # Choosing Anshan by its name puts its id in the URL.
    box.select("anshan_stationed").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["ruleset"] == "anshan_stationed"
    assert at.selectbox(key="w_rankings_ruleset").format_func("anshan_stationed") == names["anshan_stationed"]
    assert any(names["anshan_stationed"] in c.value for c in at.caption)
    assert not any("anshan_stationed" in c.value for c in at.caption)


def test_choosing_year_lists_annual_schemes_by_name_and_scores_a_year(demo_lake, monkeypatch, wh):
    at = _open(demo_lake, monkeypatch)
    at.segmented_control(key="w_rankings_granularity").set_value("year").run()
    assert not at.exception, [e.value for e in at.exception]
    period = at.selectbox(key="w_rankings_period")
    assert period.value == "2025" and period.options == ["2025", "2024", "2023"]  # the demo's months 2023-07…2025-06
    period.select("2024").run()
    assert at.query_params["period"] == "2024"
    offered = _offered("unit", "2024")
    annual = [i for i, rs in offered.items() if rs.period == "year"]
    assert len(annual) >= 3, "the annual schemes of the seeds"
    box = at.selectbox(key="w_rankings_ruleset")
    assert box.options == [rs.name.zh for rs in offered.values()]
    assert {offered[i].name.zh for i in annual} <= set(box.options)
    chosen = annual[0]
    box.select(chosen).run()
    assert not at.exception, [e.value for e in at.exception]
    assert (at.query_params["ruleset"], at.query_params["period"]) == (chosen, "2024")
    results = scoring.score(wh, chosen, "2024").results.to_pylist()
    table = at.dataframe[0].value
    assert len(table) == len(results)
    by_code = {r["subject"]: r for r in results}
    for _, row in table.iterrows():
        r = by_code[row[COL["code"]]]
        assert Decimal(str(row[COL["total"]])).quantize(Decimal("0.01")) == r["total"]
        if r["ranked"]:
            assert row[COL["rank"]] == r["rank"]
        else:  # scored but not ranked (e.g. too few cases): no rank shown
            assert pd.isna(row[COL["rank"]])
    # An annual scheme scores years, not months: no monthly sparkline; and 2023 has only half a year to compare with.
    assert COL["trend_months"] not in table.columns and COL["trend"] not in table.columns
    assert t("period.since.year", "zh") not in table.columns


def test_a_quarter_rolls_the_window_ruleset_up_with_its_months_and_the_quarter_before(demo_lake, monkeypatch, wh):
    at = _open(demo_lake, monkeypatch, grain="window", period="2025-Q2")
    assert at.segmented_control(key="w_rankings_granularity").value == "quarter"
    assert at.selectbox(key="w_rankings_period").value == "2025-Q2"
    assert at.selectbox(key="w_rankings_ruleset").value == "huozhou_windows"
    # A quarter's ranks are the roll-up's own (ties broken as the ruleset says), so they are taken from the scores.
    now = scoring.score(wh, "huozhou_windows", "2025-Q2").results.to_pylist()
    before = {r["subject"]: r["rank"] for r in scoring.score(wh, "huozhou_windows", "2025-Q1").results.to_pylist()
              if r["ranked"]}
    months = {mo: {r["subject"]: float(r["total"]) for r in scoring.score(wh, "huozhou_windows", mo).results.to_pylist()}
              for mo in ("2025-04", "2025-05", "2025-06")}
    table = at.dataframe[0].value
    rank = {r["subject"]: r["rank"] for r in now if r["ranked"]}
    by_code = {r["subject"]: r for r in now}
    assert len(table) == len(now) == len(rank)
    for _, row in table.iterrows():
        code = row[COL["code"]]
        assert Decimal(str(row[COL["total"]])).quantize(Decimal("0.01")) == by_code[code]["total"]  # the quarter's sum
        assert row[COL["rank"]] == rank[code]
        diff = before[code] - rank[code]
        assert row[t("period.since.quarter", "zh")] == ("—" if diff == 0 else f"↑{diff}" if diff > 0 else f"↓{-diff}")
        # The months it was scored in (a month without a score is left out of the line).
        want = [months[mo][code] for mo in ("2025-04", "2025-05", "2025-06") if code in months[mo]]
        assert list(row[COL["trend_months"]]) == want
    rollup = t("rankings.rollup_sum", "zh", period="2025-Q2", parts=t("period.one.month", "zh"))
    assert rollup in [c.value for c in at.caption]


def test_selecting_a_unit_opens_the_unit_page_with_its_code(demo_lake, monkeypatch):
    at = _open(demo_lake, monkeypatch)
    code = at.dataframe[0].value[COL["code"]].iloc[2]
    at.session_state["rankings_table_unit"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["unit"] == code and at.query_params["period"] == PERIOD
    assert at.title[0].value != TITLE


def test_selecting_a_window_opens_the_window_page(demo_lake, monkeypatch):
    at = _open(demo_lake, monkeypatch, grain="window")
    code = at.dataframe[0].value[COL["code"]].iloc[0]
    at.session_state["rankings_table_window"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["window"] == code and at.query_params["period"] == PERIOD
    assert at.title[0].value != TITLE
