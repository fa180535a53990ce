"""End to end on a small seeded demo: generate → ingest → build; accounting, personal data, marts."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq
from pii import scan_lake

from dashboard.core.contract import TABLES
from dashboard.core.db import connect


def test_every_demo_row_is_accounted_for(demo_lake):
    wh = connect(demo_lake)
    log = wh.query("SELECT * FROM ingest_log").to_pylist()
    assert log and all(r["status"] in ("accepted", "partial") for r in log), log
    for r in log:
        assert r["rows_in"] == r["rows_accepted"] + r["rows_quarantined"]
    # Independently: rows in the export files = rows in warehouse versions + rows in quarantine.
    exported = {}
    for p in demo_lake.demo_exports.glob("*.parquet"):
        # Files are named <table>.parquet or <table>_<month>.parquet; table names may hold "_" (manual_scores).
        table = next(t for t in sorted(TABLES, key=len, reverse=True) if p.stem == t or p.stem.startswith(t + "_"))
        exported[table] = exported.get(table, 0) + pq.ParquetFile(p).metadata.num_rows
    xlsx_rows = sum(r["rows_in"] for r in log if r["format"] == "xlsx")
    exported["cases"] += xlsx_rows
    for table, n in exported.items():
        stored = wh.query(f"SELECT count(*) AS n FROM {table}_versions").column("n")[0].as_py()
        quarantined = wh.query("SELECT count(*) AS n FROM quarantine_rows WHERE \"table\" = ?", [table])
        assert stored + quarantined.column("n")[0].as_py() == n, table


def test_demo_dirty_rows_land_in_quarantine_with_reasons(demo_lake):
    """Exactly the rows the generator planted (demo.DIRTY_COUNTS) are quarantined, and nothing else."""
    from dashboard.demo import DIRTY_COUNTS

    wh = connect(demo_lake)
    got = wh.query("SELECT reason, count(*) AS n FROM quarantine_rows GROUP BY reason").to_pylist()
    assert {r["reason"]: r["n"] for r in got} == DIRTY_COUNTS
    assert wh.query("SELECT count(*) AS n FROM quarantine_files").column("n")[0].as_py() == 0


def test_xlsx_month_went_through_the_mapping(demo_lake):
    wh = connect(demo_lake)
    got = wh.query("SELECT count(*) AS n FROM cases_versions WHERE _source_file LIKE '%.xlsx'")
    assert got.column("n")[0].as_py() > 0


def test_no_personal_data_anywhere_in_the_lake(demo_lake):
    assert scan_lake(demo_lake.lake) == []


def test_unit_month_matches_an_independent_polars_computation(demo_lake):
    """Accepted, completed, same-day and satisfaction per unit and month, recomputed from the warehouse with polars.

    Independent of the SQL: polars picks each case's latest version, its counted rating (first non-default, else
    first default; walk-ins each count) and attributes ratings to the case's unit.
    """
    wh = connect(demo_lake)
    versions = pl.from_arrow(wh.query(
        "SELECT case_id, unit_code, strftime(accepted_at, '%Y-%m') AS acc, strftime(completed_at, '%Y-%m') AS comp, "
        "accepted_at::DATE AS acc_d, completed_at::DATE AS comp_d, status, updated_at, _source_sha256, _source_row "
        "FROM cases_versions"))
    cases = versions.sort(["updated_at", "_source_sha256", "_source_row"], descending=True, nulls_last=True) \
        .unique("case_id", keep="first")
    evals = pl.from_arrow(wh.query(
        "SELECT eval_id, case_id, unit_code, strftime(rated_at, '%Y-%m') AS period, rated_at, "
        "coalesce(is_default, false) AS is_default, rating FROM evaluations"))
    counted = pl.concat([
        evals.filter(pl.col("case_id").is_null()),
        evals.filter(pl.col("case_id").is_not_null()).sort(["is_default", "rated_at", "eval_id"])
        .unique("case_id", keep="first"),
    ]).join(cases.select("case_id", pl.col("unit_code").alias("case_unit")), on="case_id", how="left") \
        .with_columns(pl.coalesce("case_unit", "unit_code").alias("unit_code"))
    accepted = cases.group_by("unit_code", pl.col("acc").alias("period")).len("cases_accepted")
    done = cases.filter((pl.col("status") == "办结") & pl.col("comp").is_not_null())
    completed = done.group_by("unit_code", pl.col("comp").alias("period")).agg(
        pl.len().alias("cases_completed"), (pl.col("acc_d") == pl.col("comp_d")).sum().alias("same_day_rate_num"))
    rated = counted.group_by("unit_code", "period").agg(
        pl.len().alias("satisfaction_rate_den"), (pl.col("rating") >= 3).sum().alias("satisfaction_rate_num"))
    mart = pl.read_parquet(demo_lake.marts / "unit_month.parquet")
    for expected in (accepted, completed, rated):
        cols = [c for c in expected.columns if c not in ("unit_code", "period")]
        joined = expected.join(mart, on=["unit_code", "period"], how="inner", suffix="_mart")
        assert joined.height == expected.filter(pl.col("period") <= mart["period"].max()).height
        for c in cols:
            assert (joined[c].cast(pl.Int64) == joined[f"{c}_mart"]).all(), c


def test_marts_show_the_patterns_leadership_looks_for(demo_lake):
    mart = pl.read_parquet(demo_lake.marts / "unit_month.parquet")
    sat = mart.filter(pl.col("satisfaction_rate_den") > 0).with_columns(
        (pl.col("satisfaction_rate_num") * 100 < pl.col("satisfaction_rate_den") * 98).alias("below"))
    persistent = sat.group_by("unit_code").agg(pl.col("below").mean()).filter(pl.col("below") > 0.5)
    assert persistent.height >= 3
    assert mart["period"].n_unique() == 24


def test_overview_renders_the_demo_in_both_languages(demo_lake, monkeypatch):
    """From the entrypoint, the way a user arrives: the latest demo month, every unit of the mart listed."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard.core.db import REPO_ROOT

    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    mart = pl.read_parquet(demo_lake.marts / "unit_month.parquet")
    latest = mart["period"].max()
    names = set(mart.filter(pl.col("period") == latest)["unit_name"].to_list())
    for lang, label in (("zh", "按时办结率"), ("en", "On-time rate")):
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(REPO_ROOT / "dashboard" / "app.py"), default_timeout=60)
        at.query_params["lang"] = lang
        at.run()
        at.switch_page("app_pages/overview.py").run()
        assert not at.exception
        assert label in [m.label for m in at.metric]
        shown = set()
        for df in at.dataframe:
            shown |= {str(v) for v in df.value.to_numpy().ravel()}
        assert names <= shown, names - shown
