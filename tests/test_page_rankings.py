"""The rankings page on the demo: ranks, rank changes, scores, grades and 12-month sparklines against the score
tables ranked by hand; the 红黑榜 with ties; windows under their own ruleset; a selected row opens its page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import scoring
from dashboard.core.db import REPO_ROOT, connect

APP = str(REPO_ROOT / "dashboard" / "app.py")
PERIOD, PREVIOUS = "2025-06", "2025-05"
MONTHS = [f"2024-{m:02d}" for m in range(7, 13)] + [f"2025-{m:02d}" for m in range(1, 7)]


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


def test_units_are_the_score_table_ranked_with_changes_and_sparklines(demo_lake, monkeypatch, wh):
    at = _open(demo_lake, monkeypatch)
    assert at.title[0].value == "考核排名"
    now = scoring.score(wh, "anshan_stationed", PERIOD).results.to_pylist()
    before = _hand_rank(scoring.score(wh, "anshan_stationed", PREVIOUS).results.to_pylist())
    rank = _hand_rank(now)
    table = at.dataframe[0].value
    assert len(table) == len(now) == 40
    by_code = {r["subject"]: r for r in now}
    for _, row in table.iterrows():
        r = by_code[row["代码"]]
        assert row["名次"] == rank[r["subject"]]
        assert Decimal(str(row["得分"])).quantize(Decimal("0.01")) == r["total"]
        assert (row["名称"], row["圈层"], row["等次"]) == (r["name"], r["grp"], r["grade"])
        diff = before[r["subject"]] - rank[r["subject"]]
        assert row["较上月"] == ("—" if diff == 0 else f"↑{diff}" if diff > 0 else f"↓{-diff}")
    # Best first; ties in code order.
    assert table["名次"].tolist() == sorted(table["名次"].tolist())
    # The sparkline: the subject's total in each of the twelve months to June, each month scored on its own.
    code = table["代码"].iloc[0]
    want = [float(next(x["total"] for x in scoring.score(wh, "anshan_stationed", mo).results.to_pylist()
                       if x["subject"] == code)) for mo in MONTHS]
    assert list(table["近12个月得分"].iloc[0]) == want
    # Progress to the next grade: 优秀 (above 90) is full; 良好 85 would be half way from 80 to 90.
    for _, row in table.iterrows():
        total = by_code[row["代码"]]["total"]
        if total > 90:
            assert row["升档进度"] == 1.0
        elif total >= 80:
            assert row["升档进度"] == pytest.approx(float((total - 80) / 10))
    assert at.query_params["grain"] == "unit" and at.query_params["ruleset"] == "anshan_stationed"


def test_red_and_black_lists_per_group_share_places(demo_lake, monkeypatch, wh):
    at = _open(demo_lake, monkeypatch, view="red_black", top_n="5")
    results = scoring.score(wh, "anshan_stationed", PERIOD).results.to_pylist()
    red, black = at.dataframe[0].value, at.dataframe[1].value
    for g in {r["grp"] for r in results}:
        members = [r for r in results if r["grp"] == g]
        top = {r["name"]: 1 + sum(1 for x in members if x["total"] > r["total"]) for r in members}
        bottom = {r["name"]: 1 + sum(1 for x in members if x["total"] < r["total"]) for r in members}
        shown_red = red[red["圈层"] == g]
        shown_black = black[black["圈层"] == g]
        assert set(shown_red["名称"]) == {n for n, p in top.items() if p <= 5}
        assert set(shown_black["名称"]) == {n for n, p in bottom.items() if p <= 5}
        assert all(top[n] == p for n, p in zip(shown_red["名称"], shown_red["位次"], strict=True))
        assert all(bottom[n] == p for n, p in zip(shown_black["名称"], shown_black["位次"], strict=True))
    assert at.query_params["top_n"] == "5" and at.query_params["view"] == "red_black"


def test_windows_rank_under_the_window_ruleset_in_english(demo_lake, monkeypatch, wh):
    at = _open(demo_lake, monkeypatch, grain="window", lang="en")
    assert at.title[0].value == "Rankings"
    results = scoring.score(wh, "huozhou_windows", PERIOD).results.to_pylist()
    table = at.dataframe[0].value
    assert len(table) == len(results)
    rank = _hand_rank(results)
    assert {c: r for c, r in zip(table["Code"], table["Rank"], strict=True)} == rank
    # No grades in this ruleset: the bar is the score's share of 100.
    by_code = {r["subject"]: r["total"] for r in results}
    assert all(p == pytest.approx(float(by_code[c] / 100)) for c, p in zip(table["Code"], table["To next grade"],
                                                                            strict=True))
    assert any("huozhou_windows" in c.value for c in at.caption)


def test_selecting_a_unit_opens_the_unit_page_with_its_code(demo_lake, monkeypatch):
    at = _open(demo_lake, monkeypatch)
    code = at.dataframe[0].value["代码"].iloc[2]
    at.session_state["rankings_table_unit"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["unit"] == code and at.query_params["period"] == PERIOD
    assert at.title[0].value != "考核排名"


def test_selecting_a_window_opens_the_window_page(demo_lake, monkeypatch):
    at = _open(demo_lake, monkeypatch, grain="window")
    code = at.dataframe[0].value["代码"].iloc[0]
    at.session_state["rankings_table_window"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["window"] == code and at.query_params["period"] == PERIOD
    assert at.title[0].value != "考核排名"
