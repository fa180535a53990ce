"""The bulletin as files: XLSX (a sheet per table) and A4 PDF (an embedded CJK font), and any table as CSV/XLSX.

Both files are deterministic: the same bulletin and the same `created` time give the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from dashboard.core.bulletin import Bulletin, BulletinTable
from dashboard.core.metrics import half_up
from dashboard.core.safe_text import safe_cell
from dashboard.core.table import Column
from dashboard.core.text import t

# Noto Sans CJK from Debian's fonts-noto-cjk: embedded (subset) in every PDF, never downloaded.
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_BOLD = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
# Grade colours, best to worst, from the Okabe–Ito palette (safe for colour-blind readers), light enough to print
# text on: green, blue, yellow, vermilion.
GRADE_FILLS = ("#CFE8D7", "#D6E6F5", "#FBF0C9", "#F6D5C8")


def grade_fill(level: tuple[int, int] | None) -> str | None:
    """The fill for a grade at `level` = (index from the best, number of grades): the worst always vermilion."""
    if level is None:
        return None
    i, n = level
    return GRADE_FILLS[-1] if i == n - 1 and n > 1 else GRADE_FILLS[min(i, len(GRADE_FILLS) - 2)]
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class ReportError(RuntimeError):
    """A bulletin file that cannot be made here (e.g. the CJK font is not installed)."""


def _cell_value(value, kind: str):
    """What a cell holds in the XLSX: exact numbers as numbers, a rate as its fraction for the 0.00% format."""
    if value is None:
        return None
    if kind == "pct" and isinstance(value, Fraction):
        return float(value)  # shown through the 0.00% number format; the exact fraction travels beside it
    if kind == "score" and isinstance(value, Decimal):
        return float(value)
    return value


def text(value, kind: str, lang: str) -> str:
    """A cell as the PDF and CSV print it: percentages half-up to two decimals, scores with two. (The CSV makes a
    text that a spreadsheet would take for a formula safe on top of this: `_csv_cell`.)"""
    if value is None or value == "":
        return t("common.no_data", lang) if kind == "pct" else ""
    if kind == "pct":
        return f"{half_up(Fraction(value) * 100)}%"
    if kind == "score":
        return f"{Decimal(value).quantize(Decimal('0.01'))}"
    if kind == "int":
        return f"{int(value):,}" if abs(int(value)) >= 10000 else str(int(value))
    return str(value)


def _width(text: str) -> int:
    """Display width in Excel columns: a CJK character takes two."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _put(ws, row: int, col: int, value, cell_format=None) -> None:
    """One cell: a text always as a string (never `write`, which turns "=…" into a formula and "http://…" into a
    link), made safe for a spreadsheet (`safe_cell`); a number as a number; anything else as xlsxwriter writes it."""
    if isinstance(value, str):
        ws.write_string(row, col, safe_cell(value), cell_format)
    elif value is None:
        ws.write_blank(row, col, None, cell_format)
    else:
        ws.write(row, col, value, cell_format)


def _xlsx_table(wb, ws, table: BulletinTable, lang: str, row0: int = 0) -> int:
    head = wb.add_format({"bold": True, "bg_color": "#E7E6E6", "border": 1, "text_wrap": True, "valign": "top"})
    fmt = {"pct": wb.add_format({"num_format": "0.00%", "border": 1}),
           "score": wb.add_format({"num_format": "0.00", "border": 1}),
           "int": wb.add_format({"num_format": "#,##0", "border": 1}),
           "text": wb.add_format({"border": 1})}
    grade_fmt = {c: wb.add_format({"border": 1, "bg_color": c}) for c in GRADE_FILLS}
    widths = [_width(c.header) for c in table.columns]
    for j, col in enumerate(table.columns):
        _put(ws, row0, j, col.header, head)
    for i, row in enumerate(table.rows, row0 + 1):
        for j, col in enumerate(table.columns):
            value = row.get(col.key)
            fill = grade_fill(row.get("grade_level")) if col.key == "grade" else None
            cell_fmt = grade_fmt[fill] if fill else fmt.get(col.kind, fmt["text"])
            if value is None and col.kind == "pct":
                ws.write_string(i, j, t("common.no_data", lang), fmt["text"])
            else:
                _put(ws, i, j, _cell_value(value, col.kind), cell_fmt)
            widths[j] = max(widths[j], _width(text(value, col.kind, lang)))
    for j, w in enumerate(widths):
        ws.set_column(j, j, min(max(w + 2, 6), 60))
    ws.freeze_panes(row0 + 1, 0)
    return row0 + 1 + len(table.rows)


def _workbook(buf: io.BytesIO, created: dt.datetime):
    import xlsxwriter

    # Belt and braces: `_put` writes every text with write_string, and the workbook would not turn one into a
    # formula or a link either.
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": created.astimezone(dt.UTC).replace(tzinfo=None)})
    return wb


def to_xlsx(b: Bulletin, created: dt.datetime | None = None) -> bytes:
    """The bulletin as a workbook: a summary sheet, then one sheet per table, the satisfaction sheet with a chart."""
    buf = io.BytesIO()
    wb = _workbook(buf, created or dt.datetime.now(dt.UTC))
    title = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    ws = wb.add_worksheet(t("bulletin.sheet.summary", b.lang))
    ws.set_column(0, 0, 110)
    _put(ws, 0, 0, b.title, title)
    _put(ws, 1, 0, b.office)
    _put(ws, 2, 0, t("bulletin.issued", b.lang, period=b.period_label))
    _put(ws, 4, 0, b.summary, wrap)
    _put(ws, 6, 0, t("bulletin.footnote.title", b.lang), title)
    for i, note in enumerate(b.footnotes, 7):
        _put(ws, i, 0, note, wrap)
    for table in b.tables:
        sheet = wb.add_worksheet(t(f"bulletin.sheet.{table.key}", b.lang))
        last = _xlsx_table(wb, sheet, table, b.lang)
        if table.key == "satisfaction" and table.rows:
            chart = wb.add_chart({"type": "bar"})
            name = t(f"bulletin.sheet.{table.key}", b.lang)
            chart.add_series({"name": table.columns[1].header, "categories": [name, 1, 0, last - 1, 0],
                              "values": [name, 1, 1, last - 1, 1], "fill": {"color": "#0072B2"}})
            chart.set_title({"name": t("bulletin.chart_title", b.lang)})
            chart.set_x_axis({"num_format": "0%", "min": 0.8, "max": 1})
            chart.set_y_axis({"reverse": True})
            chart.set_legend({"none": True})
            chart.set_size({"width": 720, "height": max(320, 18 * len(table.rows))})
            sheet.insert_chart(1, len(table.columns) + 1, chart)
    wb.close()
    return buf.getvalue()


def _pdf_class():
    """The PDF writer; fpdf2 (and its font tools) load only when a PDF is asked for."""
    from fpdf import FPDF

    class _PDF(FPDF):
        def __init__(self, b: Bulletin):
            super().__init__(orientation="P", unit="mm", format="A4")
            self.b = b
            if not CJK_FONT.exists():
                raise ReportError(f"the CJK font {CJK_FONT} is missing: install Debian's fonts-noto-cjk")
            self.add_font("cjk", fname=str(CJK_FONT), collection_font_number=2)  # the SC (simplified) face
            self.add_font("cjk", style="B", fname=str(CJK_FONT_BOLD if CJK_FONT_BOLD.exists() else CJK_FONT),
                          collection_font_number=2)
            self.set_auto_page_break(True, margin=18)
            self.set_margins(15, 15, 15)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("cjk", size=8)
            self.cell(0, 6, t("bulletin.page", self.b.lang, page=self.page_no(), pages="{nb}"), align="C")

    return _PDF


def to_pdf(b: Bulletin, created: dt.datetime | None = None) -> tuple[bytes, int]:
    """The bulletin as an A4 PDF (Noto Sans CJK embedded, page numbers, tables repeating their header rows);
    returns the bytes and the page count."""
    pdf = _pdf_class()(b)
    pdf.set_creation_date(created or dt.datetime.now(dt.UTC))
    pdf.set_title(b.title)
    pdf.set_producer("Service Hall Scorecard")
    pdf.add_page()
    pdf.set_font("cjk", style="B", size=16)
    pdf.multi_cell(0, 9, b.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 6, b.office, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, t("bulletin.issued", b.lang, period=b.period_label), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("cjk", size=10.5)
    pdf.multi_cell(0, 6, b.summary, align="L", new_x="LMARGIN", new_y="NEXT")
    for table in b.tables:
        pdf.ln(3)
        pdf.set_font("cjk", style="B", size=12)
        pdf.multi_cell(0, 7, table.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9)
        if table.key == "satisfaction":
            _bars(pdf, b)
            continue
        if not table.rows:
            pdf.cell(0, 6, t("bulletin.none", b.lang), new_x="LMARGIN", new_y="NEXT")
            continue
        _pdf_table(pdf, table, b.lang)
    pdf.ln(4)
    if pdf.will_page_break(30):  # keep the notes' heading with the notes
        pdf.add_page()
    pdf.set_font("cjk", style="B", size=10)
    pdf.cell(0, 6, t("bulletin.footnote.title", b.lang), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8)
    for note in b.footnotes:
        pdf.multi_cell(0, 4.5, note, new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    return data, pdf.page_no()


def _pdf_table(pdf, table: BulletinTable, lang: str) -> None:
    from fpdf.fonts import FontFace

    widths = []
    for col in table.columns:
        longest = max([_width(col.header) + 3] + [_width(text(r.get(col.key), col.kind, lang)) for r in table.rows])
        widths.append(min(longest, 60) + 2)
    head = FontFace(emphasis="BOLD", fill_color=(231, 230, 230))
    aligns = ["RIGHT" if c.kind in ("int", "pct", "score") else "LEFT" for c in table.columns]
    with pdf.table(col_widths=widths, repeat_headings=1, headings_style=head, line_height=5.5,
                   text_align=aligns) as out:
        header = out.row()
        for col in table.columns:
            header.cell(col.header)
        for r in table.rows:
            row = out.row()
            for col in table.columns:
                value = r.get(col.key)
                style = None
                fill = grade_fill(r.get("grade_level")) if col.key == "grade" else None
                if fill:
                    hexa = fill.lstrip("#")
                    style = FontFace(fill_color=tuple(int(hexa[i:i + 2], 16) for i in (0, 2, 4)))
                row.cell(text(value, col.kind, lang), style=style)


def _bars(pdf, b: Bulletin) -> None:
    """A horizontal bar per unit: its satisfaction rate from 80% to 100%, no data drawn as a label only."""
    label_w, bar_w, h = 55.0, 105.0, 4.6
    lo = Fraction(8, 10)
    for name, value in b.satisfaction:
        if pdf.will_page_break(h + 1):
            pdf.add_page()
        y = pdf.get_y()
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_w, h, name[:16])
        if value is None:
            pdf.cell(bar_w, h, t("common.no_data", b.lang))
        else:
            frac = max(Fraction(0), min(Fraction(1), (value - lo) / (1 - lo)))
            pdf.set_fill_color(0, 114, 178) if value >= Fraction(98, 100) else pdf.set_fill_color(213, 94, 0)
            pdf.rect(pdf.l_margin + label_w, y + 0.6, float(frac) * bar_w, h - 1.2, style="F")
            pdf.set_xy(pdf.l_margin + label_w + bar_w + 2, y)
            pdf.cell(20, h, f"{half_up(value * 100)}%")
        pdf.set_y(y + h + 0.6)


def _csv_cell(value, kind: str, lang: str) -> str:
    """A CSV cell: as `text` prints it; a text from the data that a spreadsheet would take for a formula made safe
    (a number printed as text, e.g. a negative score, stays as it is)."""
    shown = text(value, kind, lang)
    return safe_cell(shown) if isinstance(value, str) else shown


def table_csv(columns: list[Column], rows: list[dict], lang: str) -> bytes:
    """Any table as UTF-8 CSV with a BOM (Excel opens Chinese correctly), formatted as the page shows it; no cell
    can start a formula."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([safe_cell(c.header) for c in columns])
    for r in rows:
        w.writerow([_csv_cell(r.get(c.key), c.kind, lang) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def sheet_name(title: str) -> str:
    """A worksheet name Excel accepts for any title (a unit's name may hold anything): no []:*?/\\, no apostrophe
    at either end, at most 31 characters, never empty."""
    name = re.sub(r"[\[\]:*?/\\\x00-\x1f]", "_", title)[:31].strip("'")
    return name or "table"


def table_xlsx(title: str, columns: list[Column], rows: list[dict], lang: str,
               created: dt.datetime | None = None) -> bytes:
    """Any table as a one-sheet workbook with the bulletin's formats (0.00%, frozen header, fitted widths)."""
    buf = io.BytesIO()
    wb = _workbook(buf, created or dt.datetime.now(dt.UTC))
    ws = wb.add_worksheet(sheet_name(title))
    _xlsx_table(wb, ws, BulletinTable("table", title, columns, rows), lang)
    wb.close()
    return buf.getvalue()
