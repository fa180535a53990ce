"""Mapping files (映射文件, data/mappings/*.toml): how a Chinese-header CSV/XLSX export maps onto a contract
table, checked like rulesets — an unknown key, table or column is refused as file:line:col: message."""

from __future__ import annotations

import difflib
import fnmatch
import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from dashboard.core.contract import TABLES
from dashboard.core.ingest.errors import IngestError


def _near(name: str, options) -> str:
    near = difflib.get_close_matches(name, list(options), n=1, cutoff=0.75)
    return f" (did you mean {near[0]!r}?)" if near else ""


class Mapping(BaseModel):
    """One mapping file: the table, the file names it matches, the CSV encoding or XLSX sheet, header → column
    renames and per-column value translations (source text → contract text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    match: tuple[str, ...] = ()
    encoding: str = "utf-8"
    sheet: str | int = 0
    columns: dict[str, str] = {}
    values: dict[str, dict[str, str | bool | int | float]] = {}

    @field_validator("table")
    @classmethod
    def _known_table(cls, table: str) -> str:
        if table not in TABLES:
            raise _refused(f"table = {table!r} is not one of {sorted(TABLES)}{_near(table, TABLES)}")
        return table

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            "".encode(encoding)
        except LookupError:
            raise _refused(f"unknown encoding {encoding!r}") from None
        return encoding

    @field_validator("columns")
    @classmethod
    def _columns_of_the_table(cls, columns: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        names = _table_names(info)
        for header, col in columns.items():
            if names is not None and col not in names:
                raise _refused(f"[columns] {header!r} maps to {col!r}, not a column of {info.data['table']}"
                               f"{_near(col, names)}", key=header)
        return columns

    @field_validator("values")
    @classmethod
    def _values_of_columns(cls, values: dict, info: ValidationInfo) -> dict:
        names = _table_names(info)
        for col in values:
            if names is not None and col not in names:
                raise _refused(f"[values.{col}] is not a column of {info.data['table']}{_near(col, names)}", key=col)
        return values


def _refused(message: str, key: str | None = None) -> PydanticCustomError:
    """A refusal whose message is final; `key` is the entry inside the field it is about, for its line."""
    return PydanticCustomError("mapping", "{message}", {"message": message, "key": key})


def _table_names(info: ValidationInfo) -> list[str] | None:
    """The export column names of the mapping's table, or None when the table itself is wrong."""
    table = info.data.get("table")
    return TABLES[table].names if table in TABLES else None


_KEY = r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+'
_DOTTED = re.compile(rf"\s*((?:{_KEY})(?:\s*\.\s*(?:{_KEY}))*)")


def _key_path(dotted: str) -> tuple[str, ...]:
    return tuple(k[1:-1] if k[:1] in "\"'" else k for k in re.findall(_KEY, dotted))


def _locate(text: str, loc: tuple) -> tuple[int, int]:
    """(line, col), 1-based, of the key a TOML error is about: the deepest key line or table header on its path."""
    want = tuple(str(x) for x in loc)
    best, where = 0, (1, 1)
    section: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith("["):
            m = _DOTTED.match(stripped.lstrip("["))
            if not m:
                continue
            path = section = _key_path(m.group(1))
        else:
            m = _DOTTED.match(stripped)
            if not m or not stripped[m.end():].lstrip().startswith("="):
                continue
            path = section + _key_path(m.group(1))
        depth = 0
        for have, wanted in zip(path, want, strict=False):
            if have != wanted:
                break
            depth += 1
        if depth > best:
            best, where = depth, (number, len(line) - len(stripped) + 1)
    return where


def _problem(path: Path, text: str, err: ErrorDetails) -> str:
    loc, kind = err["loc"], err["type"]
    key = (err.get("ctx") or {}).get("key")
    line, col = _locate(text, (*loc, key) if key is not None else loc)
    if kind == "extra_forbidden":
        name = str(loc[-1])
        where = "" if len(loc) == 1 else f"[{'.'.join(map(str, loc[:-1]))}] "
        message = f"{where}unknown key {name!r}{_near(name, Mapping.model_fields) if len(loc) == 1 else ''}"
    elif kind == "missing":
        message = f"missing key {'.'.join(map(str, loc))!r}"
    elif kind == "mapping":
        message = err["ctx"]["message"]
    else:
        message = f"{'.'.join(map(str, loc))}: {err['msg']}"
    return f"{path}:{line}:{col}: {message}"


def load_mapping(path: Path) -> Mapping:
    """Read and check one mapping file; an IngestError names the file, the line and column, and the key."""
    text = path.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        at = re.search(r"at line (\d+), column (\d+)", str(e))
        raise IngestError(f"{path}:{at[1]}:{at[2]}: TOML: {e}" if at else f"{path}: TOML: {e}") from e
    try:
        return Mapping.model_validate(doc)
    except ValidationError as e:
        raise IngestError("\n".join(_problem(path, text, err) for err in e.errors(include_url=False))) from e


def load_mappings(folder: Path) -> list[Mapping]:
    """Read every mapping file of a folder, in name order; the first broken one stops with an IngestError."""
    return [load_mapping(path) for path in sorted(Path(folder).glob("*.toml"))]


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
