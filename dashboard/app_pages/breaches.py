"""Breaches page (预警): who is below which watched line this month, by how much, for how many months running."""

from __future__ import annotations

from urllib.parse import urlencode

import polars as pl
import streamlit as st

from dashboard import data
from dashboard.core import breaches as core_breaches
from dashboard.core.metrics import metrics, thresholds
from dashboard.core.table import Column
from dashboard.ui import period as period_ui
from dashboard.ui import state
from dashboard.ui.banner import as_of_line
from dashboard.ui.downloads import download_buttons
from dashboard.ui.format import num, pct, percent
from dashboard.ui.i18n import t
from dashboard.ui.nav import PAGES
from dashboard.ui.state import current_lang, current_scope

PAGE = "breaches"
ALL = "all"
UNIT_PAGE = "app_pages/unit.py"


def _page_exists(path: str) -> bool:
    return any(p == path for p, _, _ in PAGES)


def _rows_of(periods: set[str], scope: tuple[str, ...] | None):
    def rows(month: str) -> list[dict] | None:
        return data.unit_month(month, scope).to_dicts() if month in periods else None

    return rows


def _unit_url(unit: str, period: str, lang: str) -> str:
    # Relative to the app's base path: the unit page's URL path is its file stem.
    return "unit?" + urlencode({"unit": unit, "period": period, "lang": lang})


def _table(found: list[core_breaches.Breach], period: str, lang: str) -> None:
    c = {k: t(f"breaches_page.col.{k}", lang) for k in
         ("unit", "code", "group", "metric", "value", "line", "gap", "months", "status", "open")}
    names = {m.id: m.name(lang) for m in metrics().values()}
    status = {True: t("breaches_page.new", lang), False: t("breaches_page.persistent", lang)}
    shown = pl.DataFrame(
        {c["unit"]: [b.name for b in found], c["code"]: [b.unit for b in found],
         c["group"]: [b.group for b in found], c["metric"]: [names[b.metric] for b in found],
         c["value"]: [pct(b.num, b.den, lang) for b in found], c["line"]: [percent(b.line, lang) for b in found],
         c["gap"]: [t("common.pp", lang, value=f"{b.gap_pp}") for b in found],
         c["months"]: [b.consecutive_months for b in found], c["status"]: [status[b.new] for b in found],
         c["open"]: [_unit_url(b.unit, period, lang) for b in found]},
        schema={c["unit"]: pl.String, c["code"]: pl.String, c["group"]: pl.String, c["metric"]: pl.String,
                c["value"]: pl.String, c["line"]: pl.String, c["gap"]: pl.String, c["months"]: pl.Int64,
                c["status"]: pl.String, c["open"]: pl.String})
    linkable = _page_exists(UNIT_PAGE)
    config = {c[k]: st.column_config.TextColumn(alignment="right") for k in ("value", "line", "gap")}
    config[c["months"]] = st.column_config.NumberColumn(help=t("breaches_page.help.months", lang))
    config[c["status"]] = st.column_config.TextColumn(help=t("breaches_page.help.status", lang))
    config[c["open"]] = (st.column_config.LinkColumn(display_text=t("breaches_page.open", lang))
                         if linkable else None)
    # Tall enough for a month's list without an inner scroll bar, up to about twenty rows.
    event = st.dataframe(shown, hide_index=True, column_config=config, key="breaches_table",
                         height=min(35 * (len(found) + 1) + 3, 35 * 21 + 3),
                         on_select="rerun" if linkable else "ignore", selection_mode="single-row")
    if linkable:
        st.caption(t("breaches_page.drill_hint", lang))
    columns = [Column("name", c["unit"]), Column("unit", c["code"]), Column("group", c["group"]),
               Column("metric_name", c["metric"]), Column("value", c["value"], "pct"),
               Column("num", t("breaches_page.col.num", lang), "int"),
               Column("den", t("breaches_page.col.den", lang), "int"), Column("line", c["line"], "pct"),
               Column("gap_pp", t("breaches_page.col.gap_pp", lang)), Column("consecutive_months", c["months"], "int"),
               Column("status", c["status"])]
    raw = [{**b.__dict__, "metric_name": names[b.metric], "gap_pp": f"{b.gap_pp}", "status": status[b.new]}
           for b in found]
    download_buttons("breaches", f"{period}_{t('breaches_page.title', lang)}", columns, raw, lang)
    picked = event.selection.rows if linkable and event is not None else []
    if picked:
        unit = found[picked[0]].unit
        state.put("unit", unit)
        st.switch_page(UNIT_PAGE, query_params={"unit": unit, "period": period, "lang": lang})


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    st.title(t("breaches_page.title", lang))
    as_of = as_of_line(lang, scope)
    if as_of:
        st.caption(as_of)
    periods = data.periods(scope)
    if not periods:
        st.info(t("breaches_page.empty", lang))
        return
    head = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    # This page shows months: a quarter or year in the URL opens on its newest month, and says so.
    period, monthly_note = period_ui.pick_month(t("breaches_page.period", lang), periods, lang, PAGE, container=head[0])
    if monthly_note:
        st.caption(monthly_note)
    lines = thresholds()
    names = {m.id: m.name(lang) for m in metrics().values()}
    metric = state.select(t("breaches_page.metric", lang), [ALL, *(th.metric for th in lines)], "metric", page=PAGE,
                          container=head[1],
                          format_func=lambda m: t("breaches_page.all_metrics", lang) if m == ALL else names[m])
    month = data.unit_month(period, scope)
    groups = sorted({g for g in month["unit_group"].to_list() if g}) if not month.is_empty() else []
    group = state.select(t("breaches_page.group", lang), [ALL, *groups], "group", page=PAGE, container=head[2],
                         format_func=lambda g: t("breaches_page.all_groups", lang) if g == ALL else g)
    watched = t("common.sep.clauses", lang).join(f"{names[th.metric]} ≥ {percent(th.min, lang)}" for th in lines)
    head[3].caption(t("breaches_page.lines", lang, lines=watched))

    found = core_breaches.find(period, _rows_of(set(periods), scope), lines)
    if metric != ALL:
        found = [b for b in found if b.metric == metric]
    if group != ALL:
        found = [b for b in found if b.group == group]

    new = sum(b.new for b in found)
    cols = st.columns(4)
    cols[0].metric(t("breaches_page.kpi.breaches", lang), num(len(found)))
    cols[1].metric(t("breaches_page.kpi.units", lang), num(len({b.unit for b in found})))
    cols[2].metric(t("breaches_page.kpi.new", lang), num(new))
    cols[3].metric(t("breaches_page.kpi.persistent", lang), num(len(found) - new))
    if not found:
        st.success(t("breaches_page.none", lang, period=period))
        return
    _table(found, period, lang)
    st.caption(t("breaches_page.note", lang, max=core_breaches.MAX_MONTHS))


render()
