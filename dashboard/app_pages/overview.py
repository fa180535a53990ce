"""Overview page: a month's, quarter's or year's hall KPIs (Σnumerator/Σdenominator over its months) with their
changes, the scores under the chosen ruleset, every unit's rates with their fractions, and satisfaction by unit."""

from __future__ import annotations

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
from dashboard.core.metrics import MetricOptions, MetricsError, thresholds
from dashboard.core.period import Period
from dashboard.core.rules.loader import RulesError
from dashboard.core.table import Column
from dashboard.ui import period as period_ui
from dashboard.ui import rulesets as ruleset_ui
from dashboard.ui.downloads import download_buttons
from dashboard.ui.format import chart_text, count_delta, num, pct, percent, plain, pp_delta, rate
from dashboard.ui.i18n import t
from dashboard.ui.nav import PAGES
from dashboard.ui.state import current_lang, current_scope

# The satisfaction line most of the seed assessments draw (好评率 ≥ 98%); rulesets will supply it later.
SATISFACTION_TARGET = Fraction(98, 100)
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


def _totals(df: pl.DataFrame | None) -> dict[str, int] | None:
    # Hall-level rates are Σnumerator/Σdenominator over units, never an average of unit rates.
    if df is None:
        return None
    return {c: int(df[c].sum() or 0) for c in df.columns if df[c].dtype.is_integer()}


def _as_of_line(lang: str, scope: tuple[str, ...] | None) -> str | None:
    # The same line as every other page: as-of instant, build time, newest month, provisional months.
    from dashboard.ui.banner import as_of_line

    return as_of_line(lang, scope)


def _options_line(scope: tuple[str, ...] | None, lang: str) -> str:
    """The definition options (口径) the numbers were built with, as the catalog words them."""
    options = MetricOptions.from_overrides(data.data_as_of(scope).get("options", {}))
    return t("common.sep.clauses", lang).join(options.describe(lang))


def _compare_line(c: period_ui.Comparison | None, period: str, delta: str | int | None, lang: str) -> str | None:
    """"较去年同月（2024-06）+0.30 个百分点": the period compared with is always written out."""
    if c is None or delta is None:
        return None
    shown = "0" if delta == 0 else str(delta)
    return period_ui.compare_text(c, Period.parse(period).kind, lang, shown)


def _kpis(df: pl.DataFrame, prev: pl.DataFrame | None, year_ago: pl.DataFrame | None, period: str,
          compared: tuple[period_ui.Comparison | None, period_ui.Comparison | None], lang: str) -> None:
    """The four KPI cards; `prev` and `year_ago` hold the months the comparisons `compared` name (or None)."""
    now, before, last_year = _totals(df), _totals(prev), _totals(year_ago)
    assert now is not None
    c_prev, c_year = compared
    gran = Period.parse(period).kind
    since = period_ui.since_text(c_prev, gran, lang) if c_prev else None
    cols = st.columns(4)
    with cols[0].container(border=True, height="stretch"):
        st.metric(
            t("overview.kpi.cases_accepted", lang),
            num(now["cases_accepted"]),
            delta=count_delta(now["cases_accepted"], before["cases_accepted"] if before else None),
            delta_description=since if before else None,
        )
        st.caption(t("overview.kpi.cases_completed", lang, completed=num(now["cases_completed"])))
        for line in (
            _compare_line(c_prev, period,
                          count_delta(now["cases_accepted"], before["cases_accepted"]) if before else None, lang),
            _compare_line(c_year, period,
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
                delta_description=since if delta is not None else None,
            )
            st.caption(spec.fraction(now[spec.numerator], now[spec.denominator]))
            yoy = pp_delta(current, rate(last_year[spec.numerator], last_year[spec.denominator]), lang) \
                if last_year else None
            for line in (_compare_line(c_prev, period, delta, lang), _compare_line(c_year, period, yoy, lang)):
                if line:
                    st.caption(line)


def _page_exists(path: str) -> bool:
    return any(p == path for p, _, _ in PAGES)


def _score_section(df: pl.DataFrame, period: str, ruleset: str | None, prev: period_ui.Comparison | None,
                   months: list[str], scope: tuple[str, ...] | None, lang: str) -> None:
    """Average score with its change, the grade distribution, best and worst five, and the breaches count."""
    if ruleset is None:
        st.caption(t("overview.no_ruleset", lang, period=period))
        return
    name = ruleset_ui.names("unit", period, lang).get(ruleset, ruleset)
    try:
        results = data.scores(ruleset, period, scope)[0]
    except Exception:  # noqa: BLE001 - a scoring failure must not take the period's indicators down with it
        logging.getLogger(__name__).exception("scoring %s for %s failed", ruleset, period)
        st.warning(t("overview.scores_unavailable", lang, ruleset=plain(name), period=period))
        return
    if results.is_empty():
        return
    # Grades in the user's language, as the ruleset names them (its roll-up's grades for a quarter or year).
    grade_names = dict(data.ruleset_meta(ruleset, period)["grades"]) if lang == "en" else {}
    results = results.with_columns(pl.col("grade").replace(grade_names))
    totals = [Decimal(v) for v in results["total"].to_list()]
    average = sum(totals, Decimal(0)) / len(totals)
    before = None
    if prev is not None and not prev.partial:  # a whole previous period: its average under the same ruleset
        try:
            prev_results = data.scores(ruleset, prev.text, scope)[0]
        except (RulesError, MetricsError, ValueError):  # not in force then: nothing to compare with
            prev_results = pl.DataFrame()
        if not prev_results.is_empty():
            before = sum((Decimal(v) for v in prev_results["total"].to_list()), Decimal(0)) / prev_results.height
    since = period_ui.since_text(prev, Period.parse(period).kind, lang) if prev else None
    breaches = _breach_count(df)
    cols = st.columns([1, 2, 2, 1])
    with cols[0].container(border=True, height="stretch"):
        st.metric(t("overview.kpi.average_score", lang), f"{average.quantize(Decimal('0.01'))}",
                  delta=None if before is None else f"{(average - before).quantize(Decimal('0.01')):+}",
                  delta_description=since if before is not None else None)
        st.caption(t("overview.kpi.average_of", lang, n=len(totals), ruleset=plain(name)))
    with cols[1].container(border=True, height="stretch"):
        st.markdown(f"**{t('overview.grades', lang)}**")
        grades = results["grade"].fill_null(t("overview.no_grade", lang)).value_counts(sort=True)
        fig = go.Figure(go.Bar(x=[chart_text(g) for g in grades["grade"].to_list()], y=grades["count"].to_list(),
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
        if Period.parse(period).kind != "month":
            st.caption(t("overview.breaches_pooled", lang, period=period))
        if _page_exists("app_pages/breaches.py"):
            # The breaches page lists months: a quarter or year opens on its newest month with data.
            st.page_link("app_pages/breaches.py", label=t("overview.to_breaches", lang), icon=":material/warning:",
                         query_params={"period": months[-1], "lang": lang})


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
            (chart_text(r["unit_name"] or r["unit_code"]), value,
             pct(r["satisfaction_rate_num"], r["satisfaction_rate_den"], lang))
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


def _months_frame(months: list[str], scope: tuple[str, ...] | None) -> pl.DataFrame | None:
    """The unit rows of each month given, one block per month (their sums are the stretch's Σnum and Σden)."""
    if not months:
        return None
    return pl.concat([data.unit_month(mo, scope) for mo in months], how="vertical_relaxed")


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    title = st.empty()
    periods = data.periods(scope)
    if not periods:
        title.title(t("overview.title", lang))
        st.info(t("overview.empty", lang))
        return

    # The granularity (月/季/年) on its own row: "Month | Quarter | Year" needs more room than a filter column.
    gran_row = st.container()
    head = st.columns([1, 2, 3], vertical_alignment="bottom")
    # ?period= in the URL (a month, quarter or year), carried across pages; the newest month by default.
    period = period_ui.pick(periods, lang, "overview", gran_container=gran_row, period_container=head[0])
    gran = Period.parse(period).kind
    title.title(t(f"overview.title_{gran}", lang) if gran != "month" else t("overview.title", lang))
    ruleset = ruleset_ui.pick(t("overview.ruleset", lang), "unit", period, lang, "overview", container=head[1])
    as_of = _as_of_line(lang, scope)
    if as_of:
        head[2].caption(as_of)
    partial = period_ui.partial_note(period, periods, lang)
    if partial:
        st.caption(partial)

    months = period_ui.with_data(period, periods)
    # A month straight from its mart; a quarter or year summed per unit over its months (Σnum, Σden).
    df = data.unit_month(period, scope) if gran == "month" else data.mart_slice("unit_month", period, scope)
    if df.is_empty():
        st.info(t("overview.no_units", lang, period=period))
        return
    c_prev = period_ui.comparison(period, periods, "previous")
    c_year = period_ui.comparison(period, periods, "year_ago")
    prev = _months_frame(c_prev.months, scope) if c_prev else None
    year_ago = _months_frame(c_year.months, scope) if c_year else None
    _kpis(df, prev, year_ago, period, (c_prev, c_year), lang)
    _score_section(df, period, ruleset, c_prev, months, scope, lang)
    st.caption(t("overview.rate_note", lang))
    st.caption(t("overview.options", lang, options=_options_line(scope, lang)))
    st.subheader(t("overview.units_header", lang))
    _unit_table(df, period, lang)
    _satisfaction_chart(df, period, lang)


render()
