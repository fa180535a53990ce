"""The lake's layout (数据湖布局): where exports, warehouse tables, quarantine, logs, facts and marts live, the
schemas of the gate's logs, and the one-writer lock; the gate writes it and the reader reads it from here."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from filelock import FileLock, Timeout

from dashboard.core.contract import TIMESTAMP, Table
from dashboard.resources import ROOT as REPO_ROOT  # the checkout, or a wheel's copy of its files
from dashboard.resources import home

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

# Lineage columns the gate appends to every stored row, after the contract's stored columns.
LINEAGE = pa.schema([("_source_file", pa.string()), ("_source_sha256", pa.string()), ("_source_row", pa.int64())])


def file_stem(sha256: str) -> str:
    """The short hash that names everything one source file left in the lake."""
    return sha256[:16]


def part_name(sha256: str) -> str:
    """The name of the Parquet file holding one source file's accepted rows in each partition."""
    return f"part-{file_stem(sha256)}.parquet"


def partition_dir(table_dir: Path, year: int, month: int) -> Path:
    """A table's Hive partition for one month: <table>/year=YYYY/month=MM."""
    return table_dir / f"year={year:04d}" / f"month={month:02d}"


def stored_schema(t: Table) -> pa.Schema:
    """The schema of a warehouse file: the contract's stored columns, then lineage."""
    schema = t.arrow_schema()
    for f in LINEAGE:
        schema = schema.append(f)
    return schema


@dataclass(frozen=True)
class Lake:
    """Where everything lives: exports, warehouse, quarantine, ingest log and marts under one data root."""

    root: Path

    @classmethod
    def default(cls) -> Lake:
        """The lake named by $HALL_DATA, else `data/` in the repository (installed from a wheel: in the current folder)."""
        return cls(Path(os.environ.get("HALL_DATA", home() / "data")).resolve())

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
    def staging(self) -> Path:
        """Where a run's workers write before the run moves their output into place."""
        return self.lake / ".staging"

    @property
    def audit(self) -> Path:
        return self.lake / "audit"

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

    def table_glob(self, t: Table) -> str:
        """The glob pattern matching every file of a warehouse table (its month partitions when it has them)."""
        return str(self.table_dir(t.name)) + ("/*/*/*.parquet" if t.partition_by else "/*.parquet")

    def quarantined_rows_file(self, table: str, sha256: str) -> Path:
        """The quarantined rows one source file left for one table."""
        return self.quarantine / "rows" / table / f"{file_stem(sha256)}.parquet"

    def quarantined_file_record(self, sha256: str) -> Path:
        """The one-row record of a source file quarantined whole."""
        return self.quarantine / "files" / f"{file_stem(sha256)}.parquet"

    def ingest_log_file(self, run_id: str) -> Path:
        return self.ingest_log / f"{run_id}.parquet"

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


def log_glob(lake: Lake, name: str) -> tuple[str, list[Path]]:
    """The glob pattern and present files of one log table (ingest_log, quarantine_rows, quarantine_files)."""
    base = {"ingest_log": lake.ingest_log, "quarantine_rows": lake.quarantine / "rows",
            "quarantine_files": lake.quarantine / "files"}[name]
    pattern = "*/*.parquet" if name == "quarantine_rows" else "*.parquet"
    return str(base / pattern), sorted(base.glob(pattern))
