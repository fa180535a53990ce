"""One file through the gate (单个文件), as a worker process runs it: read, type, check, protect personal data,
and split the rows into accepted (by month partition) and quarantined, under the job's staging folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dashboard.core.contract import TABLES, Table
from dashboard.core.ingest.checks import Verdicts, reason_rows
from dashboard.core.ingest.errors import FileRejected
from dashboard.core.ingest.mappings import Mapping
from dashboard.core.ingest.parsing import Parsed, from_typed, nfkc, no_errors
from dashboard.core.ingest.personal import PERSONAL, clean_name, protect, raw_json, scrub_text
from dashboard.core.ingest.readers import ROW_COL, Source
from dashboard.core.lake import LOG_SCHEMAS, part_name, partition_dir, stored_schema


@dataclass
class Job:
    """What a worker needs to process one file."""

    path: str
    sha256: str
    table: str
    mapping: Mapping | None
    known_units: list[str] | None
    hmac_key: str
    out_dir: str


class PartitionWriter:
    """Writes accepted rows into <table>/year=YYYY/month=MM/part-<sha>.parquet, one writer per month."""

    def __init__(self, root: Path, t: Table, sha: str):
        self.root, self.t, self.name = root / t.name, t, part_name(sha)
        self.writers: dict[tuple[int, int] | None, pq.ParquetWriter] = {}
        self.schema = stored_schema(t)

    def _writer(self, key) -> pq.ParquetWriter:
        if key not in self.writers:
            folder = self.root if key is None else partition_dir(self.root, *key)
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


def process_file(job: Job) -> dict:
    """Parse, check and split one file into accepted rows and quarantined rows under job.out_dir."""
    source = Source(Path(job.path), TABLES[job.table], job.mapping)
    try:
        return _FileRun(job, source).run()
    except FileRejected as e:
        # A rejected file's rows are all quarantined: count them whenever the file says how many it holds.
        if e.rows_in is None:
            e.rows_in = source.rows_total
        raise
    except Exception as e:
        raise FileRejected("unreadable", f"{type(e).__name__}: {e}", source.rows_total) from e


def _clipped(t: Table, batch: pa.Table) -> pa.Table:
    """The batch with text longer than its column allows cut to the limit and marked "...", so quarantine never stores megabytes."""
    for i, name in enumerate(batch.column_names):
        if name not in t.names or t.column(name).max_chars is None or not pa.types.is_string(batch.schema[i].type):
            continue
        limit = t.column(name).max_chars
        arr = batch[name]
        long = pc.greater(pc.utf8_length(arr), limit)
        cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(arr, 0, limit), pa.scalar("..."), "")
        batch = batch.set_column(i, name, pc.if_else(long, cut, arr))
    return batch


def parse_batch(t: Table, batch: pa.Table) -> dict[str, Parsed]:
    """Every contract column of a batch in its contract type (personal columns as text; absent ones null)."""
    n = batch.num_rows
    cols: dict[str, Parsed] = {}
    for c in t.columns:
        if c.name in batch.column_names:
            arr = batch[c.name].combine_chunks()
            if c.pii in PERSONAL:
                cols[c.name] = Parsed(nfkc(arr.cast(pa.string())), no_errors(n))
            else:
                cols[c.name] = from_typed(arr, c.type, c.name)
        else:
            cols[c.name] = Parsed(pa.nulls(n, c.type), no_errors(n))
    return cols


class _FileRun:
    """The counts, reasons and outputs of one file as its batches go through."""

    def __init__(self, job: Job, source: Source):
        self.job, self.source, self.t = job, source, source.t
        # The name is stored beside every row; the file's identity is its hash, so a personal number in it goes.
        self.name = clean_name(Path(job.path).name)
        self.out = Path(job.out_dir)
        self.quarantined: list[pa.Table] = []
        self.counts = {"rows_in": 0, "rows_accepted": 0, "rows_quarantined": 0}
        self.reasons: dict[str, int] = {}
        self.known = set(job.known_units) if job.known_units is not None else None
        self.key = job.hmac_key.encode("utf-8")

    def run(self) -> dict:
        if self.source.path.stat().st_size == 0:
            raise FileRejected("empty_file", "0 bytes", 0)
        writer = PartitionWriter(self.out / "accepted", self.t, self.job.sha256)
        extra_cols: list[str] = []
        row0 = 0
        try:
            for batch, malformed, extra in self.source.batches():
                extra_cols = extra
                if malformed:
                    self._malformed(malformed)
                if batch.num_rows:
                    self._batch(batch, row0, writer)
                    row0 += batch.num_rows
        finally:
            writer.close()
        if self.quarantined:
            pq.write_table(pa.concat_tables(self.quarantined), self.out / "quarantine.parquet", compression="zstd")
        notes = [f"extra_columns_dropped: {', '.join(map(clean_name, extra_cols))}"] if extra_cols else []
        if self.known is None and "unit_code" in self.t.names and not self.t.dimension:
            notes.append("units_not_loaded")
        return {**self.counts, "reasons": self.reasons, "notes": notes}

    def _count(self, reason: str, k: int) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + k

    def _quarantine(self, n: int, rows, reason, column, detail, raw) -> None:
        self.quarantined.append(pa.table({
            "table": [self.t.name] * n, "source_file": [self.name] * n, "source_sha256": [self.job.sha256] * n,
            "source_row": rows, "reason": reason, "column": column, "detail": detail, "raw": raw,
        }, schema=LOG_SCHEMAS["quarantine_rows"]))

    def _malformed(self, malformed: list[tuple[int, str]]) -> None:
        n = len(malformed)
        self._quarantine(n, pa.array([r for r, _ in malformed], pa.int64()), ["malformed_row"] * n,
                         pa.nulls(n, pa.string()), [d for _, d in malformed], pa.nulls(n, pa.string()))
        self.counts["rows_in"] += n
        self.counts["rows_quarantined"] += n
        self._count("malformed_row", n)

    def _batch(self, batch: pa.Table, row0: int, writer: PartitionWriter) -> None:
        t, n = self.t, batch.num_rows
        cols = parse_batch(t, batch)
        verdicts = reason_rows(t, cols, self.known)
        bad = verdicts.reason != None  # noqa: E711
        if ROW_COL in batch.column_names:
            rows = batch[ROW_COL].combine_chunks()
            batch = batch.drop_columns([ROW_COL])
        else:
            rows = pa.array(np.arange(row0 + 1, row0 + n + 1), pa.int64())
        self.counts["rows_in"] += n
        if bad.any():
            self._rejected_rows(batch, bad, rows, verdicts)
        stored = protect(t, {name: p.values for name, p in cols.items()}, self.key)
        accepted = pa.table(
            {c.name: stored[c.name] for c in t.stored_columns}
            | {"_source_file": pa.array([self.name] * n, pa.string()),
               "_source_sha256": pa.array([self.job.sha256] * n, pa.string()), "_source_row": rows},
            schema=writer.schema,
        ).filter(pa.array(~bad))
        writer.write(accepted)
        self.counts["rows_accepted"] += accepted.num_rows
        self.counts["rows_quarantined"] += int(bad.sum())

    def _rejected_rows(self, batch: pa.Table, bad: np.ndarray, rows: pa.Array, v: Verdicts) -> None:
        self._quarantine(
            int(bad.sum()), rows.filter(pa.array(bad)), pa.array(v.reason[bad].tolist(), pa.string()),
            pa.array(v.column[bad].tolist(), pa.string()),
            scrub_text(pa.array([str(d) for d in v.detail[bad]], pa.string())),
            pa.array(raw_json(_clipped(self.t, batch), bad, self.t), pa.string()))
        for code, k in zip(*np.unique(v.reason[bad].astype(str), return_counts=True), strict=True):
            self._count(code, int(k))
