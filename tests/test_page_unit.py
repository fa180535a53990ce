"""The unit page (单位) on the demo: opened from a URL, its score explained line by line (summing to the total),
its windows with their links, and its records without personal data; a quarter summed over its months and scored by
a monthly ruleset's roll-up."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import marts, scoring
from dashboard.core.db import REPO_ROOT, connect
from dashboard.core.text import t

APP = str(REPO_ROOT / "dashboard" / "app.py")
PAGE = "app_pages/unit.py"
PERIOD = "2025-06"
NUMBER = re.compile(r"[+-]?\d+\.\d+")
TOTAL = t("unit_page.score.total", "zh")


def _sum_lead(lang: str) -> str:
    """The sum line's words before its figures ("合计：")."""
    return t("unit_page.explain.sum", lang).partition("{")[0]


def _open(demo_lake, monkeypatch, **params) -> AppTest:
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def scored(demo_lake):
    s = scoring.score(connect(demo_lake), "anshan_stationed", PERIOD)
    return s.results.to_pylist(), s.lines.to_pylist()


def _busiest(scored) -> str:
    """The unit with the most lines that moved its score (independent of the page)."""
    results, lines = scored
    moved = {r["subject"]: sum(1 for ln in lines if ln["subject"] == r["subject"] and ln["points"] != 0)
             for r in results}
    return max(sorted(moved), key=moved.__getitem__)


@pytest.mark.parametrize(("period", "unit"), [("2025-03", "U007"), (PERIOD, "U021")])
def test_a_url_with_period_and_unit_opens_that_unit(demo_lake, monkeypatch, period, unit):
    at = _open(demo_lake, monkeypatch, period=period, unit=unit)
    name = next(r["unit_name"] for r in marts.slice_mart(connect(demo_lake), "unit_month", period, None).to_pylist()
                if r["unit_code"] == unit)
    assert at.header[0].value == t("unit_page.heading", "zh", name=name, code=unit, period=period)
    picked = {s.label: s.value for s in at.selectbox}
    assert picked[t("period.pick.month", "zh")] == period and picked[t("unit_page.unit", "zh")] == unit


def test_explanation_lines_sum_to_the_total(demo_lake, monkeypatch, scored):
    results, lines = scored
    unit = _busiest(scored)
    at = _open(demo_lake, monkeypatch, period=PERIOD, unit=unit, ruleset="anshan_stationed")
    total = next(r["total"] for r in results if r["subject"] == unit)
    want = sorted((ln for ln in lines if ln["subject"] == unit and ln["points"] != 0), key=lambda ln: ln["order"])
    assert len(want) >= 2

    bullets = next(m.value for m in at.markdown if m.value.startswith("- "))
    shown = [(b[2:].rsplit("：", 1)[0], Decimal(NUMBER.findall(b)[-1])) for b in bullets.splitlines()]
    assert [name for name, _ in shown] == [ln["name_zh"] for ln in want]
    assert [points for _, points in shown] == [ln["points"] for ln in want]
    assert sum(points for _, points in shown) == total

    sum_line = next(m.value for m in at.markdown if m.value.startswith(_sum_lead("zh")))
    *terms, shown_total = (Decimal(x) for x in NUMBER.findall(sum_line))
    assert terms == [p for _, p in shown]
    assert sum(terms) == shown_total == total
    assert any(m.label == TOTAL and m.value == f"{total:.2f}" for m in at.metric)


def test_windows_link_to_the_window_page(demo_lake, monkeypatch):
    unit = "U003"
    at = _open(demo_lake, monkeypatch, period=PERIOD, unit=unit)
    want = marts.slice_mart(connect(demo_lake), "window_month", PERIOD, None, unit).to_pylist()
    col = {k: t(f"unit_page.windows.col.{k}", "zh") for k in ("window", "code", "cases", "open")}
    satisfaction = t("unit_page.rate.satisfaction_rate", "zh")
    table = next(d.value for d in at.dataframe if col["cases"] in d.value.columns)
    assert sorted(c for c in table[col["code"]] if isinstance(c, str)) == sorted(r["window_code"] for r in want
                                                                                if r["window_code"])
    by_code = {r["window_code"]: r for r in want}
    for _, shown in table.iterrows():
        if not isinstance(shown[col["code"]], str):
            assert shown[col["window"]] == t("unit_page.windows.no_window", "zh")
            continue
        r = by_code[shown[col["code"]]]
        assert shown[col["cases"]] == r["cases_accepted"]
        assert shown[col["open"]] == f"window?window={shown[col['code']]}&unit={unit}&period={PERIOD}&lang=zh"
        n, d = r["satisfaction_rate_num"], r["satisfaction_rate_den"]
        assert (shown[satisfaction].endswith(f"({n:,}/{d:,})") if d
                else shown[satisfaction] == t("common.no_data", "zh"))


def test_events_of_the_month_without_personal_data(demo_lake, monkeypatch):
    wh = connect(demo_lake)
    counts = wh.query("SELECT unit_code, count(*) AS n FROM events WHERE strftime(occurred_at AT TIME ZONE "
                      "'Asia/Shanghai', '%Y-%m') = ? GROUP BY ALL ORDER BY n DESC, unit_code", [PERIOD]).to_pylist()
    unit, n = counts[0]["unit_code"], counts[0]["n"]
    at = _open(demo_lake, monkeypatch, period=PERIOD, unit=unit)
    occurred = t("unit_page.events.col.occurred_at", "zh")
    table = next(d.value for d in at.dataframe if occurred in d.value.columns)
    assert len(table) == n
    assert all(str(v).startswith(PERIOD) for v in table[occurred])
    assert not {"备注", "note", "recorded_by", "登记人"} & set(table.columns)


def test_in_english(demo_lake, monkeypatch):
    at = _open(demo_lake, monkeypatch, period=PERIOD, unit="U001", lang="en")
    assert at.title[0].value == t("unit_page.title", "en")
    assert any(m.value.startswith(_sum_lead("en")) for m in at.markdown)


def test_a_quarter_is_summed_and_scored_by_a_roll_up_whose_lines_sum_to_the_total(demo_lake, monkeypatch):
    unit, quarter = "U001", "2025-Q2"
    at = _open(demo_lake, monkeypatch, period=quarter, unit=unit)
    assert at.segmented_control(key="w_unit_granularity").value == "quarter"
    wh = connect(demo_lake)
    cases = sum(r["cases_accepted"] for mo in ("2025-04", "2025-05", "2025-06")
                for r in marts.slice_mart(wh, "unit_month", mo, None, unit).to_pylist())
    # The line's last clause ("本季受理 N 件"); the group and kind before it are the unit's data.
    during = t("unit_page.group", "zh", group="", kind="", during=t("period.during.quarter", "zh"), cases=f"{cases:,}")
    assert any(c.value.endswith(during.rsplit(" · ", 1)[1]) for c in at.caption)
    box = at.selectbox(key="w_unit_ruleset")
    assert box.value == at.query_params["ruleset"] and box.value not in box.options  # offered by name, kept by id
    s = scoring.score(wh, box.value, quarter)
    total = next(r["total"] for r in s.results.to_pylist() if r["subject"] == unit)
    assert any(m.label == TOTAL and m.value == f"{total:.2f}" for m in at.metric)
    sum_line = next(m.value for m in at.markdown if m.value.startswith(_sum_lead("zh")))
    *terms, shown_total = (Decimal(x) for x in NUMBER.findall(sum_line))
    assert sum(terms) == shown_total == total
