"""The window page on the demo: every number checked against the mart and fact files read directly (pyarrow and
plain Python), not through the page's helpers; plus the core helpers' histogram quantiles, tags and heat-map bins."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pyarrow.parquet as pq
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.core import windows
from dashboard.core.db import REPO_ROOT, connect
from dashboard.core.text import t

APP = str(REPO_ROOT / "dashboard" / "app.py")
PAGE = "app_pages/window.py"
CST = dt.timezone(dt.timedelta(hours=8))
NO_DATA = t("common.no_data", "zh")


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def _mart(lake, name: str) -> list[dict]:
    return pq.read_table(lake.marts / f"{name}.parquet").to_pylist()


def _fact(lake, name: str) -> list[dict]:
    return pq.read_table(lake.facts / f"{name}.parquet").to_pylist()


@pytest.fixture(scope="module")
def target(demo_lake) -> dict:
    """The window-month with the most bad ratings (ties: most cases) among those with promised cases finished, so
    every section has something to show."""
    rows = [r for r in _mart(demo_lake, "window_month") if r["window_code"] and r["handling_days_den"]]
    return max(rows, key=lambda r: (r["bad_rate_num"], r["cases_accepted"], r["period"], r["window_code"]))


def _expected_pct(num: int, den: int) -> str:
    # Independent of dashboard.ui.format: integer half-up on basis points.
    if den == 0:
        return NO_DATA
    bp = (2 * num * 10000 + den) // (2 * den)
    return f"{bp // 100}.{bp % 100:02d}%"


def _open(demo_lake, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _charts(at: AppTest) -> dict[str, dict]:
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out[el.proto.id] = spec
    return out


def _chart(at: AppTest, kind: str) -> dict:
    found = [s for s in _charts(at).values() if s["data"][0]["type"] == kind]
    assert found, f"no {kind} chart"
    return found[0]


@pytest.fixture
def at(demo_lake, monkeypatch, target):
    return _open(demo_lake, monkeypatch, period=target["period"], window=target["window_code"])


def test_a_window_in_the_url_picks_its_unit_and_shows_the_marts_numbers(at, target):
    assert at.selectbox(key="w_window_window").value == target["window_code"]
    assert at.selectbox(key="w_window_unit").value == target["unit_code"]
    assert at.query_params["unit"] == target["unit_code"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("window_page.kpi.accepted", "zh")] == f"{target['cases_accepted']:,}"
    for key, rate in (("satisfaction", "satisfaction_rate"), ("on_time", "on_time_rate"), ("same_day", "same_day_rate")):
        assert metrics[t(f"window_page.kpi.{key}", "zh")] == _expected_pct(target[f"{rate}_num"], target[f"{rate}_den"])
    captions = [c.value for c in at.caption]
    assert t("window_page.kpi.satisfaction_fraction", "zh", den=f"{target['satisfaction_rate_den']:,}",
             num=f"{target['satisfaction_rate_num']:,}") in captions
    assert t("window_page.kpi.completed", "zh", completed=f"{target['cases_completed']:,}") in captions
    # Minutes: Σseconds / Σtickets / 60, half-up to two decimals.
    for key, col in (("wait", "wait_time"), ("service", "service_time")):
        n, d = target[f"{col}_num"], target[f"{col}_den"]
        want = NO_DATA if not d else str((Decimal(n) / Decimal(d) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP))
        assert metrics[t(f"window_page.kpi.{key}", "zh")] == want


def test_handling_histogram_is_the_months_completed_promised_cases_and_matches_the_marts_quantiles(
        at, target, demo_lake):
    month = dt.date.fromisoformat(target["period"] + "-01")
    days = [r["handling_days"] for r in _fact(demo_lake, "fact_cases")
            if r["is_completed"] and r["item_kind"] == "承诺件" and r["handling_days"] is not None
            and r["completed_month"] == month and r["window_code"] == target["window_code"]
            and r["unit_code"] == target["unit_code"]]
    assert len(days) == target["handling_days_den"] > 0
    bar = _chart(at, "bar")  # the first bar chart on the page
    assert dict(zip(bar["data"][0]["x"], bar["data"][0]["y"], strict=True)) == dict(Counter(days))
    if days:
        for q, col in ((0.5, "handling_days_median"), (0.9, "handling_days_p90")):
            want = Decimal(str(np.quantile(days, q))).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert target[col] == want
        median = t("window_page.kpi.handling_median", "zh")
        assert {m.label: m.value for m in at.metric}[median] == f"{target['handling_days_median']:.2f}"


def test_bad_rating_tags_count_the_counted_bad_ratings(at, target, demo_lake):
    month = dt.date.fromisoformat(target["period"] + "-01")
    bad = [r for r in _fact(demo_lake, "fact_ratings")
           if r["counted"] and r["rating"] <= 2 and r["rated_month"] == month
           and r["window_code"] == target["window_code"] and r["unit_code"] == target["unit_code"]]
    assert len(bad) == target["bad_rate_num"] > 0
    want = Counter(tag.strip() for r in bad for tag in set((r["bad_tags"] or "").split(";")) if tag.strip())
    tag, count = t("window_page.tags.tag", "zh"), t("window_page.tags.count", "zh")
    table = next(d.value for d in at.dataframe if tag in d.value.columns)
    assert dict(zip(table[tag], table[count], strict=True)) == dict(want)
    assert table[count].tolist() == sorted(table[count].tolist(), reverse=True)


def _grid_from_chart(at: AppTest) -> dict[tuple[str, str], int]:
    hm = _chart(at, "heatmap")["data"][0]
    return {(y, x): v for y, row in zip(hm["y"], hm["z"], strict=True) for x, v in zip(hm["x"], row, strict=True) if v}


def test_weekday_hour_heatmap_of_cases_and_of_tickets(at, target, demo_lake):
    month = dt.date.fromisoformat(target["period"] + "-01")
    names = [t(f"window_page.weekday.{d}", "zh") for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]

    def expected(rows, at_col, month_col):
        c: Counter = Counter()
        for r in rows:
            if r[month_col] == month and r["window_code"] == target["window_code"] \
                    and r["unit_code"] == target["unit_code"]:
                local = r[at_col].astimezone(CST)
                c[(names[local.weekday()], f"{local.hour:02d}:00")] += 1
        return dict(c)

    cases = expected(_fact(demo_lake, "fact_cases"), "accepted_at", "accepted_month")
    assert sum(cases.values()) == target["cases_accepted"]
    assert _grid_from_chart(at) == cases
    at.selectbox(key="w_window_load").select("tickets").run()
    assert not at.exception
    assert at.query_params["load"] == "tickets"
    tickets = expected(_fact(demo_lake, "fact_tickets"), "issued_at", "issued_month")
    assert sum(tickets.values()) == target["tickets_issued"]
    assert _grid_from_chart(at) == tickets


def test_staff_are_the_staff_month_rows_of_the_window(at, target, demo_lake):
    want = sorted((r for r in _mart(demo_lake, "staff_month")
                   if r["period"] == target["period"] and r["unit_code"] == target["unit_code"]
                   and r["staff_window_code"] == target["window_code"]), key=lambda r: r["staff_id"])
    col = {k: t(f"window_page.staff.{k}", "zh") for k in ("id", "accepted", "satisfaction")}
    table = next(d.value for d in at.dataframe if col["id"] in d.value.columns)
    assert table[col["id"]].tolist() == [r["staff_id"] for r in want]
    assert table[col["accepted"]].tolist() == [r["cases_accepted"] for r in want]
    for got, r in zip(table[col["satisfaction"]], want, strict=True):
        n, d = r["satisfaction_rate_num"], r["satisfaction_rate_den"]
        assert got == (NO_DATA if not d else f"{_expected_pct(n, d)} ({n:,}/{d:,})")


def test_english_and_a_window_chosen_from_the_selector(demo_lake, monkeypatch, target):
    at = _open(demo_lake, monkeypatch, period=target["period"], lang="en")
    assert at.title[0].value == t("window_page.title", "en")
    unit = at.selectbox(key="w_window_unit").value
    options = at.selectbox(key="w_window_window").options
    assert options and all(o.endswith(")") for o in options)
    rows = [r for r in _mart(demo_lake, "window_month")
            if r["period"] == target["period"] and r["unit_code"] == unit and r["window_code"]]
    second = sorted(r["window_code"] for r in rows)[-1]
    at.selectbox(key="w_window_window").select(second).run()
    assert not at.exception
    assert at.query_params["window"] == second
    row = next(r for r in rows if r["window_code"] == second)
    assert {m.label: m.value for m in at.metric}[t("window_page.kpi.accepted", "en")] == f"{row['cases_accepted']:,}"


# ------------------------------------------------------------------------------------------- core helpers


def test_quantile_of_a_histogram_matches_numpy():
    rng = np.random.default_rng(3)
    for _ in range(50):
        values = rng.integers(0, 12, size=int(rng.integers(1, 40))).tolist()
        bins = list(Counter(values).items())
        for q in (Fraction(1, 2), Fraction(9, 10)):
            want = Decimal(str(np.quantile(values, float(q)))).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert windows.quantile(bins, q) == want
    assert windows.quantile([], Fraction(1, 2)) is None


def test_quantile_matches_the_marts_for_every_window_month(demo_lake):
    wh = connect(demo_lake)
    hist = wh.query(
        "SELECT strftime(completed_month, '%Y-%m') AS period, unit_code, window_code, handling_days, count(*) AS n "
        "FROM fact_cases WHERE is_completed AND item_kind = '承诺件' AND handling_days IS NOT NULL "
        "AND window_code IS NOT NULL GROUP BY ALL").to_pylist()
    by_key: dict = {}
    for r in hist:
        by_key.setdefault((r["period"], r["unit_code"], r["window_code"]), []).append((r["handling_days"], r["n"]))
    marts = {(r["period"], r["unit_code"], r["window_code"]): r for r in _mart(demo_lake, "window_month")}
    checked = 0
    for key, bins in by_key.items():
        if key in marts:
            assert windows.quantile(bins, Fraction(1, 2)) == marts[key]["handling_days_median"], key
            assert windows.quantile(bins, Fraction(9, 10)) == marts[key]["handling_days_p90"], key
            checked += 1
    assert checked > 100


def test_tag_counts_split_dedupe_and_order():
    counts, untagged = windows.tag_counts(["态度不好;等待时间长", "等待时间长", None, "", " 等待时间长 ; 等待时间长 ",
                                           "系统故障,态度不好", "流程繁琐、系统故障"])
    assert counts == [("等待时间长", 3), ("态度不好", 2), ("系统故障", 2), ("流程繁琐", 1)]
    assert untagged == 2


def test_heatmap_matrix_and_busy_hours():
    grid = windows.heatmap_matrix([{"weekday": 1, "hour": 9, "n": 3}, {"weekday": 7, "hour": 16, "n": 1},
                                   {"weekday": 1, "hour": 9, "n": 2}])
    assert len(grid) == 7 and all(len(r) == 24 for r in grid)
    assert grid[0][9] == 5 and grid[6][16] == 1 and sum(map(sum, grid)) == 6
    assert windows.busy_hours(grid) == list(range(9, 17))
    assert windows.busy_hours([[0] * 24 for _ in range(7)]) == []
    with pytest.raises(ValueError):
        windows.heatmap_matrix([{"weekday": 0, "hour": 9, "n": 1}])


def test_load_bins_are_in_beijing_time_and_scoped(demo_lake, target):
    wh = connect(demo_lake)
    args = (target["period"], target["unit_code"], target["window_code"])
    all_bins = windows.load_bins(wh, "cases", *args, None).to_pylist()
    assert sum(r["n"] for r in all_bins) == target["cases_accepted"]
    assert windows.load_bins(wh, "cases", *args, ("NOPE",)).num_rows == 0
    assert windows.handling_histogram(wh, *args, ("NOPE",)).num_rows == 0
    with pytest.raises(ValueError):
        windows.load_bins(wh, "events", *args, None)
