"""The trends page on the demo: each unit's monthly rate with its fraction and its group's pooled average against
the marts summed by hand; the watched line and the ruleset's targets drawn; small multiples; the URL keeps it all."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import marts
from dashboard.core.db import REPO_ROOT, connect
from dashboard.core.metrics import half_up
from dashboard.core.text import t

APP = str(REPO_ROOT / "dashboard" / "app.py")
PERIOD = "2025-06"
# A group line is named "<group>平均": an empty group leaves the suffix every such line ends with.
AVERAGE = t("trends.group_average", "zh", group="")
MONTHS = [f"2024-{m:02d}" for m in range(7, 13)] + [f"2025-{m:02d}" for m in range(1, 7)]


def _open(demo_lake, monkeypatch, **params: str) -> AppTest:
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["period"] = PERIOD
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("app_pages/trends.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _figure(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _pct(n: int, d: int) -> str:
    return t("common.no_data", "zh") if not d else f"{half_up(Fraction(n, d) * 100)}% ({n:,}/{d:,})"


@pytest.fixture(scope="module")
def unit_rows(demo_lake):
    wh = connect(demo_lake)
    return {mo: marts.slice_mart(wh, "unit_month", mo, None).to_pylist() for mo in MONTHS}


def test_units_rates_and_the_pooled_group_average(demo_lake, monkeypatch, unit_rows):
    at = _open(demo_lake, monkeypatch, metric="on_time_rate", units="U001,U012")
    assert at.title[0].value == t("trends.title", "zh")
    assert at.query_params["units"] == "U001,U012" and at.query_params["metric"] == "on_time_rate"
    table = at.dataframe[0].value
    for mo in MONTHS:
        rows = {r["unit_code"]: r for r in unit_rows[mo]}
        for code in ("U001", "U012"):
            r = rows[code]
            shown = table.loc[table[t("trends.col.code", "zh")] == code, mo].iloc[0]
            assert shown == _pct(r["on_time_rate_num"], r["on_time_rate_den"])
            group = r["unit_group"]
            # The group's line: Σnumerator/Σdenominator over every unit of the group that month.
            members = [x for x in unit_rows[mo] if x["unit_group"] == group]
            n, d = sum(x["on_time_rate_num"] for x in members), sum(x["on_time_rate_den"] for x in members)
            average = t("trends.group_average", "zh", group=group)
            assert table.loc[table[t("trends.col.name", "zh")] == average, mo].iloc[0] == _pct(n, d)
    fig = _figure(at)
    names = [tr["name"] for tr in fig["data"]]
    assert "市场监督管理局" in names and any(n.endswith(AVERAGE) for n in names)
    averages = [tr for tr in fig["data"] if tr["name"].endswith(AVERAGE)]
    assert all(tr["line"]["dash"] == "dash" for tr in averages)
    # Hover carries the numerator and denominator.
    u001 = next(tr for tr in fig["data"] if tr["name"] == "市场监督管理局")
    last = {r["unit_code"]: r for r in unit_rows[PERIOD]}["U001"]
    assert u001["customdata"][-1][1] == f"({last['on_time_rate_num']:,}/{last['on_time_rate_den']:,})"
    # The watched line for on-time completion is 100%.
    assert 100.0 in [s.get("y0") for s in fig["layout"]["shapes"]]


def test_ruleset_targets_are_drawn_for_windows(demo_lake, monkeypatch):
    at = _open(demo_lake, monkeypatch, grain="window", metric="same_day_rate", windows="W001,W002")
    fig = _figure(at)
    ys = sorted({s["y0"] for s in fig["layout"]["shapes"]})
    # huozhou_windows grades same-day completion in bands from 80% and from 60%.
    assert ys == [60.0, 80.0]
    labels = [a["text"] for a in fig["layout"]["annotations"]]
    # The item names come from the ruleset (data); the sentence around them from the catalog.
    assert {t("trends.rule_line", "zh", item="当场办结率", op="≥", value=v) for v in ("80.00%", "60.00%")} <= set(labels)
    at = _open(demo_lake, monkeypatch, grain="window", metric="satisfaction_rate", windows="W001")
    labels = [a["text"] for a in _figure(at)["layout"]["annotations"]]
    assert t("trends.watch_line", "zh", value="98.00%") in labels
    assert t("trends.rule_line", "zh", item="好评率", op=t("trends.target", "zh"), value="100.00%") in labels


def test_more_than_four_units_become_small_multiples(demo_lake, monkeypatch):
    codes = ["U001", "U002", "U003", "U012", "U013", "U031"]
    at = _open(demo_lake, monkeypatch, units=",".join(codes), months="24")
    fig = _figure(at)
    axes = [k for k in fig["layout"] if k.startswith("xaxis")]
    assert len(axes) >= len(codes)
    unit_traces = [tr for tr in fig["data"] if not tr["name"].endswith(AVERAGE)]
    assert len(unit_traces) == len(codes) and all(len(tr["x"]) == 24 for tr in unit_traces)
    assert at.query_params["months"] == "24"


def test_a_count_and_english(demo_lake, monkeypatch, unit_rows):
    at = _open(demo_lake, monkeypatch, metric="cases_accepted", units="U001", lang="en")
    assert at.title[0].value == "Indicator trends"
    table = at.dataframe[0].value
    want = {r["unit_code"]: r for r in unit_rows[PERIOD]}["U001"]["cases_accepted"]
    assert table.loc[table["Code"] == "U001", PERIOD].iloc[0] == f"{want:,}"
