"""The monthly bulletin (月度考核通报): its content against the score tables, the XLSX reopened, the PDF read back
with pdftotext, byte-identical rebuilds, the CLI, the dashboard page and the table downloads."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import zipfile
from decimal import Decimal
from fractions import Fraction

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from dashboard.cli import app
from dashboard.core import bulletin, marts, report, scoring
from dashboard.core.db import REPO_ROOT, connect

PERIOD = "2025-06"
CREATED = dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def wh(demo_lake):
    return connect(demo_lake)


@pytest.fixture(scope="module")
def zh(wh):
    return bulletin.build(wh, PERIOD, "anshan_stationed", "zh")


def _hand_ranks(results: list[dict]) -> dict[str, int]:
    """Rank within a group by total, ties shared: 1 + how many in the group scored strictly more."""
    return {r["subject"]: 1 + sum(1 for x in results if x["grp"] == r["grp"] and x["total"] > r["total"])
            for r in results}


def test_the_ranking_is_the_score_table_ranked_within_groups(wh, zh):
    results = scoring.score(wh, "anshan_stationed", PERIOD).results.to_pylist()
    ranks = _hand_ranks(results)
    ranking = next(tb for tb in zh.tables if tb.key == "ranking")
    by_name = {r["name"]: r for r in results}
    assert len(ranking.rows) == len(results)
    for row in ranking.rows:
        r = by_name[row["unit"]]
        assert (row["total"], row["grade"], row["rank"], row["group"]) == (r["total"], r["grade"], ranks[r["subject"]],
                                                                           r["grp"])


def test_red_and_black_lists_share_ranks_and_cover_each_group(wh, zh):
    results = scoring.score(wh, "anshan_stationed", PERIOD).results.to_pylist()
    lists = next(tb for tb in zh.tables if tb.key == "red_black").rows
    for g in {r["grp"] for r in results}:
        members = [r for r in results if r["grp"] == g]
        ranks = _hand_ranks(members)
        red = {r["name"] for r in members if ranks[r["subject"]] <= bulletin.TOP_N}
        bottom = {r["name"] for r in members if 1 + sum(1 for x in members if x["total"] < r["total"]) <= bulletin.TOP_N}
        assert {x["unit"] for x in lists if x["group"] == g and x["list"] == "红榜"} == red
        assert {x["unit"] for x in lists if x["group"] == g and x["list"] == "黑榜"} == bottom


def test_breaches_are_exactly_the_units_the_marts_put_below_the_lines(wh, zh):
    units = marts.slice_mart(wh, "unit_month", PERIOD, None).to_pylist()
    want = set()
    for u in units:
        if u["satisfaction_rate_den"] and Fraction(u["satisfaction_rate_num"], u["satisfaction_rate_den"]) < Fraction(98, 100):
            want.add((u["unit_name"], "好评率"))
        if u["on_time_rate_den"] and u["on_time_rate_num"] < u["on_time_rate_den"]:
            want.add((u["unit_name"], "按时办结率"))
    got = {(r["unit"], r["metric"]) for r in next(tb for tb in zh.tables if tb.key == "breaches").rows}
    assert got == want and want


def test_units_below_pass_have_their_deductions_as_sentences(wh):
    """A grade below 合格 lists every negative line; here the demo has one only if a unit scored under 60."""
    b = bulletin.build(wh, PERIOD, "anshan_stationed", "zh")
    results = scoring.score(wh, "anshan_stationed", PERIOD)
    failing = {r["name"] for r in results.results.to_pylist() if r["grade"] == "不合格"}
    rows = next(tb for tb in b.tables if tb.key == "deductions").rows
    assert {r["unit"] for r in rows} == failing
    assert not bulletin._below_pass(results.ruleset.ruleset.grades, "合格")
    assert bulletin._below_pass(results.ruleset.ruleset.grades, "不合格")


def test_xlsx_reopens_with_the_sheets_headers_formats_and_values(zh):
    wb = openpyxl.load_workbook(io.BytesIO(report.to_xlsx(zh, CREATED)))
    assert wb.sheetnames == ["概要", "排名", "红黑榜", "预警", "扣分说明", "好评率"]
    ws = wb["排名"]
    assert [c.value for c in ws[1]] == ["分组", "名次", "名次变化", "单位", "总分", "等次"]
    assert ws.freeze_panes == "A2"
    ranking = next(tb for tb in zh.tables if tb.key == "ranking").rows
    got = [(r[3].value, Decimal(str(r[4].value)).quantize(Decimal("0.01")), r[5].value)
           for r in ws.iter_rows(min_row=2)]
    assert got == [(r["unit"], r["total"], r["grade"]) for r in ranking]
    sat = wb["好评率"]
    assert sat["B2"].number_format == "0.00%"
    assert ws.column_dimensions["D"].width >= max(len(r["unit"]) * 2 for r in ranking)  # fitted to CJK names
    # Grade colours: an 优秀 cell and a 良好 cell are filled differently.
    fills = {r[5].value: r[5].fill.fgColor.rgb for r in ws.iter_rows(min_row=2)}
    assert len(set(fills.values())) == len(fills) > 1
    assert zh.title in [c.value for c in wb["概要"]["A"]]


def _pdftotext(data: bytes, tmp_path) -> str:
    path = tmp_path / "b.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _pdfinfo_pages(data: bytes, tmp_path) -> int:
    path = tmp_path / "i.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def test_pdf_reads_back_in_chinese_with_every_glyph(zh, tmp_path):
    data, pages = report.to_pdf(zh, CREATED)
    text = _pdftotext(data, tmp_path)
    top = next(tb for tb in zh.tables if tb.key == "ranking").rows[0]["unit"]
    assert "2025年6月政务服务考核情况通报" in text and "2025年6月" in text and top in text
    assert "\ufffd" not in text and "\u25a1" not in text  # no replacement or missing-glyph boxes
    # The expected page count: the renderer's, a PDF reader's, and one footer "第 k 页 / 共 n 页" per page.
    assert pages == _pdfinfo_pages(data, tmp_path) == text.count("\x0c") >= 2
    squeezed = re.sub(r"\s+", "", text)
    assert all(f"第{k}页/共{pages}页" in squeezed for k in range(1, pages + 1))
    fonts = subprocess.run(["pdffonts", str(tmp_path / "b.pdf")], capture_output=True, text=True, check=True).stdout
    assert "NotoSansCJK" in fonts and " yes yes " in fonts  # embedded and subset


def test_english_bulletin(wh, tmp_path):
    en = bulletin.build(wh, PERIOD, "anshan_stationed", "en")
    text = _pdftotext(report.to_pdf(en, CREATED)[0], tmp_path)
    assert "Service hall assessment bulletin, 2025-06" in text and "Page 1 of" in text
    assert openpyxl.load_workbook(io.BytesIO(report.to_xlsx(en, CREATED))).sheetnames[1] == "Ranking"
    # The watched lines are listed the English way (", "), one "≥" per line of the catalog.
    from dashboard.core.metrics import thresholds

    [watched] = [n for n in en.footnotes if n.startswith("Watched lines: ")]
    assert "、" not in watched and watched.count(", ") == watched.count(" ≥ ") - 1 == len(thresholds()) - 1


def test_the_same_bulletin_twice_is_byte_identical_apart_from_its_creation_time(wh, zh):
    again = bulletin.build(wh, PERIOD, "anshan_stationed", "zh")
    assert report.to_xlsx(zh, CREATED) == report.to_xlsx(again, CREATED)
    assert report.to_pdf(zh, CREATED)[0] == report.to_pdf(again, CREATED)[0]
    later = CREATED + dt.timedelta(days=3)
    a, b = zipfile.ZipFile(io.BytesIO(report.to_xlsx(zh, CREATED))), zipfile.ZipFile(io.BytesIO(report.to_xlsx(zh, later)))
    differ = [n for n in a.namelist() if a.read(n) != b.read(n)]
    assert differ == ["docProps/core.xml"]

    def without_dates(pdf: bytes) -> bytes:
        # The creation time, and the file identifier the PDF derives from it.
        return re.sub(rb"/ID \[<[0-9A-Fa-f]+><[0-9A-Fa-f]+>\]", b"", re.sub(rb"/CreationDate \(D:[^)]*\)", b"", pdf))

    assert without_dates(report.to_pdf(zh, CREATED)[0]) == without_dates(report.to_pdf(zh, later)[0])


def test_a_scoped_bulletin_shows_only_its_units_with_hall_wide_ranks(wh, zh):
    mine = ("U001", "U025")
    scoped = bulletin.build(wh, PERIOD, "anshan_stationed", "zh", scope=mine)
    full = {r["unit"]: r for r in next(tb for tb in zh.tables if tb.key == "ranking").rows}
    rows = next(tb for tb in scoped.tables if tb.key == "ranking").rows
    assert len(rows) == 2 and all(full[r["unit"]]["rank"] == r["rank"] for r in rows)
    assert all(len(tb.rows) <= len(next(x for x in zh.tables if x.key == tb.key).rows) for tb in scoped.tables)


def test_hall_report_writes_both_formats(demo_lake, monkeypatch, tmp_path):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    for fmt in ("xlsx", "pdf"):
        out = tmp_path / f"b.{fmt}"
        res = CliRunner().invoke(app, ["report", "--period", PERIOD, "--format", fmt, "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert out.stat().st_size > 1000
    res = CliRunner().invoke(app, ["report", "--period", "2025-13", "--format", "pdf", "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "2025-13" in res.output


def test_table_downloads_keep_formats():
    cols = [bulletin.Column("unit", "单位"), bulletin.Column("r", "好评率", "pct"), bulletin.Column("n", "分子", "int")]
    rows = [{"unit": "甲", "r": Fraction(2, 3), "n": 2}, {"unit": "乙", "r": None, "n": 0}]
    csv_text = report.table_csv(cols, rows, "zh").decode("utf-8")
    assert csv_text.startswith("\ufeff单位,好评率,分子") and "甲,66.67%,2" in csv_text and "乙,无数据,0" in csv_text
    ws = openpyxl.load_workbook(io.BytesIO(report.table_xlsx("t", cols, rows, "zh", CREATED))).active
    assert ws["B2"].number_format == "0.00%" and abs(ws["B2"].value - 2 / 3) < 1e-12 and ws["B3"].value == "无数据"


def test_bulletin_page_offers_both_files(demo_lake, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = AppTest.from_file(str(REPO_ROOT / "dashboard" / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/bulletin.py").run()
    assert not at.exception
    assert at.title[0].value == "月度考核通报"
    labels = [b.label for b in at.get("download_button")]
    assert "下载 XLSX" in labels and "下载 PDF" in labels and "下载 CSV" in labels


def test_a_provisional_month_says_so_in_its_title_and_notes(wh, zh):
    """The newest month (the test demo's 2025-06) is provisional (数据未完结) until the rectification limit has run out
    after it: the bulletin's title and first note say so; the month before is final and says nothing."""
    assert marts.provisional_periods(wh.lake) == [PERIOD]
    assert zh.title.endswith("（暂定）") and "数据未完结" in zh.footnotes[0]
    before = bulletin.build(wh, "2025-05", "anshan_stationed", "en")
    assert not before.title.endswith("(provisional)") and not any("not final" in n for n in before.footnotes)
