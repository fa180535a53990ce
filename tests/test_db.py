"""Hardened DuckDB access: confined to the lake, locked configuration, Beijing time, a cursor per query."""

from __future__ import annotations

import threading

import duckdb
import pytest
from conftest import case_row, write_export

from dashboard.core import ingest as gate
from dashboard.core.db import connect


def test_files_outside_the_lake_cannot_be_read(lake, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    wh = connect(lake)
    with pytest.raises(duckdb.PermissionException):
        wh.query(f"SELECT * FROM read_csv('{secret}')")


def test_configuration_is_locked(lake):
    wh = connect(lake)
    with pytest.raises(duckdb.Error, match="configuration"):
        wh.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.Error):
        wh.execute("SET TimeZone = 'UTC'")


def test_extensions_do_not_autoload(lake):
    wh = connect(lake)
    got = wh.query("SELECT current_setting('autoload_known_extensions') AS a, "
                   "current_setting('autoinstall_known_extensions') AS b").to_pylist()
    assert got == [{"a": False, "b": False}]


def test_every_cursor_sees_beijing_time(lake):
    wh = connect(lake)
    for _ in range(3):
        assert wh.query("SELECT current_setting('TimeZone') AS tz").column("tz")[0].as_py() == "Asia/Shanghai"


def test_month_boundary_is_beijing_time(lake, units_file):
    # 2025-06-30 17:00 UTC is 2025-07-01 01:00 in Beijing: the case belongs to July.
    import datetime as dt

    from conftest import ts

    utc = dt.UTC
    src = write_export(units_file.parent / "cases_x.parquet", "cases", [
        case_row(1, accepted_at=dt.datetime(2025, 6, 30, 17, tzinfo=utc), completed_at=ts(2025, 7, 1, 9),
                 updated_at=ts(2025, 7, 1, 9))])
    gate.ingest([units_file, src], lake)
    wh = connect(lake)
    got = wh.query("SELECT year, month, strftime(accepted_at, '%Y-%m') AS period FROM cases").to_pylist()
    assert got == [{"year": 2025, "month": 7, "period": "2025-07"}]


def test_threads_get_their_own_rows(lake):
    """Many threads each bind their own parameter; a shared cursor would hand one thread another's rows."""
    wh = connect(lake)
    errors = []

    def work(i: int) -> None:
        for _ in range(50):
            got = wh.query("SELECT ?::INTEGER AS v FROM range(100)", [i]).column("v").to_pylist()
            if set(got) != {i}:
                errors.append((i, set(got)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_stray_file_in_the_marts_folder_does_not_break_connections(lake):
    import pyarrow as pa
    import pyarrow.parquet as pq

    lake.marts.mkdir(parents=True)
    pq.write_table(pa.table({"a": [1]}), lake.marts / "unit_month-old (copy).parquet")
    pq.write_table(pa.table({"a": [1]}), lake.marts / "unit_month.parquet")
    wh = connect(lake)
    assert wh.query("SELECT a FROM mart_unit_month").column("a").to_pylist() == [1]


def test_empty_tables_have_the_shape_of_full_ones(lake):
    wh = connect(lake)
    assert {"year", "month", "case_id", "applicant_key"} <= set(wh.query("SELECT * FROM cases").column_names)


def test_the_reader_does_not_load_the_gate(lake):
    """db reads the lake's layout (log schemas included) from core.lake: opening a connection, which registers the
    log views, must not import the ingest gate (the old circle did, lazily, at exactly that point)."""
    import subprocess
    import sys

    code = ("import sys; from dashboard.core.db import Lake, connect; "
            f"connect(Lake(__import__('pathlib').Path({str(lake.root)!r}))).close(); "
            "print('dashboard.core.ingest' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
