"""Worker processes (解析进程): each file is parsed in a process of its own, reused across files, so a parser that
crashes or runs out of memory costs one file, never the run."""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import multiprocessing.connection
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dashboard.core.ingest.errors import FileRejected
from dashboard.core.ingest.worker import Job


def run_job(func: Callable[[Job], dict], job: Job) -> dict:
    """Run one job, turning any failure into a whole-file rejection (never a crashed run)."""
    try:
        return {"ok": True, **func(job)}
    except FileRejected as e:
        return {"ok": False, "reason": e.reason, "detail": e.detail, "rows_in": e.rows_in}
    except Exception as e:  # anything unforeseen rejects the file
        return {"ok": False, "reason": "unreadable", "detail": f"{type(e).__name__}: {e}"}


def _worker_loop(worker: str, conn) -> None:
    """Worker process: take jobs from the pipe until told to stop; a death mid-job is seen by the parent."""
    mod, fn = worker.split(":")
    func: Callable[[Job], dict] = getattr(importlib.import_module(mod), fn)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(run_job(func, job))


class _Worker:
    """One parsing process, reused across files; replaced when it dies."""

    def __init__(self, ctx, worker: str):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_loop, args=(worker, child), daemon=True)
        self.proc.start()
        child.close()
        self.task: tuple[Any, float] | None = None

    def give(self, job: Job, tag: Any) -> bool:
        """Hand over a job; False when the process is already dead (the job is still ours to place)."""
        try:
            self.conn.send(job)
        except OSError:  # BrokenPipe / ConnectionReset: it died while idle
            return False
        self.task = (tag, time.perf_counter())
        return True

    def poll(self) -> tuple[bool, dict | None]:
        """(finished, result): result None means the process died on the job."""
        try:
            if self.conn.poll():
                return True, self.conn.recv()
        except (EOFError, OSError):  # a peer that died with our job unread resets the connection
            return True, None
        if not self.proc.is_alive():
            return True, None
        return False, None

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()


@dataclass
class Finished:
    """A job's end: the caller's tag, the worker's result (None when the process died) and how long it took."""

    tag: Any
    result: dict | None
    exitcode: int | None
    seconds: float | None


class Pool:
    """Up to `size` processes running `worker` ("module:function") over jobs, each job carrying the caller's tag."""

    def __init__(self, worker: str, size: int):
        self.worker, self.size = worker, size
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []

    def has_room(self) -> bool:
        return len(self._workers) < self.size or any(w.task is None for w in self._workers)

    def busy(self) -> bool:
        return any(w.task for w in self._workers)

    def submit(self, job: Job, tag: Any) -> Finished | None:
        """Start a job on an idle process, else a new one; a process dead before it took the job ends it at once."""
        idle = next((w for w in self._workers if w.task is None), None)
        if idle is not None and not idle.give(job, tag):
            self._workers.remove(idle)
            idle = None
        if idle is None:
            idle = _Worker(self._ctx, self.worker)
            self._workers.append(idle)
            if not idle.give(job, tag):
                self._workers.remove(idle)
                return Finished(tag, None, idle.proc.exitcode, None)
        return None

    def wait(self, timeout: float = 1.0) -> list[Finished]:
        """The jobs that ended within `timeout` seconds (possibly none); a process that died is let go."""
        busy = [(w, w.task) for w in self._workers if w.task is not None]
        if busy:
            mp.connection.wait([w.conn for w, _ in busy] + [w.proc.sentinel for w, _ in busy], timeout=timeout)
        out = []
        for w, (tag, started) in busy:
            finished, res = w.poll()
            if not finished:
                continue
            w.task = None
            if res is None:
                self._workers.remove(w)
            out.append(Finished(tag, res, w.proc.exitcode if res is None else None, time.perf_counter() - started))
        return out

    def close(self) -> None:
        for w in self._workers:
            w.stop()
