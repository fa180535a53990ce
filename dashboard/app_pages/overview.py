"""Overview page: one month's hall KPIs, every unit's rates with their fractions, and satisfaction by unit."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data
from dashboard.core.bulletin import Column
from dashboard.core.metrics import MetricOptions, thresholds
from dashboard.ui import state
from dashboard.ui.downloads import download_buttons
from dashboard.ui.format import count_delta, num, pct, percent, pp_delta, rate
from dashboard.ui.i18n import t
from dashboard.ui.nav import PAGES
from dashboard.ui.state import current_lang, current_scope

# The satisfaction line most of the seed assessments draw (好评率 ≥ 98%); rulesets will supply it later.
SATISFACTION_TARGET = Fraction(98, 100)
_CST = dt.timezone(dt.timedelta(hours=8))
# Okabe–Ito vermilion and blue: told apart by readers with any common colour-vision deficiency.
_BELOW, _AT_OR_ABOVE = "#D55E00", "#0072B2"
_KIND_ORDER = {"部门": 0, "派驻单位": 1, "乡镇": 2}


class _Rate(NamedTuple):
    numerator: str
    denominator: str
    label: str
    column: str
    fraction: Callable[[int, int], str]


def _rates(lang: str) -> list[_Rate]:
    return [
        _Rate(
            "on_time_rate_num",
            "on_time_rate_den",
            t("overview.kpi.on_time", lang),
            t("overview.col.on_time", lang),
            lambda n, d: t("overview.kpi.on_time_fraction", lang, num=num(n), den=num(d)),
        ),
        _Rate(
            "same_day_rate_num",
            "same_day_rate_den",
            t("overview.kpi.same_day", lang),
            t("overview.col.same_day", lang),
            lambda n, d: t("overview.kpi.same_day_fraction", lang, num=num(n), den=num(d)),
        ),
        _Rate(
            "satisfaction_rate_num",
            "satisfaction_rate_den",
            t("overview.kpi.satisfaction", lang),
            t("overview.col.satisfaction", lang),
            lambda n, d: t("overview.kpi.satisfaction_fraction", lang, num=num(n), den=num(d)),
        ),
    ]


def _previous_month(period: str) -> str:
    year, month = (int(x) for x in period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def _totals(df: pl.DataFrame | None) -> dict[str, int] | None:
    # Hall-level rates are Σnumerator/Σdenominator over units, never an average of unit rates.
    if df is None:
        return None
    return {c: int(df[c].sum() or 0) for c in df.columns if df[c].dtype.is_integer()}


def _as_of_line(lang: str, scope: tuple[str, ...] | None) -> str | None:
    info = data.data_as_of(scope)
    if not info.get("built_at"):
        return None
    built = info["built_at"]
    try:
        stamp = dt.datetime.fromisoformat(built)
        # Naive stamps are Asia/Shanghai by the input contract; aware ones are shown in it.
        built = (stamp.astimezone(_CST) if stamp.tzinfo else stamp).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        pass
    return t(
        "overview.as_of",
        lang,
        built_at=built,
        latest_period=info.get("latest_period") or "–",
        cases=num(info.get("cases_rows")),
    )


def _options_line(scope: tuple[str, ...] | None, lang: str) -> str:
    """The definition options (口径) the numbers were built with, as the catalog words them."""
    options = MetricOptions.from_overrides(data.data_as_of(scope).get("options", {}))
    return ("；" if lang == "zh" else "; ").join(options.describe(lang))


def _year_before(period: str) -> str:
    return f"{int(period[:4]) - 1}{period[4:]}"


def _compare_line(label_key: str, month: str, delta: str | int | None, lang: str) -> str | None:
    """"较去年同月（2024-06）+0.30 个百分点": the comparison month is always written out."""
    if delta is None:
        return None
    shown = "0" if delta == 0 else str(delta)
    return t(label_key, lang, month=month, delta=shown)


def _kpis(df: pl.DataFrame, prev: pl.DataFrame | None, year_ago: pl.DataFrame | None, period: str,
          lang: str) -> None:
    now, before, last_year = _totals(df), _totals(prev), _totals(year_ago)
    assert now is not None
    prev_month, prev_year = _previous_month(period), _year_before(period)
    cols = st.columns(4)
    with cols[0].container(border=True, height="stretch"):
        st.metric(
            t("overview.kpi.cases_accepted", lang),
            num(now["cases_accepted"]),
            delta=count_delta(now["cases_accepted"], before["cases_accepted"] if before else None),
            delta_description=t("overview.mom", lang) if before else None,
        )
        st.caption(t("overview.kpi.cases_completed", lang, completed=num(now["cases_completed"])))
        for line in (
            _compare_line("overview.vs_month", prev_month,
                          count_delta(now["cases_accepted"], before["cases_accepted"]) if before else None, lang),
            _compare_line("overview.vs_year", prev_year,
                          count_delta(now["cases_accepted"], last_year["cases_accepted"]) if last_year else None,
                          lang),
        ):
            if line:
                st.caption(line)
    for col, spec in zip(cols[1:], _rates(lang), strict=True):
        current = rate(now[spec.numerator], now[spec.denominator])
        previous = rate(before[spec.numerator], before[spec.denominator]) if before else None
        delta = pp_delta(current, previous, lang)
        with col.container(border=True, height="stretch"):
            st.metric(
                spec.label,
                percent(current, lang),
                delta=delta,
                delta_description=t("overview.mom", lang) if delta is not None else None,
            )
            st.caption(spec.fraction(now[spec.numerator], now[spec.denominator]))
            yoy = pp_delta(current, rate(last_year[spec.numerator], last_year[spec.denominator]), lang) \
                if last_year else None
            for line in (_compare_line("overview.vs_month", prev_month, delta, lang),
                         _compare_line("overview.vs_year", prev_year, yoy, lang)):
                if line:
                    st.caption(line)


def _page_exists(path: str) -> bool:
    return any(p == path for p, _, _ in PAGES)


def _score_section(df: pl.DataFrame, period: str, prev_period: str | None, scope: tuple[str, ...] | None,
                   lang: str) -> None:
    """Average score with its change, the grade distribution, best and worst five, and the breaches count."""
    rulesets = data.monthly_rulesets(period)
    if not rulesets:
        return
    ruleset = state.get("ruleset") if state.get("ruleset") in rulesets else rulesets[0]
    try:
        results = data.scores(ruleset, period, scope)[0]
    except Exception:  # noqa: BLE001 - a scoring failure must not take the month's indicators down with it
        logging.getLogger(__name__).exception("scoring %s for %s failed", ruleset, period)
        st.warning(t("overview.scores_unavailable", lang, ruleset=ruleset, period=period))
        return
    if results.is_empty():
        return
    totals = [Decimal(v) for v in results["total"].to_list()]
    average = sum(totals, Decimal(0)) / len(totals)
    before = None
    if prev_period is not None:
        prev_results = data.scores(ruleset, prev_period, scope)[0]
        if not prev_results.is_empty():
            before = sum((Decimal(v) for v in prev_results["total"].to_list()), Decimal(0)) / prev_results.height
    breaches = _breach_count(df)
    cols = st.columns([1, 2, 2, 1])
    with cols[0].container(border=True, height="stretch"):
        st.metric(t("overview.kpi.average_score", lang), f"{average.quantize(Decimal('0.01'))}",
                  delta=None if before is None else f"{(average - before).quantize(Decimal('0.01')):+}",
                  delta_description=t("overview.mom", lang) if before is not None else None)
        st.caption(t("overview.kpi.average_of", lang, n=len(totals), ruleset=ruleset))
    with cols[1].container(border=True, height="stretch"):
        st.markdown(f"**{t('overview.grades', lang)}**")
        grades = results["grade"].fill_null(t("overview.no_grade", lang)).value_counts(sort=True)
        fig = go.Figure(go.Bar(x=grades["grade"].to_list(), y=grades["count"].to_list(),
                               marker_color=_AT_OR_ABOVE, text=grades["count"].to_list(), textposition="outside"))
        fig.update_layout(height=220, margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False)
        fig.update_xaxes(type="category")
        st.plotly_chart(fig, width="stretch", key="overview_grades")
    ordered = results.sort(["total", "subject"], descending=[True, False])
    for col, title, rows in ((cols[2], t("overview.best", lang), ordered.head(5)),
                             (cols[2], t("overview.worst", lang), ordered.tail(5).reverse())):
        with col:
            st.markdown(f"**{title}**")
            st.dataframe(pl.DataFrame({t("overview.col.unit", lang): rows["name"].to_list(),
                                       t("overview.col.total", lang): [f"{Decimal(v):.2f}" for v in rows["total"]],
                                       t("overview.col.grade", lang): rows["grade"].to_list()}),
                         hide_index=True, height=212)
    with cols[3].container(border=True, height="stretch"):
        st.metric(t("overview.breaches", lang), num(breaches))
        if _page_exists("app_pages/breaches.py"):
            st.page_link("app_pages/breaches.py", label=t("overview.to_breaches", lang), icon=":material/warning:",
                         query_params={"period": period, "lang": lang})


def _breach_count(df: pl.DataFrame) -> int:
    """How many (unit, watched line) pairs are below the line this month, compared as exact fractions."""
    count = 0
    for r in df.iter_rows(named=True):
        for th in thresholds():
            value = rate(r[f"{th.metric}_num"], r[f"{th.metric}_den"])
            count += value is not None and value < th.min
    return count


def _table_order(r: dict) -> tuple:
    # Departments, then stationed units, then townships (the usual order of a 通报); codes order within a group.
    return (
        _KIND_ORDER.get(r["unit_kind"], len(_KIND_ORDER)),
        r["unit_kind"] or "",
        r["unit_group"] or "",
        r["unit_code"],
    )


def _kind_names(lang: str) -> dict[str, str]:
    return {
        "部门": t("kind.department", lang),
        "乡镇": t("kind.township", lang),
        "派驻单位": t("kind.stationed", lang),
    }


def _unit_table(df: pl.DataFrame, period: str, lang: str) -> None:
    kinds = _kind_names(lang)
    specs = _rates(lang)
    unit, kind, group = (
        t("overview.col.unit", lang),
        t("overview.col.kind", lang),
        t("overview.col.group", lang),
    )
    accepted = t("overview.col.cases_accepted", lang)
    rows = [
        {
            unit: r["unit_name"] or r["unit_code"],
            kind: kinds.get(r["unit_kind"], r["unit_kind"]),
            group: r["unit_group"],
            accepted: r["cases_accepted"],
            **{s.column: pct(r[s.numerator], r[s.denominator], lang) for s in specs},
        }
        for r in sorted(df.iter_rows(named=True), key=_table_order)
    ]
    table = pl.DataFrame(
        rows,
        schema={
            unit: pl.String,
            kind: pl.String,
            group: pl.String,
            accepted: pl.Int64,
            **{s.column: pl.String for s in specs},
        },
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            accepted: st.column_config.NumberColumn(format="localized"),
            **{s.column: st.column_config.TextColumn(alignment="right") for s in specs},
        },
    )
    # The download carries each rate as a number (0.00%) beside its numerator and denominator.
    columns = [Column("unit", unit), Column("kind", kind), Column("group", group), Column("accepted", accepted, "int")]
    for s in specs:
        columns += [Column(s.numerator[:-4], s.column, "pct"),
                    Column(s.numerator, f"{s.column}{t('overview.col.numerator', lang)}", "int"),
                    Column(s.denominator, f"{s.column}{t('overview.col.denominator', lang)}", "int")]
    raw = [
        {"unit": r["unit_name"] or r["unit_code"], "kind": kinds.get(r["unit_kind"], r["unit_kind"]),
         "group": r["unit_group"], "accepted": r["cases_accepted"],
         **{s.numerator[:-4]: rate(r[s.numerator], r[s.denominator]) for s in specs},
         **{c: r[c] for s in specs for c in (s.numerator, s.denominator)}}
        for r in sorted(df.iter_rows(named=True), key=_table_order)
    ]
    download_buttons("overview_units", f"{period}_{t('overview.units_header', lang)}", columns, raw, lang)


def _y_ticks(low: float) -> list[float]:
    span = 100 - low
    step = 0.5 if span <= 4 else 1 if span <= 10 else 5 if span <= 50 else 10
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((100 - first) / step) + 1)]


def _satisfaction_chart(df: pl.DataFrame, period: str, lang: str) -> None:
    units = []
    for r in df.iter_rows(named=True):
        value = rate(r["satisfaction_rate_num"], r["satisfaction_rate_den"])
        units.append(
            (r["unit_name"] or r["unit_code"], value, pct(r["satisfaction_rate_num"], r["satisfaction_rate_den"], lang))
        )
    # Highest first; units without ratings last, keeping a labelled slot so their absence is visible.
    units.sort(key=lambda u: (u[1] is None, -(u[1] or 0)))
    rated = [u[1] for u in units if u[1] is not None]
    low = max(0.0, math.floor(float(min([*rated, SATISFACTION_TARGET]) * 100)) - 1.0)
    fig = go.Figure(
        go.Bar(
            x=[u[0] for u in units],
            # Floats only for drawing; every number a person reads comes from the exact fraction.
            y=[None if u[1] is None else float(u[1] * 100) for u in units],
            text=[percent(u[1], lang) if u[1] is not None else "" for u in units],
            textposition="outside",
            cliponaxis=False,
            customdata=[u[2] for u in units],
            hovertemplate="%{x}<br>%{customdata}<extra></extra>",
            marker_color=[
                _BELOW if u[1] is not None and u[1] < SATISFACTION_TARGET else _AT_OR_ABOVE for u in units
            ],
        )
    )
    missing = [u[0] for u in units if u[1] is None]
    if missing:
        no_data = t("common.no_data", lang)
        fig.add_trace(
            go.Scatter(
                x=missing,
                y=[low] * len(missing),
                mode="text",
                text=[no_data] * len(missing),
                textposition="top center",
                hoverinfo="skip",
            )
        )
    fig.add_hline(
        y=float(SATISFACTION_TARGET * 100),
        line_dash="dash",
        line_color=_BELOW,
        annotation_text=t("overview.chart.target", lang, value=percent(SATISFACTION_TARGET, lang)),
        annotation_position="right",
        annotation_font_color=_BELOW,
    )
    # Rates cluster just under 100%; an axis from zero would flatten every difference leadership looks for.
    ticks = _y_ticks(low)
    fig.update_yaxes(
        title_text=t("overview.chart.axis", lang),
        range=[low, 100.3],
        tickvals=ticks,
        ticktext=[f"{v:g}%" for v in ticks],
    )
    fig.update_xaxes(type="category")
    fig.update_layout(
        title_text=t("overview.chart.title", lang, period=period),
        height=440,
        margin={"l": 10, "r": 80, "t": 40, "b": 10},
        showlegend=False,
        uniformtext_minsize=9,
        uniformtext_mode="hide",
    )
    st.plotly_chart(fig, width="stretch")


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    st.title(t("overview.title", lang))
    periods = data.periods(scope)
    if not periods:
        st.info(t("overview.empty", lang))
        return

    head = st.columns([1, 3], vertical_alignment="bottom")
    # ?period= in the URL, carried across pages; the newest month by default.
    period = state.select(t("overview.period", lang), periods, "period", page="overview", container=head[0])
    as_of = _as_of_line(lang, scope)
    if as_of:
        head[1].caption(as_of)

    df = data.unit_month(period, scope)
    if df.is_empty():
        st.info(t("overview.no_units", lang, period=period))
        return
    prev_period = _previous_month(period)
    prev = data.unit_month(prev_period, scope) if prev_period in periods else None

    year_ago_period = _year_before(period)
    year_ago = data.unit_month(year_ago_period, scope) if year_ago_period in periods else None
    _kpis(df, prev, year_ago, period, lang)
    _score_section(df, period, prev_period if prev_period in periods else None, scope, lang)
    st.caption(t("overview.rate_note", lang))
    st.caption(t("overview.options", lang, options=_options_line(scope, lang)))
    st.subheader(t("overview.units_header", lang))
    _unit_table(df, period, lang)
    _satisfaction_chart(df, period, lang)


render()
