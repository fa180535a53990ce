"""What can go wrong at the gate: a broken set-up stops the run, a bad file is quarantined whole."""

from __future__ import annotations


class IngestError(Exception):
    """A problem with the ingest set-up (not with a file): a broken mapping, a missing path."""


class FileRejected(Exception):
    """The whole file is quarantined: `reason` is a FILE_REASONS code."""

    def __init__(self, reason: str, detail: str, rows_in: int | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.rows_in = reason, detail, rows_in
