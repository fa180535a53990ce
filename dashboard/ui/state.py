"""Per-session choices the router makes and every page reads: the language, the user's scope, and the filters
and drill targets that live in the URL and carry across page switches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from dashboard.data import PRINCIPAL_KEY
from dashboard.ui.i18n import normalize_lang

# Session-state key of the sidebar language switch; it outlives page switches, unlike the URL's query string.
LANG_KEY = "ui_lang"
LANG_PARAM = "lang"
# Filters and drill targets a pasted link must reproduce. A page switch drops the query string, so each value is
# also kept in the session and written back to the URL on every run (see `carry_url_state`).
CARRIED = ("period", "unit", "window", "ruleset", "compare", "metric", "group", "grain", "units", "view", "load", "reason", "top_n", "windows", "months", "card", "card_version", "diff_old", "diff_new", "whatif_period", "whatif_a", "whatif_b", "whatif_subject")
_PREFIX = "url_"


def current_lang() -> str:
    """The language this session shows ("zh" or "en")."""
    return normalize_lang(st.session_state.get(LANG_KEY))


def current_scope() -> tuple[str, ...] | None:
    """The unit codes this user may see (None: every unit); nothing before the router has resolved who they are."""
    who = st.session_state.get(PRINCIPAL_KEY)
    return () if who is None else who.scope


def current_principal():
    """The session's Principal (role, units), set by the router; None before sign-in."""
    return st.session_state.get(PRINCIPAL_KEY)


def carry_url_state() -> None:
    """Called by the router on every run: the URL seeds the session, and the session refills the URL after a
    page switch dropped it, so every filter survives navigation and a copied link reproduces the view."""
    for key in CARRIED:
        value = st.query_params.get(key)
        if value is not None:
            st.session_state[_PREFIX + key] = value
        elif st.session_state.get(_PREFIX + key) is not None:
            st.query_params[key] = st.session_state[_PREFIX + key]


def get(key: str, default: str | None = None) -> str | None:
    """A carried filter's value (a string, as in the URL), or `default`."""
    value = st.session_state.get(_PREFIX + key)
    return default if value is None else value


def put(key: str, value: str | None) -> None:
    """Set (or clear) a carried filter, in the session and in the URL."""
    if key not in CARRIED:
        raise KeyError(f"{key} is not a carried URL parameter; add it to CARRIED")
    if value is None:
        st.session_state.pop(_PREFIX + key, None)
        if key in st.query_params:
            del st.query_params[key]
    else:
        st.session_state[_PREFIX + key] = str(value)
        st.query_params[key] = str(value)


def select(label: str, options: Sequence[Any], key: str, *, page: str, format_func: Callable[[Any], str] = str,
           default: Any = None, container: Any = None) -> Any:
    """A selectbox whose value is a carried URL filter: it opens on the URL's value, else `default`, else the first
    option; a value the options do not hold falls back the same way."""
    if not options:
        return None
    wanted = get(key)
    by_text = {str(o): o for o in options}
    chosen = by_text.get(wanted) if wanted is not None else None
    if chosen is None:
        chosen = default if default in options else options[0]
    where = container if container is not None else st
    value = where.selectbox(label, list(options), index=list(options).index(chosen), format_func=format_func,
                            key=f"w_{page}_{key}")
    put(key, str(value))
    return value
