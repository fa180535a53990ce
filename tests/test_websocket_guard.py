"""Crafted websocket messages against a real `hall serve`: the browser's "clear cache" message empties every user's
caches, so only the hall office's session may send it; any other session's request is refused and audited. A session
that is not the office asking for the Data page (where rebuilds live) gets the page it may see instead."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers.serving import free_port
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

from dashboard.core.db import Lake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(demo_lake, tmp_path_factory):
    """`hall serve` (demo mode, loopback) on a copy of the demo lake, so the audit log is this module's alone."""
    root = tmp_path_factory.mktemp("ws") / "data"
    shutil.copytree(demo_lake.root, root)
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("hall")), "serve", "--port", str(port)],
                            env={**os.environ, "HALL_DATA": str(root)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("hall serve did not come up within 60 s") from None
            time.sleep(0.5)
    yield port, Lake(root)
    os.killpg(proc.pid, 15)
    proc.wait(timeout=20)


def _run(ws, query: str, page: str = "") -> bytes:
    """Ask for a script run as the browser would, and return every message's bytes until the run finished."""
    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = page
    ws.send(msg.SerializeToString())
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        raw = ws.recv(timeout=120)
        seen += raw
        fwd = ForwardMsg()
        fwd.ParseFromString(raw)
        if fwd.WhichOneof("type") == "script_finished":
            return seen
    raise AssertionError("the script run did not finish")


def _clear_cache(ws) -> None:
    msg = BackMsg()
    msg.clear_cache = True
    ws.send(msg.SerializeToString())


def _audit(lake: Lake) -> list[dict]:
    path = lake.lake / "audit" / "audit.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _wait_for_entries(lake: Lake, n: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = [e for e in _audit(lake) if e["action"] == "clear_cache"]
        if len(got) >= n:
            return got
        time.sleep(0.2)
    return [e for e in _audit(lake) if e["action"] == "clear_cache"]


@pytest.mark.parametrize("role", ["leadership", "unit_head", "auditor"])
def test_a_session_that_is_not_the_office_cannot_clear_every_cache(served, role):
    port, lake = served
    before = len(_wait_for_entries(lake, 0))
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"]) as ws:
        _run(ws, f"lang=en&as={role}")
        _clear_cache(ws)
        entries = _wait_for_entries(lake, before + 1)
    assert len(entries) == before + 1
    last = entries[-1]
    assert (last["outcome"], last["role"], last["detail"]) == ("refused", role, {"via": "browser"})


def test_the_office_session_may_clear_the_caches_and_it_is_audited(served):
    port, lake = served
    before = len(_wait_for_entries(lake, 0))
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"]) as ws:
        _run(ws, "lang=en&as=office")
        _clear_cache(ws)
        entries = _wait_for_entries(lake, before + 1)
    assert (entries[-1]["outcome"], entries[-1]["role"]) == ("done", "office")


def test_the_data_page_with_its_rebuild_button_is_not_served_to_leadership(served):
    port, _ = served
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"]) as ws:
        office = _run(ws, "lang=en&as=office", page="data")
    assert b"Rebuild the indicators" in office  # the check below would pass vacuously without this
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"]) as ws:
        leader = _run(ws, "lang=en&as=leadership", page="data")
    assert b"Rebuild the indicators" not in leader and b"Freshness" not in leader
    assert b"Overview" in leader  # the default page is what they get
