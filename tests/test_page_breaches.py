"""The breaches page (预警) on the demo: exactly the units the marts put below a watched line, with their streaks."""

from __future__ import annotations

from fractions import Fraction

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import marts
from dashboard.core.db import REPO_ROOT, connect
from dashboard.core.text import t

APP = str(REPO_ROOT / "dashboard" / "app.py")
PAGE = "app_pages/breaches.py"
PERIOD = "2025-06"
COL = {k: t(f"breaches_page.col.{k}", "zh")
       for k in ("code", "group", "metric", "value", "line", "gap", "months", "status", "open")}


def _open(demo_lake, monkeypatch, **params) -> AppTest:
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {"period": PERIOD, **params}.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at: AppTest):
    tables = [d.value for d in at.dataframe if COL["months"] in d.value.columns]
    assert len(tables) == 1
    return tables[0]


def _month(demo_lake, period: str) -> dict[str, dict]:
    return {r["unit_code"]: r for r in marts.slice_mart(connect(demo_lake), "unit_month", period, None).to_pylist()}


def _below_sat(r: dict | None) -> bool:
    return bool(r and r["satisfaction_rate_den"]
                and Fraction(r["satisfaction_rate_num"], r["satisfaction_rate_den"]) < Fraction(98, 100))


def _prev(period: str) -> str:
    y, m = int(period[:4]), int(period[5:])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def test_lists_exactly_the_units_below_98_percent_satisfaction(demo_lake, monkeypatch):
    at = _open(demo_lake, monkeypatch, metric="satisfaction_rate")
    table = _table(at)
    rows = _month(demo_lake, PERIOD)
    want = {code for code, r in rows.items() if _below_sat(r)}
    assert want, "the demo month should have someone below 98%"
    assert set(table[COL["code"]]) == want
    assert len(table) == len(want)
    # Metric names are the metrics catalog's (data), not the page's text.
    assert set(table[COL["metric"]]) == {"好评率"}
    for _, shown in table.iterrows():
        r = rows[shown[COL["code"]]]
        n, d = r["satisfaction_rate_num"], r["satisfaction_rate_den"]
        bp = (2 * n * 10000 + d) // (2 * d)  # half-up basis points, independent of the app's formatting
        assert shown[COL["value"]] == f"{bp // 100}.{bp % 100:02d}% ({n:,}/{d:,})"
        gap = Fraction(n, d) * 100 - 98  # negative
        cents = -((-gap * 100 * 2 + 1) // 2)  # half-up away from zero on the magnitude
        assert shown[COL["gap"]] == t("common.pp", "zh", value=f"{cents / 100:.2f}")
        assert shown[COL["line"]] == "98.00%"
        assert shown[COL["open"]] == f"unit?unit={shown[COL['code']]}&period={PERIOD}&lang=zh"


def test_consecutive_months_and_new_are_counted_back_month_by_month(demo_lake, monkeypatch):
    at = _open(demo_lake, monkeypatch, metric="satisfaction_rate")
    table = _table(at)
    history: dict[str, dict] = {}
    for _, shown in table.iterrows():
        code, n, month = shown[COL["code"]], 0, PERIOD
        while True:
            history.setdefault(month, _month(demo_lake, month) if month >= "2023-07" else {})
            if not _below_sat(history[month].get(code)):
                break
            n, month = n + 1, _prev(month)
        assert shown[COL["months"]] == n, code
        assert shown[COL["status"]] == t("breaches_page.new" if n == 1 else "breaches_page.persistent", "zh"), code


def test_every_watched_line_and_the_overview_count_agree(demo_lake, monkeypatch):
    at = _open(demo_lake, monkeypatch)
    table = _table(at)
    rows = _month(demo_lake, PERIOD)
    sat = {c for c, r in rows.items() if _below_sat(r)}
    on_time = {c for c, r in rows.items() if r["on_time_rate_den"] and r["on_time_rate_num"] < r["on_time_rate_den"]}
    assert sorted(zip(table[COL["code"]], table[COL["metric"]], strict=True)) == sorted(
        [(c, "好评率") for c in sat] + [(c, "按时办结率") for c in on_time])
    assert any(m.label == t("breaches_page.kpi.breaches", "zh") and m.value == f"{len(sat) + len(on_time):,}" for m in at.metric)


def test_group_filter_from_the_url(demo_lake, monkeypatch):
    rows = _month(demo_lake, PERIOD)
    group = sorted({r["unit_group"] for r in rows.values()})[0]
    at = _open(demo_lake, monkeypatch, metric="satisfaction_rate", group=group)
    want = {c for c, r in rows.items() if _below_sat(r) and r["unit_group"] == group}
    if want:
        table = _table(at)
        assert set(table[COL["code"]]) == want and set(table[COL["group"]]) == {group}
    else:
        assert not [d for d in at.dataframe if COL["months"] in d.value.columns]
    assert at.query_params["group"] == [group] or at.query_params["group"] == group


@pytest.mark.parametrize("lang", ["en"])
def test_english(demo_lake, monkeypatch, lang):
    at = _open(demo_lake, monkeypatch, lang=lang)
    assert at.title[0].value == t("breaches_page.title", lang)
    assert any(d.value.columns[0] == t("breaches_page.col.unit", lang) for d in at.dataframe)
