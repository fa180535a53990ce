"""A worker module that kills its process as it is imported, before it reads any job (as an OOM kill would)."""

import os

os._exit(137)


def process_file(job):  # pragma: no cover - never reached
    """Unreachable: the import already ended the process."""
