"""Bulletin page (月度考核通报): the month's bulletin under a monthly unit ruleset chosen by name, previewed, and
offered as XLSX and PDF."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data
from dashboard.core.report import text
from dashboard.ui import period as period_ui
from dashboard.ui import rulesets as ruleset_ui
from dashboard.ui.downloads import download_buttons
from dashboard.ui.i18n import t
from dashboard.ui.state import current_lang, current_scope


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    st.title(t("bulletin_page.title", lang))
    periods = data.periods(scope)
    if not periods:
        st.info(t("bulletin_page.empty", lang))
        return
    head = st.columns([1, 2])
    # A monthly bulletin (月度通报): a quarter or year in the URL opens on its newest month, and says so.
    period, monthly_note = period_ui.pick_month(t("bulletin_page.period", lang), periods, lang, "bulletin",
                                                container=head[0])
    if monthly_note:
        st.caption(monthly_note)
    # The monthly unit rulesets in force, by name; the catalog's default first choice, as `hall report` uses.
    ruleset = ruleset_ui.pick(t("bulletin_page.ruleset", lang), "unit", period, lang, "bulletin", container=head[1])
    if ruleset is None:
        st.info(t("bulletin_page.no_ruleset", lang, period=period))
        return
    b = data.bulletin(period, ruleset, lang, scope)

    # The files are made when asked for (a callable), so choosing a month does not wait for a PDF.
    xlsx, pdf = data.bulletin_file_makers(period, ruleset, lang, scope)

    st.subheader(t("bulletin_page.files", lang))
    left, right, _ = st.columns([1, 1, 4])
    name = f"{b.title}"
    left.download_button(t("download.xlsx", lang), data=xlsx, file_name=f"{name}.xlsx", key="bulletin_xlsx",
                         mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         icon=":material/download:")
    right.download_button(t("download.pdf", lang), data=pdf, file_name=f"{name}.pdf", mime="application/pdf",
                          key="bulletin_pdf", icon=":material/download:")

    st.subheader(t("bulletin_page.preview", lang))
    st.markdown(f"**{b.title}**")
    st.caption(f"{b.office} · {t('bulletin.issued', lang, period=b.period_label)}")
    st.write(b.summary)
    for table in b.tables:
        st.markdown(f"**{table.title}**")
        if not table.rows:
            st.caption(t("bulletin.none", lang))
            continue
        shown = pl.DataFrame([{c.header: text(r.get(c.key), c.kind, lang) for c in table.columns}
                              for r in table.rows], schema={c.header: pl.String for c in table.columns})
        right = {c.header: st.column_config.TextColumn(alignment="right")
                 for c in table.columns if c.kind in ("int", "pct", "score")}
        st.dataframe(shown, hide_index=True, column_config=right)
        download_buttons(f"bulletin_{table.key}", f"{b.period}_{table.title}", table.columns, table.rows, lang)
    with st.expander(t("bulletin.footnote.title", lang)):
        for note in b.footnotes:
            st.caption(note)


render()
