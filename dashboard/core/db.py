"""Lake paths and hardened DuckDB access: one factory, a cursor per query, Asia/Shanghai everywhere."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from filelock import FileLock, Timeout

from dashboard.core.contract import TABLES, Table
from dashboard.resources import ROOT as REPO_ROOT  # the checkout, or a wheel's copy of its files


@dataclass(frozen=True)
class Lake:
    """Where everything lives: exports, warehouse, quarantine, ingest log and marts under one data root."""

    root: Path

    @classmethod
    def default(cls) -> Lake:
        """The lake named by $HALL_DATA, else `data/` in the repository."""
        return cls(Path(os.environ.get("HALL_DATA", REPO_ROOT / "data")).resolve())

    @property
    def demo_exports(self) -> Path:
        return self.root / "demo" / "exports"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def warehouse(self) -> Path:
        return self.lake / "warehouse"

    @property
    def quarantine(self) -> Path:
        return self.lake / "quarantine"

    @property
    def ingest_log(self) -> Path:
        return self.lake / "ingest_log"

    @property
    def marts(self) -> Path:
        return self.lake / "marts"

    @property
    def facts(self) -> Path:
        """Build-time fact tables (cases with their deadlines, ratings with their case, …) the marts roll up."""
        return self.lake / "facts"

    @property
    def mappings(self) -> Path:
        """Mapping files for Chinese-header CSV/XLSX: the lake's own, else the repository's."""
        own = self.root / "mappings"
        return own if own.exists() else REPO_ROOT / "data" / "mappings"

    @property
    def calendar_overrides(self) -> Path:
        return self.root / "calendar_overrides.toml"

    @property
    def hmac_key_file(self) -> Path:
        return self.root / ".hmac_key"

    def table_dir(self, table: str) -> Path:
        return self.warehouse / table

    @contextmanager
    def writer(self, what: str, waiting: Callable[[str], None] | None = None) -> Iterator[None]:
        """One writer (ingest or build) at a time per data folder: a second waits its turn, told who holds it."""
        self.lake.mkdir(parents=True, exist_ok=True)
        lock, holder = FileLock(str(self.lake / ".writer.lock")), self.lake / ".writer.holder"
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if waiting:
                try:
                    waiting(holder.read_text(encoding="utf-8"))
                except OSError:
                    waiting("?")
            lock.acquire()
        try:
            holder.write_text(f"{what} (pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')})",
                              encoding="utf-8")
            yield
        finally:
            holder.unlink(missing_ok=True)
            lock.release()

    def has_warehouse(self) -> bool:
        """True when at least the cases table holds a file."""
        return any(self.table_dir("cases").glob("**/*.parquet"))

    def has_marts(self) -> bool:
        return (self.marts / "unit_month.parquet").exists()


MART_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _versions_select(lake: Lake, t: Table) -> str:
    files = sorted(lake.table_dir(t.name).glob("**/*.parquet"))
    if not files:
        # No data yet: an empty relation with the contract's stored schema keeps every query valid.
        cols = ", ".join(
            f"CAST(NULL AS {_duck_type(c.type)}) AS \"{c.name}\"" for c in t.stored_columns
        )
        hive = ", NULL::INTEGER AS year, NULL::INTEGER AS month" if t.partition_by else ""
        return f"SELECT {cols}, NULL::VARCHAR AS _source_file, NULL::VARCHAR AS _source_sha256, " \
               f"NULL::BIGINT AS _source_row{hive} LIMIT 0"
    pattern = str(lake.table_dir(t.name)) + ("/*/*/*.parquet" if t.partition_by else "/*.parquet")
    hive = ", hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}" if t.partition_by else ""
    return f"SELECT * FROM read_parquet({_sql_str(pattern)}, union_by_name = true{hive})"


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    return {pa.string(): "VARCHAR", pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN",
            pa.date32(): "DATE", pa.float64(): "DOUBLE"}[t]


class Warehouse:
    """A hardened in-memory DuckDB over the lake's Parquet; `query` runs each statement on its own cursor."""

    def __init__(self, lake: Lake, *, memory_limit: str | None = None, threads: int | None = None,
                 writable: tuple[Path, ...] = ()):
        self.lake = lake
        self._lock = threading.Lock()
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        lake.lake.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(lake.lake / ".duckdb_tmp")
        con = duckdb.connect(":memory:", config=config)
        allowed = [str(lake.lake)] + [str(p) for p in writable]
        # allowed_directories is only settable after connect, and must precede disabling external access.
        con.execute("SET allowed_directories = ?", [allowed])
        con.execute("SET enable_external_access = false")
        # A cursor does not inherit a session-level SET; GLOBAL is what every cursor sees.
        con.execute("SET GLOBAL TimeZone = 'Asia/Shanghai'")
        self._con = con
        self._register_views()
        con.execute("SET lock_configuration = true")

    def _register_views(self) -> None:
        cur = self._con.cursor()
        try:
            for t in TABLES.values():
                cur.execute(f"CREATE OR REPLACE VIEW {t.name}_versions AS {_versions_select(self.lake, t)}")
                order = ", ".join(
                    ([f"{t.version_by} DESC NULLS LAST"] if t.version_by else [])
                    + ["_source_sha256 DESC", "_source_row DESC"]
                )
                key = ", ".join(f'"{k}"' for k in t.key)
                # Re-exports are rare: records with one version stream through, and only keys seen more than once
                # pay for the window that picks the latest (a window over every row would materialise them all).
                v = f"{t.name}_versions"
                cur.execute(
                    f"CREATE OR REPLACE VIEW {t.name} AS "
                    f"WITH repeated AS (SELECT {key} FROM {v} GROUP BY ALL HAVING count(*) > 1) "
                    f"SELECT * FROM {v} ANTI JOIN repeated USING ({key}) "
                    f"UNION ALL BY NAME "
                    f"(SELECT * FROM {v} SEMI JOIN repeated USING ({key}) "
                    f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}) = 1)"
                )
            for name in ("quarantine_rows", "quarantine_files", "ingest_log"):
                cur.execute(f"CREATE OR REPLACE VIEW {name} AS {self._log_select(name)}")
            cal = self.lake.lake / "calendar.parquet"
            if cal.exists():
                cur.execute(f"CREATE OR REPLACE VIEW calendar AS SELECT * FROM read_parquet({_sql_str(str(cal))})")
            # Only names a query could have written: a stray copy must not break every connection.
            for fact in sorted(self.lake.facts.glob("*.parquet")):
                if MART_NAME.fullmatch(fact.stem):
                    self._view(cur, fact.stem, fact)
            for mart in sorted(self.lake.marts.glob("*.parquet")):
                if MART_NAME.fullmatch(mart.stem):
                    self._view(cur, f"mart_{mart.stem}", mart)
        finally:
            cur.close()

    @staticmethod
    def _view(cur, name: str, path: Path) -> None:
        cur.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet({_sql_str(str(path))})')

    def register(self, name: str, path: Path) -> None:
        """Expose a Parquet file the build just wrote as a view `name` (a catalog name, never user input)."""
        if not MART_NAME.fullmatch(name):
            raise ValueError(f"not a view name: {name!r}")
        cur = self._con.cursor()
        try:
            self._view(cur, name, path)
        finally:
            cur.close()

    def _log_select(self, name: str) -> str:
        from dashboard.core.ingest import LOG_SCHEMAS, log_glob

        pattern, files = log_glob(self.lake, name)
        if not files:
            cols = ", ".join(f'CAST(NULL AS {_duck_type(f.type)}) AS "{f.name}"' for f in LOG_SCHEMAS[name])
            return f"SELECT {cols} LIMIT 0"
        return f"SELECT * FROM read_parquet({_sql_str(pattern)}, union_by_name = true)"

    def query(self, sql: str, params: list | dict | None = None) -> pa.Table:
        """Run one statement with bound parameters on a fresh cursor and return an Arrow table."""
        return self.query_with({}, sql, params)

    def query_with(self, tables: dict[str, pa.Table], sql: str, params: list | dict | None = None) -> pa.Table:
        """Like `query`, with Arrow tables registered under the given names on that cursor only."""
        cur = self._con.cursor()
        try:
            for name, table in tables.items():
                cur.register(name, table)
            return cur.sql(sql, params=params).to_arrow_table() if params else cur.sql(sql).to_arrow_table()
        finally:
            cur.close()

    def execute(self, sql: str, params: list | dict | None = None) -> None:
        """Run one statement for its effect (e.g. COPY … TO a marts file) on a fresh cursor."""
        cur = self._con.cursor()
        try:
            cur.execute(sql, params or [])
            cur.fetchall()
        finally:
            cur.close()

    def close(self) -> None:
        self._con.close()


def connect(lake: Lake | None = None, **kw) -> Warehouse:
    """The one factory for DuckDB access to the lake."""
    return Warehouse(lake or Lake.default(), **kw)
