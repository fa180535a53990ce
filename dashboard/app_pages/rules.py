"""Rules page (考核细则): each ruleset's rule card with its worked cases, its versions and what changed between
them, and what-if rescoring of a period under another ruleset or version — who moves, and why."""

from __future__ import annotations

import logging
from decimal import Decimal

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data
from dashboard.core import whatif
from dashboard.core.period import Period, periods_holding
from dashboard.core.table import Column
from dashboard.ui import state
from dashboard.ui.banner import as_of_line
from dashboard.ui.downloads import download_buttons
from dashboard.ui.format import chart_text, plain
from dashboard.ui.i18n import t
from dashboard.ui.nav import PAGES
from dashboard.ui.state import current_lang, current_scope

PAGE = "rules"
_UP, _DOWN = "#0072B2", "#D55E00"  # Okabe–Ito blue (rises) and vermilion (falls)
_CENT = Decimal("0.01")


def _score(d: Decimal | None) -> str:
    return "–" if d is None else f"{Decimal(d).quantize(_CENT)}"


def _change(d: Decimal | None) -> str:
    if d is None:
        return "–"
    return f"{Decimal(d).quantize(_CENT):+}" if d else "0.00"


def _points(d: Decimal | None) -> str:
    """A line's points as exact as they are (18.616, −2, 0.004), a missing line as "–"."""
    if d is None:
        return "–"
    return format(Decimal(d).normalize(), "f")


def _rank_move(change: int | None) -> str:
    if change is None:
        return "–"
    return f"↑{change}" if change > 0 else f"↓{-change}" if change < 0 else "0"


def _right(*headers: str) -> dict:
    return {h: st.column_config.TextColumn(alignment="right") for h in headers}


def _version_label(v, lang: str) -> str:
    return t("rules_page.version_label", lang, name=v.name(lang), version=v.version)


def _card_markdown(card: str) -> str:
    """The rule card as the page shows it: headings one level down (the page has its own title) and each line of
    the card on its own line (Markdown would run consecutive lines into one paragraph)."""
    out = []
    for line in card.splitlines():
        if line.startswith("#"):
            out.append("#" + line)
        elif line and not line.startswith("- "):
            out.append(line + "  ")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _card(own: list, lang: str) -> None:
    by_rel = {v.relpath: v for v in own}
    rels = [v.relpath for v in reversed(own)]  # newest first
    chosen = state.select(t("rules_page.card.version", lang), rels, "card_version", page=PAGE,
                          format_func=lambda r: t("rules_page.version_from", lang, version=by_rel[r].version,
                                                  start=by_rel[r].from_period))
    with st.container(border=True):
        st.markdown(_card_markdown(data.rule_card(chosen, lang)))

    st.subheader(t("rules_page.cases.title", lang))
    cases = data.ruleset_cases(chosen)
    if not cases:
        st.info(t("rules_page.cases.none", lang))
        return
    passed = sum(c.passed for c in cases)
    st.caption(t("rules_page.cases.summary", lang, passed=passed, total=len(cases)))
    sep = t("common.sep.clauses", lang)
    name, note, expected, verdict, problems = (t(f"rules_page.cases.col.{k}", lang)
                                               for k in ("name", "note", "expected", "verdict", "problems"))
    rows = []
    for c in cases:
        shown = (_score(c.expected["case"]) if list(c.expected) == ["case"] else
                 sep.join(f"{s} {_score(v)}" for s, v in c.expected.items()))
        rows.append({"name": c.name, "note": c.note or "", "expected": shown,
                     "verdict": t("rules_page.cases.pass" if c.passed else "rules_page.cases.fail", lang),
                     "problems": sep.join(c.render(lang))})
    columns = [Column("name", name), Column("note", note), Column("expected", expected), Column("verdict", verdict),
               Column("problems", problems)]
    st.dataframe(pl.DataFrame([{c.header: r[c.key] for c in columns} for r in rows],
                              schema={c.header: pl.String for c in columns}),
                 hide_index=True, column_config={note: st.column_config.TextColumn(width="large"),
                                                 **_right(expected)})
    download_buttons("rules_cases", f"{own[0].ruleset_id}_{t('rules_page.cases.title', lang)}", columns, rows, lang)


def _versions(own: list, lang: str) -> None:
    st.subheader(t("rules_page.versions.title", lang))
    cols = [Column("version", t("rules_page.versions.col.version", lang)),
            Column("from", t("rules_page.versions.col.from", lang)),
            Column("to", t("rules_page.versions.col.to", lang)),
            Column("sha256", "sha256"),
            Column("file", t("rules_page.versions.col.file", lang))]
    rows = [{"version": v.version, "from": v.from_period, "to": v.to_period or t("rules_page.versions.open", lang),
             "sha256": v.sha256, "file": f"rulesets/{v.relpath}"} for v in own]
    st.dataframe(pl.DataFrame([{c.header: r[c.key] for c in cols} for r in rows],
                              schema={c.header: pl.String for c in cols}), hide_index=True)
    download_buttons("rules_versions", f"{own[0].ruleset_id}_{t('rules_page.versions.title', lang)}", cols, rows,
                     lang)

    st.subheader(t("rules_page.diff.title", lang))
    if len(own) < 2:
        st.info(t("rules_page.diff.single", lang))
        return
    by_rel = {v.relpath: v for v in own}
    rels = [v.relpath for v in own]
    left, right = st.columns(2)
    old = state.select(t("rules_page.diff.old", lang), rels, "diff_old", page=PAGE, default=rels[-2],
                       format_func=lambda r: by_rel[r].version, container=left)
    new = state.select(t("rules_page.diff.new", lang), rels, "diff_new", page=PAGE, default=rels[-1],
                       format_func=lambda r: by_rel[r].version, container=right)
    if old == new:
        st.info(t("rules_page.diff.same", lang))
        return
    d = data.version_diff(old, new)
    counts = st.columns(3)
    for col, key, items in ((counts[0], "added", d.added), (counts[1], "removed", d.removed),
                            (counts[2], "changed", d.changed)):
        col.metric(t(f"rules_page.diff.{key}", lang), len(items))
    if d.items:
        cols = [Column("change", t("rules_page.diff.col.change", lang)), Column("id", t("rules_page.diff.col.id", lang)),
                Column("name", t("rules_page.diff.col.name", lang)),
                Column("section", t("rules_page.diff.col.section", lang)),
                Column("fields", t("rules_page.diff.col.fields", lang))]
        rows = [{"change": t(f"rules_page.diff.{c.change}", lang), "id": c.item_id, "name": c.name(lang),
                 "section": c.section, "fields": ", ".join(c.fields)} for c in d.items]
        st.dataframe(pl.DataFrame([{c.header: r[c.key] for c in cols} for r in rows],
                                  schema={c.header: pl.String for c in cols}), hide_index=True)
        download_buttons("rules_diff", f"{own[0].ruleset_id}_{t('rules_page.diff.title', lang)}", cols, rows, lang)
    if d.settings:
        st.caption(t("rules_page.diff.settings", lang, keys=plain(", ".join(d.settings))))
    if d.unified:
        with st.expander(t("rules_page.diff.text", lang), expanded=not d.items):
            st.code(d.unified, language="diff")
    else:
        st.caption(t("rules_page.diff.identical", lang))


def _page_exists(path: str) -> bool:
    return any(p == path for p, _, _ in PAGES)


def _movers_chart(movers: list[dict], lang: str) -> None:
    moved = [r for r in movers if r["change"]][:30]
    if not moved:
        return
    fig = go.Figure(go.Bar(
        x=[chart_text(r["name"]) for r in moved], y=[float(r["change"]) for r in moved],
        marker_color=[_UP if r["change"] > 0 else _DOWN for r in moved],
        text=[_change(r["change"]) for r in moved], textposition="outside", cliponaxis=False,
        hovertemplate="%{x}<br>%{text}<extra></extra>"))
    fig.add_hline(y=0, line_color="#888888")
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text=t("rules_page.whatif.chart_axis", lang))
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
                      title_text=t("rules_page.whatif.chart_title", lang))
    st.plotly_chart(fig, width="stretch", key="rules_movers")


def _whatif(versions: list, own: list, lang: str, scope: tuple[str, ...] | None) -> None:
    st.subheader(t("rules_page.whatif.title", lang))
    st.caption(t("rules_page.whatif.intro", lang))
    months = data.periods(scope)
    if not months:
        st.info(t("rules_page.whatif.no_data", lang))
        return
    newest = own[-1]
    rollups = data.version_rollups()
    # The kinds of period the ruleset scores: its own, and the quarter or year it rolls up to (月/季/年).
    grans = whatif.granularities(newest, rollups)
    # The granularity (月/季/年) on its own row: "Month | Quarter | Year" needs more room than a filter column.
    gran_row = st.container()
    head = st.columns([1, 2, 2], vertical_alignment="bottom")
    wanted = Period.parse_or_none(state.get("whatif_period"))
    kind = wanted.kind if wanted and wanted.kind in grans else grans[0]
    if len(grans) > 1:
        kind = gran_row.segmented_control(t("period.granularity", lang), grans, default=kind, required=True,
                                         format_func=lambda g: t(f"period.{g}", lang),
                                         key=f"w_{PAGE}_whatif_granularity") or kind
    options = periods_holding(months, kind)
    page_period = state.get("period")  # the period the other pages show, when it is of this kind
    default = page_period if page_period in options else whatif.default_period(options, months)
    period = state.select(t(f"rules_page.whatif.period.{kind}", lang), options, "whatif_period", page=PAGE,
                          default=default, container=head[0])
    by_rel = {v.relpath: v for v in versions}
    current = whatif.in_force(versions, newest.ruleset_id, period)
    a = state.select(t("rules_page.whatif.a", lang), [v.relpath for v in reversed(own)], "whatif_a", page=PAGE,
                     default=current.relpath if current else None, container=head[1],
                     format_func=lambda r: _version_label(by_rel[r], lang))
    # Every version that scores the same subjects over this kind of period, directly or rolled up, by name.
    others = [v.relpath for v in whatif.compatible(versions, by_rel[a], kind, rollups) if v.relpath != a]
    if not others:
        st.info(t("rules_page.whatif.no_alternative", lang))
        return
    # Another version of the same ruleset first, when there is one: "what if the new rules had applied?"
    same = [r for r in others if by_rel[r].ruleset_id == by_rel[a].ruleset_id]
    b = state.select(t("rules_page.whatif.b", lang), others, "whatif_b", page=PAGE,
                     default=(same or others)[-1 if same else 0], container=head[2],
                     format_func=lambda r: _version_label(by_rel[r], lang))
    for side, rel in (("A", a), ("B", b)):
        v = by_rel[rel]
        if not whatif.covers(v, period):
            st.caption(t("rules_page.whatif.not_in_force", lang, side=side, version=plain(_version_label(v, lang)),
                         period=period, start=v.from_period))
    if kind != "month" and not whatif.complete(period, months):
        st.caption(t("rules_page.whatif.partial", lang, period=period))
    try:
        ra, _, la = data.scores_file(a, period, scope)
        rb, _, lb = data.scores_file(b, period, scope)
    except Exception:  # noqa: BLE001 - one failing version must not take the page down
        logging.getLogger(__name__).exception("what-if scoring %s / %s for %s failed", a, b, period)
        st.warning(t("rules_page.whatif.failed", lang, period=period))
        return
    movers = whatif.compare(ra.to_dicts(), rb.to_dicts())
    if not movers:
        st.info(t("rules_page.whatif.nobody", lang, period=period))
        return
    both = [r for r in movers if r["change"] is not None]
    m = st.columns(4)
    m[0].metric(t("rules_page.whatif.scored", lang), len(both))
    m[1].metric(t("rules_page.whatif.moved", lang), sum(1 for r in both if r["change"] != 0))
    m[2].metric(t("rules_page.whatif.grade_changed", lang), sum(1 for r in both if r["grade_a"] != r["grade_b"]))
    m[3].metric(t("rules_page.whatif.rank_changed", lang), sum(1 for r in both if r["rank_change"]))
    only = len(movers) - len(both)
    if only:
        st.caption(t("rules_page.whatif.one_side", lang, n=only))

    h = {k: t(f"rules_page.whatif.col.{k}", lang) for k in
         ("name", "grp", "total_a", "rank_a", "grade_a", "total_b", "rank_b", "grade_b", "change", "rank_change")}
    shown = pl.DataFrame([{h["name"]: r["name"], h["grp"]: r["grp"] or "", h["total_a"]: _score(r["total_a"]),
                           h["rank_a"]: "–" if r["rank_a"] is None else str(r["rank_a"]),
                           h["grade_a"]: r["grade_a"] or "", h["total_b"]: _score(r["total_b"]),
                           h["rank_b"]: "–" if r["rank_b"] is None else str(r["rank_b"]),
                           h["grade_b"]: r["grade_b"] or "", h["change"]: _change(r["change"]),
                           h["rank_change"]: _rank_move(r["rank_change"])} for r in movers],
                         schema={v: pl.String for v in h.values()})
    st.dataframe(shown, hide_index=True, key="rules_whatif_table",
                 column_config=_right(h["total_a"], h["rank_a"], h["total_b"], h["rank_b"], h["change"],
                                      h["rank_change"]))
    st.caption(t("rules_page.whatif.legend", lang))
    cols = [Column("subject", t("rules_page.whatif.col.code", lang)), Column("name", h["name"]),
            Column("grp", h["grp"]), Column("total_a", h["total_a"], "score"), Column("rank_a", h["rank_a"], "int"),
            Column("grade_a", h["grade_a"]), Column("total_b", h["total_b"], "score"),
            Column("rank_b", h["rank_b"], "int"), Column("grade_b", h["grade_b"]),
            Column("change", h["change"], "score"), Column("rank_change", h["rank_change"], "int")]
    download_buttons("rules_whatif", f"{period}_{t('rules_page.whatif.title', lang)}", cols, movers, lang)
    _movers_chart(movers, lang)

    st.subheader(t("rules_page.why.title", lang))
    names = {r["subject"]: r["name"] for r in both}
    if not both:
        return
    key = "unit" if newest.subject == "unit" else "whatif_subject"
    subject = state.select(t("rules_page.why.subject", lang), [r["subject"] for r in both], key, page=PAGE,
                           default=both[0]["subject"], format_func=lambda s: f"{names[s]}（{s}）")
    row = next(r for r in both if r["subject"] == subject)
    st.caption(t("rules_page.why.summary", lang, name=plain(names[subject]), a=_score(row["total_a"]),
                 b=_score(row["total_b"]), change=_change(row["change"])))
    lines = whatif.why(la.to_dicts(), lb.to_dicts(), subject)
    if not lines:
        st.caption(t("rules_page.why.none", lang))
    else:
        w = {k: t(f"rules_page.why.col.{k}", lang) for k in ("name", "line", "points_a", "points_b", "change")}
        st.dataframe(pl.DataFrame([{w["name"]: r["name_zh"] if lang == "zh" else r["name_en"], w["line"]: r["line"],
                                    w["points_a"]: _points(r["points_a"]), w["points_b"]: _points(r["points_b"]),
                                    w["change"]: _points(r["change"]) if r["change"] < 0 else
                                    "+" + _points(r["change"])} for r in lines],
                                  schema={v: pl.String for v in w.values()}),
                     hide_index=True, key="rules_why_table",
                     column_config=_right(w["points_a"], w["points_b"], w["change"]))
        st.caption(t("rules_page.why.note", lang))
        raw = [{**r, "name": r["name_zh"] if lang == "zh" else r["name_en"]} for r in lines]
        download_buttons("rules_why", f"{period}_{subject}_{t('rules_page.why.title', lang)}",
                         [Column("name", w["name"]), Column("line", w["line"]), Column("points_a", w["points_a"]),
                          Column("points_b", w["points_b"]), Column("change", w["change"])], raw, lang)
    if newest.subject == "unit" and _page_exists("app_pages/unit.py"):
        st.page_link("app_pages/unit.py", label=t("rules_page.why.to_unit", lang, name=plain(names[subject])),
                     icon=":material/apartment:", query_params={"unit": subject, "period": period, "lang": lang,
                                                                "ruleset": by_rel[a].ruleset_id})


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    st.title(t("rules_page.title", lang))
    as_of = as_of_line(lang, scope)
    if as_of:
        st.caption(as_of)
    versions = data.ruleset_versions()
    if not versions:
        st.info(t("rules_page.empty", lang))
        return
    names = {v.ruleset_id: v.name(lang) for v in versions}  # the newest version's name
    ids = [i for i in data.all_rulesets() if i in names]
    default = state.get("ruleset") if state.get("ruleset") in ids else None
    ruleset = state.select(t("rules_page.ruleset", lang), ids, "card", page=PAGE, default=default,
                           format_func=lambda i: names.get(i, i))
    own = [v for v in versions if v.ruleset_id == ruleset]
    card, history, what = st.tabs([t("rules_page.tab.card", lang), t("rules_page.tab.versions", lang),
                                   t("rules_page.tab.whatif", lang)])
    with card:
        _card(own, lang)
    with history:
        _versions(own, lang)
    with what:
        _whatif(versions, own, lang, scope)


render()
