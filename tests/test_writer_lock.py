"""One writer per data folder: a second build (or ingest) waits for the running one, hears who holds the folder,
and starts only after it is released — never two at once."""

from __future__ import annotations

import shutil
import threading
import time

from dashboard.core import ingest, marts
from dashboard.core.db import Lake


def _copy(demo_lake: Lake, tmp_path) -> Lake:
    root = tmp_path / "data"
    shutil.copytree(demo_lake.root, root)
    return Lake(root)


def _run_while_held(lake: Lake, job) -> tuple[list[str], list[float], float]:
    """Hold the folder's writer lock, start `job(waiting)` in a thread, release after a pause; return what the job
    heard while waiting, when it finished, and when the lock was released."""
    heard: list[str] = []
    finished: list[float] = []
    with lake.writer("a test holding the folder"):
        worker = threading.Thread(target=lambda: (job(heard.append), finished.append(time.monotonic())))
        worker.start()
        deadline = time.monotonic() + 30
        while not heard and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not finished, "the second writer ran while the first held the folder"
        released = time.monotonic()
    worker.join(timeout=300)
    return heard, finished, released


def test_a_second_build_waits_for_the_folder_and_is_told_who_holds_it(demo_lake, tmp_path):
    lake = _copy(demo_lake, tmp_path)
    heard, finished, released = _run_while_held(lake, lambda waiting: marts.build(lake, waiting=waiting))
    assert len(heard) == 1 and heard[0].startswith("a test holding the folder (pid ")
    assert finished and finished[0] >= released
    # The build that waited did its work, and let go of the folder afterwards.
    assert (lake.marts / "_build.json").exists()
    assert not (lake.lake / ".writer.holder").exists()


def test_an_ingest_waits_for_a_running_build(demo_lake, tmp_path):
    lake = _copy(demo_lake, tmp_path)
    heard, finished, released = _run_while_held(
        lake, lambda waiting: ingest.ingest([lake.demo_exports], lake, waiting=waiting))
    assert heard and finished and finished[0] >= released
