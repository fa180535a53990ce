"""Who may see and do what (issue 12), fast: the roles and their scopes, `narrow`, the roles file (matching and
file:line:col errors), the data layer's refusals inside a session (audited), its narrowing of a page that asks for
every unit, and the guard on the browser's "Clear cache" message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import streamlit as st
from conftest import UNITS, export_schema
from streamlit.testing.v1 import AppTest

from dashboard import data
from dashboard.core import audit
from dashboard.core.access import (
    ROLES,
    WRITE_ACTIONS,
    AccessDenied,
    Principal,
    RolesFileError,
    load_roles,
    narrow,
    require,
)
from dashboard.core.db import REPO_ROOT, Lake

LEADER = Principal("demo:leadership", "leadership")
HEAD = Principal("head@x", "unit_head", ("U003", "U001", "U003"))
OFFICE = Principal("office@x", "office")
AUDITOR = Principal("audit@x", "auditor")
EVERY_ACTION = ("upload", "rebuild", "clear_cache", "record_events", "publish", "edit_rules", "view_operations")


# --- roles ------------------------------------------------------------------------------------------------------


def test_scope_of_each_role():
    assert LEADER.scope is None and OFFICE.scope is None and AUDITOR.scope is None
    assert HEAD.scope == ("U001", "U003")  # sorted, duplicates gone
    # Units given to another role widen nothing and narrow nothing: only a unit head is limited.
    assert Principal("x", "leadership", ("U001",)).scope is None
    assert Principal("x", "unit_head").scope == ()  # a unit head with no unit sees nothing, not everything


@pytest.mark.parametrize(("who", "allowed"), [
    (LEADER, set()),
    (HEAD, set()),
    (OFFICE, set(EVERY_ACTION)),
    (AUDITOR, {"view_operations"}),
])
def test_what_each_role_may_do(who, allowed):
    assert {a for a in EVERY_ACTION if who.can(a)} == allowed
    for action in EVERY_ACTION:
        if action in allowed:
            assert require(who, action) is who
        else:
            with pytest.raises(AccessDenied, match=f"may not {action}"):
                require(who, action)
    assert not any(AUDITOR.can(a) for a in WRITE_ACTIONS)  # the auditor changes nothing


def test_nobody_may_do_anything():
    with pytest.raises(AccessDenied, match="nobody signed in may not upload"):
        require(None, "upload")
    assert set(ROLES) == {"leadership", "unit_head", "office", "auditor"}


@pytest.mark.parametrize(("allowed", "requested", "expected"), [
    (None, None, None),
    (None, ("U002", "U001", "U002"), ("U001", "U002")),
    (("U003", "U001"), None, ("U001", "U003")),
    (("U001", "U003"), ("U003", "U009"), ("U003",)),
    (("U001",), ("U009",), ()),
    (("U001",), (), ()),
    ((), None, ()),
])
def test_narrow(allowed, requested, expected):
    assert narrow(allowed, requested) == expected


# --- the roles file -----------------------------------------------------------------------------------------------

GOOD = """\
grants:
  - match: {sub: "abc-123"}
    role: auditor
  - match: {email: Head.Tax@Hall.Example.gov.cn}
    role: unit_head
    units: [U025, U001]
  - match: {group: hall-office}
    role: office
  - match: {email: director@hall.example.gov.cn}
    role: leadership
  - match: {group: hall-office}
    role: leadership
"""


def _roles(tmp_path, text: str) -> Path:
    path = tmp_path / "roles.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_roles_file_loads():
    roles = load_roles(REPO_ROOT / "config" / "roles.example.yaml")
    assert roles.principal({"groups": ["hall-office"], "email": "a@b.c"}).role == "office"


def test_matching_by_sub_email_and_group(tmp_path):
    roles = load_roles(_roles(tmp_path, GOOD))
    by_sub = roles.principal({"sub": "abc-123", "name": "审计员"})
    assert (by_sub.role, by_sub.subject, by_sub.name, by_sub.scope) == ("auditor", "abc-123", "审计员", None)
    # An e-mail address matches whatever case either side writes it in.
    head = roles.principal({"sub": "zzz", "email": "  head.tax@HALL.example.GOV.CN "})
    assert head.role == "unit_head" and head.scope == ("U001", "U025")
    assert roles.principal({"sub": "q", "groups": ["staff", "hall-office"]}).role == "office"
    assert roles.principal({"sub": "q", "groups": "hall-office"}).role == "office"  # one group as a string
    # First match wins: the office group is granted before the director's address (and again as leadership).
    both = roles.principal({"email": "director@hall.example.gov.cn", "groups": ["hall-office"]})
    assert both.role == "office"
    assert roles.principal({"email": "director@hall.example.gov.cn"}).role == "leadership"


@pytest.mark.parametrize("claims", [
    {},
    {"sub": "ABC-123"},  # a subject is compared exactly
    {"email": "someone@else.cn", "groups": ["hall-office-2", "HALL-OFFICE"]},
    {"sub": "", "email": "", "groups": []},
])
def test_no_match_is_none(tmp_path, claims):
    assert load_roles(_roles(tmp_path, GOOD)).principal(claims) is None


BAD = {
    "unknown key": ("""\
grants:
  - match: {sub: a}
    role: office
    colour: red
""", 4, 5, "unknown key 'colour'"),
    "unknown role": ("""\
grants:
  - match: {sub: a}
    role: office
  - match: {sub: b}
    role: superuser
""", 5, 11, "role: must be one of leadership, unit_head, office, auditor, not 'superuser'"),
    "unit head without units": ("""\
grants:
  - match: {sub: a}
    role: office
  - match: {email: h@x.cn}
    role: unit_head
""", 4, 5, "a unit_head needs units"),
    "units on leadership": ("""\
grants:
  - match: {sub: a}
    role: leadership
    units: [U001]
""", 2, 5, "units are only for unit_head; a leadership sees every unit"),
    "match with two claims": ("""\
grants:
  - match: {sub: a}
    role: office
  - match: {sub: b, email: b@x.cn}
    role: auditor
""", 4, 12, "match exactly one of sub, email or group"),
    "bad YAML": ("""\
grants:
  - match: {sub: a}
    role: office
   - match: {sub: b}
""", 4, 4, "YAML:"),
    "bad unit code": ("""\
grants:
  - match: {sub: a}
    role: unit_head
    units: ["U 1"]
""", 2, 5, "not a unit code: 'U 1'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_errors_name_file_line_and_column(tmp_path, case):
    text, line, col, message = BAD[case]
    path = _roles(tmp_path, text)
    with pytest.raises(RolesFileError) as e:
        load_roles(path)
    rendered = [p.render() for p in e.value.problems]
    assert any(r.startswith(f"{path}:{line}:{col}: ") and message in r for r in rendered), rendered
    assert str(e.value).startswith(f"{path}:")


def test_not_a_mapping_and_not_utf8(tmp_path):
    path = _roles(tmp_path, "- just a list\n")
    with pytest.raises(RolesFileError, match=rf"^{path}:1:1: a roles file is a mapping"):
        load_roles(path)
    path.write_bytes("grants: []\n# 注释".encode("gbk"))
    with pytest.raises(RolesFileError, match=rf"^{path}:1:1: not UTF-8"):
        load_roles(path)


# --- the data layer inside a session --------------------------------------------------------------------------

# A page stand-in: it takes whatever it is told to try, with the principal the router would have set, and writes
# the outcome. Run by AppTest, so the data layer sees a script run context (a browser session), not TRUSTED code.
_SCRIPT = """\
import streamlit as st
from dashboard import data
from dashboard.core.access import AccessDenied

# The gate's workers are spawned: they import this file again as __mp_main__, and must not run it.
if __name__ == "__main__":
    action = st.session_state["try"]
    try:
        if action == "rebuild":
            data.build_marts()
        elif action == "upload":
            data.ingest_uploads([(name, content) for name, content in st.session_state["files"]])
        elif action == "clear_cache":
            data.clear_caches()
        elif action == "read_everything":
            # A page that forgot the user's scope and asks for every unit.
            month = st.session_state["month"]
            st.write(f"latest:{data.latest_period(None) or ''}")
            st.write("months:" + ",".join(data.periods(None)))
            st.write("unit_month:" + ",".join(sorted(data.unit_month(month, None)["unit_code"].to_list())))
            st.write("slice:" + ",".join(sorted(set(data.mart_slice("window_month", month, None)["unit_code"].to_list()))))
            results = data.scores("hall_efficiency", month, None)[0]
            st.write("scores:" + ",".join(sorted(results["subject"].to_list())))
            st.write("ranks:" + ",".join(f"{s}={r}" for s, r in zip(results["subject"], results["rank"])))
            st.write(f"ingest_log:{len(data.ingest_log(None))}")
            st.write(f"quarantine:{sum(len(x) for x in data.quarantine(None))}")
            st.write(f"audit:{len(data.audit_entries())}")
        st.write("outcome:allowed")
    except AccessDenied as e:
        st.write(f"outcome:refused:{e}")
"""


def _session(tmp_path, who: Principal | None, action: str, **state) -> dict[str, str]:
    script = tmp_path / "page_stand_in.py"
    script.write_text(_SCRIPT, encoding="utf-8")
    at = AppTest.from_file(str(script), default_timeout=120)
    at.session_state[data.PRINCIPAL_KEY] = who
    at.session_state["try"] = action
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    out = {}
    for md in at.markdown:
        key, _, value = md.value.partition(":")
        out[key] = value
    return out


def _audit_lines(lake: Lake) -> list[dict]:
    path = audit.audit_path(lake)
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _units_export() -> bytes:
    import io

    import pyarrow as pa

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(UNITS, schema=export_schema("units")), buf)
    return buf.getvalue()


REFUSED = [(who, action) for who in (LEADER, HEAD, AUDITOR, None) for action in ("rebuild", "upload", "clear_cache")]


@pytest.mark.parametrize(("who", "action"), REFUSED,
                         ids=[f"{w.role if w else 'nobody'}-{a}" for w, a in REFUSED])
def test_write_actions_are_refused_and_audited(lake, tmp_path, who, action):
    out = _session(tmp_path, who, action, files=[("units.parquet", _units_export())])
    assert out["outcome"].startswith("refused:"), out
    assert out["outcome"].endswith(f"may not {action}")
    entries = _audit_lines(lake)
    assert len(entries) == 1, entries
    e = entries[0]
    assert (e["action"], e["outcome"]) == (action, "refused")
    assert (e["subject"], e["role"]) == ((who.subject, who.role) if who else (None, None))
    if action == "upload":
        assert e["detail"] == {"files": ["units.parquet"]}
    # Nothing was written: no upload reached the warehouse, no build ran.
    assert not any(lake.table_dir("units").glob("**/*.parquet"))
    assert not lake.marts.exists() or not any(lake.marts.glob("*.parquet"))


def test_the_office_may_clear_caches(lake, tmp_path):
    out = _session(tmp_path, OFFICE, "clear_cache")
    assert out["outcome"] == "allowed"
    [e] = _audit_lines(lake)
    assert (e["subject"], e["role"], e["action"], e["outcome"]) == ("office@x", "office", "clear_cache", "done")


@pytest.mark.slow  # runs the gate's worker processes
def test_the_office_may_upload(lake, tmp_path):
    out = _session(tmp_path, OFFICE, "upload", files=[("units.parquet", _units_export())])
    assert out["outcome"] == "allowed"
    assert any(lake.table_dir("units").glob("**/*.parquet"))
    [e] = _audit_lines(lake)
    assert (e["role"], e["action"], e["outcome"]) == ("office", "upload", "done")
    assert e["detail"]["rows_accepted"] == len(UNITS)
    # The uploaded exports are not kept (they carry applicants' details).
    assert not any((lake.root / "demo" / "uploads").glob("*/*/*"))


def test_the_office_may_rebuild(demo_lake, tmp_path, monkeypatch):
    # A copy: the session's demo lake stays as every other test expects it.
    root = tmp_path / "copy"
    shutil.copytree(demo_lake.root, root)
    monkeypatch.setenv("HALL_DATA", str(root))
    before = (root / "lake" / "marts" / "unit_month.parquet").stat().st_mtime_ns
    out = _session(tmp_path, OFFICE, "rebuild")
    assert out["outcome"] == "allowed"
    assert (root / "lake" / "marts" / "unit_month.parquet").stat().st_mtime_ns != before
    # The copy may carry earlier entries (a server on the session's lake audits its roles file): this run's only.
    [e] = [x for x in _audit_lines(Lake(root)) if x["action"] == "rebuild"]
    assert (e["role"], e["action"], e["outcome"]) == ("office", "rebuild", "done")


def _lake_units(lake: Lake) -> tuple[str, list[str]]:
    """The newest month and every unit code in it, read from the mart file (not through the dashboard)."""
    rows = pq.read_table(lake.marts / "unit_month.parquet", columns=["period", "unit_code"]).to_pylist()
    month = max(r["period"] for r in rows)
    return month, sorted({r["unit_code"] for r in rows if r["period"] == month})


def test_a_unit_head_asking_for_every_unit_gets_theirs(demo_lake, tmp_path, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    month, every = _lake_units(demo_lake)
    assert len(every) == 40
    out = _session(tmp_path, HEAD, "read_everything", month=month)
    assert out["outcome"] == "allowed"
    assert out["unit_month"] == out["slice"] == out["scores"] == "U001,U003"
    assert out["latest"] == out["months"].split(",")[0] == month
    # Ranks stay hall-wide facts: the same as scoring outside any session (TRUSTED), not 1 and 2 of 2.
    trusted = data.scores("hall_efficiency", month, None)[0]
    assert trusted.height == 40
    ranks = dict(zip(trusted["subject"], trusted["rank"], strict=True))
    assert out["ranks"] == ",".join(f"{s}={ranks[s]}" for s in ("U001", "U003"))
    # The gate's log, the quarantine and the audit log are the hall's: not for a unit head.
    assert (out["ingest_log"], out["quarantine"], out["audit"]) == ("0", "0", "0")


@pytest.mark.parametrize("who", [OFFICE, AUDITOR, LEADER], ids=lambda w: w.role)
def test_roles_that_see_every_unit_get_every_unit(demo_lake, tmp_path, monkeypatch, who):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    month, every = _lake_units(demo_lake)
    out = _session(tmp_path, who, "read_everything", month=month)
    assert out["unit_month"] == out["scores"] == ",".join(every)
    operations = who.can("view_operations")
    assert (int(out["ingest_log"]) > 0) is operations  # the demo's gate run left a log
    assert (out["audit"] != "0") is (operations and audit.audit_path(demo_lake).exists())


def test_nobody_signed_in_reads_nothing(demo_lake, tmp_path, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    month, _ = _lake_units(demo_lake)
    out = _session(tmp_path, None, "read_everything", month=month)
    assert out["outcome"] == "allowed"
    assert out["latest"] == out["months"] == out["unit_month"] == out["slice"] == out["scores"] == ""
    assert (out["ingest_log"], out["quarantine"], out["audit"]) == ("0", "0", "0")


# --- the browser's "Clear cache" ------------------------------------------------------------------------------

_calls: list[int] = []


@st.cache_data(show_spinner=False)
def _cached(x: int) -> int:
    _calls.append(x)
    return x


class _StandInSession:
    """What the guard reads of an AppSession: its session state."""

    def __init__(self, who):
        self._session_state = {data.PRINCIPAL_KEY: who}


def _unguarded():
    from streamlit.runtime.app_session import AppSession

    handler = AppSession._handle_clear_cache_request
    while getattr(handler, "hall_guarded", False):  # installed by an earlier AppTest run in this process
        handler = dict(zip(handler.__code__.co_freevars, (c.cell_contents for c in handler.__closure__),
                           strict=True))["current"]
    return handler


@pytest.mark.parametrize(("who", "cleared"), [
    (LEADER, False), (HEAD, False), (AUDITOR, False), (None, False), ("not a principal", False), (OFFICE, True),
], ids=["leadership", "unit_head", "auditor", "nobody", "garbage", "office"])
def test_the_browser_cache_clear_is_guarded(lake, monkeypatch, who, cleared):
    from streamlit.runtime.app_session import AppSession

    from dashboard.ui.auth import guard_browser_cache_clear

    monkeypatch.setattr(AppSession, "_handle_clear_cache_request", _unguarded())
    guard_browser_cache_clear()
    handler = AppSession._handle_clear_cache_request
    assert handler.hall_guarded
    guard_browser_cache_clear()  # installed once: a second call does not wrap it again
    assert AppSession._handle_clear_cache_request is handler

    _cached.clear()
    _calls.clear()
    _cached(7)
    _cached(7)
    assert _calls == [7]  # cached
    session = _StandInSession(who)
    AppSession._handle_clear_cache_request(session)
    _cached(7)
    assert _calls == ([7, 7] if cleared else [7])
    assert (session._session_state == {}) is cleared  # the real handler also empties the session's state
    [e] = _audit_lines(lake)
    assert (e["action"], e["outcome"], e["detail"]) == ("clear_cache", "done" if cleared else "refused",
                                                       {"via": "browser"})
    assert e["role"] == (who.role if isinstance(who, Principal) else None)
