"""The row-level-security matrix (issue 12): every role × every page × URL parameters, on the demo lake.

Each combination opens the page the way a pasted link does (AppTest deep link, demo mode's role switcher standing in
for sign-in) and must render without an exception. For a unit head, nothing another unit owns may reach the browser:
no other unit's code or name, none of its window codes or names, none of its staff ids or names — in the main area
(every element's text: Markdown, captions, metric labels and values, dataframe cells, widget options, Plotly specs),
in the sidebar (except the demo role switcher, which lists units by design), and in every file the page offers for
download (made as a click makes it: CSV, XLSX read back from its XML, PDF through pdftotext). What another unit
owns is read from the mart files with pyarrow, not through the dashboard. A unit head's rank must be the hall-wide
rank (the same as scoring outside any session).

Matrix: roles (leadership, unit_head ×2 units, office, auditor) × the pages each may open × 13 URL parameter sets,
plus the unit heads again with every page forgetting their scope (the data layer must narrow it):
    leadership 8 pages, unit_head 8 + 8, office 9, auditor 9  → 42 role×page pairs × 13 params = 546
    unit heads with pages passing scope=None: 2 × 8 pages × 13 params                            = 208
    = 754 role×page×param combinations (`test_matrix_size` keeps this number true), plus the data page refused
    to leadership and unit heads (3 principals). The fast subset (unmarked) is 8 pages × 4 params for one unit head,
    8 pages for the same head with pages passing scope=None, and the data page checks; the rest is `slow`.
The downloads read back are counted and printed at the end of the module (run with -s): 1,960 files in the full
run (52 PDF, 980 XLSX, 928 CSV), 184 in the fast subset. The bulletin's files are made on click, outside the
session: `data.bulletin_file_makers` narrows the scope while the session is known, so a forgetful page holds too."""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import streamlit as st
from google.protobuf.message import Message
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from dashboard import data
from dashboard.core.db import REPO_ROOT
from dashboard.ui import state
from dashboard.ui.i18n import t
from dashboard.ui.nav import PAGES, REQUIRES

APP = str(REPO_ROOT / "dashboard" / "app.py")
ALL_PAGES = [p for p, _, _ in PAGES]
DATA_PAGE = "app_pages/data.py"
# Two unit heads: a department of the first circle and a township of the third; each is shown another unit's links.
HEADS = {"U003": "U025", "U031": "U001"}
# (role, unit) — the unit only for a unit head.
PRINCIPALS = [("leadership", None), ("unit_head", "U003"), ("unit_head", "U031"), ("office", None),
              ("auditor", None)]
OPERATIONS = {"office", "auditor"}  # roles that may open the data page (view_operations)

# URL parameter sets; {other}, {other_window}, {all_units}, {all_windows} are filled from the lake for each head.
PARAMS: dict[str, dict[str, str]] = {
    "none": {},
    "unit=other": {"unit": "{other}"},
    "window=other": {"window": "{other_window}"},
    "window+unit=other": {"window": "{other_window}", "unit": "{other}", "grain": "window"},
    "period=month": {"period": "2025-03"},
    "period=quarter": {"period": "2025-Q1"},
    "period=year": {"period": "2024"},
    "ruleset=hall_efficiency": {"ruleset": "hall_efficiency", "view": "red_black"},
    "ruleset=huozhou_windows": {"ruleset": "huozhou_windows", "grain": "window"},
    "ruleset=huozhou_staff": {"ruleset": "huozhou_staff", "grain": "staff"},
    "unit=U001,U002": {"unit": "U001,U002", "window": "W001,W002"},
    "units=all": {"units": "{all_units}", "windows": "{all_windows}", "unit": "{all_units}"},
    "ruleset=other+period": {"ruleset": "anshan_stationed", "period": "2025-Q2", "whatif_subject": "{other}"},
}
FAST_PARAMS = ("none", "unit=other", "window+unit=other", "units=all")


def _pages_of(role: str) -> list[str]:
    return [p for p in ALL_PAGES if p not in REQUIRES or role in OPERATIONS]


def _combos(forgetful: bool = False) -> list[tuple]:
    out = []
    for role, unit in PRINCIPALS:
        if forgetful and role != "unit_head":
            continue
        for page in _pages_of(role):
            for name in PARAMS:
                fast = role == "unit_head" and unit == "U003" and (name in FAST_PARAMS if not forgetful
                                                                  else name == "none")
                marks = () if fast else (pytest.mark.slow,)
                out.append(pytest.param(role, unit, page, name, marks=marks,
                                        id=f"{role}{'-' + unit if unit else ''}-{Path(page).stem}-{name}"))
    return out


MATRIX = _combos()
FORGETFUL = _combos(forgetful=True)
COUNTS: Counter = Counter()


def test_matrix_size():
    """The numbers in the module's docstring."""
    assert len(MATRIX) == 546 and len(FORGETFUL) == 208
    assert sum(len(_pages_of(r)) for r, _ in PRINCIPALS) == 42 and len(PARAMS) == 13
    assert __doc__ and "= 754 role×page×param" in __doc__ and len(MATRIX) + len(FORGETFUL) == 754


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\naccess matrix: {COUNTS['combos']} role×page×param combinations rendered "
          f"({COUNTS['checked']} checked for other units' data), {COUNTS['downloads']} downloads read back "
          f"({COUNTS['pdf']} PDF, {COUNTS['xlsx']} XLSX, {COUNTS['csv']} CSV), {COUNTS['refused']} data-page refusals")


# --- what each unit owns, from the mart files -----------------------------------------------------------------


@pytest.fixture(scope="module")
def lake_facts(demo_lake) -> dict:
    marts = demo_lake.marts
    units = pq.read_table(marts / "unit_month.parquet", columns=["period", "unit_code", "unit_name"]).to_pylist()
    windows = pq.read_table(marts / "window_month.parquet",
                            columns=["period", "unit_code", "window_code", "window_name", "cases_accepted"]).to_pylist()
    staff = pq.read_table(marts / "staff_month.parquet", columns=["unit_code", "staff_id", "staff_name"]).to_pylist()
    latest = max(r["period"] for r in units)
    owned: dict[str, dict[str, set[str]]] = {}
    for r in units:
        o = owned.setdefault(r["unit_code"], {"codes": set(), "names": set(), "unit_names": set()})
        o["codes"].add(r["unit_code"])
        if r["unit_name"]:
            o["names"].add(r["unit_name"])
            o["unit_names"].add(r["unit_name"])
    for r in windows:
        if r["window_code"]:
            owned[r["unit_code"]]["codes"].add(r["window_code"])
        if r["window_name"]:
            owned[r["unit_code"]]["names"].add(r["window_name"])
    for r in staff:
        if r["staff_id"]:
            owned[r["unit_code"]]["codes"].add(r["staff_id"])
        if r["staff_name"]:
            owned[r["unit_code"]]["names"].add(r["staff_name"])
    busiest = {}
    for r in windows:
        if r["period"] == latest and r["window_code"]:
            best = busiest.get(r["unit_code"])
            if best is None or (r["cases_accepted"], r["window_code"]) > best:
                busiest[r["unit_code"]] = (r["cases_accepted"], r["window_code"])
    return {"owned": owned, "latest": latest, "busiest": {u: w for u, (_, w) in busiest.items()},
            "all_units": sorted(owned), "all_windows": sorted({r["window_code"] for r in windows if r["window_code"]})}


# The rules page shows the ruleset files' own text (rule cards, embedded cases) to every reader; a name written in
# them (a department named in a clause, say) is the author's text, not a unit's data.
_RULESET_TEXT = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO_ROOT / "rulesets").rglob("*.yaml")))


def _forbidden(facts: dict, unit: str, page: str = "") -> tuple[re.Pattern, list[str]]:
    """Codes (matched as whole tokens) and names another unit owns and `unit` does not."""
    own = facts["owned"][unit]
    codes = {c for u, o in facts["owned"].items() if u != unit for c in o["codes"]} - own["codes"]
    names = {n for u, o in facts["owned"].items() if u != unit for n in o["names"]} - own["names"]
    # A name inside one of the unit's own names (a two-character staff name within a longer one) says nothing.
    names = {n for n in names if not any(n in mine for mine in own["names"])}
    if page.endswith("rules.py"):
        names = {n for n in names if n not in _RULESET_TEXT}
    pattern = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, sorted(codes))) + r")(?![A-Za-z0-9])")
    return pattern, sorted(names)


def _params(name: str, facts: dict, unit: str | None) -> dict[str, str]:
    other = HEADS.get(unit or "", "U001")
    values = {"other": other, "other_window": facts["busiest"][other], "all_units": ",".join(facts["all_units"]),
              "all_windows": ",".join(facts["all_windows"])}
    return {k: v.format(**values) for k, v in PARAMS[name].items()}


# --- opening a page and reading back everything it sends ---------------------------------------------------------


def _open(demo_lake, monkeypatch, role: str, unit: str | None, page: str, params: dict[str, str],
          forgetful: bool = False) -> tuple[AppTest, list[tuple[str, object]]]:
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    offered: list[tuple[str, object]] = []
    original = DeltaGenerator.download_button

    def recording(self, label, data=None, file_name=None, *args, **kwargs):
        offered.append((file_name or "", data))
        return original(self, label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", recording)
    monkeypatch.setattr(st, "download_button", lambda *a, **k: recording(st._main, *a, **k))
    if forgetful:
        # Every page asks for every unit, as a page that forgot the user's scope would: the data layer must narrow.
        monkeypatch.setattr(state, "current_scope", lambda: None)
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["auth_demo_role"] = role
    if unit:
        at.session_state["auth_demo_unit"] = unit
    at.query_params.update(params)
    # Before the first run AppTest finds a page by its URL path, as a pasted link does (…/unit?unit=U001).
    at.switch_page(page).run()
    assert not at.exception, (page, params, [e.value for e in at.exception])
    return at, offered


def _proto_strings(msg: Message, out: list[str]) -> None:
    for field, value in msg.ListFields():
        repeated = field.is_repeated
        if field.type == field.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                for k, v in value.items():
                    out.append(str(k))
                    if isinstance(v, Message):
                        _proto_strings(v, out)
                    else:
                        out.append(str(v))
                continue
            for v in value if repeated else [value]:
                _proto_strings(v, out)
        elif field.type == field.TYPE_STRING:
            for v in value if repeated else [value]:
                out.append(v)
                if v[:1] in "{[":  # a Plotly spec or a column config: its \\u escapes read as the text they are
                    with contextlib.suppress(ValueError):
                        out.append(json.dumps(json.loads(v), ensure_ascii=False))


def _texts(node, out: list[str], skip_keys: tuple[str, ...] = ()) -> None:
    """Every string an element tree sends: protobuf string fields (recursively) and dataframes' cells."""
    key = getattr(node, "key", None)
    if key and key.startswith(skip_keys):
        return
    if getattr(node, "children", None) is not None:
        if node.proto is not None:
            _proto_strings(node.proto, out)
        for child in node.children.values():
            _texts(child, out, skip_keys)
        return
    if node.type in ("dataframe", "arrow_data_frame", "table", "arrow_table"):
        df = node.value
        out.extend(str(c) for c in df.columns)
        out.extend(str(i) for i in df.index)
        out.extend(str(v) for col in df.columns for v in df[col].tolist())
    proto = getattr(node, "proto", None)
    if isinstance(proto, Message):
        _proto_strings(proto, out)


def _keys(node) -> list[str]:
    own = [node.key] if getattr(node, "key", None) else []
    children = getattr(node, "children", None) or {}
    return own + [k for child in children.values() for k in _keys(child)]


def _file_text(content: bytes, tmp_path: Path) -> tuple[str, str]:
    if content[:4] == b"%PDF":
        pdf = tmp_path / "download.pdf"
        pdf.write_bytes(content)
        return "pdf", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                     check=True).stdout
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return "xlsx", "\n".join(html.unescape(z.read(n).decode("utf-8")) for n in z.namelist()
                                     if n.endswith(".xml"))
    return "csv", content.decode("utf-8-sig")


def _downloads(offered, tmp_path: Path) -> list[tuple[str, str]]:
    """(file name, text) of every file offered, made the way a click makes it: the deferred callable runs on a
    server thread with no script run context, so here, outside AppTest's run, it runs the same way."""
    files = []
    for file_name, payload in offered:
        content = payload() if callable(payload) else payload
        content = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        kind, text = _file_text(content, tmp_path)
        COUNTS["downloads"] += 1
        COUNTS[kind] += 1
        files.append((file_name, text))
    return files


def _leaks(text: str, codes: re.Pattern, names: list[str]) -> set[str]:
    return set(codes.findall(text)) | {n for n in names if n in text}


def _units_shown(text: str, facts: dict) -> set[str]:
    """The units whose code, name, window or staff the text holds (a staff name only if longer than three
    characters: a short one could be any word)."""
    out = set()
    for u, o in facts["owned"].items():
        codes = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, sorted(o["codes"]))) + r")(?![A-Za-z0-9])")
        if codes.search(text) or any(n in text for n in o["names"] if len(n) > 3 or n in o["unit_names"]):
            out.add(u)
    return out


# Pages that always show something of the unit head's own unit (the reading-back must see it: a sanity check).
SHOWS_OWN_UNIT = ("overview", "rankings", "trends", "unit", "window", "bulletin")


def _check(at: AppTest, offered, facts: dict, unit: str, page: str, tmp_path: Path) -> None:
    codes, names = _forbidden(facts, unit, page)
    main: list[str] = []
    _texts(at.main, main)
    main_text = "\n".join(main)
    assert _leaks(main_text, codes, names) == set()
    if Path(page).stem in SHOWS_OWN_UNIT:
        assert _units_shown(main_text, facts) == {unit}, page
    side: list[str] = []
    _texts(at.sidebar, side, skip_keys=("auth_demo_",))
    assert _leaks("\n".join(side), codes, names) == set()
    for file_name, text in _downloads(offered, tmp_path):
        assert _leaks(file_name, codes, names) == set(), file_name
        assert _leaks(text, codes, names) == set(), file_name
    COUNTS["checked"] += 1


# --- the matrix ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "unit", "page", "params"), MATRIX)
def test_matrix(demo_lake, lake_facts, monkeypatch, tmp_path, role, unit, page, params):
    at, offered = _open(demo_lake, monkeypatch, role, unit, page, _params(params, lake_facts, unit))
    COUNTS["combos"] += 1
    who = at.session_state[data.PRINCIPAL_KEY]
    assert who.role == role and who.scope == ((unit,) if unit else None)
    if role == "unit_head":
        _check(at, offered, lake_facts, unit, page, tmp_path)
    elif Path(page).stem in ("overview", "rankings", "breaches", "bulletin"):
        # The roles that see every unit are shown many (so the reading-back above could see a leak).
        main: list[str] = []
        _texts(at.main, main)
        assert len(_units_shown("\n".join(main), lake_facts)) > 1, (page, params)


@pytest.mark.parametrize(("role", "unit", "page", "params"), FORGETFUL)
def test_matrix_with_pages_that_forget_the_scope(demo_lake, lake_facts, monkeypatch, tmp_path, role, unit, page,
                                                 params):
    at, offered = _open(demo_lake, monkeypatch, role, unit, page, _params(params, lake_facts, unit), forgetful=True)
    COUNTS["combos"] += 1
    _check(at, offered, lake_facts, unit, page, tmp_path)


@pytest.mark.parametrize(("role", "unit"), [("leadership", None), ("unit_head", "U003"), ("unit_head", "U031")])
def test_the_data_page_is_not_theirs(demo_lake, lake_facts, monkeypatch, tmp_path, role, unit):
    # A pasted link to the data page lands on the default page: st.navigation does not know the page for this role.
    at, offered = _open(demo_lake, monkeypatch, role, unit, DATA_PAGE, {})
    assert [x.value for x in at.title] == [t("overview.title", "zh")]
    main: list[str] = []
    _texts(at.main, main)
    assert not any(t("data_page.title", "zh") == s for s in main)
    assert not [k for k in _keys(at.main) if k.startswith("data_")]  # none of the data page's widgets
    if unit:
        _check(at, offered, lake_facts, unit, "app_pages/overview.py", tmp_path)
    # Once the app has run, the page is not in its navigation at all: AppTest cannot even switch to it.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(DATA_PAGE)
    COUNTS["refused"] += 1  # (the data layer's own refusals: tests/test_access.py)


@pytest.mark.parametrize("role", sorted(OPERATIONS))
def test_the_data_page_is_theirs(demo_lake, monkeypatch, tmp_path, role):
    at, _ = _open(demo_lake, monkeypatch, role, None, DATA_PAGE, {})
    assert [x.value for x in at.title] == [t("data_page.title", "zh")]
    at.switch_page(DATA_PAGE)  # registered


# --- a unit head's rank is the hall's --------------------------------------------------------------------------


@pytest.mark.parametrize("period", [None, "2025-Q1"])
@pytest.mark.parametrize("unit", list(HEADS))
def test_a_unit_heads_rank_is_hall_wide(demo_lake, lake_facts, monkeypatch, unit, period):
    params = {"period": period} if period else {}
    at, _ = _open(demo_lake, monkeypatch, "unit_head", unit, "app_pages/unit.py", params)
    shown_period = at.query_params["period"]
    shown_period = shown_period[0] if isinstance(shown_period, list) else shown_period
    ruleset = at.query_params["ruleset"]
    ruleset = ruleset[0] if isinstance(ruleset, list) else ruleset
    assert shown_period == (period or lake_facts["latest"])
    # Scored outside any session (TRUSTED): every unit of the hall.
    trusted = data.scores(ruleset, shown_period, None)[0]
    assert trusted.height == len(lake_facts["all_units"])
    mine = trusted.filter(trusted["subject"] == unit).to_dicts()[0]
    assert mine["rank"] is not None
    metric = {m.label: m.value for m in at.metric}[t("unit_page.score.rank", "zh")]
    # Counted here from the trusted scores (the hall, or the unit's group when the ruleset ranks per 圈层), not taken
    # from the column the page reads.
    ranked = trusted.filter(trusted["rank"].is_not_null())
    if data.ruleset_meta(ruleset, shown_period)["ranking_within"] == "group":
        ranked = ranked.filter(ranked["grp"] == mine["grp"])
    n = ranked.height
    assert n > 1
    assert metric == t("unit_page.score.rank_of", "zh", rank=mine["rank"], n=n)

    at, _ = _open(demo_lake, monkeypatch, "unit_head", unit, "app_pages/rankings.py", {**params, "ruleset": ruleset})
    table = next(d.value for d in at.dataframe if t("rankings.col.code", "zh") in d.value.columns)
    assert table[t("rankings.col.code", "zh")].tolist() == [unit]
    assert table[t("rankings.col.rank", "zh")].tolist() == [mine["rank"]]
    # The ruleset line counts the hall's ranked units, not the one row a unit head sees.
    assert any(f"共 {n} 个对象" in c.value for c in at.caption), [c.value for c in at.caption]
