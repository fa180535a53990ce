"""Who this session is: OpenID Connect sign-in through st.login when a provider is configured, else a bannered
demo mode on loopback with a role switcher standing in for sign-in; plus the guard on the browser's cache clear."""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from dashboard import data
from dashboard.core import audit
from dashboard.core.access import ROLES, Principal, RolesFileError, auth_section_ready
from dashboard.core.db import Lake
from dashboard.ui.format import plain
from dashboard.ui.i18n import t

DEMO_ROLE_KEY = "auth_demo_role"
DEMO_UNIT_KEY = "auth_demo_unit"
DEMO_ROLE_PARAM = "as"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def provider_configured() -> bool:
    """True when secrets.toml holds an [auth] section Streamlit can sign in with."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets file at all: Streamlit raises rather than return nothing
        return False
    return auth_section_ready(section)


def role_name(role: str, lang: str) -> str:
    """A role as the user reads it (领导, 单位负责人, 办公室, 审计)."""
    return t(f"auth.role.{role}", lang)


def _on_loopback() -> bool:
    # Outside a real server (AppTest runs the script under a stand-in runtime) there is no socket to check; inside
    # one, both the address it is bound to and the peer must be this machine.
    from streamlit.runtime import Runtime

    if not Runtime.exists() or type(Runtime.instance()) is not Runtime:
        return True
    address = st.get_option("server.address") or ""
    if address not in _LOOPBACK or st.context.ip_address is not None:
        return False
    # A reverse proxy on this machine connects from loopback too: a forwarding header, or the browser's Origin or
    # Host naming another host, means the user is elsewhere.
    headers = st.context.headers
    if any(h in headers for h in ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP")):
        return False
    return all(urlsplit(v if "//" in v else f"//{v}").hostname in _LOOPBACK
               for v in (headers.get("Origin"), headers.get("Host")) if v)


def _signed_in(lang: str) -> Principal:
    """The signed-in user's principal; otherwise the sign-in (or no-access) screen, and the run stops."""
    if not st.user.is_logged_in:
        st.title(t("app.title", lang))
        st.write(t("auth.sign_in_needed", lang))
        if st.button(t("auth.sign_in", lang), type="primary", key="auth_sign_in", icon=":material/login:"):
            st.login()
        st.stop()
    claims = st.user.to_dict()
    try:
        roles = data.roles_file()
    except RolesFileError as e:
        st.error(t("auth.roles_broken", lang))
        st.code(str(e), language=None)
        st.stop()
    who = roles.principal(claims) if roles else None
    if who is None:
        st.title(t("app.title", lang))
        st.warning(t("auth.no_role", lang, who=plain(str(claims.get("email") or claims.get("sub") or "?"))))
        if st.button(t("auth.sign_out", lang), key="auth_sign_out_none"):
            st.logout()
        st.stop()
    with st.sidebar:
        units = f" · {'、'.join(who.units)}" if who.role == "unit_head" else ""
        st.caption(t("auth.signed_in_as", lang, name=plain(who.name), role=role_name(who.role, lang) + plain(units)))
        if st.button(t("auth.sign_out", lang), key="auth_sign_out", icon=":material/logout:"):
            st.logout()
    return who


def _demo(lang: str) -> Principal:
    """Demo mode: a role switcher stands in for sign-in; refused unless both ends are this machine."""
    if not _on_loopback():
        st.error(t("auth.demo_not_loopback", lang))
        st.stop()
    # `?as=office` opens the demo as that role (handy for walking the demo and for browser tests); loopback only.
    if DEMO_ROLE_KEY not in st.session_state and st.query_params.get(DEMO_ROLE_PARAM) in ROLES:
        st.session_state[DEMO_ROLE_KEY] = st.query_params[DEMO_ROLE_PARAM]
    with st.sidebar:
        st.warning(t("auth.demo_banner", lang), icon=":material/science:")
        role = st.selectbox(t("auth.demo_role", lang), ROLES, key=DEMO_ROLE_KEY,
                            format_func=lambda r: role_name(r, lang))
        units: tuple[str, ...] = ()
        if role == "unit_head":
            directory = data.unit_directory()
            if directory:
                codes = list(directory)
                unit = st.selectbox(t("auth.demo_unit", lang), codes, key=DEMO_UNIT_KEY,
                                    format_func=lambda c: f"{directory[c]} ({c})")
                units = (unit,) if unit else ()
    return Principal(subject=f"demo:{role}", role=role, units=units, name=role_name(role, lang))


def resolve(lang: str) -> Principal:
    """Decide who this session is, store it for the data layer, and return it (stops the run when nobody is)."""
    who = _signed_in(lang) if provider_configured() else _demo(lang)
    data.set_principal(who)
    return who


def guard_browser_cache_clear() -> None:
    """Refuse the browser's "Clear cache" message (it empties every user's caches) unless the session's user may
    clear caches; the refusal lands in the audit log. Installed once per server process."""
    from streamlit.runtime.app_session import AppSession

    current = AppSession._handle_clear_cache_request
    if getattr(current, "hall_guarded", False):
        return

    def guarded(self) -> None:
        try:
            who = self._session_state[data.PRINCIPAL_KEY]
        except KeyError:
            who = None
        allowed = isinstance(who, Principal) and who.can("clear_cache")
        audit.record(Lake.default(), who if isinstance(who, Principal) else None, "clear_cache",
                     "done" if allowed else "refused", via="browser")
        if allowed:
            current(self)

    guarded.hall_guarded = True  # type: ignore[attr-defined]
    AppSession._handle_clear_cache_request = guarded
