"""Window page (窗口): one window's month — volume, handling-time distribution, on-time, same-day, satisfaction,
bad-rating tags, queue wait and service minutes, weekday × hour load, and its staff."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data
from dashboard.core.metrics import half_up, metrics
from dashboard.core.table import Column
from dashboard.core.windows import LOAD_SOURCES, busy_hours, heatmap_matrix, tag_counts
from dashboard.ui import period as period_ui
from dashboard.ui import state
from dashboard.ui.banner import as_of_line
from dashboard.ui.downloads import download_buttons
from dashboard.ui.format import chart_text, num, pct, percent, plain, rate
from dashboard.ui.i18n import t
from dashboard.ui.nav import PAGES
from dashboard.ui.state import current_lang, current_scope

PAGE = "window"
# Okabe–Ito: colour-blind safe.
BLUE, VERMILION, ORANGE, GREEN, SKY = "#0072B2", "#D55E00", "#E69F00", "#009E73", "#56B4E9"


def _page_exists(path: str) -> bool:
    return any(p == path for p, _, _ in PAGES)


def _mean(metric: str, n: int | None, d: int | None, lang: str) -> str:
    """A mean in its display unit (minutes, working days), two decimals half-up, or “no data”."""
    value = metrics()[metric].value(n, d)
    return t("common.no_data", lang) if value is None else f"{half_up(value)}"


def _weekdays(lang: str) -> list[str]:
    return [t("window_page.weekday.mon", lang), t("window_page.weekday.tue", lang),
            t("window_page.weekday.wed", lang), t("window_page.weekday.thu", lang),
            t("window_page.weekday.fri", lang), t("window_page.weekday.sat", lang),
            t("window_page.weekday.sun", lang)]


def _pick_window(windows: pl.DataFrame, units: dict[str, str], lang: str, head) -> tuple[str, str] | None:
    """Unit, then one of its windows: both carried in the URL. A window in the URL decides its unit."""
    by_unit: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    busiest: dict[str, tuple[int, str]] = {}
    for r in windows.sort(["unit_code", "window_code"]).iter_rows(named=True):
        by_unit.setdefault(r["unit_code"], []).append(r["window_code"])
        names[r["window_code"]] = r["window_name"] or r["window_code"]
        # Opened without a window: the unit's busiest (ties: the first code), not an idle one.
        if r["cases_accepted"] > busiest.get(r["unit_code"], (-1, ""))[0]:
            busiest[r["unit_code"]] = (r["cases_accepted"], r["window_code"])
    wanted = state.get("window")
    for unit, codes in by_unit.items():
        if wanted in codes and state.get("unit") != unit:
            state.put("unit", unit)
    unit = state.select(t("window_page.unit", lang), list(by_unit), "unit", page=PAGE, container=head[1],
                        format_func=lambda u: f"{units.get(u) or u} ({u})")
    if unit is None:
        return None
    window = state.select(t("window_page.window", lang), by_unit[unit], "window", page=PAGE, container=head[2],
                          format_func=lambda w: f"{names[w]} ({w})", default=busiest[unit][1])
    return unit, window


def _kpis(row: dict, lang: str) -> None:
    cols = st.columns(4)
    with cols[0].container(border=True, height="stretch"):
        st.metric(t("window_page.kpi.accepted", lang), num(row["cases_accepted"]))
        st.caption(t("window_page.kpi.completed", lang, completed=num(row["cases_completed"])))
    for col, label, metric, fraction in (
        (cols[1], t("window_page.kpi.on_time", lang), "on_time_rate", "window_page.kpi.on_time_fraction"),
        (cols[2], t("window_page.kpi.same_day", lang), "same_day_rate", "window_page.kpi.same_day_fraction"),
        (cols[3], t("window_page.kpi.satisfaction", lang), "satisfaction_rate",
         "window_page.kpi.satisfaction_fraction"),
    ):
        n, d = row[f"{metric}_num"], row[f"{metric}_den"]
        with col.container(border=True, height="stretch"):
            st.metric(label, percent(rate(n, d), lang))
            st.caption(t(fraction, lang, num=num(n), den=num(d)))
    cols = st.columns(4)
    with cols[0].container(border=True, height="stretch"):
        st.metric(t("window_page.kpi.handling_mean", lang),
                  _mean("handling_days", row["handling_days_num"], row["handling_days_den"], lang))
        st.caption(t("window_page.kpi.handling_of", lang, den=num(row["handling_days_den"])))
    with cols[1].container(border=True, height="stretch"):
        median, p90 = row.get("handling_days_median"), row.get("handling_days_p90")
        none = t("common.no_data", lang)
        st.metric(t("window_page.kpi.handling_median", lang), none if median is None else f"{median:.2f}")
        st.caption(t("window_page.kpi.handling_p90", lang, p90=f"{p90:.2f}") if p90 is not None
                   else t("window_page.kpi.handling_p90_none", lang, none=none))
    with cols[2].container(border=True, height="stretch"):
        st.metric(t("window_page.kpi.wait", lang), _mean("wait_time", row["wait_time_num"], row["wait_time_den"], lang))
        st.caption(t("window_page.kpi.wait_of", lang, den=num(row["wait_time_den"]),
                     issued=num(row["tickets_issued"])))
    with cols[3].container(border=True, height="stretch"):
        st.metric(t("window_page.kpi.service", lang),
                  _mean("service_time", row["service_time_num"], row["service_time_den"], lang))
        st.caption(t("window_page.kpi.service_of", lang, den=num(row["service_time_den"])))


def _histogram(period: str, unit: str, window: str, row: dict, scope, lang: str) -> None:
    st.subheader(t("window_page.handling.title", lang))
    hist = data.window_histogram(period, unit, window, scope)
    if hist.is_empty():
        st.caption(t("window_page.handling.none", lang))
        return
    days, cases = hist["handling_days"].to_list(), hist["cases"].to_list()
    fig = go.Figure(go.Bar(x=days, y=cases, marker_color=BLUE, text=cases, textposition="outside", cliponaxis=False,
                           hovertemplate=t("window_page.handling.hover", lang) + "<extra></extra>"))
    for value, label, colour, dash in ((row.get("handling_days_median"), t("window_page.handling.median", lang),
                                        ORANGE, "dash"),
                                       (row.get("handling_days_p90"), "P90", VERMILION, "dot")):
        if value is not None:
            fig.add_vline(x=float(value), line_color=colour, line_dash=dash,
                          annotation_text=f"{label} {value:.2f}", annotation_font_color=colour)
    fig.update_xaxes(title_text=t("window_page.handling.axis_x", lang), dtick=1)
    # Counts: whole-number ticks, one per case while the bars are short.
    fig.update_yaxes(title_text=t("window_page.handling.axis_y", lang), tickformat=",d", rangemode="tozero",
                     **({"dtick": 1} if max(cases) <= 10 else {}))
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False)
    st.plotly_chart(fig, width="stretch", key="window_handling")
    st.caption(t("window_page.handling.note", lang, n=num(sum(cases))))


def _tags(period: str, unit: str, window: str, row: dict, scope, lang: str) -> None:
    st.subheader(t("window_page.tags.title", lang))
    counts, untagged = tag_counts(data.window_bad_tags(period, unit, window, scope))
    st.caption(t("window_page.tags.summary", lang, bad=num(row["bad_rate_num"]),
                 rate=pct(row["bad_rate_num"], row["bad_rate_den"], lang), untagged=num(untagged)))
    if not counts:
        st.caption(t("window_page.tags.none", lang))
        return
    tag_h, n_h = t("window_page.tags.tag", lang), t("window_page.tags.count", lang)
    left, right = st.columns([2, 1])
    top = counts[:10]
    fig = go.Figure(go.Bar(y=[chart_text(c[0]) for c in top][::-1], x=[c[1] for c in top][::-1], orientation="h",
                           marker_color=VERMILION, text=[c[1] for c in top][::-1], textposition="outside",
                           cliponaxis=False))
    fig.update_layout(height=max(160, 32 * len(top) + 40), margin={"l": 10, "r": 30, "t": 10, "b": 10},
                      showlegend=False)
    fig.update_yaxes(type="category")
    left.plotly_chart(fig, width="stretch", key="window_tags")
    with right:
        st.dataframe(pl.DataFrame({tag_h: [c[0] for c in counts], n_h: [c[1] for c in counts]},
                                  schema={tag_h: pl.String, n_h: pl.Int64}), hide_index=True)
        download_buttons("window_tags", f"{period}_{window}_{t('window_page.tags.title', lang)}",
                         [Column("tag", tag_h), Column("n", n_h, "int")],
                         [{"tag": c[0], "n": c[1]} for c in counts], lang)


def _heatmap(period: str, unit: str, window: str, scope, lang: str) -> None:
    st.subheader(t("window_page.load.title", lang))
    labels = {"cases": t("window_page.load.cases", lang), "tickets": t("window_page.load.tickets", lang)}
    cols = st.columns([1, 3])
    source = state.select(t("window_page.load.source", lang), list(LOAD_SOURCES), "load", page=PAGE,
                          container=cols[0], format_func=labels.__getitem__)
    bins = data.window_load(source, period, unit, window, scope)
    grid = heatmap_matrix(bins.iter_rows(named=True))
    hours = busy_hours(grid)
    if not hours:
        st.caption(t("window_page.load.none", lang, source=labels[source]))
        return
    days = _weekdays(lang)
    z = [[grid[d][h] for h in hours] for d in range(7)]
    fig = go.Figure(go.Heatmap(
        z=z, x=[f"{h:02d}:00" for h in hours], y=days, colorscale=[[0, "#FFFFFF"], [0.001, "#D6EAF5"], [1, BLUE]],
        text=[[str(v) if v else "" for v in r] for r in z], texttemplate="%{text}", xgap=1, ygap=1,
        hovertemplate=t("window_page.load.hover", lang) + "<extra></extra>",
        showscale=False))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", title_text=t("window_page.load.axis_x", lang))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(fig, width="stretch", key="window_load")
    total = sum(map(sum, grid))
    cols[1].caption(t("window_page.load.note", lang, n=num(total), source=labels[source]))
    rows = [{"weekday": days[d], **{f"{h:02d}": grid[d][h] for h in hours}} for d in range(7)]
    download_buttons("window_load", f"{period}_{window}_{t('window_page.load.title', lang)}",
                     [Column("weekday", t("window_page.load.weekday", lang))]
                     + [Column(f"{h:02d}", f"{h:02d}:00", "int") for h in hours], rows, lang)


def _staff(period: str, unit: str, window: str, scope, lang: str) -> None:
    st.subheader(t("window_page.staff.title", lang))
    staff = data.mart_slice("staff_month", period, scope, unit)
    staff = staff.filter(pl.col("staff_window_code") == window).sort("staff_id")
    if staff.is_empty():
        st.caption(t("window_page.staff.none", lang))
        return
    h = {"name": t("window_page.staff.name", lang), "id": t("window_page.staff.id", lang),
         "accepted": t("window_page.staff.accepted", lang), "completed": t("window_page.staff.completed", lang),
         "on_time": t("window_page.staff.on_time", lang), "satisfaction": t("window_page.staff.satisfaction", lang)}
    rows = staff.to_dicts()
    shown = pl.DataFrame(
        [{h["name"]: r["staff_name"] or r["staff_id"], h["id"]: r["staff_id"], h["accepted"]: r["cases_accepted"],
          h["completed"]: r["cases_completed"],
          h["on_time"]: pct(r["on_time_rate_num"], r["on_time_rate_den"], lang),
          h["satisfaction"]: pct(r["satisfaction_rate_num"], r["satisfaction_rate_den"], lang)} for r in rows],
        schema={h["name"]: pl.String, h["id"]: pl.String, h["accepted"]: pl.Int64, h["completed"]: pl.Int64,
                h["on_time"]: pl.String, h["satisfaction"]: pl.String})
    st.dataframe(shown, hide_index=True, column_config={
        h["on_time"]: st.column_config.TextColumn(alignment="right"),
        h["satisfaction"]: st.column_config.TextColumn(alignment="right")})
    nd, dd = t("window_page.staff.numerator", lang), t("window_page.staff.denominator", lang)
    columns = [Column("name", h["name"]), Column("id", h["id"]), Column("accepted", h["accepted"], "int"),
               Column("completed", h["completed"], "int")]
    for key, metric in (("on_time", "on_time_rate"), ("satisfaction", "satisfaction_rate")):
        columns += [Column(key, h[key], "pct"), Column(f"{metric}_num", f"{h[key]}{nd}", "int"),
                    Column(f"{metric}_den", f"{h[key]}{dd}", "int")]
    raw = [{"name": r["staff_name"] or r["staff_id"], "id": r["staff_id"], "accepted": r["cases_accepted"],
            "completed": r["cases_completed"],
            "on_time": metrics()["on_time_rate"].value(r["on_time_rate_num"], r["on_time_rate_den"]),
            "satisfaction": metrics()["satisfaction_rate"].value(r["satisfaction_rate_num"],
                                                                  r["satisfaction_rate_den"]),
            **{c: r[c] for c in ("on_time_rate_num", "on_time_rate_den", "satisfaction_rate_num",
                                 "satisfaction_rate_den")}} for r in rows]
    download_buttons("window_staff", f"{period}_{window}_{t('window_page.staff.title', lang)}", columns, raw, lang)


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    st.title(t("window_page.title", lang))
    periods = data.periods(scope)
    if not periods:
        st.info(t("window_page.empty", lang))
        return
    head = st.columns([1, 2, 2])
    # This page shows months: a quarter or year in the URL opens on its newest month, and says so.
    period, monthly_note = period_ui.pick_month(t("window_page.period", lang), periods, lang, PAGE, container=head[0])
    if monthly_note:
        st.caption(monthly_note)
    as_of = as_of_line(lang, scope)
    if as_of:
        st.caption(as_of)
    rows = data.mart_slice("window_month", period, scope)
    windows = rows.filter(pl.col("window_code").is_not_null() & (pl.col("window_code") != ""))
    if windows.is_empty():
        st.info(t("window_page.no_windows", lang, period=period))
        return
    units = {r["unit_code"]: r["unit_name"] for r in data.unit_month(period, scope).iter_rows(named=True)}
    picked = _pick_window(windows, units, lang, head)
    if picked is None:
        return
    unit, window = picked
    row = windows.filter((pl.col("unit_code") == unit) & (pl.col("window_code") == window)).to_dicts()[0]
    st.subheader(t("window_page.heading", lang, window=plain(row["window_name"] or window), code=plain(window),
                   unit=plain(units.get(unit) or unit), period=period))
    if _page_exists("app_pages/unit.py"):
        st.page_link("app_pages/unit.py", label=t("window_page.to_unit", lang, unit=plain(units.get(unit) or unit)),
                     icon=":material/account_balance:", query_params={"unit": unit, "period": period, "lang": lang})
    _kpis(row, lang)
    st.caption(t("window_page.rate_note", lang))
    _histogram(period, unit, window, row, scope, lang)
    _tags(period, unit, window, row, scope, lang)
    _heatmap(period, unit, window, scope, lang)
    _staff(period, unit, window, scope, lang)


render()
