"""Trends page (趋势): any indicator for chosen units or windows month by month (or quarter by quarter, year by year:
each one's months summed, Σnumerator/Σdenominator), with the watched lines and the chosen ruleset's targets, and each
one's group (圈层) average pooled the same way; small multiples when many are chosen."""

from __future__ import annotations

import math
from fractions import Fraction

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from plotly.subplots import make_subplots

from dashboard import data
from dashboard.core.metrics import Metric, half_up, metrics, thresholds
from dashboard.core.period import Period, periods_holding
from dashboard.core.rankings import last_months, value_of
from dashboard.core.rules.loader import RulesError
from dashboard.core.table import Column
from dashboard.ui import period as period_ui
from dashboard.ui import rulesets as ruleset_ui
from dashboard.ui import state
from dashboard.ui.banner import as_of_line
from dashboard.ui.downloads import download_buttons
from dashboard.ui.format import chart_text, num, plain
from dashboard.ui.i18n import t
from dashboard.ui.state import current_lang, current_scope

PAGE = "trends"
GRAINS = ("unit", "window")
MART = {"unit": ("unit_month", "unit_code", "unit_name", "units"),
        "window": ("window_month", "window_code", "window_name", "windows")}
# How many periods back, by granularity (?months= in the URL).
SPANS = {"month": ("12", "24", "all"), "quarter": ("4", "8", "all"), "year": ("all",)}
DEFAULT_PICK = 3
FACET_ABOVE = 4  # more than this many lines: one small chart each
FACET_COLS = 3
# Okabe–Ito: distinguishable with every common colour-vision deficiency.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
_OPS = {">=": "≥", "<=": "≤", "==": "="}
_WATCH, _RULE, _AVG = "#D55E00", "#E69F00", "#7F7F7F"


def _is_rate(m: Metric) -> bool:
    return m.kind in ("rate", "ratio")


def _value(m: Metric, n: int | None, d: int | None) -> Fraction | None:
    return value_of(m.kind, m.scale, n, None if m.kind == "count" else d)


def _unit_label(m: Metric, lang: str) -> str:
    if _is_rate(m):
        return "%"
    if m.unit == "minutes":
        return t("trends.unit_minutes", lang)
    if m.unit == "working_days":
        return t("trends.unit_working_days", lang)
    return ""


def _y(m: Metric, value: Fraction | None) -> float | None:
    """The plotted number (a float only for drawing): a rate in percent, anything else as it is."""
    if value is None:
        return None
    return float(value * 100) if _is_rate(m) else float(value)


def _text(m: Metric, value: Fraction | None, lang: str) -> str:
    """The value as a person reads it: half-up to two decimals, or the localized “no data”."""
    if value is None:
        return t("common.no_data", lang)
    if _is_rate(m):
        return f"{half_up(value * 100)}%"
    if m.kind == "count":  # a group's average of a count can be fractional
        return num(int(value)) if value.denominator == 1 else f"{half_up(value)}"
    return f"{half_up(value)} {_unit_label(m, lang)}"


def _fraction(m: Metric, n: int | None, d: int | None, lang: str, avg_of: str) -> str:
    """"(1,330/1,350)" beside a rate or mean; for a count's group average, "(Σ 1,234 / 12 members)"."""
    if m.kind == "count":
        return "" if d is None else t(avg_of, lang, total=num(n), n=num(d))
    return f"({num(n)}/{num(d)})"


def _lines(m: Metric, ruleset: str | None, period: str, lang: str) -> list[tuple[float, str, str]]:
    """(y, label, colour) of the catalog's watched line and the active ruleset's targets on the metric."""
    out = []
    for th in thresholds():
        if th.metric == m.id:
            out.append((_y(m, th.min), t("trends.watch_line", lang, value=_text(m, th.min, lang)), _WATCH))
    if ruleset is not None:
        try:
            found = data.rule_lines(ruleset, period, m.id)
        except RulesError:
            found = []
        for line in found:
            value = Fraction(line.value)
            op = t("trends.target", lang) if line.op == "target" else _OPS.get(line.op, line.op)
            name = line.item_zh if lang == "zh" else line.item_en
            out.append((_y(m, value), t("trends.rule_line", lang, item=chart_text(name), op=op,
                                        value=_text(m, value, lang)),
                        _RULE))
    return out


def _pick(options: list[str], param: str, names: dict[str, str], label: str) -> list[str]:
    """A multiselect whose choice lives in the URL as a comma-separated list (?units=U001,U002)."""
    wanted = [c for c in (state.get(param) or "").split(",") if c in names]
    if not wanted:
        wanted = options[:DEFAULT_PICK]
    chosen = st.multiselect(label, options, default=wanted, format_func=lambda c: f"{names[c]} ({c})",
                            key=f"w_{PAGE}_{param}")
    state.put(param, ",".join(chosen) if chosen else None)
    return chosen


def _figure(m: Metric, months: list[str], series: dict[str, list[tuple]], avgs: dict[str, list[tuple]],
            group_of: dict[str, str], names: dict[str, str], lines: list[tuple[float, str, str]],
            lang: str) -> go.Figure:
    chosen = list(series)
    facets = len(chosen) > FACET_ABOVE
    unit = _unit_label(m, lang)
    hover = "%{x}<br>%{fullData.name}: %{customdata[0]} %{customdata[1]}<extra></extra>"
    if facets:
        rows = math.ceil(len(chosen) / FACET_COLS)
        fig = make_subplots(rows=rows, cols=FACET_COLS, shared_xaxes=True, shared_yaxes=True,
                            subplot_titles=[chart_text(names[c]) for c in chosen],
                            vertical_spacing=0.12 / max(rows - 1, 1))
    else:
        fig = go.Figure()
    shown_groups: set[str] = set()
    for i, code in enumerate(chosen):
        where = {"row": i // FACET_COLS + 1, "col": i % FACET_COLS + 1} if facets else {}
        colour = COLOURS[i % len(COLOURS)]
        pts = series[code]
        fig.add_trace(go.Scatter(x=months, y=[p[0] for p in pts], customdata=[[p[1], p[2]] for p in pts],
                                 name=chart_text(names[code]), mode="lines+markers", line={"color": colour},
                                 hovertemplate=hover, showlegend=not facets, connectgaps=False), **where)
        g = group_of.get(code)
        if g is None or g not in avgs or (not facets and g in shown_groups):
            continue
        first = g not in shown_groups  # in small multiples each facet has its group's line, the legend names it once
        shown_groups.add(g)
        avg = avgs[g]
        fig.add_trace(go.Scatter(x=months, y=[p[0] for p in avg], customdata=[[p[1], p[2]] for p in avg],
                                 name=t("trends.group_average", lang, group=chart_text(g)), mode="lines",
                                 line={"color": _AVG if facets else colour, "dash": "dash", "width": 1.5},
                                 hovertemplate=hover, showlegend=first, legendgroup=f"avg_{g}"), **where)
    for y, label, colour in lines:
        if y is None:
            continue
        # Each facet gets the line; only the first is labelled, so the labels do not repeat in every chart.
        for i in range(len(chosen) if facets else 1):
            where = {"row": i // FACET_COLS + 1, "col": i % FACET_COLS + 1} if facets else {}
            note = {"annotation_text": label, "annotation_position": "top left", "annotation_font_color": colour,
                    "annotation_font_size": 11} if i == 0 else {}
            fig.add_hline(y=y, line_dash="dot", line_color=colour, **note, **where)
    fig.update_xaxes(type="category", nticks=7 if facets else None)
    fig.update_yaxes(ticksuffix="%" if _is_rate(m) else "", title_text=None if facets else (unit or None))
    height = (260 * math.ceil(len(chosen) / FACET_COLS) + 60) if facets else 460
    fig.update_layout(title_text=m.name(lang), height=height, margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      legend={"orientation": "h", "y": -0.15}, hovermode="closest")
    return fig


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    st.title(t("trends.title", lang))
    periods = data.periods(scope)
    if not periods:
        st.info(t("trends.empty", lang))
        return
    catalog = metrics()
    # The granularity (月/季/年) on its own row: "Month | Quarter | Year" needs more room than a filter column.
    gran_row = st.container()
    head = st.columns([1, 1, 1, 1.8, 1.8], vertical_alignment="bottom")
    # The period the series ends at; its granularity is the series' step.
    period = period_ui.pick(periods, lang, PAGE, gran_container=gran_row, period_container=head[0])
    gran = Period.parse(period).kind
    spans = SPANS[gran]
    span = state.select(t("trends.span", lang), spans, "months", page=PAGE, container=head[1],
                        format_func=lambda s: t("trends.span_all", lang) if s == "all" else
                        t(f"trends.span_{gran}", lang, n=s))
    grain = state.select(t("trends.grain", lang), GRAINS, "grain", page=PAGE, container=head[2],
                         format_func=lambda g: t(f"trends.grain_{g}", lang))
    metric_id = state.select(t("trends.metric", lang), list(catalog), "metric", page=PAGE, container=head[3],
                             default="satisfaction_rate", format_func=lambda k: catalog[k].name(lang))
    ruleset = ruleset_ui.pick(t("trends.ruleset", lang), grain, period, lang, PAGE, container=head[4])
    ruleset_name = ruleset_ui.names(grain, period, lang).get(ruleset, ruleset) if ruleset else None
    as_of = as_of_line(lang, scope)
    if as_of:
        st.caption(as_of)

    m = catalog[metric_id]
    steps = periods_holding(periods, gran)  # newest first
    # The series: `span` periods to the one chosen (a month's months, a quarter's quarters, a year's years).
    months = last_months(steps, period, len(steps) if span == "all" else int(span))
    grain_mart, key, label, param = MART[grain]
    frame = data.mart_months(grain_mart, months, scope)
    if frame.is_empty():
        st.info(t("trends.no_rows", lang))
        return
    units = data.mart_months("unit_month", months, scope)
    unit_group = {r["unit_code"]: r["unit_group"] for r in units.select(["unit_code", "unit_group"]).unique()
                  .iter_rows(named=True)}
    frame = frame.filter(pl.col(key).is_not_null())  # cases recorded without a window have no line of their own
    entities = frame.select(list(dict.fromkeys([key, label, "unit_code"]))).unique(subset=[key], keep="first").sort(key)
    names = {r[key]: r[label] or r[key] for r in entities.iter_rows(named=True)}
    group_of = {r[key]: unit_group.get(r["unit_code"]) for r in entities.iter_rows(named=True)}
    chosen = _pick(list(names), param, names, t(f"trends.pick_{grain}", lang))
    if not chosen:
        st.info(t("trends.pick_some", lang))
        return

    cols = m.columns
    n_col, d_col = cols[0], (cols[1] if len(cols) == 2 else None)
    rows = {(r["period"], r[key]): r for r in frame.filter(pl.col(key).is_in(chosen)).iter_rows(named=True)}
    series: dict[str, list[tuple]] = {}
    long: list[dict] = []
    for code in chosen:
        pts = []
        for mo in months:
            r = rows.get((mo, code))
            n = None if r is None else r[n_col]
            d = None if r is None or d_col is None else r[d_col]
            v = None if r is None else _value(m, n, d)
            pts.append((_y(m, v), _text(m, v, lang), "" if r is None or d_col is None else _fraction(m, n, d, lang, "")))
            long.append({"name": names[code], "code": code, "group": group_of.get(code) or "", "period": mo,
                         "value": _text(m, v, lang), "num": n, "den": d})
        series[code] = pts
    # The 圈层 average is the whole group's in the hall, for a unit head too (an aggregate, not another unit's data).
    pooled = data.group_average(months, n_col, d_col)
    avgs: dict[str, list[tuple]] = {}
    for g in {group_of.get(c) for c in chosen} - {None}:
        pts = []
        for mo in months:
            n, d = pooled.get((mo, g), (None, None))
            v = None if n is None else (Fraction(n, d) if m.kind == "count" and d else _value(m, n, d))
            pts.append((_y(m, v), _text(m, v, lang), "" if n is None else _fraction(m, n, d, lang, "trends.avg_of")))
            long.append({"name": t("trends.group_average", lang, group=g), "code": "", "group": g, "period": mo,
                         "value": _text(m, v, lang), "num": n, "den": d})
        avgs[g] = pts

    lines = _lines(m, ruleset, period, lang)
    st.plotly_chart(_figure(m, months, series, avgs, group_of, names, lines, lang), width="stretch",
                    key=f"trends_chart_{grain}")
    notes = [t("trends.note_pooled", lang)]
    if m.kind == "count":
        notes.append(t("trends.note_count_average", lang))
    if m.kind == "mean":
        notes.append(t("trends.note_mean", lang, seconds=t("trends.note_mean_seconds", lang) if m.scale == 60 else ""))
    if gran != "month":
        notes.append(t("trends.note_summed", lang))
    if ruleset is None:
        notes.append(t("trends.no_ruleset", lang, period=period))
    elif not any(c == _RULE for _, _, c in lines):
        notes.append(t("trends.no_rule_lines", lang, ruleset=plain(ruleset_name), metric=m.name(lang)))
    for note in notes:
        st.caption(note)

    c = {k: t(f"trends.col.{k}", lang) for k in ("name", "code", "group", "period", "value", "num", "den")}
    # On screen: one row per line, one column per month, each cell the value with its fraction.
    table_rows = {}
    for r in long:
        row = table_rows.setdefault((r["name"], r["code"]), {c["name"]: r["name"], c["code"]: r["code"],
                                                             c["group"]: r["group"]})
        frac = "" if d_col is None or not r["den"] else f" ({num(r['num'])}/{num(r['den'])})"
        row[r["period"]] = r["value"] + frac
    shown = pl.DataFrame(list(table_rows.values()),
                         schema={c["name"]: pl.String, c["code"]: pl.String, c["group"]: pl.String,
                                 **{mo: pl.String for mo in months}})
    st.dataframe(shown, hide_index=True, column_config={mo: st.column_config.TextColumn(alignment="right")
                                                        for mo in months})
    columns = [Column("name", c["name"]), Column("code", c["code"]), Column("group", c["group"]),
               Column("period", c["period"]), Column("value", c["value"]), Column("num", c["num"], "int")]
    if d_col is not None or m.kind == "count":
        columns.append(Column("den", c["den"], "int"))
    download_buttons(f"trends_{grain}", f"{months[0]}_{months[-1]}_{m.name(lang)}", columns, long, lang)


render()
