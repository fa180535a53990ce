"""Per-session choices the router makes and every page reads: the language and the user's data scope."""

from __future__ import annotations

import streamlit as st

from dashboard.ui.i18n import normalize_lang

# Session-state key of the sidebar language switch; it outlives page switches, unlike the URL's query string.
LANG_KEY = "ui_lang"
LANG_PARAM = "lang"


def current_lang() -> str:
    """The language this session shows ("zh" or "en")."""
    return normalize_lang(st.session_state.get(LANG_KEY))


def current_scope() -> tuple[str, ...] | None:
    """The unit codes this user may see; None (every unit) until sign-in and roles exist."""
    return None
