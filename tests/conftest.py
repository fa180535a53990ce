"""Shared fixtures: an empty lake per test, small hand-made exports, and one small demo lake per session."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers.serving import CHROMIUM, FLAGS, free_port

from dashboard.core.contract import TABLES
from dashboard.core.db import REPO_ROOT, Lake

TZ8 = dt.timezone(dt.timedelta(hours=8))

# The fast loop (`pytest -m "not slow"`) keeps what runs in-process on hand-made rows; these start processes,
# servers or browsers, or stand on a lake built by the whole gate, and run in `make test` only.
SLOW_MODULES = frozenset({"test_cli", "test_pipeline", "test_writer_lock", "test_ingest", "test_marts", "test_db",
                          "test_websocket_guard", "test_scores_judge", "test_wheel"})
SLOW_FIXTURES = frozenset({"demo_lake", "units_file"})


def pytest_configure(config):
    """The fast loop tries fewer property-test examples (helpers.budget); `make test` tries them all."""
    import helpers.budget

    helpers.budget.FAST_LOOP = (config.getoption("markexpr") or "").replace(" ", "") == "notslow"


def pytest_collection_modifyitems(config, items):
    """Mark as `slow` every test of a slow module or standing on a fixture that runs the gate."""
    for item in items:
        module = item.module.__name__.rpartition(".")[2]
        if module in SLOW_MODULES or module.startswith("test_browser") \
                or SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


ARTIFACTS = Path(__file__).parent / ".artifacts"


def ts(*args) -> dt.datetime:
    """A Beijing-time instant."""
    return dt.datetime(*args, tzinfo=TZ8)


def export_schema(table: str) -> pa.Schema:
    """The columns an export of `table` carries (contract columns, PII included)."""
    return pa.schema([(c.name, c.type) for c in TABLES[table].columns])


def write_export(path: Path, table: str, rows: list[dict]) -> Path:
    """Write rows as a contract-shaped Parquet export."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=export_schema(table)), path)
    return path


UNITS = [
    {"unit_code": "U001", "name": "市场监督管理局", "kind": "部门", "group": "第一圈层", "updated_at": ts(2024, 1, 1)},
    {"unit_code": "U002", "name": "城关镇", "kind": "乡镇", "group": "第二圈层", "updated_at": ts(2024, 1, 1)},
]


def case_row(i: int, **kw) -> dict:
    """A valid completed case accepted on 2025-06-03 in U001, with applicant PII as exports carry it."""
    row = {
        "case_id": f"AJ{i:014d}", "item_code": "ITM00001", "item_name": "营业执照设立登记", "item_kind": "承诺件",
        "unit_code": "U001", "window_code": "W001", "staff_id": "S0001", "hall_code": "H01", "channel": "窗口",
        "accepted_at": ts(2025, 6, 3, 9, 30), "legal_days": 20, "promised_days": 5, "deadline_at": None,
        "completed_at": ts(2025, 6, 5, 16, 0), "status": "办结", "suspended_days": 0, "full_online": False,
        "secondary_entry": False, "archived": True, "updated_at": ts(2025, 6, 5, 16, 0),
        "applicant_name": "王小明", "applicant_id_number": "11010519491231002X", "applicant_phone": "13812345678",
    }
    row.update(kw)
    return row


def write_warehouse(lake: Lake, table: str, rows: list[dict], source: str = "given") -> None:
    """Write rows straight into the warehouse as the gate would store them (lineage columns, month partitions)."""
    t = TABLES[table]
    schema = t.arrow_schema().append(pa.field("_source_file", pa.string())) \
        .append(pa.field("_source_sha256", pa.string())).append(pa.field("_source_row", pa.int64()))
    full = [{**{c: r.get(c) for c in t.arrow_schema().names}, "_source_file": f"{source}.parquet",
             "_source_sha256": source.ljust(64, "0"), "_source_row": i} for i, r in enumerate(rows, start=1)]
    groups: dict[Path, list[dict]] = {}
    for r in full:
        if t.partition_by:
            when = r[t.partition_by].astimezone(TZ8)
            folder = lake.table_dir(table) / f"year={when.year}" / f"month={when.month:02d}"
        else:
            folder = lake.table_dir(table)
        groups.setdefault(folder, []).append(r)
    for folder, part in groups.items():
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(part, schema=schema), folder / f"part-{source}.parquet")


@pytest.fixture
def lake(tmp_path, monkeypatch) -> Lake:
    """An empty data folder with the repository's mappings, set as $HALL_DATA."""
    root = tmp_path / "data"
    shutil.copytree(REPO_ROOT / "data" / "mappings", root / "mappings")
    monkeypatch.setenv("HALL_DATA", str(root))
    monkeypatch.setenv("HALL_HMAC_KEY", "test-key")
    return Lake(root)


@pytest.fixture
def units_file(tmp_path) -> Path:
    """A units export with U001 and U002."""
    return write_export(tmp_path / "in" / "units.parquet", "units", UNITS)


def built_demo(root: Path, *, cases: int, seed: int, end_month: str) -> Lake:
    """A demo generated, sent through the gate and built into marts under `root`, as `make run` does."""
    from dashboard import demo
    from dashboard.core import ingest, marts

    shutil.copytree(REPO_ROOT / "data" / "mappings", root / "mappings")
    lk = Lake(root)
    mp = pytest.MonkeyPatch()
    mp.setenv("HALL_HMAC_KEY", "demo-test-key")
    demo.generate(lk.demo_exports, cases=cases, seed=seed, end_month=end_month)
    ingest.ingest([lk.demo_exports], lk)
    marts.build(lk)
    mp.undo()
    return lk


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory) -> Lake:
    """A small demo (20k cases, fixed end month) generated, ingested and built once per session."""
    return built_demo(tmp_path_factory.mktemp("demo") / "data", cases=20_000, seed=11, end_month="2025-06")


@pytest.fixture(scope="module")
def rules_db():
    """One hardened in-memory DuckDB for a module's rule queries: a hypothesis run asks hundreds, and opening a
    database for each costs more than most of them (`helpers.rules.query` gives each its own cursor)."""
    from dashboard.core.rules.cases import connect

    con = connect()
    yield con
    con.close()


@pytest.fixture(scope="session")
def server(demo_lake):
    """`hall serve` on the small demo lake, on a free port, shared by every browser module (they only read it);
    stopped at the end of the session."""
    port = free_port()
    env = {**os.environ, "HALL_DATA": str(demo_lake.root)}
    hall = Path(sys.executable).with_name("hall")
    proc = subprocess.Popen([str(hall), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("hall serve did not come up within 60 s")
        time.sleep(0.5)
    yield url
    os.killpg(proc.pid, 15)
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()
