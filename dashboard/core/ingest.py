"""The ingest gate (入库关口): parse exports in worker processes, check the contract, strip personal data,
quarantine bad rows and files with a reason, and keep every version in the Hive-partitioned warehouse."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fnmatch
import hashlib
import hmac
import importlib
import io
import json
import multiprocessing as mp
import multiprocessing.connection
import os
import secrets
import shutil
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from dashboard.core.contract import FILE_REASONS, REASONS, TABLES, TIMESTAMP, TZ, Table
from dashboard.core.db import Lake

BATCH_ROWS = 262_144
ROW_COL = "__row__"
# Instants outside these years are typing errors in an export, not history or plans.
YEAR_MIN, YEAR_MAX = 1900, 2100
SUPPORTED = (".parquet", ".csv", ".xlsx")
SCRUBBED = "[已脱敏]"  # already in NFKC form, like every stored string
# Mainland ID-card numbers (GB 11643) and mobile numbers, as they may appear inside free text.
# RE2 has no look-around, so the boundary characters are captured and put back; a boundary is any non-digit
# (a letter may touch a number: "ID11010519491231002X"). 15-digit numbers are the pre-1999 ID cards.
ID_PATTERN = (r"(^|\D)(?:[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
              r"|[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})(\D|$)")
PHONE_PATTERN = r"(^|\D)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(\D|$)"
TS_PATTERN = (
    r"^(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})"
    r"(?:[ T](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
TRUE_WORDS = ("true", "1", "是", "yes", "y")
FALSE_WORDS = ("false", "0", "否", "no", "n")

LOG_SCHEMAS: dict[str, pa.Schema] = {
    "ingest_log": pa.schema([
        ("run_id", pa.string()), ("source_file", pa.string()), ("source_sha256", pa.string()),
        ("table", pa.string()), ("format", pa.string()), ("status", pa.string()), ("reason", pa.string()),
        ("detail", pa.string()), ("rows_in", pa.int64()), ("rows_accepted", pa.int64()),
        ("rows_quarantined", pa.int64()), ("notes", pa.string()), ("ingested_at", TIMESTAMP),
        ("seconds", pa.float64()),
    ]),
    "quarantine_rows": pa.schema([
        ("table", pa.string()), ("source_file", pa.string()), ("source_sha256", pa.string()),
        ("source_row", pa.int64()), ("reason", pa.string()), ("column", pa.string()), ("detail", pa.string()),
        ("raw", pa.string()),
    ]),
    "quarantine_files": pa.schema([
        ("source_file", pa.string()), ("source_sha256", pa.string()), ("size_bytes", pa.int64()),
        ("table", pa.string()), ("reason", pa.string()), ("detail", pa.string()), ("rows_in", pa.int64()),
    ]),
}


def log_glob(lake: Lake, name: str) -> tuple[str, list[Path]]:
    """The glob pattern and present files of one log table (ingest_log, quarantine_rows, quarantine_files)."""
    base = {"ingest_log": lake.ingest_log, "quarantine_rows": lake.quarantine / "rows",
            "quarantine_files": lake.quarantine / "files"}[name]
    pattern = "*/*.parquet" if name == "quarantine_rows" else "*.parquet"
    return str(base / pattern), sorted(base.glob(pattern))


class IngestError(Exception):
    """A problem with the ingest set-up (not with a file): a broken mapping, a missing path."""


# --------------------------------------------------------------------------------------------- mappings


@dataclass(frozen=True)
class Mapping:
    """How a Chinese-header CSV/XLSX export maps onto a contract table (data/mappings/*.toml)."""

    path: str
    table: str
    match: tuple[str, ...]
    encoding: str = "utf-8"
    sheet: str | int = 0
    columns: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)


def load_mappings(folder: Path) -> list[Mapping]:
    """Read every mapping file; a broken one is an IngestError naming file, line and column."""
    out = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise IngestError(f"{path}: {e}") from e
        unknown = set(doc) - {"table", "match", "encoding", "sheet", "columns", "values"}
        if unknown:
            raise IngestError(f"{path}: unknown key(s) {sorted(unknown)}")
        table = doc.get("table")
        if table not in TABLES:
            raise IngestError(f"{path}: table = {table!r} is not one of {sorted(TABLES)}")
        t = TABLES[table]
        for header, col in doc.get("columns", {}).items():
            if col not in t.names:
                raise IngestError(f"{path}: [columns] {header!r} maps to {col!r}, not a column of {table}")
        for col in doc.get("values", {}):
            if col not in t.names:
                raise IngestError(f"{path}: [values.{col}] is not a column of {table}")
        try:
            "".encode(doc.get("encoding", "utf-8"))
        except LookupError as e:
            raise IngestError(f"{path}: unknown encoding {doc.get('encoding')!r}") from e
        out.append(Mapping(
            path=str(path), table=table, match=tuple(doc.get("match", ())),
            encoding=doc.get("encoding", "utf-8"), sheet=doc.get("sheet", 0),
            columns=dict(doc.get("columns", {})), values={k: dict(v) for k, v in doc.get("values", {}).items()},
        ))
    return out


def identify(path: Path, mappings: list[Mapping]) -> tuple[str | None, Mapping | None]:
    """Which table a file belongs to: a mapping's match pattern, else a name starting with the table name."""
    name = path.name
    for m in mappings:
        if any(fnmatch.fnmatch(name, pat) for pat in m.match):
            return m.table, m
    stem = name.lower()
    for t in sorted(TABLES, key=len, reverse=True):
        if stem == t or stem.startswith((t + "_", t + "-", t + ".")):
            return t, None
    return None, None


# ------------------------------------------------------------------------------------------- the worker


class FileRejected(Exception):
    """The whole file is quarantined: `reason` is a FILE_REASONS code."""

    def __init__(self, reason: str, detail: str, rows_in: int | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.rows_in = reason, detail, rows_in


def _nfkc(arr: pa.Array) -> pa.Array:
    arr = pc.utf8_normalize(arr, form="NFKC")
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def scrub_text(arr: pa.Array) -> pa.Array:
    """Replace ID-card and mobile numbers inside text with a marker (expects NFKC text: ASCII digits)."""
    # A match consumes its trailing boundary, so two numbers one character apart need a second pass.
    for _ in range(8):
        before = arr
        arr = pc.replace_substring_regex(arr, ID_PATTERN, rf"\1{SCRUBBED}\2")
        arr = pc.replace_substring_regex(arr, PHONE_PATTERN, rf"\1{SCRUBBED}\2")
        if arr.equals(before):
            break
    return arr


def holds_personal_number(arr: pa.Array) -> np.ndarray:
    """Rows whose (NFKC) text contains an ID-card or mobile number."""
    hit = pc.or_(pc.match_substring_regex(arr, ID_PATTERN), pc.match_substring_regex(arr, PHONE_PATTERN))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), bool)


def is_identifier(t: Table, name: str) -> bool:
    """Codes and ids are matched, not read: they are checked for personal numbers, never rewritten."""
    return name in t.key or name.endswith(("_id", "_code", "_key", "_by")) or name == "assessor"


def hmac_key_for(lake: Lake) -> bytes:
    """The installation's HMAC key: $HALL_HMAC_KEY, else a random key created once in the data folder."""
    env = os.environ.get("HALL_HMAC_KEY")
    if env:
        return env.encode("utf-8")
    path = lake.hmac_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


# Hex digits mapped to letters so a key can never look like an ID-card or phone number to a scanner.
_LETTERS = str.maketrans("0123456789abcdef", "ghijkmnpqrstuvwx")


def hmac_column(arr: pa.Array, key: bytes) -> pa.Array:
    """Key each (NFKC, upper-cased) value by HMAC-SHA256; nulls stay null."""
    # hmac.digest is the one-shot OpenSSL path: several times faster than new()/copy() per value.
    digest, letters = hmac.digest, _LETTERS
    out = [None if v is None else "ak" + digest(key, v.encode("utf-8"), "sha256").hex()[:30].translate(letters)
           for v in pc.utf8_upper(arr).to_pylist()]
    return pa.array(out, pa.string())


@dataclass
class Parsed:
    """One converted column: typed values, and for each row the error detail (None when fine)."""

    values: pa.Array
    errors: np.ndarray  # object array of str | None


def _no_errors(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def _errors_where(mask: np.ndarray, col: str, raw: pa.Array) -> np.ndarray:
    errs = _no_errors(len(mask))
    if mask.any():
        vals = raw.to_pylist()
        for i in np.flatnonzero(mask):
            errs[i] = f"{col}={str(vals[i])[:60]!r}"
    return errs


def _valid_mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _parse_timestamps(s: pa.Array, col: str, date_only: bool = False) -> Parsed:
    n = len(s)
    m = pc.extract_regex(s, TS_PATTERN)
    ok = _valid_mask(m) & _valid_mask(s)
    fields = {k: pc.fill_null(m.field(k), "") for k in ("y", "mo", "d", "h", "mi", "s", "f", "tz")}

    def num(name: str) -> np.ndarray:
        f = fields[name]
        return pc.if_else(pc.equal(f, ""), "0", f).cast(pa.int64()).to_numpy(zero_copy_only=False)

    y, mo, d, h, mi, sec = (num(k) for k in ("y", "mo", "d", "h", "mi", "s"))
    frac = pc.utf8_rpad(pc.if_else(pc.equal(fields["f"], ""), "0", fields["f"]), 6, "0") \
        .cast(pa.int64()).to_numpy(zero_copy_only=False)
    in_range = (mo >= 1) & (mo <= 12) & (d >= 1) & (h <= 23) & (mi <= 59) & (sec <= 59) & (y >= YEAR_MIN) \
        & (y <= YEAR_MAX)
    ok &= in_range
    month_start = ((np.where(ok, y, 1970) - 1970) * 12 + np.where(ok, mo, 1) - 1).astype("datetime64[M]")
    days_in_month = ((month_start + 1).astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(int)
    ok &= d <= days_in_month
    if date_only:
        has_time = np.asarray(pc.not_equal(fields["h"], "").to_numpy(zero_copy_only=False), bool)
        ok &= ~has_time | ((h == 0) & (mi == 0) & (sec == 0))
    day = month_start.astype("datetime64[D]") + np.where(ok, d - 1, 0)
    wall_us = day.astype("datetime64[us]").astype(np.int64) + ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac
    tz = fields["tz"].to_numpy(zero_copy_only=False)
    offset_us = np.zeros(n, dtype=np.int64)
    has_tz = ok & np.asarray(pc.not_equal(fields["tz"], "").to_numpy(zero_copy_only=False), bool)
    for i in np.flatnonzero(has_tz):
        z = tz[i].replace(":", "")
        if z == "Z":
            continue
        hours, minutes = int(z[1:3]), int(z[3:5])
        if date_only or hours > 14 or minutes > 59:  # a date has no zone; real offsets stay within ±14:00
            ok[i] = False
            continue
        offset_us[i] = (1 if z[0] == "+" else -1) * (hours * 60 + minutes) * 60_000_000
    if date_only:
        ok &= ~(has_tz & np.asarray(pc.equal(fields["tz"], "Z").to_numpy(zero_copy_only=False), bool))
    errors = _errors_where(_valid_mask(s) & ~ok, col, s)
    if date_only:
        vals = pa.array(day.astype("datetime64[D]"), pa.date32(), mask=~ok)
        return Parsed(vals, errors)
    naive = pa.array(wall_us, pa.timestamp("us"), mask=~ok)
    local = pc.assume_timezone(naive, TZ, ambiguous="earliest", nonexistent="earliest")
    explicit = pa.array(wall_us - offset_us, pa.timestamp("us", tz="UTC"), mask=~ok).cast(TIMESTAMP)
    vals = pc.if_else(pa.array(has_tz), explicit, local.cast(TIMESTAMP))
    return Parsed(vals, errors)


def _from_string(s: pa.Array, target: pa.DataType, col: str) -> Parsed:
    """Strict conversion of text to the contract type: nothing rounded, nothing guessed."""
    s = _nfkc(s)
    n = len(s)
    if pa.types.is_string(target):
        return Parsed(s, _no_errors(n))
    if pa.types.is_integer(target):
        ok = pc.fill_null(pc.match_substring_regex(s, r"^[+-]?\d{1,12}$"), False)
        vals = pc.if_else(ok, s, pa.scalar(None, pa.string())).cast(pa.int64())
        fits = pc.fill_null(pc.and_(pc.greater_equal(vals, -(2**31)), pc.less(vals, 2**31)), False)
        good = pc.and_(ok, fits)
        bad = _valid_mask(s) & ~np.asarray(good.to_numpy(zero_copy_only=False), dtype=bool)
        return Parsed(pc.if_else(good, vals, pa.scalar(None, pa.int64())).cast(target), _errors_where(bad, col, s))
    if pa.types.is_boolean(target):
        low = pc.utf8_lower(s)
        t = pc.is_in(low, pa.array(TRUE_WORDS))
        f = pc.is_in(low, pa.array(FALSE_WORDS))
        vals = pc.if_else(t, True, pc.if_else(f, False, pa.scalar(None, pa.bool_())))
        bad = _valid_mask(s) & ~_valid_mask(vals)
        return Parsed(vals, _errors_where(bad, col, s))
    if pa.types.is_timestamp(target):
        return _parse_timestamps(s, col)
    if pa.types.is_date(target):
        return _parse_timestamps(s, col, date_only=True)
    if pa.types.is_decimal(target):
        pattern = rf"^[+-]?\d{{1,{target.precision - target.scale}}}(\.\d{{1,{target.scale}}})?$"
        ok = pc.fill_null(pc.match_substring_regex(s, pattern), False)
        vals = pc.if_else(ok, s, pa.scalar(None, pa.string())).cast(target)
        bad = _valid_mask(s) & ~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
        return Parsed(vals, _errors_where(bad, col, s))
    raise TypeError(target)


def _from_typed(a: pa.Array, target: pa.DataType, col: str) -> Parsed:
    """Lossless conversion of a typed Parquet column; anything else rejects the file."""
    n = len(a)
    src = a.type
    if pa.types.is_dictionary(src):
        a = a.dictionary_decode()
        src = a.type
    if pa.types.is_string(src) or pa.types.is_large_string(src) or pa.types.is_string_view(src):
        return _from_string(a.cast(pa.string()), target, col)
    if pa.types.is_null(src):
        return Parsed(pa.nulls(n, target), _no_errors(n))
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(src):
        if src.tz is None:
            a = pc.assume_timezone(a, TZ, ambiguous="earliest", nonexistent="earliest")
        # Bounds in the source's own unit, so nothing can overflow before it is checked.
        lo, hi = (pa.scalar(dt.datetime(y, 1, 1, tzinfo=dt.UTC), pa.timestamp(src.unit, tz="UTC"))
                  for y in (YEAR_MIN, YEAR_MAX + 1))
        a = orig = a.cast(pa.timestamp(src.unit, tz="UTC"))
        good = pc.fill_null(pc.and_(pc.greater_equal(a, lo), pc.less(a, hi)), False)
        bad = _valid_mask(a) & ~np.asarray(good.to_numpy(zero_copy_only=False), bool)
        a = pc.if_else(good, a, pa.scalar(None, a.type))
        if src.unit == "ns":
            a = pc.floor_temporal(a, unit="microsecond")
        # Out-of-range instants cannot even be shown as datetimes: report the raw count of units since 1970.
        raw = pc.binary_join_element_wise(orig.view(pa.int64()).cast(pa.string()), f" {src.unit} since 1970", "")
        return Parsed(a.cast(pa.timestamp("us", tz="UTC")).cast(TIMESTAMP), _errors_where(bad, col, raw))
    if pa.types.is_timestamp(target) and pa.types.is_date(src):
        return Parsed(pc.assume_timezone(a.cast(pa.timestamp("us")), TZ).cast(TIMESTAMP), _no_errors(n))
    if pa.types.is_date(target) and pa.types.is_date(src):
        return Parsed(a.cast(pa.date32()), _no_errors(n))
    if pa.types.is_integer(target) and (pa.types.is_integer(src) or pa.types.is_floating(src)):
        f = a.cast(pa.float64()) if pa.types.is_floating(src) else None
        if f is not None:
            # A 4.5 rating is not a 5: only exactly integral floats pass.
            integral = pc.fill_null(pc.equal(pc.floor(f), f), False)
            within = pc.fill_null(pc.and_(pc.greater_equal(f, -(2**31)), pc.less(f, 2**31)), False)
            good = pc.and_(integral, within)
            vals = pc.if_else(good, f, pa.scalar(None, pa.float64())).cast(pa.int64())
        else:
            v64 = a.cast(pa.int64(), safe=False) if src != pa.uint64() else a
            good = pc.fill_null(pc.and_(pc.greater_equal(v64, -(2**31)), pc.less(v64, 2**31)), False)
            vals = pc.if_else(good, v64, pa.scalar(None, v64.type)).cast(pa.int64())
        bad = _valid_mask(a) & ~np.asarray(good.to_numpy(zero_copy_only=False), dtype=bool)
        return Parsed(vals.cast(target), _errors_where(bad, col, a))
    if pa.types.is_boolean(target) and pa.types.is_boolean(src):
        return Parsed(a, _no_errors(n))
    if pa.types.is_decimal(target) and (pa.types.is_decimal(src) or pa.types.is_integer(src)):
        try:
            return Parsed(a.cast(target), _no_errors(n))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise FileRejected("column_type", f"column {col}: {src} does not fit {target}: {e}") from e
    raise FileRejected("column_type", f"column {col} is {src}; the contract wants {target}")


@dataclass
class Job:
    """What a worker needs to process one file."""

    path: str
    sha256: str
    table: str
    mapping: dict | None
    known_units: list[str] | None
    hmac_key: str
    out_dir: str


def _string_table_from_csv(path: Path, encoding: str) -> tuple[pa.Table, list[tuple[int, str]]]:
    data = path.read_bytes()
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf-8", "utf8") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode(encoding, errors="strict")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise FileRejected("encoding_error", f"line {line}: bytes {data[e.start:e.end]!r} are not {encoding}") from e
    malformed: list[tuple[int, str]] = []

    def on_invalid(row) -> str:
        malformed.append((row.number or -1, f"expected {row.expected_columns} fields, got {row.actual_columns}"))
        return "skip"

    try:
        table = pcsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            # Serial reading is what makes the handler see physical line numbers.
            read_options=pcsv.ReadOptions(block_size=1 << 24, use_threads=False),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                column_types=_all_string_types(text), strings_can_be_null=True, null_values=[""],
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


def _string_table_from_xlsx(path: Path, sheet: str | int) -> pa.Table:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        ws = wb.get_sheet_by_index(sheet) if isinstance(sheet, int) else wb.get_sheet_by_name(sheet)
        rows = ws.iter_rows()
        first = next(rows, None)
        if first is None:
            return pa.table({})
        header = [_cell_text(h) or f"column_{i + 1}" for i, h in enumerate(first)]
        chunks, block = [], []
        # Cells become Arrow text a block at a time: a million-row sheet as Python objects would need gigabytes.
        for row in rows:
            block.append(row)
            if len(block) == 65_536:
                chunks.append(_xlsx_block(header, block))
                block = []
        chunks.append(_xlsx_block(header, block))
    except Exception as e:  # calamine raises its own error types for corrupt workbooks
        raise FileRejected("unreadable", f"XLSX: {type(e).__name__}: {e}") from e
    return pa.concat_tables(chunks)


def _xlsx_block(header: list[str], block: list[list]) -> pa.Table:
    width = len(header)
    cols = [[] for _ in range(width)]
    for row in block:
        for i in range(width):
            cols[i].append(_cell_text(row[i]) if i < len(row) else None)
    return pa.table({h: pa.array(c, pa.string()) for h, c in zip(header, cols, strict=True)})


def _apply_mapping(table: pa.Table, t: Table, mapping: dict | None) -> tuple[pa.Table, list[str]]:
    """Rename headers to contract names (NFKC-normalised), map source values; return unmapped headers."""
    import unicodedata

    norm = {unicodedata.normalize("NFKC", k).strip(): v for k, v in (mapping or {}).get("columns", {}).items()}
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
    for col, vmap in (mapping or {}).get("values", {}).items():
        if col in table.column_names:
            arr = _nfkc(table[col].combine_chunks().cast(pa.string()))
            src = pa.array([unicodedata.normalize("NFKC", k).strip() for k in vmap])
            dst = pa.array([str(v) for v in vmap.values()])
            idx = pc.index_in(arr, src)
            mapped = pc.take(dst, idx)
            table = table.set_column(table.column_names.index(col), col, pc.coalesce(mapped, arr))
    return table, extra


def _reason_rows(t: Table, cols: dict[str, Parsed], known_units: set[str] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First failing rule per row: (reason, column, detail) object arrays, None where the row is fine."""
    n = len(next(iter(cols.values())).values)
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)

    def mark(mask: np.ndarray, code: str, col: str | None, det) -> None:
        take = mask & (reason == None)  # noqa: E711 - elementwise on an object array
        if take.any():
            reason[take] = code
            column[take] = col
            detail[take] = det[take] if isinstance(det, np.ndarray) else det

    for k in t.key:
        mark(~_valid_mask(cols[k].values) & (cols[k].errors == None), "missing_id", k, f"{k} is empty")  # noqa: E711
    for c in t.columns:
        if c.name in cols:
            p = cols[c.name]
            mark(p.errors != None, "bad_value", c.name, p.errors)  # noqa: E711
    for c in t.columns:
        if c.required and c.name not in t.key:
            mark(~_valid_mask(cols[c.name].values), "missing_required", c.name, f"{c.name} is empty")
    for c in t.columns:
        if c.name not in cols:
            continue
        v = cols[c.name].values
        if c.allowed:
            bad = _valid_mask(v) & ~np.asarray(pc.is_in(v, pa.array(c.allowed)).to_numpy(zero_copy_only=False), bool)
            mark(bad, "not_allowed", c.name, _errors_where(bad, c.name, v))
        if c.min is not None or c.max is not None:
            lo = pc.less(v, c.min) if c.min is not None else pa.nulls(len(v), pa.bool_())
            hi = pc.greater(v, c.max) if c.max is not None else pa.nulls(len(v), pa.bool_())
            bad = np.asarray(pc.fill_null(pc.or_kleene(lo, hi), False).to_numpy(zero_copy_only=False), bool)
            code = "rating_out_of_range" if c.name == "rating" else "out_of_range"
            mark(bad, code, c.name, _errors_where(bad, c.name, v))

    def before(a: str, b: str, code: str, by_date: bool = False) -> None:
        if a in cols and b in cols:
            left, right = cols[a].values, cols[b].values
            if by_date:  # a deadline is a day: one written as a bare date is that whole Beijing day
                left, right = (pc.local_timestamp(x).cast(pa.date32()) for x in (left, right))
            bad = pc.fill_null(pc.less(left, right), False)
            bad = np.asarray(bad.to_numpy(zero_copy_only=False), bool)
            mark(bad, code, a, np.array([f"{a} earlier than {b}"] * n, dtype=object))

    if t.name == "cases":
        before("completed_at", "accepted_at", "completed_before_accepted")
        before("deadline_at", "accepted_at", "deadline_before_accepted", by_date=True)
    if t.name == "tickets":
        before("called_at", "issued_at", "called_before_issued")
        before("finished_at", "called_at", "finished_before_called")
    for c in t.columns:
        if c.name in cols and c.pii is None and pa.types.is_string(c.type) and is_identifier(t, c.name):
            hit = holds_personal_number(cols[c.name].values)
            mark(hit, "pii_in_identifier", c.name, f"{c.name} holds an ID-card or mobile number")
    if known_units is not None and "unit_code" in cols and not t.dimension:
        v = cols["unit_code"].values
        bad = _valid_mask(v) & ~np.asarray(
            pc.is_in(v, pa.array(sorted(known_units), pa.string())).to_numpy(zero_copy_only=False), bool)
        mark(bad, "unknown_unit", "unit_code", _errors_where(bad, "unit_code", v))
    return reason, column, detail


class _PartitionWriter:
    """Writes accepted rows into <table>/year=YYYY/month=MM/part-<sha>.parquet, one writer per month."""

    def __init__(self, root: Path, t: Table, sha: str):
        self.root, self.t, self.name = root / t.name, t, f"part-{sha[:16]}.parquet"
        self.writers: dict[tuple[int, int] | None, pq.ParquetWriter] = {}
        self.schema = t.arrow_schema().append(pa.field("_source_file", pa.string())) \
            .append(pa.field("_source_sha256", pa.string())).append(pa.field("_source_row", pa.int64()))

    def _writer(self, key) -> pq.ParquetWriter:
        if key not in self.writers:
            folder = self.root if key is None else self.root / f"year={key[0]:04d}" / f"month={key[1]:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            self.writers[key] = pq.ParquetWriter(folder / self.name, self.schema, compression="zstd")
        return self.writers[key]

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self.t.partition_by is None:
            self._writer(None).write_table(table)
            return
        ts = table[self.t.partition_by]
        ym = pc.add(pc.multiply(pc.year(ts).cast(pa.int32()), 100), pc.month(ts).cast(pa.int32()))
        for v in pc.unique(ym).to_pylist():
            self._writer((v // 100, v % 100)).write_table(table.filter(pc.equal(ym, v)))

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


def _raw_json(batch: pa.Table, mask: np.ndarray, t: Table) -> list[str]:
    """The quarantined rows as JSON text: personal columns removed, every value NFKC-normalised and scrubbed."""
    keep = [c for c in batch.column_names if c in t.names and t.column(c).pii not in ("drop", "hmac")]
    sub = batch.select(keep).filter(pa.array(mask))
    if sub.num_rows == 0:
        return []
    cols = {}
    for c in keep:
        arr = sub[c].combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        cols[c] = scrub_text(_nfkc(arr.cast(pa.string()))).to_pylist()
    return [json.dumps({c: cols[c][i] for c in keep}, ensure_ascii=False) for i in range(sub.num_rows)]


def _iter_source(job: Job, t: Table, state: dict) -> Iterator[tuple[pa.Table, list[tuple[int, str]], list[str]]]:
    """Yield (batch with contract-named columns, malformed-row records, extra headers) for one file."""
    path = Path(job.path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            pf = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises ArrowInvalid/OSError for truncated or foreign files
            raise FileRejected("unreadable", f"Parquet: {e}") from e
        state["rows_total"] = pf.metadata.num_rows
        names = pf.schema_arrow.names
        extra = [n for n in names if n not in t.names]
        wanted = [n for n in names if n in t.names]
        _check_columns(t, wanted)
        try:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
                yield pa.Table.from_batches([batch]), [], extra
        except FileRejected:
            raise
        except Exception as e:
            raise FileRejected("unreadable", f"Parquet: {e}", pf.metadata.num_rows) from e
        return
    mapping = job.mapping
    if suffix == ".csv":
        table, malformed = _string_table_from_csv(path, (mapping or {}).get("encoding", "utf-8"))
    elif suffix == ".xlsx":
        table, malformed = _string_table_from_xlsx(path, (mapping or {}).get("sheet", 0)), []
    else:
        raise FileRejected("unsupported_format", f"{suffix or 'no extension'} is not Parquet, CSV or XLSX")
    state["rows_total"] = table.num_rows + len(malformed)
    table, extra = _apply_mapping(table, t, mapping)
    _check_columns(t, [c for c in table.column_names if not c.startswith("__")])
    table = table.drop_columns([c for c in table.column_names if c.startswith("__extra__")])
    if table.num_rows == 0:
        yield table, malformed, extra
    for start in range(0, max(table.num_rows, 1), BATCH_ROWS):
        if start >= table.num_rows:
            break
        yield table.slice(start, BATCH_ROWS), (malformed if start == 0 else []), extra


def _check_columns(t: Table, present: list[str]) -> None:
    missing = [c.name for c in t.columns if c.required and c.name not in present]
    if missing:
        raise FileRejected("missing_column", f"required column(s) missing: {', '.join(missing)}")


def process_file(job: Job) -> dict:
    """Parse, check and split one file into accepted rows and quarantined rows under job.out_dir."""
    state: dict = {"rows_total": None}
    try:
        return _process(job, state)
    except FileRejected as e:
        # A rejected file's rows are all quarantined: count them whenever the file says how many it holds.
        if e.rows_in is None:
            e.rows_in = state["rows_total"]
        raise
    except Exception as e:
        raise FileRejected("unreadable", f"{type(e).__name__}: {e}", state["rows_total"]) from e


def _process(job: Job, state: dict) -> dict:
    t = TABLES[job.table]
    out = Path(job.out_dir)
    path = Path(job.path)
    if path.stat().st_size == 0:
        raise FileRejected("empty_file", "0 bytes", 0)
    writer = _PartitionWriter(out / "accepted", t, job.sha256)
    q_batches: list[pa.Table] = []
    counts = {"rows_in": 0, "rows_accepted": 0, "rows_quarantined": 0}
    reasons: dict[str, int] = {}
    extra_cols: list[str] = []
    known = set(job.known_units) if job.known_units is not None else None
    key = job.hmac_key.encode("utf-8")
    row0 = 0
    try:
        for batch, malformed, extra in _iter_source(job, t, state):
            extra_cols = extra
            if malformed:
                q_batches.append(pa.table({
                    "table": [t.name] * len(malformed), "source_file": [path.name] * len(malformed),
                    "source_sha256": [job.sha256] * len(malformed),
                    "source_row": pa.array([r for r, _ in malformed], pa.int64()),
                    "reason": ["malformed_row"] * len(malformed), "column": pa.nulls(len(malformed), pa.string()),
                    "detail": [d for _, d in malformed], "raw": pa.nulls(len(malformed), pa.string()),
                }, schema=LOG_SCHEMAS["quarantine_rows"]))
                counts["rows_in"] += len(malformed)
                counts["rows_quarantined"] += len(malformed)
                reasons["malformed_row"] = reasons.get("malformed_row", 0) + len(malformed)
            n = batch.num_rows
            if n == 0:
                continue
            cols: dict[str, Parsed] = {}
            for c in t.columns:
                if c.name in batch.column_names:
                    arr = batch[c.name].combine_chunks()
                    if c.pii in ("drop", "hmac"):
                        cols[c.name] = Parsed(_nfkc(arr.cast(pa.string())), _no_errors(n))
                    else:
                        cols[c.name] = _from_typed(arr, c.type, c.name)
                else:
                    cols[c.name] = Parsed(pa.nulls(n, c.type), _no_errors(n))
            reason, column, detail = _reason_rows(t, cols, known)
            bad = reason != None  # noqa: E711
            if ROW_COL in batch.column_names:
                rows = batch[ROW_COL].combine_chunks()
                batch = batch.drop_columns([ROW_COL])
            else:
                rows = pa.array(np.arange(row0 + 1, row0 + n + 1), pa.int64())
            row0 += n
            counts["rows_in"] += n
            if bad.any():
                raw = _raw_json(batch, bad, t)
                q_batches.append(pa.table({
                    "table": [t.name] * int(bad.sum()), "source_file": [path.name] * int(bad.sum()),
                    "source_sha256": [job.sha256] * int(bad.sum()),
                    "source_row": rows.filter(pa.array(bad)),
                    "reason": pa.array(reason[bad].tolist(), pa.string()),
                    "column": pa.array(column[bad].tolist(), pa.string()),
                    "detail": scrub_text(pa.array([str(d) for d in detail[bad]], pa.string())),
                    "raw": pa.array(raw, pa.string()),
                }, schema=LOG_SCHEMAS["quarantine_rows"]))
                for code, k in zip(*np.unique(reason[bad].astype(str), return_counts=True), strict=True):
                    reasons[code] = reasons.get(code, 0) + int(k)
            good = pa.array(~bad)
            stored = {}
            for c in t.stored_columns:
                if c.name not in cols:
                    continue
                v = cols[c.name].values
                # Any text a person typed may hold a phone or ID number; identifiers are checked instead.
                # (Columns with a closed set of allowed values were already checked against it.)
                typed_text = pa.types.is_string(c.type) and not c.allowed and not is_identifier(t, c.name)
                stored[c.name] = scrub_text(v) if typed_text else v
            for c in t.columns:
                if c.pii == "hmac":
                    stored[c.hmac_to] = hmac_column(cols[c.name].values, key)
            accepted = pa.table(
                {c.name: stored[c.name] for c in t.stored_columns}
                | {"_source_file": pa.array([path.name] * n, pa.string()),
                   "_source_sha256": pa.array([job.sha256] * n, pa.string()), "_source_row": rows},
                schema=writer.schema,
            ).filter(good)
            writer.write(accepted)
            counts["rows_accepted"] += accepted.num_rows
            counts["rows_quarantined"] += int(bad.sum())
    finally:
        writer.close()
    if q_batches:
        pq.write_table(pa.concat_tables(q_batches), out / "quarantine.parquet", compression="zstd")
    notes = [f"extra_columns_dropped: {', '.join(extra_cols)}"] if extra_cols else []
    if known is None and "unit_code" in t.names and not t.dimension:
        notes.append("units_not_loaded")
    return {**counts, "reasons": reasons, "notes": notes}


def run_job(func: Callable[[Job], dict], job: Job) -> dict:
    """Run one job, turning any failure into a whole-file rejection (never a crashed run)."""
    try:
        return {"ok": True, **func(job)}
    except FileRejected as e:
        return {"ok": False, "reason": e.reason, "detail": e.detail, "rows_in": e.rows_in}
    except Exception as e:  # anything unforeseen rejects the file
        return {"ok": False, "reason": "unreadable", "detail": f"{type(e).__name__}: {e}"}


def _worker_loop(worker: str, conn) -> None:
    """Worker process: take jobs from the pipe until told to stop; a death mid-job is seen by the parent."""
    mod, fn = worker.split(":")
    func: Callable[[Job], dict] = getattr(importlib.import_module(mod), fn)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(run_job(func, job))


class _Worker:
    """One parsing process, reused across files; replaced when it dies."""

    def __init__(self, ctx, worker: str):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_loop, args=(worker, child), daemon=True)
        self.proc.start()
        child.close()
        self.task: tuple | None = None

    def give(self, job: Job, task: tuple) -> bool:
        """Hand over a job; False when the process is already dead (the job is still ours to place)."""
        try:
            self.conn.send(job)
        except OSError:  # BrokenPipe / ConnectionReset: it died while idle
            return False
        self.task = task
        return True

    def poll(self) -> tuple[bool, dict | None]:
        """(finished, result): result None means the process died on the job."""
        try:
            if self.conn.poll():
                return True, self.conn.recv()
        except (EOFError, OSError):  # a peer that died with our job unread resets the connection
            return True, None
        if not self.proc.is_alive():
            return True, None
        return False, None

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()


# --------------------------------------------------------------------------------------------- the run


@dataclass
class FileReport:
    """The outcome for one input file."""

    source_file: str
    sha256: str
    table: str | None
    format: str
    status: str  # accepted | partial | quarantined | skipped
    rows_in: int | None = None
    rows_accepted: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    detail: str | None = None
    reasons: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class RunReport:
    """The outcome of one `hall ingest` run."""

    run_id: str
    files: list[FileReport]
    seconds: float = 0.0

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in or 0 for f in self.files if f.status != "skipped")

    @property
    def rows_accepted(self) -> int:
        return sum(f.rows_accepted for f in self.files if f.status != "skipped")

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files if f.status != "skipped")

    def to_dict(self) -> dict:
        statuses: dict[str, int] = {}
        for f in self.files:
            statuses[f.status] = statuses.get(f.status, 0) + 1
        return {
            "run_id": self.run_id, "files": len(self.files), "statuses": statuses, "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted, "rows_quarantined": self.rows_quarantined,
            "seconds": round(self.seconds, 3), "file_reports": [asdict(f) for f in self.files],
        }


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, and every supported file inside named folders, in a stable order."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith("."))
        elif p.exists():
            out.append(p)
        else:
            raise IngestError(f"{p}: no such file or folder")
    return out


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _ingested_shas(lake: Lake) -> set[str]:
    _, files = log_glob(lake, "ingest_log")
    done: set[str] = set()
    for f in files:
        t = pq.read_table(f, columns=["source_sha256", "status"])
        for sha, status in zip(t["source_sha256"].to_pylist(), t["status"].to_pylist(), strict=True):
            if status in ("accepted", "partial"):
                done.add(sha)
    return done


def known_units(lake: Lake) -> list[str] | None:
    """Unit codes in the warehouse's units table (any version), or None when none is loaded."""
    files = sorted(lake.table_dir("units").glob("*.parquet"))
    if not files:
        return None
    codes: set[str] = set()
    for f in files:
        codes |= set(pq.read_table(f, columns=["unit_code"])["unit_code"].to_pylist())
    return sorted(c for c in codes if c)


def _commit(lake: Lake, t: Table, sha: str, staging: Path) -> None:
    """Move one file's staged output into the warehouse, replacing any earlier output of the same file."""
    name = f"part-{sha[:16]}.parquet"
    for old in lake.table_dir(t.name).glob(f"**/{name}"):
        old.unlink()
    src_root = staging / "accepted" / t.name
    if src_root.exists():
        for src in src_root.rglob("*.parquet"):
            dest = lake.table_dir(t.name) / src.relative_to(src_root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
    qdir = lake.quarantine / "rows" / t.name
    qdir.mkdir(parents=True, exist_ok=True)
    qfile = qdir / f"{sha[:16]}.parquet"
    if (staging / "quarantine.parquet").exists():
        os.replace(staging / "quarantine.parquet", qfile)
    elif qfile.exists():
        qfile.unlink()


def clean_text(text: str | None) -> str | None:
    """NFKC and scrub one message (an error detail may quote a line of the file)."""
    if text is None:
        return None
    return scrub_text(_nfkc(pa.array([text], pa.string()))).to_pylist()[0]


def _quarantine_file(lake: Lake, rep: FileReport, size: int) -> None:
    rep.detail = clean_text(rep.detail)
    folder = lake.quarantine / "files"
    folder.mkdir(parents=True, exist_ok=True)
    row = {"source_file": rep.source_file, "source_sha256": rep.sha256, "size_bytes": size, "table": rep.table,
           "reason": rep.reason, "detail": rep.detail, "rows_in": rep.rows_in}
    pq.write_table(pa.Table.from_pylist([row], schema=LOG_SCHEMAS["quarantine_files"]),
                   folder / f"{rep.sha256[:16]}.parquet")


def ingest(paths: Iterable[Path], lake: Lake | None = None, *, force: bool = False, workers: int | None = None,
           worker: str = "dashboard.core.ingest:process_file",
           progress: Callable[[FileReport, int, int], None] | None = None,
           waiting: Callable[[str], None] | None = None) -> RunReport:
    """Run the gate over files and folders: dimensions first, then facts, each file in its own process; one
    writer per data folder at a time (`waiting` hears who holds it while this run waits)."""
    lake = lake or Lake.default()
    with lake.writer("hall ingest", waiting):
        return _ingest(paths, lake, force=force, workers=workers, worker=worker, progress=progress)


def _ingest(paths: Iterable[Path], lake: Lake, *, force: bool, workers: int | None, worker: str,
            progress: Callable[[FileReport, int, int], None] | None) -> RunReport:
    t0 = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    run_id = now.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    files = expand_paths(paths)
    mappings = load_mappings(lake.mappings)
    key = hmac_key_for(lake).decode("utf-8")
    done = set() if force else _ingested_shas(lake)
    staging_root = lake.lake / ".staging" / run_id
    reports: list[FileReport] = []
    plan: list[tuple[Path, str, str | None, Mapping | None]] = []
    for p in files:
        sha = sha256_of(p)
        table, mapping = identify(p, mappings)
        plan.append((p, sha, table, mapping))
    # Units must be known before facts are checked against them.
    plan.sort(key=lambda x: (not (x[2] and TABLES[x[2]].dimension), str(x[0])))
    total = len(plan)
    workers = workers or min(2, os.cpu_count() or 1)
    ctx = mp.get_context("spawn")

    def finish(rep: FileReport) -> None:
        reports.append(rep)
        if progress:
            progress(rep, len(reports), total)

    seen: set[str] = set()

    def triage(p: Path, sha: str, table: str | None, mapping: Mapping | None) -> tuple[FileReport, Job | None]:
        """Settle what needs no parsing (duplicates, empty, unknown files); otherwise return the job."""
        fmt = p.suffix.lower().lstrip(".")
        rep = FileReport(source_file=p.name, sha256=sha, table=table, format=fmt, status="quarantined")
        if sha in done or sha in seen:
            rep.status, rep.reason = "skipped", "already_ingested"
            return rep, None
        seen.add(sha)
        size = p.stat().st_size
        if size == 0:
            rep.reason, rep.detail, rep.rows_in = "empty_file", "0 bytes", 0
        elif table is None:
            rep.reason = "unknown_table"
            rep.detail = f"name does not start with a table name ({', '.join(TABLES)}) nor match a mapping"
        elif p.suffix.lower() not in SUPPORTED:
            rep.reason, rep.detail = "unsupported_format", f".{fmt} is not Parquet, CSV or XLSX"
        else:
            staging = staging_root / sha[:16]
            staging.mkdir(parents=True, exist_ok=True)
            return rep, Job(path=str(p), sha256=sha, table=table,
                            mapping=None if mapping is None else {"encoding": mapping.encoding, "sheet": mapping.sheet,
                                                                 "columns": mapping.columns, "values": mapping.values},
                            known_units=None, hmac_key=key, out_dir=str(staging))
        _quarantine_file(lake, rep, size)
        return rep, None

    def settle(rep: FileReport, p: Path, res: dict | None, exitcode: int | None) -> None:
        staging = staging_root / rep.sha256[:16]
        if res is None:
            rep.reason = "worker_crashed"
            rep.detail = f"worker exited with code {exitcode} while parsing; nothing from it was kept"
            _quarantine_file(lake, rep, p.stat().st_size)
        elif res["ok"]:
            rep.rows_in, rep.rows_accepted = res["rows_in"], res["rows_accepted"]
            rep.rows_quarantined, rep.reasons, rep.notes = res["rows_quarantined"], res["reasons"], res["notes"]
            if rep.rows_in != rep.rows_accepted + rep.rows_quarantined:
                raise AssertionError(f"{p}: rows_in != accepted + quarantined ({res})")
            rep.status = "accepted" if rep.rows_quarantined == 0 else "partial"
            _commit(lake, TABLES[rep.table], rep.sha256, staging)
            stale = lake.quarantine / "files" / f"{rep.sha256[:16]}.parquet"
            if stale.exists():
                stale.unlink()
        else:
            rep.reason, rep.detail = res["reason"], res["detail"]
            rep.rows_in = res.get("rows_in")
            rep.rows_quarantined = rep.rows_in or 0
            _quarantine_file(lake, rep, p.stat().st_size)
        shutil.rmtree(staging, ignore_errors=True)
        finish(rep)

    pool: list[_Worker] = []
    try:
        for phase in ([x for x in plan if x[2] and TABLES[x[2]].dimension],
                      [x for x in plan if not (x[2] and TABLES[x[2]].dimension)]):
            units = known_units(lake)
            pending = list(phase)
            while pending or any(w.task for w in pool):
                while pending and (len(pool) < workers or any(w.task is None for w in pool)):
                    p, sha, table, mapping = pending.pop(0)
                    rep, job = triage(p, sha, table, mapping)
                    if job is None:
                        finish(rep)
                        continue
                    job.known_units = units
                    idle = next((w for w in pool if w.task is None), None)
                    if idle is not None and not idle.give(job, (rep, p, time.perf_counter())):
                        pool.remove(idle)
                        idle = None
                    if idle is None:
                        idle = _Worker(ctx, worker)
                        pool.append(idle)
                        if not idle.give(job, (rep, p, time.perf_counter())):
                            pool.remove(idle)
                            settle(rep, p, None, idle.proc.exitcode)
                busy = [w for w in pool if w.task]
                if busy:
                    mp.connection.wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=1.0)
                for w in busy:
                    finished, res = w.poll()
                    if not finished:
                        continue
                    rep, p, started = w.task
                    rep.seconds = time.perf_counter() - started
                    w.task = None
                    if res is None:
                        pool.remove(w)
                    settle(rep, p, res, w.proc.exitcode if res is None else None)
    finally:
        for w in pool:
            w.stop()
        # Whatever was settled is logged, even when the run itself stops on an error.
        shutil.rmtree(staging_root, ignore_errors=True)
        report = RunReport(run_id=run_id, files=reports, seconds=time.perf_counter() - t0)
        _write_log(lake, report, now)
    return report


def _write_log(lake: Lake, report: RunReport, when: dt.datetime) -> None:
    rows = [{
        "run_id": report.run_id, "source_file": f.source_file, "source_sha256": f.sha256, "table": f.table,
        "format": f.format, "status": f.status, "reason": f.reason,
        "detail": f.detail or (json.dumps(f.reasons, ensure_ascii=False) if f.reasons else None),
        "rows_in": f.rows_in, "rows_accepted": f.rows_accepted, "rows_quarantined": f.rows_quarantined,
        "notes": "; ".join(f.notes) or None, "ingested_at": when, "seconds": round(f.seconds, 3),
    } for f in report.files]
    lake.ingest_log.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=LOG_SCHEMAS["ingest_log"]),
                   lake.ingest_log / f"{report.run_id}.parquet")


__all__ = ["FILE_REASONS", "REASONS", "ingest", "load_mappings", "identify", "process_file", "RunReport"]
