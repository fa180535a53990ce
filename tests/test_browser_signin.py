"""Sign-in through a real OpenID Connect provider (oidc-provider-mock) in a real browser (Debian's Chromium): the
sign-in screen shows no data; a unit head sees only their unit and no Data page; the hall office's group reaches the
Data page; an identity the roles file does not name sees the no-role message; signing out returns to the sign-in
screen. Demo mode (no provider) refuses a user reaching it through a reverse proxy on this machine. Also (fast):
`hall serve --address 0.0.0.0` refuses to start without a complete provider and starts with one."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ARTIFACTS
from helpers.serving import CHROMIUM, FLAGS, free_port

BIN = Path(sys.executable).parent
HALL = BIN / "hall"
MOCK = BIN / "oidc-provider-mock"

UNIT = "U003"
WORD_JOINER = "\u2060"
# Each identity is a predefined user of the mock: its authorize page offers one button per `sub`.
# The unit head's name comes from the provider with Markdown in it: the sidebar must show it as written.
UNIT_HEAD = {"sub": "head-u003", "email": "Head.U003@hall.test", "name": "单位负责人*甲*", "groups": ["staff"]}
OFFICE = {"sub": "office-1", "email": "office@hall.test", "name": "办公室乙", "groups": ["staff", "hall-office"]}
STRANGER = {"sub": "stranger", "email": "stranger@hall.test", "name": "访客丙", "groups": ["visitors"]}

# Grants by email (matched whatever its case) and by a `groups` claim; the stranger is in neither.
ROLES_YAML = f"""\
grants:
  - match: {{group: hall-office}}
    role: office
  - match: {{email: head.u003@hall.test}}
    role: unit_head
    units: [{UNIT}]
"""


def _wait_http(url: str, proc: subprocess.Popen, what: str, seconds: float = 90) -> None:
    """Wait until `url` answers 200; raise (after stopping `proc`) if it does not in time or `proc` dies."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before answering {url}")
        if time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"{what} did not answer {url} within {seconds:.0f} s")
        time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process started in its own session, with its children (hall serve runs streamlit as a child)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)


def _auth_section(app_origin: str, metadata_url: str) -> str:
    return (f'[auth]\nredirect_uri = "{app_origin}/oauth2callback"\ncookie_secret = "{secrets.token_hex(32)}"\n'
            f'client_id = "hall-dashboard"\nclient_secret = "{secrets.token_hex(16)}"\n'
            f'server_metadata_url = "{metadata_url}"\n')


@pytest.fixture(scope="module")
def provider():
    """A real OpenID Connect provider (oidc-provider-mock) on a free loopback port with the three identities."""
    port = free_port()
    cmd = [str(MOCK), "--port", str(port), "--host", "127.0.0.1"]
    for who in (UNIT_HEAD, OFFICE, STRANGER):
        cmd += ["--user-claims", json.dumps(who, ensure_ascii=False)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/.well-known/openid-configuration", proc, "oidc-provider-mock")
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def app(provider, demo_lake, tmp_path_factory):
    """`hall serve` on loopback with sign-in configured against the provider and a roles file; yields its origin.

    The browser must use the very origin written in redirect_uri: Streamlit keeps the OAuth state in a cookie of the
    host the sign-in started on, and accepts the user cookie only over a websocket whose Origin equals redirect_uri's
    origin. So the app is opened at http://localhost:PORT everywhere, never at 127.0.0.1:PORT."""
    folder = tmp_path_factory.mktemp("signin")
    port = free_port()
    origin = f"http://localhost:{port}"
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(_auth_section(origin, f"{provider}/.well-known/openid-configuration"), encoding="utf-8")
    roles = folder / "roles.yaml"
    roles.write_text(ROLES_YAML, encoding="utf-8")
    env = {**os.environ, "HALL_DATA": str(demo_lake.root), "HALL_ROLES": str(roles)}
    log = (folder / "serve.log").open("wb")
    proc = subprocess.Popen([str(HALL), "serve", "--port", str(port), "--address", "127.0.0.1",
                             "--secrets", str(secrets_file)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc, "hall serve")
        yield origin
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="module")
def unit_names(demo_lake) -> dict[str, str]:
    """Every demo unit's name by code, from the marts the dashboard reads."""
    rows = pq.read_table(demo_lake.marts / "unit_month.parquet", columns=["unit_code", "unit_name"]).to_pylist()
    names = {r["unit_code"]: r["unit_name"] for r in rows if r["unit_name"]}
    assert UNIT in names and len(names) > 5
    return names


def _sign_in_screen(page) -> None:
    page.locator(".st-key-auth_sign_in button").wait_for(timeout=90_000)
    page.get_by_text("请用单位账号登录后查看本中心数据。").wait_for(timeout=30_000)


def _sign_in(page, provider: str, who: dict) -> None:
    """From the sign-in screen: the button, the provider's authorize page, this identity (the caller waits)."""
    page.locator(".st-key-auth_sign_in button").click()
    page.wait_for_url(re.compile(re.escape(provider) + "/oauth2/authorize"), timeout=60_000)
    page.get_by_role("heading", name="Authorize Client").wait_for(timeout=30_000)
    page.get_by_role("button", name=who["sub"], exact=True).click()


def _settled(page) -> None:
    """Wait until the script run has finished (the running indicator gone), then a moment for charts to draw."""
    page.wait_for_timeout(500)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=90_000)
    page.wait_for_timeout(1500)


def _nav_paths(page) -> list[str]:
    """The paths the sidebar's page navigation links to."""
    return [a.get_attribute("href") or "" for a in page.locator("[data-testid=stSidebarNav] a").all()]


def _sign_out(page, provider: str, key: str = "auth_sign_out") -> None:
    """The sign-out button, the provider's end-session confirmation, back at the sign-in screen."""
    page.locator(f".st-key-{key} button").click()
    page.wait_for_url(re.compile(re.escape(provider) + "/oauth2/end_session"), timeout=60_000)
    page.get_by_role("button", name="End session").click()
    _sign_in_screen(page)


@pytest.mark.slow
def test_unit_head_signs_in_sees_only_their_unit_and_signs_out(app, provider, browser, unit_names):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    page.goto(f"{app}/?lang=zh")
    _sign_in_screen(page)
    _settled(page)
    html = page.content()
    assert not [n for n in unit_names.values() if n in html], "the sign-in screen shows unit data"
    assert page.locator("[data-testid=stSidebarNav]").count() == 0
    assert page.locator("[data-testid=stMetric]").count() == 0
    page.screenshot(path=str(ARTIFACTS / "signin_screen_zh.png"), full_page=True)

    page.locator(".st-key-auth_sign_in button").click()
    page.wait_for_url(re.compile(re.escape(provider) + "/oauth2/authorize"), timeout=60_000)
    page.get_by_role("heading", name="Authorize Client").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "signin_provider.png"), full_page=True)
    page.get_by_role("button", name=UNIT_HEAD["sub"], exact=True).click()

    page.wait_for_url(re.compile(re.escape(app) + r"/(\?.*)?$"), timeout=60_000)
    sidebar = page.locator("[data-testid=stSidebar]")
    signed_in = sidebar.get_by_text(f"已登录：{UNIT_HEAD['name']} · 单位负责人 · {UNIT}")
    signed_in.wait_for(timeout=90_000)
    assert signed_in.locator("em").count() == 0
    page.get_by_role("heading", name="月度总览").wait_for(timeout=90_000)
    page.locator("[data-testid=stMetric]").first.wait_for(timeout=90_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=90_000)
    _settled(page)
    assert page.locator("[data-testid=stException]").count() == 0
    html = page.content()
    mine = unit_names[UNIT]
    assert mine in html
    others = sorted(n for c, n in unit_names.items() if c != UNIT and n not in mine and n in html)
    assert not others, f"a unit head for {UNIT} sees other units: {others}"
    paths = _nav_paths(page)
    assert len(paths) >= 5 and not [p for p in paths if p.rstrip("/").endswith("/data")], paths
    page.screenshot(path=str(ARTIFACTS / "signin_unit_head_zh.png"), full_page=True)

    # Typing the Data page's address does not open it either: Streamlit says so and runs the main page.
    page.goto(f"{app}/data?lang=zh")
    sidebar.get_by_text(f"已登录：{UNIT_HEAD['name']}", exact=False).wait_for(timeout=90_000)
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Page not found").wait_for(timeout=90_000)
    _settled(page)
    assert page.get_by_role("heading", name="隔离区").count() == 0
    assert page.locator("[data-testid=stFileUploader]").count() == 0
    page.screenshot(path=str(ARTIFACTS / "signin_unit_head_data_url_zh.png"), full_page=True)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden", timeout=30_000)

    _sign_out(page, provider)
    _settled(page)
    html = page.content()
    assert not [n for n in unit_names.values() if n in html]
    assert page.locator("[data-testid=stSidebarNav]").count() == 0
    page.screenshot(path=str(ARTIFACTS / "signin_signed_out_zh.png"), full_page=True)
    context.close()


@pytest.mark.slow
def test_hall_office_group_reaches_the_data_page(app, provider, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    page.goto(f"{app}/?lang=zh")
    _sign_in_screen(page)
    _sign_in(page, provider, OFFICE)
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_text(f"已登录：{OFFICE['name']} · 中心办公室").wait_for(timeout=90_000)
    page.get_by_role("heading", name="月度总览").wait_for(timeout=90_000)
    link = page.locator("[data-testid=stSidebarNav] a[href$='/data']")
    link.wait_for(timeout=30_000)
    link.click()
    page.get_by_role("heading", name="数据", exact=True).wait_for(timeout=90_000)
    page.get_by_role("heading", name="隔离区").wait_for(timeout=90_000)
    page.locator("[data-testid=stFileUploader]").wait_for(timeout=60_000)
    _settled(page)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.url.split("?")[0].rstrip("/").endswith("/data")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "signin_office_data_zh.png"), full_page=True)
    _sign_out(page, provider)
    context.close()


@pytest.mark.slow
def test_identity_without_a_grant_sees_the_no_role_message(app, provider, browser, unit_names):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{app}/?lang=zh")
    _sign_in_screen(page)
    _sign_in(page, provider, STRANGER)
    alert = page.locator("[data-testid=stAlert]").filter(has_text="角色文件未给该账号分配角色")
    alert.wait_for(timeout=90_000)
    _settled(page)
    # The address is shown as text, not as a mailto link (an invisible word joiner follows its "@").
    assert f"您已以 {STRANGER['email']} 登录" in alert.inner_text().replace(WORD_JOINER, "")
    assert alert.locator("a").count() == 0
    html = page.content()
    assert not [n for n in unit_names.values() if n in html]
    assert page.locator("[data-testid=stSidebarNav]").count() == 0
    assert page.locator("[data-testid=stMetric]").count() == 0
    assert page.locator(".st-key-auth_sign_in").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "signin_no_role_zh.png"), full_page=True)
    _sign_out(page, provider, key="auth_sign_out_none")
    context.close()


# --- `hall serve` on a network address (fast: no browser, no data) -----------------------------------------------


def _serve(tmp_path: Path, *args: str, out=subprocess.PIPE) -> subprocess.Popen:
    # HOME elsewhere, so a ~/.streamlit/secrets.toml on this machine cannot configure sign-in behind the test's back.
    env = {**os.environ, "HALL_DATA": str(tmp_path / "data"), "HOME": str(tmp_path / "home")}
    env.pop("HALL_ROLES", None)
    return subprocess.Popen([str(HALL), "serve", *args], env=env, stdout=out, stderr=out, start_new_session=True)


@pytest.mark.parametrize("secrets_text", [
    None,                                                   # no --secrets: the default places
    "",                                                     # a secrets file without [auth]
    '[auth]\nredirect_uri = "http://x.example/oauth2callback"\nclient_id = "c"\nclient_secret = "s"\n'
    'server_metadata_url = "http://x.example/.well-known/openid-configuration"\n',  # no cookie_secret
    '[auth]\nredirect_uri = "http://x.example/oauth2callback"\ncookie_secret = "k"\nclient_id = "c"\n'
    'server_metadata_url = "http://x.example/.well-known/openid-configuration"\n',  # no client_secret
    # A named provider alone: the app's st.login() (no name) signs in with the default provider only.
    '[auth]\nredirect_uri = "http://x.example/oauth2callback"\ncookie_secret = "k"\n[auth.keycloak]\n'
    'client_id = "c"\nclient_secret = "s"\nserver_metadata_url = "http://x.example/.well-known/openid-configuration"\n',
], ids=["default-places", "no-auth", "no-cookie-secret", "no-client-secret", "named-provider-only"])
def test_serve_refuses_a_network_address_without_sign_in(tmp_path, secrets_text):
    from dashboard.core.access import secrets_files, sign_in_configured

    args = ["--address", "0.0.0.0", "--port", str(free_port())]
    if secrets_text is None:
        if sign_in_configured(secrets_files()[1:]):
            pytest.skip("this checkout's .streamlit/secrets.toml configures sign-in")
    else:
        (tmp_path / "secrets.toml").write_text(secrets_text, encoding="utf-8")
        args += ["--secrets", str(tmp_path / "secrets.toml")]
    proc = _serve(tmp_path, *args)
    try:
        _, stderr = proc.communicate(timeout=120)
    finally:
        _stop(proc)
    assert proc.returncode == 2
    assert "refusing to serve on 0.0.0.0 without sign-in" in stderr.decode()


@pytest.mark.parametrize("table", [False, True], ids=["auth-keys", "auth-default-table"])
def test_serve_starts_on_a_network_address_with_sign_in_configured(tmp_path, table):
    port = free_port()
    secrets_file = tmp_path / "secrets.toml"
    # The provider is never asked: Streamlit reads its metadata only when someone signs in.
    metadata = "http://127.0.0.1:9/.well-known/openid-configuration"
    text = _auth_section(f"http://localhost:{port}", metadata)
    if table:  # the provider's keys in [auth.default], which st.login() without a name also uses
        text = text.replace('client_id = ', '[auth.default]\nclient_id = ')
    secrets_file.write_text(text, encoding="utf-8")
    proc = _serve(tmp_path, "--address", "0.0.0.0", "--port", str(port), "--secrets", str(secrets_file),
                  out=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc, "hall serve --address 0.0.0.0", seconds=120)
    finally:
        _stop(proc)  # stopped as soon as it listens: it would otherwise serve every interface


# --- demo mode (no provider) is for this machine only, even behind a reverse proxy on it ----------------------------


def _refused_demo(page, shot: str) -> None:
    page.get_by_text("演示模式（未配置登录服务）仅供本机访问").wait_for(timeout=90_000)
    _settled(page)
    assert page.locator("[data-testid=stMetric]").count() == 0
    assert page.locator("[data-testid=stSidebarNav]").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot))


@pytest.mark.slow
def test_demo_mode_refuses_a_forwarded_user(server, browser):
    """A reverse proxy on this machine connects from loopback; the X-Forwarded-For it adds (nginx with
    proxy_add_x_forwarded_for, Caddy always) shows the user is elsewhere."""
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  extra_http_headers={"X-Forwarded-For": "203.0.113.9"})
    page = context.new_page()
    page.goto(f"{server}/?lang=zh&as=office")
    _refused_demo(page, "demo_forwarded_zh.png")
    context.close()


@pytest.mark.slow
def test_demo_mode_refuses_a_page_served_under_another_name(server, browser):
    """A proxy that passes the public Host on (`proxy_set_header Host $host`): the browser's Origin and Host name
    the public host although the connection comes from loopback. Chromium maps the name to 127.0.0.1 here."""
    port = server.rsplit(":", 1)[1]
    # A second Chromium from the same Playwright (a nested sync_playwright() would fail), resolving the name.
    b = browser.browser_type.launch(executable_path=CHROMIUM,
                                    args=[*FLAGS, "--host-resolver-rules=MAP scorecard.hall.test 127.0.0.1"])
    try:
        page = b.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"http://scorecard.hall.test:{port}/?lang=zh&as=office")
        _refused_demo(page, "demo_other_name_zh.png")
    finally:
        b.close()


@pytest.mark.slow
def test_demo_mode_serves_this_machine(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/?lang=zh&as=office")
    page.get_by_role("heading", name="月度总览").wait_for(timeout=90_000)
    page.locator("[data-testid=stSidebar]").get_by_text("演示模式：未配置登录服务").wait_for(timeout=30_000)
    page.locator("[data-testid=stSidebarNav] a[href$='/data']").wait_for(timeout=30_000)
    context.close()
