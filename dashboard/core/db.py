"""Hardened DuckDB access to the lake: one factory, a cursor per query, Asia/Shanghai everywhere."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from dashboard.core.contract import TABLES, Table
from dashboard.core.lake import LOG_SCHEMAS, REPO_ROOT, Lake, log_glob
from dashboard.core.period import BEIJING_ZONE

# Lake and REPO_ROOT are imported from here across the project: they stay importable from db.
__all__ = ["MART_NAME", "REPO_ROOT", "Lake", "Warehouse", "connect"]

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
    pattern = lake.table_glob(t)
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
        con.execute(f"SET GLOBAL TimeZone = '{BEIJING_ZONE}'")
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
