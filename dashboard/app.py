"""Streamlit entrypoint: page config, the language switch, who the user is, and st.navigation — a router."""

from __future__ import annotations

import streamlit as st

from dashboard.ui import auth
from dashboard.ui.i18n import LANG_NAMES, LANGS, normalize_lang, t
from dashboard.ui.nav import pages_for
from dashboard.ui.state import LANG_KEY, LANG_PARAM, carry_url_state


def _choose_lang() -> str:
    # The URL seeds the session once; afterwards the session decides, because the query string is
    # dropped on a page switch and would otherwise reset the language to the default.
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = normalize_lang(st.query_params.get(LANG_PARAM))
    lang = normalize_lang(st.session_state[LANG_KEY])
    if st.session_state[LANG_KEY] != lang:
        st.session_state[LANG_KEY] = lang
    # Re-set every run so the param survives page switches and a copied link keeps the language.
    if st.query_params.get(LANG_PARAM) != lang:
        st.query_params[LANG_PARAM] = lang
    return lang


def _on_lang_change() -> None:
    st.query_params[LANG_PARAM] = normalize_lang(st.session_state.get(LANG_KEY))


lang = _choose_lang()
st.set_page_config(page_title=t("app.title", lang), page_icon=":material/account_balance:", layout="wide")
st.sidebar.selectbox(
    t("app.language", lang),
    LANGS,
    key=LANG_KEY,
    format_func=LANG_NAMES.__getitem__,
    on_change=_on_lang_change,
)

auth.guard_browser_cache_clear()
principal = auth.resolve(lang)
carry_url_state()
page = st.navigation([st.Page(path, title=t(title, lang), icon=icon, default=(i == 0))
                      for i, (path, title, icon) in enumerate(pages_for(principal))])
page.run()
