"""The ingest gate (入库关口): parse exports in worker processes, check the contract, strip personal data,
quarantine bad rows and files with a reason, and keep every version in the Hive-partitioned warehouse.

Reading is in `readers`, typing in `parsing`, row rules in `checks`, personal data in `personal`, one file's
work in `worker`, the processes in `pool` and the run itself in `run`; this module names what callers use."""

from __future__ import annotations

from dashboard.core.contract import FILE_REASONS, REASONS, TABLES
from dashboard.core.ingest.errors import FileRejected, IngestError
from dashboard.core.ingest.mappings import Mapping, identify, load_mapping, load_mappings
from dashboard.core.ingest.personal import hmac_key_for, scrub_text
from dashboard.core.ingest.run import FileReport, RunReport, expand_paths, ingest, known_units, sha256_of
from dashboard.core.ingest.worker import Job, process_file
from dashboard.core.lake import LOG_SCHEMAS, log_glob

# `process_file` is also reached by name: worker processes import "dashboard.core.ingest:process_file".
__all__ = [
    "FILE_REASONS", "LOG_SCHEMAS", "REASONS", "TABLES", "FileRejected", "FileReport", "IngestError", "Job",
    "Mapping", "RunReport", "expand_paths", "hmac_key_for", "identify", "ingest", "known_units", "load_mapping",
    "load_mappings", "log_glob", "process_file", "scrub_text", "sha256_of",
]
