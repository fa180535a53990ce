"""Run a benchmark step in a fresh interpreter and measure its wall time and peak memory (process tree RSS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil


def measure(code: str, *args: str, env: dict | None = None) -> tuple[float, int, dict]:
    """Run code in a fresh interpreter; return (seconds, peak tree RSS in bytes, its JSON output)."""
    env = {**os.environ, "HALL_HMAC_KEY": "benchmark", **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    out = proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"step failed with exit code {proc.returncode}")
    return seconds, peak, json.loads(out.strip().splitlines()[-1])
