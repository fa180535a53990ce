"""Reading exports (读取): Parquet in batches, CSV in its declared encoding with malformed lines kept aside, XLSX a
block of cells at a time, and a mapping's Chinese headers and values turned into the contract's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from dashboard.core.contract import Table
from dashboard.core.ingest.errors import FileRejected
from dashboard.core.ingest.mappings import Mapping
from dashboard.core.ingest.parsing import nfkc

BATCH_ROWS = 262_144
# The data row number (1-based, header excluded) a CSV row came from, carried beside its columns.
ROW_COL = "__row__"
SUPPORTED = (".parquet", ".csv", ".xlsx")
# The most data rows read from one XLSX sheet: a few compressed megabytes can declare millions of rows, and the
# sheet is counted by streaming its XML before anything is loaded. Larger exports come as CSV or Parquet.
XLSX_MAX_ROWS = 100_000
_XLSX_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


class Source:
    """One export read as batches with contract-named columns; `rows_total` is known once reading has begun."""

    def __init__(self, path: Path, t: Table, mapping: Mapping | None):
        self.path, self.t, self.mapping = path, t, mapping
        self.rows_total: int | None = None

    def batches(self) -> Iterator[tuple[pa.Table, list[tuple[int, str]], list[str]]]:
        """Yield (batch with contract-named columns, malformed-row records, extra headers)."""
        suffix = self.path.suffix.lower()
        if suffix == ".parquet":
            yield from self._parquet()
            return
        t, mapping = self.t, self.mapping
        if suffix == ".csv":
            table, malformed = _string_table_from_csv(self.path, mapping.encoding if mapping else "utf-8", t)
        elif suffix == ".xlsx":
            sheet = mapping.sheet if mapping else 0
            check_xlsx_rows(self.path, sheet)
            table, malformed = _string_table_from_xlsx(self.path, sheet, t), []
        else:
            raise FileRejected("unsupported_format", f"{suffix or 'no extension'} is not Parquet, CSV or XLSX")
        self.rows_total = table.num_rows + len(malformed)
        table, extra = apply_mapping(table, t, mapping)
        check_columns(t, [c for c in table.column_names if not c.startswith("__")])
        table = table.drop_columns([c for c in table.column_names if c.startswith("__extra__")])
        if table.num_rows == 0:
            yield table, malformed, extra
        for start in range(0, table.num_rows, BATCH_ROWS):
            yield table.slice(start, BATCH_ROWS), (malformed if start == 0 else []), extra

    def _parquet(self) -> Iterator[tuple[pa.Table, list[tuple[int, str]], list[str]]]:
        t = self.t
        try:
            pf = pq.ParquetFile(self.path)
        except Exception as e:  # pyarrow raises ArrowInvalid/OSError for truncated or foreign files
            raise FileRejected("unreadable", f"Parquet: {e}") from e
        self.rows_total = pf.metadata.num_rows
        names = pf.schema_arrow.names
        check_width(t, len(names), pf.metadata.num_rows)
        extra = [n for n in names if n not in t.names]
        wanted = [n for n in names if n in t.names]
        check_columns(t, wanted)
        try:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
                yield pa.Table.from_batches([batch]), [], extra
        except Exception as e:
            raise FileRejected("unreadable", f"Parquet: {e}", pf.metadata.num_rows) from e


def check_width(t: Table, width: int, rows_in: int | None = None) -> None:
    """Refuse a file with far more columns than its table (a bound, so a wide file costs nothing to refuse)."""
    if width > t.max_columns:
        raise FileRejected("too_many_columns", f"{width:,} columns; a {t.name} file may have at most "
                                               f"{t.max_columns:,} ({len(t.columns)} in the contract)", rows_in)


def check_xlsx_rows(path: Path, sheet: str | int) -> None:
    """Refuse a sheet with more than XLSX_MAX_ROWS data rows, counting its row tags as the XML streams by."""
    limit = XLSX_MAX_ROWS + 1  # the header row
    try:
        # The declared size may be absent or false: count the row tags themselves, stopping past the limit.
        with zipfile.ZipFile(path) as z, z.open(_sheet_part(z, sheet)) as src:
            rows = count_row_tags(src, limit)
    except FileRejected:
        raise
    except Exception as e:  # zip, XML and key errors for corrupt or foreign workbooks
        raise FileRejected("unreadable", f"XLSX: {type(e).__name__}: {e}") from e
    if rows > limit:
        raise FileRejected("too_many_rows", f"more than {XLSX_MAX_ROWS:,} data rows; at most {XLSX_MAX_ROWS:,} "
                                            "are read from an XLSX (export as CSV or Parquet)")


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}


def _sheet_part(z: zipfile.ZipFile, sheet: str | int) -> str:
    """The zip member holding a sheet's XML, found by its name or position through the workbook's relationships."""
    for small in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        if z.getinfo(small).file_size > 1 << 24:  # these parts are a few KB; a huge one is not a workbook
            raise FileRejected("unreadable", f"XLSX: {small} is {z.getinfo(small).file_size:,} bytes")
    sheets = ElementTree.fromstring(z.read("xl/workbook.xml")).findall("m:sheets/m:sheet", _NS)
    chosen = sheets[sheet] if isinstance(sheet, int) else next(s for s in sheets if s.get("name") == sheet)
    rid = chosen.get(f"{{{_NS['r']}}}id")
    rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels")).findall("p:Relationship", _NS)
    target = next(r.get("Target", "") for r in rels if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def count_row_tags(src: IO[bytes], limit: int) -> int:
    """Row tags in a sheet's XML stream, a megabyte at a time, stopping once past `limit`."""
    rows, tail = 0, b""
    while chunk := src.read(1 << 20):
        block = tail + chunk
        # A tag starting in the last 16 bytes may be cut off: it is counted with the next chunk.
        cut = max(0, len(block) - 16)
        rows += sum(1 for m in _XLSX_ROW_TAG.finditer(block) if m.start() < cut)
        tail = block[cut:]
        if rows > limit:
            return rows
    return rows + len(_XLSX_ROW_TAG.findall(tail))


def check_columns(t: Table, present: list[str]) -> None:
    """Reject the file when a required contract column is absent."""
    missing = [c.name for c in t.columns if c.required and c.name not in present]
    if missing:
        raise FileRejected("missing_column", f"required column(s) missing: {', '.join(missing)}")


def _string_table_from_csv(path: Path, encoding: str, t: Table) -> tuple[pa.Table, list[tuple[int, str]]]:
    data = path.read_bytes()
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf-8", "utf8") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode(encoding, errors="strict")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise FileRejected("encoding_error", f"line {line}: bytes {data[e.start:e.end]!r} are not {encoding}") from e
    types = _all_string_types(text)
    check_width(t, len(types))
    malformed: list[tuple[int, str]] = []

    def on_invalid(row) -> str:
        detail = f"expected {row.expected_columns} fields, got {row.actual_columns}"
        # An unbalanced quote swallows the lines after it into one row: each line it took counts as a row lost.
        span = row.text.count("\n") + 1 if row.text else 1
        if span == 1 or row.number is None or row.number < 0:
            malformed.append((row.number or -1, detail))
            return "skip"
        malformed.append((row.number, f"{detail}; a quote left open here runs over {span:,} lines"))
        malformed.extend((row.number + k, f"line taken into the quote left open in row {row.number - 1:,}")
                         for k in range(1, span))
        return "skip"

    try:
        table = pcsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            # Serial reading is what makes the handler see physical line numbers.
            read_options=pcsv.ReadOptions(block_size=1 << 24, use_threads=False),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                column_types=types, strings_can_be_null=True, null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as e:
        raise FileRejected("unreadable", f"CSV: {e}") from e
    # Data row numbers (line − 1) of the rows that parsed, skipping the malformed ones.
    skipped = np.array([line - 1 for line, _ in malformed], dtype=np.int64)
    numbers = np.setdiff1d(np.arange(1, table.num_rows + len(malformed) + 1), skipped)
    table = table.append_column(ROW_COL, pa.array(numbers, pa.int64()))
    return table, [(line - 1, d) for line, d in malformed]


def _all_string_types(text: str) -> dict:
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    return {name: pa.string() for name in header}


def _cell_text(v) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(v)


def _string_table_from_xlsx(path: Path, sheet: str | int, t: Table) -> pa.Table:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        ws = wb.get_sheet_by_index(sheet) if isinstance(sheet, int) else wb.get_sheet_by_name(sheet)
        rows = ws.iter_rows()
        first = next(rows, None)
        if first is None:
            return pa.table({})
        check_width(t, len(first))
        header = [_cell_text(h) or f"column_{i + 1}" for i, h in enumerate(first)]
        chunks, block = [], []
        # Cells become Arrow text a block at a time: a million-row sheet as Python objects would need gigabytes.
        for row in rows:
            block.append(row)
            if len(block) == 65_536:
                chunks.append(_xlsx_block(header, block))
                block = []
        chunks.append(_xlsx_block(header, block))
    except FileRejected:
        raise
    except Exception as e:  # calamine raises its own error types for corrupt workbooks
        raise FileRejected("unreadable", f"XLSX: {type(e).__name__}: {e}") from e
    return pa.concat_tables(chunks)


def _xlsx_block(header: list[str], block: list[list]) -> pa.Table:
    width = len(header)
    cols: list[list[str | None]] = [[] for _ in range(width)]
    for row in block:
        for i in range(width):
            cols[i].append(_cell_text(row[i]) if i < len(row) else None)
    return pa.table({h: pa.array(c, pa.string()) for h, c in zip(header, cols, strict=True)})


def apply_mapping(table: pa.Table, t: Table, mapping: Mapping | None) -> tuple[pa.Table, list[str]]:
    """Rename headers to contract names (NFKC-normalised), map source values; return unmapped headers."""
    norm = {unicodedata.normalize("NFKC", k).strip(): v for k, v in (mapping.columns if mapping else {}).items()}
    names, extra = [], []
    for h in table.column_names:
        if h == ROW_COL:
            names.append(h)
            continue
        key = unicodedata.normalize("NFKC", h).strip()
        target = norm.get(key, key if key in t.names else None)
        if target is None:
            extra.append(h)
        names.append(target or f"__extra__{h}")
    table = table.rename_columns(names)
    for col, vmap in (mapping.values if mapping else {}).items():
        if col in table.column_names:
            arr = nfkc(table[col].combine_chunks().cast(pa.string()))
            src = pa.array([unicodedata.normalize("NFKC", k).strip() for k in vmap])
            dst = pa.array([str(v) for v in vmap.values()])
            idx = pc.index_in(arr, src)
            mapped = pc.take(dst, idx)
            table = table.set_column(table.column_names.index(col), col, pc.coalesce(mapped, arr))
    return table, extra
