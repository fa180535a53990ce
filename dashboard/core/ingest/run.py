"""The run (入库一次): plan the files (dimensions first), settle what needs no parsing, hand the rest to worker
processes, move each file's output into the lake as it finishes, and log every file of the run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.core.contract import TABLES, Table
from dashboard.core.ingest.errors import IngestError
from dashboard.core.ingest.mappings import Mapping, identify, load_mappings
from dashboard.core.ingest.personal import clean_name, clean_text, hmac_key_for
from dashboard.core.ingest.pool import Finished, Pool
from dashboard.core.ingest.readers import SUPPORTED
from dashboard.core.ingest.worker import Job
from dashboard.core.lake import LOG_SCHEMAS, Lake, file_stem, log_glob, part_name

DEFAULT_WORKER = "dashboard.core.ingest:process_file"


@dataclass
class FileReport:
    """The outcome for one input file."""

    source_file: str
    sha256: str
    table: str | None
    format: str
    status: str  # accepted | partial | quarantined | skipped
    # None when the file could not be read far enough to count its rows.
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
    def failed(self) -> list[FileReport]:
        """Files the run could not take: quarantined whole, or read with every row rejected."""
        return [f for f in self.files
                if f.status == "quarantined" or (f.status == "partial" and f.rows_in and not f.rows_accepted)]

    @property
    def rows_unknown_files(self) -> int:
        """Files whose rows could not be counted (their rows are missing from `rows_in`)."""
        return sum(1 for f in self.files if f.status != "skipped" and f.rows_in is None)

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
            "rows_unknown_files": self.rows_unknown_files, "failed_files": len(self.failed),
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


def ingested_shas(lake: Lake) -> set[str]:
    """The source files whose rows are in the lake already (accepted or partial in some run)."""
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


def commit(lake: Lake, t: Table, sha: str, staging: Path) -> None:
    """Move one file's staged output into the warehouse, replacing any earlier output of the same file."""
    for old in lake.table_dir(t.name).glob(f"**/{part_name(sha)}"):
        old.unlink()
    src_root = staging / "accepted" / t.name
    if src_root.exists():
        for src in src_root.rglob("*.parquet"):
            dest = lake.table_dir(t.name) / src.relative_to(src_root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
    qfile = lake.quarantined_rows_file(t.name, sha)
    qfile.parent.mkdir(parents=True, exist_ok=True)
    if (staging / "quarantine.parquet").exists():
        os.replace(staging / "quarantine.parquet", qfile)
    elif qfile.exists():
        qfile.unlink()


def quarantine_file(lake: Lake, rep: FileReport, size: int) -> None:
    """Record a file quarantined whole (its detail cleaned of personal numbers)."""
    rep.detail = clean_text(rep.detail)
    record = lake.quarantined_file_record(rep.sha256)
    record.parent.mkdir(parents=True, exist_ok=True)
    row = {"source_file": rep.source_file, "source_sha256": rep.sha256, "size_bytes": size, "table": rep.table,
           "reason": rep.reason, "detail": rep.detail, "rows_in": rep.rows_in}
    pq.write_table(pa.Table.from_pylist([row], schema=LOG_SCHEMAS["quarantine_files"]), record)


def write_log(lake: Lake, report: RunReport, when: dt.datetime) -> None:
    """One ingest-log file per run, a row per file."""
    rows = [{
        "run_id": report.run_id, "source_file": f.source_file, "source_sha256": f.sha256, "table": f.table,
        "format": f.format, "status": f.status, "reason": f.reason,
        "detail": f.detail or (json.dumps(f.reasons, ensure_ascii=False) if f.reasons else None),
        "rows_in": f.rows_in, "rows_accepted": f.rows_accepted, "rows_quarantined": f.rows_quarantined,
        "notes": "; ".join(f.notes) or None, "ingested_at": when, "seconds": round(f.seconds, 3),
    } for f in report.files]
    lake.ingest_log.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=LOG_SCHEMAS["ingest_log"]), lake.ingest_log_file(report.run_id))


@dataclass(frozen=True)
class Planned:
    """One input file as the plan sees it: where, its hash, the table it belongs to and the mapping that said so."""

    path: Path
    sha256: str
    table: str | None
    mapping: Mapping | None

    @property
    def dimension(self) -> bool:
        return bool(self.table and TABLES[self.table].dimension)


class Run:
    """One run of the gate over a set of files, reporting each file as it is settled."""

    def __init__(self, lake: Lake, *, force: bool, progress: Callable[[FileReport, int, int], None] | None):
        self.lake, self.progress = lake, progress
        self.t0 = time.perf_counter()
        self.started = dt.datetime.now(dt.UTC)
        self.run_id = self.started.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        self.staging = lake.staging / self.run_id
        self.force = force
        self.reports: list[FileReport] = []
        self.seen: set[str] = set()
        self.total = 0

    def plan(self, paths: Iterable[Path]) -> list[Planned]:
        """Every file with its table, dimensions first: units must be known before facts are checked against them."""
        files = expand_paths(paths)
        mappings = load_mappings(self.lake.mappings)
        self.key = hmac_key_for(self.lake).decode("utf-8")
        self.done = set() if self.force else ingested_shas(self.lake)
        plan = [Planned(p, sha256_of(p), *identify(p, mappings)) for p in files]
        plan.sort(key=lambda x: (not x.dimension, str(x.path)))
        self.total = len(plan)
        return plan

    def execute(self, plan: list[Planned], pool: Pool) -> RunReport:
        """Parse the plan's files, dimensions then facts; whatever was settled is logged even if the run stops."""
        try:
            for phase in ([x for x in plan if x.dimension], [x for x in plan if not x.dimension]):
                units = known_units(self.lake)
                pending = deque(phase)
                while pending or pool.busy():
                    while pending and pool.has_room():
                        item = pending.popleft()
                        rep, job = self.triage(item)
                        if job is None:
                            self.finish(rep)
                            continue
                        job.known_units = units
                        dead = pool.submit(job, (rep, item.path))
                        if dead is not None:
                            self.settle(dead)
                    for ended in pool.wait():
                        self.settle(ended)
        finally:
            pool.close()
            shutil.rmtree(self.staging, ignore_errors=True)
            report = RunReport(run_id=self.run_id, files=self.reports, seconds=time.perf_counter() - self.t0)
            write_log(self.lake, report, self.started)
        return report

    def triage(self, item: Planned) -> tuple[FileReport, Job | None]:
        """Settle what needs no parsing (duplicates, empty, unknown files); otherwise return the job."""
        p, sha = item.path, item.sha256
        fmt = p.suffix.lower().lstrip(".")
        rep = FileReport(source_file=clean_name(p.name), sha256=sha, table=item.table, format=fmt, status="quarantined")
        if sha in self.done or sha in self.seen:
            rep.status, rep.reason = "skipped", "already_ingested"
            return rep, None
        self.seen.add(sha)
        size = p.stat().st_size
        if size == 0:
            rep.reason, rep.detail, rep.rows_in = "empty_file", "0 bytes", 0
        elif item.table is None:
            rep.reason = "unknown_table"
            rep.detail = f"name does not start with a table name ({', '.join(TABLES)}) nor match a mapping"
        elif p.suffix.lower() not in SUPPORTED:
            rep.reason, rep.detail = "unsupported_format", f".{fmt} is not Parquet, CSV or XLSX"
        else:
            staging = self.staging / file_stem(sha)
            staging.mkdir(parents=True, exist_ok=True)
            return rep, Job(path=str(p), sha256=sha, table=item.table, mapping=item.mapping, known_units=None,
                            hmac_key=self.key, out_dir=str(staging))
        quarantine_file(self.lake, rep, size)
        return rep, None

    def settle(self, ended: Finished) -> None:
        """Take a worker's result into the lake: commit accepted and quarantined rows, or quarantine the file."""
        rep, p = ended.tag
        res = ended.result
        if ended.seconds is not None:
            rep.seconds = ended.seconds
        staging = self.staging / file_stem(rep.sha256)
        if res is None:
            rep.reason = "worker_crashed"
            rep.detail = f"worker exited with code {ended.exitcode} while parsing; nothing from it was kept"
            quarantine_file(self.lake, rep, p.stat().st_size)
        elif res["ok"]:
            rep.rows_in, rep.rows_accepted = res["rows_in"], res["rows_accepted"]
            rep.rows_quarantined, rep.reasons, rep.notes = res["rows_quarantined"], res["reasons"], res["notes"]
            if rep.rows_in != rep.rows_accepted + rep.rows_quarantined:
                raise AssertionError(f"{p}: rows_in != accepted + quarantined ({res})")
            rep.status = "accepted" if rep.rows_quarantined == 0 else "partial"
            commit(self.lake, TABLES[rep.table], rep.sha256, staging)
            self.lake.quarantined_file_record(rep.sha256).unlink(missing_ok=True)
        else:
            rep.reason, rep.detail = res["reason"], res["detail"]
            rep.rows_in = res.get("rows_in")
            rep.rows_quarantined = rep.rows_in or 0
            quarantine_file(self.lake, rep, p.stat().st_size)
        shutil.rmtree(staging, ignore_errors=True)
        self.finish(rep)

    def finish(self, rep: FileReport) -> None:
        self.reports.append(rep)
        if self.progress:
            self.progress(rep, len(self.reports), self.total)


def ingest(paths: Iterable[Path], lake: Lake | None = None, *, force: bool = False, workers: int | None = None,
           worker: str = DEFAULT_WORKER,
           progress: Callable[[FileReport, int, int], None] | None = None,
           waiting: Callable[[str], None] | None = None) -> RunReport:
    """Run the gate over files and folders: dimensions first, then facts, each file in its own process; one
    writer per data folder at a time (`waiting` hears who holds it while this run waits)."""
    lake = lake or Lake.default()
    with lake.writer("hall ingest", waiting):
        run = Run(lake, force=force, progress=progress)
        plan = run.plan(paths)
        return run.execute(plan, Pool(worker, workers or min(2, os.cpu_count() or 1)))
