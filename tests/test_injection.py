"""Text from the data is shown as text: a unit, window or person named like Markdown, HTML or a spreadsheet formula
renders escaped on the pages and in the charts, and reaches every CSV and XLSX the app hands out as inert text.

The helpers are checked on their own; then a copy of the session's demo lake gets hostile names (a unit, one of its
windows, one of its staff) and the unit, window and overview pages and the bulletin are opened on it: the Markdown
the pages send is escaped, the charts carry entities, and every download the pages offer is read back."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from dashboard.core import bulletin, report
from dashboard.core.bulletin import Column
from dashboard.core.db import REPO_ROOT, Lake, connect
from dashboard.core.safe_text import FORMULA_STARTS, safe_cell
from dashboard.ui.format import chart_text, plain
from dashboard.ui.i18n import t

APP = str(REPO_ROOT / "dashboard" / "app.py")
PERIOD = "2025-06"
UNIT = "U021"
# A unit that is a formula, a remote image, a link, raw HTML, a colour directive and math all at once.
HOSTILE_UNIT = ('=HYPERLINK("http://127.0.0.1:9/x","y") ![x](http://127.0.0.1:9/x) <img src=x onerror=alert(1)> '
                ':red[hi] :material/home: $x^2$ www.example.com')
HOSTILE_WINDOW = "-2+3+cmd|' /C calc'!A0 ![w](http://127.0.0.1:9/w) <b>w</b>"
HOSTILE_STAFF = "@SUM(1+1)*cmd|' /C calc'!A0 [s](http://127.0.0.1:9/s)"
HOSTILE = (HOSTILE_UNIT, HOSTILE_WINDOW, HOSTILE_STAFF)
# Markdown that would render as something other than its text, when not escaped.
_LIVE_MARKDOWN = re.compile(r"(?<!\\)(!?\[[^\]]*(?<!\\)\]\(|<img|<b>|:red\[|:material/|\$x)")


# ---- the helpers ----------------------------------------------------------------------------------------------

def test_plain_escapes_every_ascii_punctuation_character_and_keeps_one_line():
    text = "".join(chr(c) for c in range(0x21, 0x7F)) + "\n第二行\r\n中文（甲）"
    got = plain(text)
    assert "\n" not in got and "\r" not in got
    # Each ASCII punctuation character is preceded by a backslash; letters, digits and CJK are left alone.
    unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", got)
    assert not re.search(r"[!-/:-@\[-`{-~]", unescaped), unescaped
    assert "中文（甲）" in got and "ABCDEFGHIJKLMNOPQRSTUVWXYZ" in got and "0123456789" in got
    assert plain(None) == ""


def test_plain_leaves_no_live_markdown_or_bare_links():
    for name in HOSTILE:
        got = plain(name)
        assert not _LIVE_MARKDOWN.search(got), got
    got = plain("see http://127.0.0.1:9/a www.example.com a@b.org")
    # The autolinker of GitHub-flavoured Markdown needs "http://", "www." and "@host" unbroken.
    assert "http\\:" not in got and "www\\." not in got and "\\@b" not in got
    assert "http\u2060\\:" in got and "www\u2060\\." in got and "\\@\u2060b" in got


def test_chart_text_opens_no_tag():
    got = chart_text('<a href="http://127.0.0.1:9/">x</a> <b>b</b> & <br>')
    assert "<" not in got and ">" not in got
    assert got == '&lt;a href="http://127.0.0.1:9/"&gt;x&lt;/a&gt; &lt;b&gt;b&lt;/b&gt; &amp; &lt;br&gt;'


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_safe_cell_quotes_every_formula_start(start):
    assert safe_cell(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"


def test_safe_cell_keeps_numbers_and_ordinary_text():
    for keep in (-5, 3.5, Fraction(1, 3), None, "", "甲", "a=b", "'=already", "-5", "-1,234.50", "+0.12%", "-0.50 pp",
                 "-0.50 个百分点", "↓3"):
        assert safe_cell(keep) == keep
    for quote in ("-2+3+cmd|' /C calc'!A0", "-1 A1", "=1+1", "+A1", "@SUM(A1)", "-HYPERLINK(\"x\")", "\t=1", "\r=1"):
        assert safe_cell(quote) == "'" + quote


def _xlsx_cells(data: bytes):
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def _assert_inert_xlsx(data: bytes) -> list[str]:
    """No formula, no link, and no text that a spreadsheet would read as one; returns the texts."""
    cells = _xlsx_cells(data)
    assert all(c.data_type != "f" for c in cells), [c.value for c in cells if c.data_type == "f"]
    assert all(c.hyperlink is None for c in cells)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert all(safe_cell(v) == v for v in texts), [v for v in texts if safe_cell(v) != v]
    return texts


def _assert_inert_csv(data: bytes) -> list[str]:
    cells = [v for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for v in row]
    assert all(safe_cell(v) == v for v in cells), [v for v in cells if safe_cell(v) != v]
    return cells


def test_table_downloads_quote_formulas_and_keep_numbers():
    cols = [Column("unit", "单位"), Column("score", "总分", "score"), Column("n", "件数", "int"),
            Column("change", "变化")]
    rows = [{"unit": name, "score": Decimal("-1.50"), "n": -7, "change": "-0.50"} for name in HOSTILE]
    texts = _assert_inert_csv(report.table_csv(cols, rows, "zh"))
    assert all("'" + name in texts for name in HOSTILE)
    assert "-7" in texts and "-0.50" in texts  # numbers printed as text stay as they are
    # A title a unit's name went into still makes a worksheet (Excel refuses []:*?/\ in sheet names).
    data = report.table_xlsx(f"{PERIOD}_{HOSTILE_UNIT}", cols, rows, "zh")
    texts = _assert_inert_xlsx(data)
    assert all("'" + name in texts for name in HOSTILE)
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws["C2"].value == -7 and ws["C2"].data_type == "n"  # a negative number stays a number
    assert ws["B2"].value == -1.5 and ws["B2"].data_type == "n"


# ---- the pages and the bulletin on a lake with hostile names ----------------------------------------------------

def _rename(path: Path, key: str, column: str, match: str, name: str) -> None:
    table = pq.read_table(path)
    i = table.schema.get_field_index(column)
    renamed = pc.if_else(pc.equal(table[key], match), pa.scalar(name, table.schema.field(column).type), table[column])
    pq.write_table(table.set_column(i, table.schema.field(column), renamed), path)


@pytest.fixture(scope="module")
def hostile(demo_lake, tmp_path_factory) -> dict:
    """A copy of the demo lake whose unit U021, one of its windows and one of its staff carry hostile names."""
    root = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(demo_lake.root, root, ignore=shutil.ignore_patterns("demo"))
    lake = Lake(root)
    windows = [r for r in pq.read_table(lake.marts / "window_month.parquet").to_pylist()
               if r["unit_code"] == UNIT and r["period"] == PERIOD and r["window_code"]]
    window = max(windows, key=lambda r: (r["cases_accepted"], r["window_code"]))["window_code"]
    staff = sorted(r["staff_id"] for r in pq.read_table(lake.marts / "staff_month.parquet").to_pylist()
                   if r["unit_code"] == UNIT and r["period"] == PERIOD and r["staff_window_code"] == window)[0]
    _rename(lake.marts / "unit_month.parquet", "unit_code", "unit_name", UNIT, HOSTILE_UNIT)
    _rename(lake.marts / "window_month.parquet", "window_code", "window_name", window, HOSTILE_WINDOW)
    _rename(lake.marts / "staff_month.parquet", "staff_id", "staff_name", staff, HOSTILE_STAFF)
    return {"lake": lake, "window": window, "staff": staff}


def _open(hostile: dict, monkeypatch, page: str, **params) -> tuple[AppTest, list]:
    """The page opened on the hostile lake, and what its download buttons were given to hand out."""
    monkeypatch.setenv("HALL_DATA", str(hostile["lake"].root))
    # AppTest runs without a server, so a button's file (made on click) is never made: keep what each was given.
    offered = []
    original = DeltaGenerator.download_button

    def recording(self, *args, **kwargs):
        offered.append(kwargs["data"] if "data" in kwargs else args[1])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", recording)
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at, offered


def _markdown_bodies(at: AppTest) -> list[str]:
    """Every body and label the page sends to be rendered as Markdown."""
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        out += [e.value for e in getattr(at, kind)]
    out += [str(e.label) for e in at.metric] + [str(e.value) for e in at.metric]
    out += [e.value for e in at.get("page_link")]
    return out


def _assert_escaped(at: AppTest) -> None:
    bodies = _markdown_bodies(at)
    live = [b for b in bodies if _LIVE_MARKDOWN.search(b)]
    assert not live, live


def _assert_downloads_inert(offered: list, *names: str) -> None:
    """Every file the page offers, made as a click makes it, is inert, and the hostile names are in them, quoted."""
    assert offered
    seen = []
    for data in offered:
        data = data() if callable(data) else data
        seen += _assert_inert_xlsx(data) if data[:2] == b"PK" else _assert_inert_csv(data)
    for name in names:
        assert "'" + name in seen, name


def test_the_unit_page_shows_a_hostile_unit_as_text_and_its_downloads_are_inert(hostile, monkeypatch):
    at, offered = _open(hostile, monkeypatch, "app_pages/unit.py", period=PERIOD, unit=UNIT)
    assert at.header[0].value == t("unit_page.heading", "zh", name=plain(HOSTILE_UNIT), code=UNIT, period=PERIOD)
    assert "\\!\\[x\\]\\(http\u2060\\:" in at.header[0].value
    _assert_escaped(at)
    # The unit's own table still shows its name as it is (st.dataframe cells are text).
    windows = next(d.value for d in at.dataframe if "受理办件" in d.value.columns)
    assert HOSTILE_WINDOW in windows[windows.columns[0]].to_list()
    _assert_downloads_inert(offered, HOSTILE_WINDOW)


def test_the_window_page_and_its_staff_download(hostile, monkeypatch):
    at, offered = _open(hostile, monkeypatch, "app_pages/window.py", period=PERIOD, unit=UNIT, window=hostile["window"])
    heading = at.subheader[0].value
    assert plain(HOSTILE_WINDOW) in heading and plain(HOSTILE_UNIT) in heading
    _assert_escaped(at)
    _assert_downloads_inert(offered, HOSTILE_STAFF)


def test_the_overview_chart_and_table_download(hostile, monkeypatch):
    at, offered = _open(hostile, monkeypatch, "app_pages/overview.py", period=PERIOD)
    _assert_escaped(at)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    labels = [x for s in specs for trace in s["data"] for x in (trace.get("x") or []) if isinstance(x, str)]
    assert chart_text(HOSTILE_UNIT) in labels
    assert not any("<img" in x or "<b>" in x for x in labels)
    _assert_downloads_inert(offered, HOSTILE_UNIT)


def test_the_bulletin_xlsx_quotes_the_hostile_unit(hostile):
    b = bulletin.build(connect(hostile["lake"]), PERIOD, "anshan_stationed", "zh")
    assert HOSTILE_UNIT in [r["unit"] for r in next(tb for tb in b.tables if tb.key == "ranking").rows]
    texts = _assert_inert_xlsx(report.to_xlsx(b))
    assert "'" + HOSTILE_UNIT in texts
    wb = openpyxl.load_workbook(io.BytesIO(report.to_xlsx(b)))
    cell = next(c for row in wb["排名"].iter_rows() for c in row if c.value == "'" + HOSTILE_UNIT)
    assert cell.data_type == "s"


@pytest.mark.slow  # makes the bulletin's PDF too (about 4 s)
def test_the_bulletin_page_files_quote_the_hostile_unit(hostile, monkeypatch):
    at, offered = _open(hostile, monkeypatch, "app_pages/bulletin.py", period=PERIOD, ruleset="anshan_stationed")
    _assert_escaped(at)
    files = [data() if callable(data) else data for data in offered]
    pdf = [f for f in files if f[:4] == b"%PDF"]
    assert len(pdf) == 1  # the PDF prints text; it has no formulas to defuse
    _assert_downloads_inert([f for f in files if f[:4] != b"%PDF"], HOSTILE_UNIT)
