"""Given/expect YAML for the build queries: each case in tests/queries/<query>.yaml is built into a fresh lake.

A case gives rows per input table (merged over the defaults in tests/queries/_defaults.yaml; times are Beijing
time) and, optionally, definition options; it expects rows of marts or fact tables, found by their key columns,
with only the columns listed compared. The expected numbers are worked out by hand in the YAML comments.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import TZ8, write_warehouse
from ruamel.yaml import YAML

from dashboard.core import marts
from dashboard.core.contract import TABLES
from dashboard.core.db import Lake
from dashboard.core.metrics import MetricOptions

HERE = Path(__file__).parent / "queries"
# Rows are found by the keys each query's header declares.
KEYS = {name: q.keys for name, q in marts.CATALOG.items() if q.keys}


def _load(path: Path):
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


DEFAULTS = _load(HERE / "_defaults.yaml")
QUERY_FILES = sorted(p for p in HERE.glob("*.yaml") if not p.name.startswith("_"))


def _instant(v):
    """YAML gives naive datetimes or strings; both mean Beijing time."""
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v)
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=TZ8) if v.tzinfo is None else v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day, tzinfo=TZ8)
    return v


def _rows(table: str, given: list[dict]) -> list[dict]:
    """Given rows over the table's defaults, typed as the contract says; ids numbered when not given."""
    t = TABLES[table]
    out = []
    for i, g in enumerate(given, start=1):
        row = {**DEFAULTS.get("rows", {}).get(table, {}), **g}
        for c in t.columns:
            if row.get(c.name) is None:
                continue
            if pa.types.is_timestamp(c.type):
                row[c.name] = _instant(row[c.name])
            elif pa.types.is_date(c.type) and isinstance(row[c.name], str):
                row[c.name] = dt.date.fromisoformat(row[c.name])
        key = t.key[0]
        row.setdefault(key, f"{key[:1].upper()}{i}")
        if "updated_at" not in row or row["updated_at"] is None:
            row["updated_at"] = next((row[c] for c in ("completed_at", "accepted_at", "rated_at", "issued_at",
                                                       "occurred_at") if row.get(c)), _instant("2024-01-01"))
        out.append(row)
    return out


def _cases():
    for path in QUERY_FILES:
        for case in _load(path):
            yield pytest.param(path.stem, case, id=f"{path.stem}:{case['name']}")


def _same(actual, expected) -> bool:
    if isinstance(actual, Decimal) and expected is not None:
        return actual == Decimal(str(expected))
    if isinstance(actual, dt.date) and isinstance(expected, str):
        return actual.isoformat() == expected
    return actual == expected


@pytest.mark.parametrize(("query", "case"), list(_cases()))
def test_query_case(query, case, tmp_path):
    lake = Lake(tmp_path / "data")
    given = {**DEFAULTS["dimensions"], **case.get("given", {})}
    for table, rows in given.items():
        write_warehouse(lake, table, _rows(table, rows))
    options = MetricOptions.from_overrides(case.get("options", {}), f"{query}:{case['name']}")
    marts.build(lake, options=options)
    for name, expected_rows in case["expect"].items():
        folder = lake.facts if name in marts.FACTS else lake.marts
        table = pq.read_table(folder / f"{name}.parquet").to_pylist()
        keys = KEYS[name]
        for exp in expected_rows:
            exp = dict(exp)
            absent = exp.pop("absent", False)
            match = [r for r in table if all(_same(r[k], exp[k]) for k in keys)]
            where = {k: exp[k] for k in keys}
            if absent:
                assert not match, f"{name}: expected no row for {where}, found {match}"
                continue
            assert len(match) == 1, f"{name}: expected one row for {where}, found {len(match)}"
            wrong = {k: (match[0][k], v) for k, v in exp.items() if not _same(match[0][k], v)}
            assert not wrong, f"{name} {where}: (actual, expected) differ: {wrong}"
