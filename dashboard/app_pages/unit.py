"""Unit page (单位): one unit's month, quarter or year — its score under the chosen ruleset as a waterfall and in
sentences, twelve months of its indicators, its windows and the hall office's records about it."""

from __future__ import annotations

import logging
from decimal import Decimal
from urllib.parse import urlencode

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data
from dashboard.core.contract import catalog_flags
from dashboard.core.metrics import MetricsError, thresholds
from dashboard.core.period import Period
from dashboard.core.rules.loader import RulesError
from dashboard.core.table import Column
from dashboard.core.unit_detail import explained, history_months, lines_of, points_text
from dashboard.ui import period as period_ui
from dashboard.ui import rulesets as ruleset_ui
from dashboard.ui import state
from dashboard.ui.banner import as_of_line
from dashboard.ui.downloads import download_buttons
from dashboard.ui.format import chart_text, num, pct, percent, plain, rate
from dashboard.ui.i18n import t
from dashboard.ui.nav import PAGES
from dashboard.ui.state import current_lang, current_scope

PAGE = "unit"
WINDOW_PAGE = "app_pages/window.py"
# Okabe–Ito: colour-blind safe.
BLUE, VERMILION, ORANGE, GREEN, SKY, GREY = "#0072B2", "#D55E00", "#E69F00", "#009E73", "#56B4E9", "#999999"
RATES = (("on_time_rate", BLUE), ("same_day_rate", ORANGE), ("satisfaction_rate", GREEN))


def _page_exists(path: str) -> bool:
    return any(p == path for p, _, _ in PAGES)


def _score(unit: str, period: str, scope: tuple[str, ...] | None, lang: str, container) -> None:
    st.subheader(t("unit_page.score.title", lang, during=period_ui.word("during", period, lang)))
    ruleset = ruleset_ui.pick(t("unit_page.ruleset", lang), "unit", period, lang, PAGE, container=container)
    if ruleset is None:
        st.info(t("unit_page.score.no_ruleset", lang, period=period))
        return
    name = ruleset_ui.names("unit", period, lang).get(ruleset, ruleset)
    try:
        results, _, all_lines = data.scores(ruleset, period, scope)
    except (RulesError, MetricsError, ValueError):  # a ruleset that cannot score the period must not take the page
        logging.getLogger(__name__).exception("scoring %s for %s failed", ruleset, period)
        st.warning(t("unit_page.score.unavailable", lang, ruleset=plain(name), period=period))
        return
    mine = results.filter(pl.col("subject") == unit).to_dicts()
    if not mine:
        st.info(t("unit_page.score.not_scored", lang, ruleset=plain(name), period=period))
        return
    r = mine[0]
    total = Decimal(r["total"])
    lines = lines_of(all_lines.filter(pl.col("subject") == unit).to_dicts(), unit)
    moved, zero = explained(lines)

    cols = st.columns(4)
    cols[0].metric(t("unit_page.score.total", lang), f"{total:.2f}")
    grade_names = dict(data.ruleset_meta(ruleset, period)["grades"]) if lang == "en" else {}
    cols[1].metric(t("unit_page.score.grade", lang), plain(grade_names.get(r["grade"], r["grade"]) or "–"))
    cols[2].metric(t("unit_page.score.rank", lang), "–" if r["rank"] is None else
                   t("unit_page.score.rank_of", lang, rank=r["rank"], n=r.get("ranked_of") or results.height))
    cols[3].metric(t("unit_page.score.version", lang), plain(r["version"]))
    if r.get("flags"):
        named = catalog_flags()  # the catalog's words for each flag, not its code
        sep = t("common.sep.list", lang)
        st.caption(t("unit_page.score.flags", lang,
                     flags=plain(sep.join(named.get(f, {}).get(lang, f) for f in r["flags"]))))

    left, right = st.columns([3, 2])
    with left:
        _waterfall(moved, total, lang)
    with right:
        st.markdown(f"**{t('unit_page.explain.title', lang)}**")
        st.markdown("\n".join(
            "- " + t("unit_page.explain.line", lang, name=plain(ln.name(lang)), points=points_text(ln.points))
            for ln in moved) or t("unit_page.explain.nothing", lang, during=period_ui.word("during", period, lang)))
        terms = " ".join(points_text(ln.points) for ln in moved) or "0.00"
        st.markdown(t("unit_page.explain.sum", lang, terms=terms, total=f"{total:.2f}"))
        if zero:
            st.caption(t("unit_page.explain.zero", lang, n=zero))
    name = t("unit_page.explain.col.name", lang)
    columns = [Column("line", t("unit_page.explain.col.line", lang)), Column("name", name),
               Column("points", t("unit_page.explain.col.points", lang))]
    raw = [{"line": ln.line, "name": ln.name(lang), "points": points_text(ln.points)} for ln in lines]
    download_buttons("unit_lines", f"{period}_{r['name'] or unit}_{t('unit_page.explain.title', lang)}", columns,
                     raw, lang)


def _waterfall(moved: list, total: Decimal, lang: str) -> None:
    measure = ["absolute" if ln.line == "base" else "relative" for ln in moved] + ["total"]
    x = [chart_text(ln.name(lang)) for ln in moved] + [t("unit_page.explain.total", lang)]
    values = [float(ln.points) for ln in moved] + [float(total)]
    text = [points_text(ln.points, signed=ln.line != "base") for ln in moved] + [f"{total:.2f}"]
    fig = go.Figure(go.Waterfall(
        measure=measure, x=x, y=values, text=text, textposition="outside", cliponaxis=False,
        hovertemplate="%{x}<br>%{text}<extra></extra>",
        increasing={"marker": {"color": BLUE}}, decreasing={"marker": {"color": VERMILION}},
        totals={"marker": {"color": SKY}}, connector={"line": {"color": GREY, "dash": "dot"}},
    ))
    # Scores sit near the top of their range: start the axis below the lowest running total so steps show.
    running, low, high = Decimal(0), total, total
    for ln in moved:
        running = ln.points if ln.line == "base" else running + ln.points
        low, high = min(low, running), max(high, running)
    span = max(high - low, Decimal(1))
    fig.update_yaxes(range=[float(max(Decimal(0), low - span * 2)), float(high + span / 2)],
                     title_text=t("unit_page.score.axis", lang))
    fig.update_xaxes(type="category")
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 20, "b": 10}, showlegend=False)
    st.plotly_chart(fig, width="stretch", key="unit_waterfall")


def _history(unit: str, period: str, periods: list[str], scope: tuple[str, ...] | None, lang: str) -> None:
    # Twelve months to the period's newest month with data (a quarter's or year's last).
    months = history_months(period_ui.with_data(period, periods)[-1], periods)
    st.subheader(t("unit_page.history.title", lang, first=months[0], last=months[-1]))
    rows = []
    for month in months:
        got = data.mart_slice("unit_month", month, scope, unit).to_dicts()
        rows.append({"period": month, **(got[0] if got else {})})
    fig = go.Figure()
    names = {m: t(f"unit_page.rate.{m}", lang) for m, _ in RATES}
    for metric, colour in RATES:
        values = [rate(r.get(f"{metric}_num"), r.get(f"{metric}_den")) for r in rows]
        fig.add_trace(go.Scatter(
            x=months, y=[None if v is None else float(v * 100) for v in values], name=names[metric],
            mode="lines+markers", line={"color": colour}, connectgaps=False,
            customdata=[pct(r.get(f"{metric}_num"), r.get(f"{metric}_den"), lang) for r in rows],
            hovertemplate="%{x}<br>" + names[metric] + "：%{customdata}<extra></extra>"))
    colours = dict(RATES)
    for th in thresholds():
        if th.metric in colours:
            # A legend entry rather than an annotation: lines at 98% and 100% would print over each other.
            label = t("unit_page.history.line", lang, name=names[th.metric], value=percent(th.min, lang))
            fig.add_trace(go.Scatter(x=months, y=[float(th.min * 100)] * len(months), name=label, mode="lines",
                                     line={"color": colours[th.metric], "dash": "dash", "width": 1},
                                     hovertemplate=label + "<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text=t("unit_page.history.axis", lang), ticksuffix="%")
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 20, "b": 10},
                      legend={"orientation": "h", "y": -0.15})
    st.plotly_chart(fig, width="stretch", key="unit_history")
    columns = [Column("period", t("unit_page.history.col.period", lang))]
    for metric, _ in RATES:
        columns += [Column(metric, names[metric], "pct"),
                    Column(f"{metric}_num", f"{names[metric]}{t('unit_page.col.numerator', lang)}", "int"),
                    Column(f"{metric}_den", f"{names[metric]}{t('unit_page.col.denominator', lang)}", "int")]
    raw = [{"period": r["period"],
            **{k: v for m, _ in RATES for k, v in ((m, rate(r.get(f"{m}_num"), r.get(f"{m}_den"))),
                                                   (f"{m}_num", r.get(f"{m}_num")), (f"{m}_den", r.get(f"{m}_den")))}}
           for r in rows]
    download_buttons("unit_history", f"{unit}_{t('unit_page.history.file', lang)}", columns, raw, lang)


def _window_url(window: str, unit: str, period: str, lang: str) -> str:
    # Relative to the app's base path: the window page's URL path is its file stem.
    return "window?" + urlencode({"window": window, "unit": unit, "period": period, "lang": lang})


def _windows(unit: str, period: str, month: str, scope: tuple[str, ...] | None, lang: str) -> None:
    """The unit's windows over the period; a row opens the window's page on `month` (that page shows months)."""
    title = t("unit_page.windows.title", lang, during=period_ui.word("during", period, lang))
    st.subheader(title)
    rows = data.mart_slice("window_month", period, scope, unit).to_dicts()
    if not rows:
        st.caption(t("unit_page.windows.none", lang, period=period))
        return
    rows.sort(key=lambda r: (r["window_code"] is None, r["window_code"] or ""))
    c = {k: t(f"unit_page.windows.col.{k}", lang) for k in ("window", "code", "cases", "open")}
    names = {m: t(f"unit_page.rate.{m}", lang) for m, _ in RATES}
    no_window = t("unit_page.windows.no_window", lang)
    linkable = _page_exists(WINDOW_PAGE)
    shown = pl.DataFrame(
        {c["window"]: [r["window_name"] or r["window_code"] or no_window for r in rows],
         c["code"]: [r["window_code"] for r in rows], c["cases"]: [r["cases_accepted"] for r in rows],
         **{names[m]: [pct(r[f"{m}_num"], r[f"{m}_den"], lang) for r in rows] for m, _ in RATES},
         c["open"]: [_window_url(r["window_code"], unit, month, lang) if r["window_code"] else None for r in rows]},
        schema={c["window"]: pl.String, c["code"]: pl.String, c["cases"]: pl.Int64,
                **{names[m]: pl.String for m, _ in RATES}, c["open"]: pl.String})
    config = {c["cases"]: st.column_config.NumberColumn(format="localized"),
              **{names[m]: st.column_config.TextColumn(alignment="right") for m, _ in RATES},
              c["open"]: st.column_config.LinkColumn(display_text=t("unit_page.windows.open", lang))
              if linkable else None}
    event = st.dataframe(shown, hide_index=True, column_config=config, key="unit_windows",
                         on_select="rerun" if linkable else "ignore", selection_mode="single-row")
    if linkable:
        st.caption(t("unit_page.windows.drill_hint", lang))
    columns = [Column("window_name", c["window"]), Column("window_code", c["code"]),
               Column("cases_accepted", c["cases"], "int")]
    for m, _ in RATES:
        columns += [Column(m, names[m], "pct"),
                    Column(f"{m}_num", f"{names[m]}{t('unit_page.col.numerator', lang)}", "int"),
                    Column(f"{m}_den", f"{names[m]}{t('unit_page.col.denominator', lang)}", "int")]
    raw = [{**r, "window_name": r["window_name"] or r["window_code"] or no_window,
            **{m: rate(r[f"{m}_num"], r[f"{m}_den"]) for m, _ in RATES}} for r in rows]
    download_buttons("unit_windows", f"{period}_{unit}_{title}", columns, raw, lang)
    picked = event.selection.rows if linkable and event is not None else []
    if picked and rows[picked[0]]["window_code"]:
        window = rows[picked[0]]["window_code"]
        state.put("unit", unit)
        state.put("window", window)
        st.switch_page(WINDOW_PAGE, query_params={"window": window, "unit": unit, "period": month, "lang": lang})


def _events(unit: str, period: str, scope: tuple[str, ...] | None, lang: str) -> None:
    title = t("unit_page.events.title", lang, during=period_ui.word("during", period, lang))
    st.subheader(title)
    ev = data.unit_events(unit, period, scope)
    if ev.is_empty():
        st.caption(t("unit_page.events.none", lang, period=period))
        return
    c = {k: t(f"unit_page.events.col.{k}", lang) for k in
         ("occurred_at", "name", "event_type", "level", "severity", "count", "status")}
    name_col = "name_zh" if lang == "zh" else "name_en"
    shown = pl.DataFrame({c["occurred_at"]: ev["occurred_at"], c["name"]: ev[name_col],
                          c["event_type"]: ev["event_type"], c["level"]: ev["level"],
                          c["severity"]: ev["severity"], c["count"]: ev["count"], c["status"]: ev["status"]})
    st.dataframe(shown, hide_index=True, key="unit_events_table")
    st.caption(t("unit_page.events.note", lang, n=num(int(ev["count"].fill_null(1).sum()))))
    columns = [Column("occurred_at", c["occurred_at"]), Column(name_col, c["name"]),
               Column("event_type", c["event_type"]), Column("level", c["level"]),
               Column("severity", c["severity"], "int"), Column("count", c["count"], "int"),
               Column("status", c["status"])]
    download_buttons("unit_events", f"{period}_{unit}_{title}", columns,
                     ev.to_dicts(), lang)


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    st.title(t("unit_page.title", lang))
    as_of = as_of_line(lang, scope)
    if as_of:
        st.caption(as_of)
    periods = data.periods(scope)
    if not periods:
        st.info(t("unit_page.empty", lang))
        return
    # The granularity (月/季/年) on its own row: "Month | Quarter | Year" needs more room than a filter column.
    gran_row = st.container()
    head = st.columns([1, 2, 2], vertical_alignment="bottom")
    period = period_ui.pick(periods, lang, PAGE, gran_container=gran_row, period_container=head[0])
    monthly = Period.parse(period).kind == "month"
    # A month straight from its mart; a quarter or year summed per unit over its months (Σnum, Σden).
    rows = data.unit_month(period, scope) if monthly else data.mart_slice("unit_month", period, scope)
    if rows.is_empty():
        st.info(t("unit_page.no_units", lang, period=period))
        return
    partial = period_ui.partial_note(period, periods, lang)
    if partial:
        st.caption(partial)
    info = {r["unit_code"]: r for r in rows.to_dicts()}
    unit = state.select(t("unit_page.unit", lang), list(info), "unit", page=PAGE, container=head[1],
                        format_func=lambda u: f"{info[u]['unit_name'] or u} ({u})" if u in info else u)
    r = info[unit]
    st.header(t("unit_page.heading", lang, name=plain(r["unit_name"] or unit), code=plain(unit), period=period),
              anchor=False)
    kinds = {"部门": "kind.department", "乡镇": "kind.township", "派驻单位": "kind.stationed"}
    kind = t(kinds[r["unit_kind"]], lang) if r["unit_kind"] in kinds else r["unit_kind"] or "–"
    st.caption(t("unit_page.group", lang, group=plain(r["unit_group"] or "–"), kind=plain(kind),
                 cases=num(r["cases_accepted"]), during=period_ui.word("during", period, lang)))
    _score(unit, period, scope, lang, head[2])
    _history(unit, period, periods, scope, lang)
    _windows(unit, period, period_ui.with_data(period, periods)[-1], scope, lang)
    _events(unit, period, scope, lang)


render()
