"""A worker that dies the way a segfaulting parser would: no result, a non-zero exit."""

import os


def process_file(job):
    """Kill the worker process without writing anything."""
    os._exit(139)
