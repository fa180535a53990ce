"""AppTest of the entrypoint and the overview page over a small hand-written unit_month mart."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
OVERVIEW = "app_pages/overview.py"

KPI_ZH = ["受理办件", "按时办结率", "当场办结率", "好评率"]
KPI_EN = ["Cases accepted", "On-time rate", "Same-day rate", "Satisfaction rate"]

# Two months, three units. 城关镇 has no ratings in February; 税务局's same-day rate 797/800 = 99.625% is an
# exact tie, where half-up gives 99.63% and round() would give 99.62%.
UNITS = {
    "U01": ("市场监管局", "部门", "第一圈层"),
    "U02": ("税务局", "派驻单位", "第一圈层"),
    "U03": ("城关镇", "乡镇", "第二圈层"),
}
# (period, unit, accepted, completed, due, on_time, same_day, ratings, satisfied)
ROWS = [
    ("2026-01", "U01", 1200, 1180, 1100, 1090, 600, 1200, 1190),
    ("2026-01", "U02", 900, 880, 850, 850, 700, 500, 497),
    ("2026-01", "U03", 150, 140, 120, 118, 90, 40, 39),
    ("2026-02", "U01", 1400, 1380, 1300, 1287, 650, 1350, 1330),
    ("2026-02", "U02", 820, 800, 790, 781, 797, 600, 588),
    ("2026-02", "U03", 130, 120, 100, 97, 80, 0, 0),
]
LATEST, EARLIER = "2026-02", "2026-01"


def _mart() -> pa.Table:
    cols = [
        "period",
        "unit_code",
        "cases_accepted",
        "cases_completed",
        "on_time_rate_den",
        "on_time_rate_num",
        "same_day_rate_num",
        "satisfaction_rate_den",
        "satisfaction_rate_num",
    ]
    rows = [dict(zip(cols, r, strict=True)) for r in ROWS]
    for r in rows:
        r["unit_name"], r["unit_kind"], r["unit_group"] = UNITS[r["unit_code"]]
        # Same-day is over completed cases under the default options.
        r["same_day_rate_den"] = r["cases_completed"]
    cols.append("same_day_rate_den")
    schema = pa.schema(
        [(c, pa.string()) for c in ("period", "unit_code", "unit_name", "unit_kind", "unit_group")]
        + [(c, pa.int64()) for c in cols[2:]]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _expected(num: int, den: int, no_data: str) -> str:
    # Independent of dashboard.ui.format: integer half-up on basis points.
    if den == 0:
        return no_data
    bp = (2 * num * 10000 + den) // (2 * den)
    return f"{bp // 100}.{bp % 100:02d}% ({num:,}/{den:,})"


def _row(period: str, unit: str) -> dict:
    return next(
        dict(
            zip(
                [
                    "period",
                    "unit_code",
                    "accepted",
                    "completed",
                    "due",
                    "on_time",
                    "same_day",
                    "ratings",
                    "satisfied",
                ],
                r,
                strict=True,
            )
        )
        for r in ROWS
        if r[0] == period and r[1] == unit
    )


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def lake(tmp_path, monkeypatch) -> Path:
    marts = tmp_path / "lake" / "marts"
    marts.mkdir(parents=True)
    pq.write_table(_mart(), marts / "unit_month.parquet")
    (marts / "_build.json").write_text(
        json.dumps(
            {"built_at": "2026-03-02T08:30:00+08:00", "marts": {"unit_month": len(ROWS)}, "cases_rows": 4600}
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("HALL_DATA", str(tmp_path))
    return tmp_path


def _overview(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    at.switch_page(OVERVIEW).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at: AppTest):
    assert len(at.dataframe) == 1
    return at.dataframe[0].value


def _cell(at: AppTest, unit_name: str, column: str) -> str:
    df = _table(at)
    unit_col = df.columns[0]
    return df.loc[df[unit_col] == unit_name, column].item()


def test_overview_in_chinese_by_default(lake):
    at = _overview()
    assert [m.label for m in at.metric] == KPI_ZH
    assert at.query_params.get("lang") == "zh"
    assert "市场监管局" in _table(at).iloc[:, 0].tolist()
    r = _row(LATEST, "U01")
    assert (
        _cell(at, "市场监管局", "好评率")
        == _expected(r["satisfied"], r["ratings"], "无数据")
        == "98.52% (1,330/1,350)"
    )
    r = _row(LATEST, "U02")
    assert (
        _cell(at, "税务局", "当场办结率")
        == _expected(r["same_day"], r["completed"], "无数据")
        == "99.63% (797/800)"
    )
    assert _cell(at, "城关镇", "好评率") == "无数据"
    assert _cell(at, "城关镇", "类别") == "乡镇"
    assert any("2026-03-02 08:30" in c.value for c in at.caption)


def test_hall_kpis_are_sums_of_numerators_over_sums_of_denominators(lake):
    at = _overview()
    latest = [r for r in ROWS if r[0] == LATEST]
    sat, ratings = sum(r[8] for r in latest), sum(r[7] for r in latest)
    on_time, due = sum(r[5] for r in latest), sum(r[4] for r in latest)
    metrics = {m.label: m for m in at.metric}
    assert metrics["受理办件"].value == f"{sum(r[2] for r in latest):,}"
    assert metrics["好评率"].value == _expected(sat, ratings, "").split(" ")[0]
    assert metrics["按时办结率"].value == _expected(on_time, due, "").split(" ")[0]
    # Σ/Σ differs from the mean of the unit rates here, so an averaging bug cannot pass.
    mean = sum(r[5] / r[4] for r in latest) / len(latest) * 100
    assert metrics["按时办结率"].value != f"{mean:.2f}%"
    captions = [c.value for c in at.caption]
    assert f"好评 {sat:,} / 评价 {ratings:,}" in captions
    # The definition options (口径) stand beside the numbers: this mart has no build record, so the defaults.
    assert any(c.startswith("口径：按时办结率分母：当期到期办件") for c in captions), captions


def test_overview_in_english_with_lang_param(lake):
    at = _overview(lang="en")
    assert [m.label for m in at.metric] == KPI_EN
    assert _cell(at, "城关镇", "Satisfaction rate") == "no data"
    assert _cell(at, "城关镇", "Kind") == "Township"
    r = _row(LATEST, "U01")
    assert _cell(at, "市场监管局", "On-time rate") == _expected(r["on_time"], r["due"], "no data")


def test_language_survives_a_page_switch_that_drops_the_query_string(lake):
    at = _overview(lang="en")
    # The browser drops the query string on a page switch; the session must keep English and restore the param.
    at.query_params.clear()
    at.switch_page(OVERVIEW).run()
    assert not at.exception
    assert [m.label for m in at.metric] == KPI_EN
    assert at.query_params.get("lang") == "en"


def test_language_switch_in_sidebar(lake):
    at = _overview()
    at.sidebar.selectbox[0].select("en").run()
    assert not at.exception
    assert [m.label for m in at.metric] == KPI_EN
    assert at.query_params.get("lang") == "en"


def test_period_from_query_param(lake):
    at = _overview(period=EARLIER)
    assert at.selectbox(key="w_overview_period").value == EARLIER
    r = _row(EARLIER, "U03")
    assert _cell(at, "城关镇", "好评率") == _expected(r["satisfied"], r["ratings"], "无数据")
    # The earliest month has no previous month to compare with.
    assert all(m.delta in (None, "") for m in at.metric)


def test_latest_month_is_default_with_deltas(lake):
    at = _overview()
    assert at.selectbox(key="w_overview_period").value == LATEST
    assert at.selectbox(key="w_overview_period").options == [LATEST, EARLIER]
    accepted = {m.label: m for m in at.metric}["受理办件"]
    jan, feb = (sum(r[2] for r in ROWS if r[0] == p) for p in (EARLIER, LATEST))
    assert accepted.delta == f"{feb - jan:+,}"


def test_empty_lake_tells_how_to_get_data(tmp_path, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(tmp_path))
    at = _overview()
    assert not at.metric
    text = " ".join(i.value for i in at.info)
    assert "make run" in text and "hall ingest" in text and "hall build" in text


def test_pct_rounds_half_up_and_never_shows_zero_for_no_data():
    from dashboard.ui.format import num, pct

    assert pct(797, 800, "zh") == "99.63% (797/800)"
    assert pct(1, 800, "en") == "0.13% (1/800)"
    assert pct(0, 0, "zh") == "无数据"
    assert pct(0, 0, "en") == "no data"
    assert pct(0, 5, "en") == "0.00% (0/5)"
    assert num(1234567) == "1,234,567"
