"""Rankings page (排名): units, windows or staff for a month, a quarter or a year — rank and its change, score,
grade, group, a sparkline of monthly scores, progress to the next grade, excellence marks — and the 红黑榜; a row
opens the unit's or window's page. The ruleset is chosen by name among those that score the subject over the period
(its own period, or a shorter one it rolls up)."""

from __future__ import annotations

import logging
from decimal import Decimal

import polars as pl
import streamlit as st

from dashboard import data
from dashboard.core.metrics import MetricsError, thresholds
from dashboard.core.period import Period
from dashboard.core.rankings import change_label, grade_progress, last_months, progress, red_black, sparklines
from dashboard.core.rules.loader import RulesError
from dashboard.core.table import Column
from dashboard.ui import period as period_ui
from dashboard.ui import rulesets as ruleset_ui
from dashboard.ui import state
from dashboard.ui.banner import as_of_line
from dashboard.ui.downloads import download_buttons
from dashboard.ui.format import pct, percent, plain, rate
from dashboard.ui.i18n import t
from dashboard.ui.nav import PAGES
from dashboard.ui.state import current_lang, current_scope

PAGE = "rankings"
GRAINS = ("unit", "window", "staff")
MART = {"unit": ("unit_month", "unit_code"), "window": ("window_month", "window_code"),
        "staff": ("staff_month", "staff_id")}
VIEWS = ("ranking", "red_black")
TOP_N = ("3", "5", "10")
SPARK_MONTHS = 12
_BLUE = "#0072B2"  # Okabe–Ito blue
_SATISFACTION = next((th.min for th in thresholds() if th.metric == "satisfaction_rate"), None)


def _page_exists(path: str) -> bool:
    return any(p == path for p, _, _ in PAGES)


def _grain_name(grain: str, lang: str) -> str:
    return {"unit": t("rankings.grain_unit", lang), "window": t("rankings.grain_window", lang),
            "staff": t("rankings.grain_staff", lang)}[grain]


def _grade_name(meta: dict, zh: str | None, lang: str) -> str:
    if zh is None:
        return ""
    return next((en if lang == "en" else z for z, en in meta["grades"] if z == zh), zh)


def _drill(grain: str, row: dict, period: str, lang: str) -> tuple[str, dict[str, str]] | None:
    """Where a row opens: the unit page for a unit, the window page for a window (a staff member's window)."""
    if grain == "unit":
        return "app_pages/unit.py", {"unit": row["subject"], "period": period, "lang": lang}
    window = row["subject"] if grain == "window" else row.get("window_code")
    if not window:
        return None
    params = {"window": window, "period": period, "lang": lang}
    if row.get("unit_code"):
        params["unit"] = row["unit_code"]
    return "app_pages/window.py", params


def _progress(meta: dict, total: Decimal | None) -> float | None:
    """Towards the next grade's line when the ruleset grades; else the score as a share of the maximum."""
    if meta["bands"]:
        got = grade_progress(total, meta["bands"])
        return None if got is None else got[0]
    return progress(total, meta["max"])


def _rows(results: pl.DataFrame, meta: dict, mart: pl.DataFrame, key: str, history: pl.DataFrame,
          months: list[str], before: dict[str, int] | None, lang: str) -> list[dict]:
    """One dict per subject, ruleset rank order: everything the table shows and the download carries. `before`:
    each subject's rank in the period compared with (None when there is none to compare with)."""
    by_key = {r[key]: r for r in mart.iter_rows(named=True)}
    sparks = sparklines(history.iter_rows(named=True), months)
    out = []
    for r in results.iter_rows(named=True):
        rank = r["rank"] if r["ranked"] else None
        m = by_key.get(r["subject"], {})
        sat_n, sat_d = m.get("satisfaction_rate_num"), m.get("satisfaction_rate_den")
        out.append({
            "subject": r["subject"], "name": r["name"] or r["subject"], "group": r["grp"] or "",
            "rank": rank,
            "change": "" if before is None else change_label(rank, before.get(r["subject"]), t("rankings.new", lang)),
            "total": Decimal(r["total"]), "grade": _grade_name(meta, r["grade"], lang),
            "excellent": bool(r["excellent"]), "award": r["award"] or "", "tier": r["tier"] or "",
            # A month it was not scored in is left out: the line chart cell cannot draw a gap (it prints the values).
            "spark": [v for v in sparks.get(r["subject"], []) if v is not None],
            "progress": _progress(meta, r["total"]),
            "satisfaction": rate(sat_n, sat_d), "satisfaction_text": pct(sat_n, sat_d, lang),
            "sat_num": sat_n, "sat_den": sat_d,
            "unit_code": m.get("unit_code"), "window_code": m.get("staff_window_code"),
        })
    out.sort(key=lambda x: (x["rank"] is None, x["rank"] or 0, -x["total"], x["subject"]))
    return out


def _ranking_table(rows: list[dict], meta: dict, grain: str, period: str, months: list[str], compared: str | None,
                   lang: str) -> None:
    """The ranking; the change column when there is a period to compare with (`compared`), the sparkline when there
    are monthly scores to draw (`months`)."""
    c = {k: t(f"rankings.col.{k}", lang) for k in ("rank", "name", "code", "group", "total", "grade",
                                                 "excellent", "progress", "satisfaction")}
    c["change"] = period_ui.word("since", period, lang)
    monthly = Period.parse(period).kind == "month"
    c["trend"] = t("rankings.col.trend", lang) if monthly else t("rankings.col.trend_months", lang)
    line = meta["pass_line"]
    progress_help = (t("rankings.help.progress_grade", lang, line=f"{line:.2f}" if line is not None else "–")
                     if meta["bands"] else t("rankings.help.progress_max", lang, max=f"{meta['max']:.2f}"))
    values = {c["rank"]: [r["rank"] for r in rows], c["change"]: [r["change"] for r in rows],
              c["name"]: [r["name"] for r in rows], c["code"]: [r["subject"] for r in rows],
              c["group"]: [r["group"] for r in rows], c["total"]: [float(r["total"]) for r in rows],
              c["grade"]: [r["grade"] for r in rows],
              c["excellent"]: ["★" if r["excellent"] else "" for r in rows],
              c["trend"]: [r["spark"] for r in rows], c["progress"]: [r["progress"] for r in rows],
              c["satisfaction"]: [r["satisfaction_text"] for r in rows]}
    schema = {c["rank"]: pl.Int64, c["change"]: pl.String, c["name"]: pl.String, c["code"]: pl.String,
              c["group"]: pl.String, c["total"]: pl.Float64, c["grade"]: pl.String, c["excellent"]: pl.String,
              c["trend"]: pl.List(pl.Float64), c["progress"]: pl.Float64, c["satisfaction"]: pl.String}
    dropped = ([c["change"]] if compared is None else []) + ([c["trend"]] if not months else [])
    shown = pl.DataFrame({k: v for k, v in values.items() if k not in dropped},
                         schema={k: v for k, v in schema.items() if k not in dropped})
    totals = [v for r in rows for v in r["spark"] if v is not None]
    config = {
        c["total"]: st.column_config.NumberColumn(format="%.2f"),
        c["excellent"]: st.column_config.TextColumn(help=t("rankings.help.excellent", lang), alignment="center"),
        c["progress"]: st.column_config.ProgressColumn(help=progress_help, format="percent", min_value=0,
                                                       max_value=1, color=_BLUE),
        c["satisfaction"]: st.column_config.TextColumn(
            help=t("rankings.help.satisfaction", lang, this=period_ui.word("this", period, lang),
                   line=percent(_SATISFACTION, lang)), alignment="right"),
    }
    if compared is not None:
        config[c["change"]] = st.column_config.TextColumn(help=t("rankings.help.change", lang, period=compared),
                                                          alignment="center")
    if months:
        config[c["trend"]] = st.column_config.LineChartColumn(
            help=t("rankings.help.trend", lang, first=months[0], last=months[-1]),
            y_min=min(totals) if totals else None, y_max=max(totals) if totals else None, color=_BLUE)
    event = st.dataframe(shown, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key=f"rankings_table_{grain}", column_config=config)
    st.caption(t("rankings.drill_hint", lang))
    columns = [Column("rank", c["rank"], "int"), *([Column("change", c["change"])] if compared else []),
               Column("name", c["name"]),
               Column("subject", c["code"]), Column("group", c["group"]), Column("total", c["total"], "score"),
               Column("grade", c["grade"]), Column("excellent_mark", c["excellent"]),
               Column("satisfaction", c["satisfaction"], "pct"),
               Column("sat_num", t("rankings.col.sat_num", lang), "int"),
               Column("sat_den", t("rankings.col.sat_den", lang), "int")]
    raw = [{**r, "excellent_mark": "★" if r["excellent"] else ""} for r in rows]
    download_buttons(f"rankings_{grain}", f"{period}_{t('rankings.title', lang)}_{_grain_name(grain, lang)}",
                     columns, raw, lang)
    picked = event.selection.rows if event is not None else []
    if picked:
        _open(grain, rows[picked[0]], period, lang)


def _open(grain: str, row: dict, period: str, lang: str) -> None:
    target = _drill(grain, row, period, lang)
    if target is None or not _page_exists(target[0]):
        st.info(t("rankings.no_drill", lang, name=plain(row["name"])))
        return
    path, params = target
    for k in ("unit", "window"):
        if k in params:
            state.put(k, params[k])
    st.switch_page(path, query_params=params)


def _red_black(rows: list[dict], n: int, grain: str, period: str, lang: str) -> None:
    ranked = [r for r in rows if r["rank"] is not None]
    lists = red_black(ranked, n, within="group")
    st.caption(t("rankings.red_black_note", lang, n=n))
    c = {k: t(f"rankings.col.{k}", lang) for k in ("group", "place", "group_rank", "name", "total", "grade")}
    c["change"] = period_ui.word("since", period, lang)
    left, right = st.columns(2)
    for col, which, title in ((left, "red", t("rankings.red", lang)), (right, "black", t("rankings.black", lang))):
        picked = [r for r in lists if r["list"] == which]
        with col:
            st.markdown(f"**{title}**")
            shown = pl.DataFrame(
                {c["group"]: [r["group"] for r in picked], c["place"]: [r["place"] for r in picked],
                 c["name"]: [r["name"] for r in picked], c["total"]: [float(r["total"]) for r in picked],
                 c["grade"]: [r["grade"] for r in picked], c["change"]: [r["change"] for r in picked]},
                schema={c["group"]: pl.String, c["place"]: pl.Int64, c["name"]: pl.String, c["total"]: pl.Float64,
                        c["grade"]: pl.String, c["change"]: pl.String})
            st.dataframe(shown, hide_index=True, key=f"rankings_{which}_{grain}",
                         column_config={c["total"]: st.column_config.NumberColumn(format="%.2f"),
                                        c["place"]: st.column_config.NumberColumn(
                                            help=t(f"rankings.help.place_{which}", lang))})
            download_buttons(f"rankings_{which}_{grain}", f"{period}_{title}_{_grain_name(grain, lang)}",
                             [Column("group", c["group"]), Column("place", c["place"], "int"),
                              Column("name", c["name"]), Column("total", c["total"], "score"),
                              Column("grade", c["grade"]), Column("change", c["change"])], picked, lang)


def _before(ruleset: str, period: str, periods: list[str], history: pl.DataFrame,
            scope: tuple[str, ...] | None) -> tuple[str | None, dict[str, int] | None]:
    """The period the ranks are compared with and each subject's rank then: the month before (from the history
    already scored), the quarter or year before when it is a whole one with data; (None, None) when there is none."""
    c = period_ui.comparison(period, periods, "previous")
    if c is None or c.partial:
        return None, None
    if Period.parse(period).kind == "month" and not history.is_empty():
        got = history.filter(pl.col("period") == c.text)
    else:
        try:
            got = data.scores(ruleset, c.text, scope)[0]
        except (RulesError, MetricsError, ValueError):  # not in force then: nothing to compare with
            return None, None
    return c.text, {r["subject"]: r["rank"] for r in got.iter_rows(named=True)
                    if r["rank"] is not None and r.get("ranked", True)}


def _ranked_count(results: pl.DataFrame, rows: list, scope) -> int:
    """How many were ranked: the rows shown for the whole hall; for a unit head, the hall's (or their group's)
    count the scoring recorded before their scope applied, so "1 ranked" never stands for a ranking of forty."""
    if scope is None or "ranked_of" not in results.columns:
        return len(rows)
    counts = [n for n in results["ranked_of"].to_list() if n is not None]
    return max(counts) if counts else len(rows)


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    st.title(t("rankings.title", lang))
    periods = data.periods(scope)
    if not periods:
        st.info(t("rankings.empty", lang))
        return
    # The granularity (月/季/年) on its own row: "Month | Quarter | Year" needs more room than a filter column.
    gran_row = st.container()
    head = st.columns([1, 1, 2, 1.1, 1], vertical_alignment="bottom")
    period = period_ui.pick(periods, lang, PAGE, gran_container=gran_row, period_container=head[0])
    grain = state.select(t("rankings.grain", lang), GRAINS, "grain", page=PAGE, container=head[1],
                         format_func=lambda g: _grain_name(g, lang))
    ruleset = ruleset_ui.pick(t("rankings.ruleset", lang), grain, period, lang, PAGE, container=head[2])
    if ruleset is None:
        st.info(t("rankings.no_ruleset", lang, period=period, grain=_grain_name(grain, lang)))
        return
    view = state.select(t("rankings.view", lang), VIEWS, "view", page=PAGE, container=head[3],
                        format_func=lambda v: t(f"rankings.view_{v}", lang))
    as_of = as_of_line(lang, scope)
    if as_of:
        st.caption(as_of)
    partial = period_ui.partial_note(period, periods, lang)
    if partial:
        st.caption(partial)

    try:
        meta = data.ruleset_meta(ruleset, period)
        results = data.scores(ruleset, period, scope)[0]
    except (RulesError, MetricsError, ValueError):  # a ruleset that cannot score the period must not take the page down
        logging.getLogger(__name__).exception("scoring %s for %s failed", ruleset, period)
        name = ruleset_ui.names(grain, period, lang).get(ruleset, ruleset)
        st.warning(t("rankings.scores_unavailable", lang, ruleset=plain(name), period=period))
        return
    if results.is_empty():
        st.info(t("rankings.no_scores", lang, period=period))
        return
    monthly = Period.parse(period).kind == "month"
    # The sparkline: a month's twelve months to it; a quarter's or year's own months, when the ruleset scores months.
    months = last_months(periods, period, SPARK_MONTHS) if monthly else \
        period_ui.with_data(period, periods) if meta["own_period"] == "month" else []
    history = pl.DataFrame(schema={"period": pl.String, "subject": pl.String, "total": pl.Decimal(18, 2),
                                   "rank": pl.Int64})
    if months:
        with st.spinner(t("rankings.loading_history", lang, n=len(months))):
            # Every month at once, under one cache key: changing the month then only slices it.
            history = data.score_history(ruleset, sorted(periods), scope)
            history = history.filter(pl.col("period").is_in(months))
    compared, before = _before(ruleset, period, periods, history, scope)
    mart, key = MART[grain]
    rows = _rows(results, meta, data.mart_slice(mart, period, scope), key, history, months, before, lang)
    st.caption(t("rankings.ruleset_line", lang, name=plain(meta["name_zh"] if lang == "zh" else meta["name_en"]),
                 version=meta["version"], n=_ranked_count(results, rows, scope),
                 within=t("rankings.within_group" if meta["ranking_within"] == "group" else "rankings.within_all",
                          lang)))
    if meta["combine"]:
        st.caption(t(f"rankings.rollup_{meta['combine']}", lang, period=period,
                     parts=t(f"period.one.{meta['own_period']}", lang)))

    if view == "red_black":
        n = int(state.select(t("rankings.top_n", lang), TOP_N, "top_n", page=PAGE, container=head[4]))
        _red_black(rows, n, grain, period, lang)
    else:
        _ranking_table(rows, meta, grain, period, months, compared, lang)


render()
