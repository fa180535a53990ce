"""The overview on the demo: comparison periods written out, average score under the chosen ruleset (offered by name,
the catalog's default first), grades, best and worst five, breaches; a quarter and a year summed over their months."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import marts, scoring
from dashboard.core.contract import load_catalog
from dashboard.core.db import REPO_ROOT, connect
from dashboard.core.rules.loader import RulesError, find, ruleset_files
from dashboard.core.text import t
from dashboard.ui.format import num, percent

APP = str(REPO_ROOT / "dashboard" / "app.py")


def _open(**params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params.update(params)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.fixture
def at(demo_lake, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    return _open(period="2025-06")


def _monthly_unit_rulesets(period: str) -> list[str]:
    out = []
    for path in ruleset_files():
        try:
            rs = find(path.parent.name, period).ruleset
        except RulesError:
            continue
        if rs.subject == "unit" and rs.period == "month" and rs.id not in out:
            out.append(rs.id)
    return out


def test_kpis_name_the_months_they_compare_with(at):
    captions = [c.value for c in at.caption]
    assert any(t("period.vs.previous.month", "zh", period="2025-05", delta="") in c for c in captions)
    assert any(t("period.vs.year_ago.month", "zh", period="2024-06", delta="") in c for c in captions)


def test_the_default_ruleset_is_the_catalogs_and_is_shown_by_name(at):
    offered = _monthly_unit_rulesets("2025-06")
    declared = load_catalog()["default_rulesets"]["unit"]
    want = declared if declared in offered else offered[0]
    box = at.selectbox(key="w_overview_ruleset")
    assert box.value == want and at.query_params["ruleset"] == want
    assert box.options == [find(i, "2025-06").ruleset.name.zh for i in offered]
    name = find(want, "2025-06").ruleset.name.zh
    assert any(c.value.endswith(f"· {name}") for c in at.caption)


def test_average_score_grades_best_and_worst_five(at, demo_lake):
    wh = connect(demo_lake)
    ruleset = at.query_params["ruleset"]
    results = scoring.score(wh, ruleset, "2025-06").results.to_pylist()
    average = sum((r["total"] for r in results), Decimal(0)) / len(results)
    assert any(m.label == t("overview.kpi.average_score", "zh") and m.value == f"{average.quantize(Decimal('0.01'))}"
               for m in at.metric)
    ordered = sorted(results, key=lambda r: (-r["total"], r["subject"]))
    unit = t("overview.col.unit", "zh")
    best = [df for df in at.dataframe if unit in df.value.columns and len(df.value) == 5]
    assert best and best[0].value[unit].tolist() == [r["name"] for r in ordered[:5]]
    assert best[1].value[unit].tolist() == [r["name"] for r in ordered[-5:][::-1]]


def test_breaches_count_is_every_unit_below_a_watched_line(at, demo_lake):
    rows = marts.slice_mart(connect(demo_lake), "unit_month", "2025-06", None).to_pylist()
    want = sum(1 for r in rows if r["satisfaction_rate_den"]
               and Fraction(r["satisfaction_rate_num"], r["satisfaction_rate_den"]) < Fraction(98, 100))
    want += sum(1 for r in rows if r["on_time_rate_den"] and r["on_time_rate_num"] < r["on_time_rate_den"])
    assert any(m.label == t("overview.breaches", "zh") and m.value == f"{want:,}" for m in at.metric)


def _hall(demo_lake, months: list[str]) -> dict[str, int]:
    """Σ over every unit and month, read straight from the mart, month by month."""
    wh = connect(demo_lake)
    out: dict[str, int] = {}
    for mo in months:
        for r in marts.slice_mart(wh, "unit_month", mo, None).to_pylist():
            for k in ("cases_accepted", "satisfaction_rate_num", "satisfaction_rate_den"):
                out[k] = out.get(k, 0) + int(r[k] or 0)
    return out


def test_a_quarter_sums_its_months_and_compares_with_the_quarter_before_and_a_year_ago(demo_lake, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = _open(period="2025-06")
    at.segmented_control(key="w_overview_granularity").set_value("quarter").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == t("overview.title_quarter", "zh")
    assert at.query_params["period"] == "2025-Q2" and at.selectbox(key="w_overview_period").value == "2025-Q2"
    now = _hall(demo_lake, ["2025-04", "2025-05", "2025-06"])
    before = _hall(demo_lake, ["2025-01", "2025-02", "2025-03"])
    metrics = {m.label: m for m in at.metric}
    accepted = t("overview.kpi.cases_accepted", "zh")
    assert metrics[accepted].value == num(now["cases_accepted"])
    assert metrics[accepted].delta == f"{now['cases_accepted'] - before['cases_accepted']:+,}"
    sat = Fraction(now["satisfaction_rate_num"], now["satisfaction_rate_den"])
    assert metrics[t("overview.kpi.satisfaction", "zh")].value == percent(sat, "zh")
    captions = [c.value for c in at.caption]
    assert any(c.startswith(t("period.vs.previous.quarter", "zh", period="2025-Q1", delta="")) for c in captions)
    assert any(c.startswith(t("period.vs.year_ago.quarter", "zh", period="2024-Q2", delta="")) for c in captions)
    assert t("overview.kpi.satisfaction_fraction", "zh", num=num(now["satisfaction_rate_num"]),
             den=num(now["satisfaction_rate_den"])) in captions
    # The unit table holds the quarter's sums.
    column = t("overview.col.cases_accepted", "zh")
    table = next(d.value for d in at.dataframe if column in d.value.columns)
    assert int(table[column].sum()) == now["cases_accepted"]


def test_a_year_not_yet_complete_compares_the_same_months_and_says_so(demo_lake, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = _open(period="2025", lang="en")
    assert at.title[0].value == "Annual overview"
    captions = [c.value for c in at.caption]
    # The demo ends in June: 2025 is six months, compared with January–June 2024.
    assert any(c.startswith("2025 has data for 6 of its 12 months so far (2025-01～2025-06)") for c in captions)
    assert any(c.startswith("vs the same months of the previous period (2024-01～2024-06)") for c in captions)
    now = _hall(demo_lake, [f"2025-{m:02d}" for m in range(1, 7)])
    assert {m.label: m.value for m in at.metric}["Cases accepted"] == num(now["cases_accepted"])
