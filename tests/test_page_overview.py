"""The overview on the demo: comparison months written out, average score, grades, best and worst five, breaches."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import marts, scoring
from dashboard.core.db import REPO_ROOT, connect

APP = str(REPO_ROOT / "dashboard" / "app.py")


@pytest.fixture
def at(demo_lake, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["period"] = "2025-06"
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_kpis_name_the_months_they_compare_with(at):
    captions = [c.value for c in at.caption]
    assert any("较上月（2025-05）" in c for c in captions)
    assert any("较去年同月（2024-06）" in c for c in captions)


def test_average_score_grades_best_and_worst_five(at, demo_lake):
    wh = connect(demo_lake)
    results = scoring.score(wh, "anshan_stationed", "2025-06").results.to_pylist()
    average = sum((r["total"] for r in results), Decimal(0)) / len(results)
    assert any(m.label == "平均得分" and m.value == f"{average.quantize(Decimal('0.01'))}" for m in at.metric)
    ordered = sorted(results, key=lambda r: (-r["total"], r["subject"]))
    best = [df for df in at.dataframe if "单位" in df.value.columns and len(df.value) == 5]
    assert best and best[0].value["单位"].tolist() == [r["name"] for r in ordered[:5]]
    assert best[1].value["单位"].tolist() == [r["name"] for r in ordered[-5:][::-1]]


def test_breaches_count_is_every_unit_below_a_watched_line(at, demo_lake):
    rows = marts.slice_mart(connect(demo_lake), "unit_month", "2025-06", None).to_pylist()
    want = sum(1 for r in rows if r["satisfaction_rate_den"]
               and Fraction(r["satisfaction_rate_num"], r["satisfaction_rate_den"]) < Fraction(98, 100))
    want += sum(1 for r in rows if r["on_time_rate_den"] and r["on_time_rate_num"] < r["on_time_rate_den"])
    assert any(m.label == "低于预警线" and m.value == f"{want:,}" for m in at.metric)
