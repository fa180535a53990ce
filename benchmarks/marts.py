"""Build the facts and all marts from demo warehouses; print wall time, peak RSS and cases/s, beside unit_month
computed by a Polars lazy reference and a bare DuckDB scan of the columns the build reads (the floor).

Two builds per size: `--full` (fact tables and marts, as after an ingest) and one that reuses the facts (as after
a change of definition options or rules); wall time includes interpreter start and the calendar check.

Usage: uv run python benchmarks/marts.py [--sizes 1000000 10000000 50000000] [--root /work/bench]
A warehouse for n cases lives in ROOT/<n/1e6>m (generated and ingested first when missing, which takes a while:
about 13 minutes at 50M). Each step runs in a fresh interpreter; the build runs with its usual DuckDB
memory limit (HALL_BUILD_MEMORY, 3 GB) and spills to disk beyond it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _measure import measure

PREPARE = """
import json, sys
from pathlib import Path
from dashboard import demo
from dashboard.core import ingest
from dashboard.core.db import Lake
root, n = Path(sys.argv[1]), int(sys.argv[2])
demo.generate(root / "exports", cases=n, seed=7, end_month="2026-10")
r = ingest.ingest([root / "exports"], Lake(root))
print(json.dumps({"rows_in": r.rows_in}))
"""

BUILD = """
import json, sys
from pathlib import Path
from dashboard.core import marts
from dashboard.core.db import Lake
s = marts.build(Lake(Path(sys.argv[1])), full=sys.argv[2] == "full")
print(json.dumps({"cases": s.facts["fact_cases"], "steps": s.step_seconds, "reused": s.facts_reused}))
"""

# The floor: one DuckDB pass over exactly the columns each stage reads, doing nothing with them.
SCAN = """
import json, sys, time
from pathlib import Path
from dashboard.core.db import Lake, connect
wh = connect(Lake(Path(sys.argv[1])), memory_limit="3GB")

def touch(table, cols):
    # sum(hash(...)) reads every value; count(col) could be answered from Parquet statistics alone.
    wh.query(f"SELECT sum(hash({', '.join(cols)})) FROM {table}")

out = {}
t = time.perf_counter()
touch("cases_versions", ["case_id", "unit_code", "window_code", "staff_id", "hall_code", "item_code", "item_kind",
                         "status", "accepted_at", "completed_at", "deadline_at", "legal_days", "promised_days",
                         "suspended_days", "full_online", "secondary_entry", "archived", "updated_at"])
touch("evaluations_versions", ["eval_id", "case_id", "unit_code", "window_code", "staff_id", "rated_at", "rating",
                               "is_default", "appeal", "rectified_at", "updated_at"])
out["warehouse"] = time.perf_counter() - t
wh.register("fact_cases", Path(sys.argv[1]) / "lake" / "facts" / "fact_cases.parquet")
wh.register("fact_ratings", Path(sys.argv[1]) / "lake" / "facts" / "fact_ratings.parquet")
t = time.perf_counter()
touch("fact_cases", ["accepted_date", "accepted_month", "completed_date", "completed_month", "deadline_date",
                     "deadline_month", "unit_code", "window_code", "staff_id", "hall_code", "item_code", "item_kind",
                     "on_time", "early", "same_day", "open_at_due_month_end", "handling_days", "full_online",
                     "secondary_entry", "archived", "legal_days", "promised_days", "can_fall_due", "is_completed"])
touch("fact_ratings", ["rated_date", "rated_month", "unit_code", "window_code", "staff_id", "hall_code", "item_code",
                       "rating", "is_default", "counted", "appeal", "rectify_workdays", "case_completed_date"])
out["facts"] = time.perf_counter() - t
print(json.dumps(out))
"""

# unit_month from the same fact tables with Polars' lazy API, default options; checked against the DuckDB mart.
POLARS = """
import datetime as dt, json, sys, time
from pathlib import Path
import polars as pl
facts = Path(sys.argv[1]) / "lake" / "facts"
t0 = time.perf_counter()
fc = pl.scan_parquet(facts / "fact_cases.parquet")
fr = pl.scan_parquet(facts / "fact_ratings.parquet")
fs = pl.scan_parquet(facts / "fact_signals.parquet")
ft = pl.scan_parquet(facts / "fact_tickets.parquet")
as_of = fc.select(pl.col("accepted_date").max()).collect().item()
last_day = (as_of.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
n = pl.len()
def cnt(e):
    return e.sum().cast(pl.Int64)
promise = pl.col("item_kind") == "承诺件"
valid_bad = (pl.col("rating") <= 2) & (pl.col("appeal").fill_null("有效") == "有效")
late = ~pl.col("on_time").fill_null(False)
legal = (pl.col("legal_days") > 0) & pl.col("promised_days").is_not_null()
parts = [
    fc.group_by(pl.col("accepted_month").alias("month"), "unit_code").agg(
        n.alias("cases_accepted"), cnt(pl.col("item_kind") == "即办件").alias("instant_share_num"),
        n.alias("instant_share_den"), cnt(pl.col("full_online")).alias("full_online_rate_num"),
        n.alias("full_online_rate_den"),
        (pl.col("legal_days") - pl.col("promised_days")).filter(legal).sum().cast(pl.Int64).alias("time_compression_num"),
        pl.col("legal_days").filter(legal).sum().cast(pl.Int64).alias("time_compression_den"),
        cnt(pl.col("secondary_entry")).alias("secondary_entry_cases")),
    fc.filter("is_completed").group_by(pl.col("completed_month").alias("month"), "unit_code").agg(
        n.alias("cases_completed"), cnt(pl.col("same_day")).alias("same_day_rate_num"), n.alias("same_day_rate_den"),
        cnt(promise & pl.col("early")).alias("early_rate_num"), cnt(promise).alias("early_rate_den"),
        pl.col("handling_days").filter(promise).sum().cast(pl.Int64).alias("handling_days_num"),
        pl.col("handling_days").filter(promise).count().cast(pl.Int64).alias("handling_days_den"),
        cnt(pl.col("archived")).alias("archive_rate_num"), n.alias("archive_rate_den"),
        n.alias("eval_coverage_rate_den"),
        pl.col("handling_days").filter(promise).median().alias("handling_days_median"),
        pl.col("handling_days").filter(promise).quantile(0.9, "linear").alias("handling_days_p90")),
    fc.filter(pl.col("can_fall_due") & (pl.col("deadline_date") < as_of))
      .group_by(pl.col("deadline_month").alias("month"), "unit_code").agg(
        n.alias("due_cases"), cnt(pl.col("on_time").fill_null(False)).alias("on_time_rate_num"),
        n.alias("on_time_rate_den"), cnt(late).alias("overdue_cases"),
        cnt(late & pl.col("open_at_due_month_end")).alias("overdue_open_cases")),
    fr.filter("counted").group_by(pl.col("rated_month").alias("month"), "unit_code").agg(
        cnt(pl.col("rating") >= 3).alias("satisfaction_rate_num"), n.alias("satisfaction_rate_den"),
        cnt(pl.col("rating") == 5).alias("very_satisfied_rate_num"), n.alias("very_satisfied_rate_den"),
        cnt(pl.col("rating") <= 2).alias("bad_rate_num"), n.alias("bad_rate_den"),
        cnt(~pl.col("is_default")).alias("active_eval_rate_num"), n.alias("active_eval_rate_den"),
        cnt(valid_bad & (pl.col("rectify_workdays") <= 15)).alias("rectification_rate_num"),
        cnt(valid_bad).alias("rectification_rate_den")),
    fr.filter(pl.col("counted") & pl.col("case_completed_date").is_not_null())
      .group_by(pl.col("case_completed_date").dt.truncate("1mo").alias("month"), "unit_code")
      .agg(n.alias("eval_coverage_rate_num")),
    fs.filter("counted").group_by(pl.col("issued_month").alias("month"), "unit_code").agg(
        cnt(pl.col("signal") == "预警").alias("warning_signals"), cnt(pl.col("signal") == "黄牌").alias("yellow_cards"),
        cnt(pl.col("signal") == "红牌").alias("red_cards")),
    ft.group_by(pl.col("issued_month").alias("month"), "unit_code").agg(
        n.alias("tickets_issued"), pl.col("wait_seconds").sum().cast(pl.Int64).alias("wait_time_num"),
        pl.col("wait_seconds").count().cast(pl.Int64).alias("wait_time_den"),
        pl.col("service_seconds").sum().cast(pl.Int64).alias("service_time_num"),
        pl.col("service_seconds").count().cast(pl.Int64).alias("service_time_den"),
        cnt(pl.col("status") == "no_show").alias("no_show_rate_num"), n.alias("no_show_rate_den")),
]
out = parts[0]
for p in parts[1:]:
    out = out.join(p, on=["month", "unit_code"], how="full", coalesce=True)
out = out.filter(pl.col("unit_code").is_not_null() & (pl.col("month") <= last_day)) \\
    .with_columns(pl.col("month").dt.strftime("%Y-%m").alias("period")).collect()
seconds = time.perf_counter() - t0
mart = pl.read_parquet(Path(sys.argv[1]) / "lake" / "marts" / "unit_month.parquet")
cols = [c for c in out.columns if c not in ("month", "period", "unit_code")]
ref = out.select("period", "unit_code", *[pl.col(c).fill_null(0) if "median" not in c and "p90" not in c
                                         else pl.col(c).round(2) for c in cols])
got = mart.select("period", "unit_code", *[pl.col(c).cast(pl.Float64).round(2) if "median" in c or "p90" in c
                                          else pl.col(c) for c in cols])
joined = ref.join(got, on=["period", "unit_code"], how="left", suffix="_sql")
bad = [c for c in cols if not joined.select((pl.col(c) == pl.col(c + "_sql")) | (pl.col(c).is_null()
                                                                                 & pl.col(c + "_sql").is_null())
                                            ).to_series().all()]
print(json.dumps({"seconds": seconds, "rows": out.height, "mismatched": bad}))
"""


def row(n: int, step: str, s: float, rss: int | None, cases: int) -> None:
    """One line of the table: size, step, seconds, cases per second and peak RSS (when measured)."""
    mem = f"{rss / 2**30:>7.2f}GB" if rss else f"{'':>9}"
    print(f"{n:>12,} {step:<34} {s:>8.2f} {cases / s:>12,.0f} {mem}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000, 50_000_000])
    ap.add_argument("--root", type=Path, default=Path("/tmp/hall-bench"))
    a = ap.parse_args()
    print(f"{'cases':>12} {'step':<34} {'seconds':>8} {'cases/s':>12} {'peak RSS':>9}")
    for n in a.sizes:
        lake = a.root / f"{n // 1_000_000}m"
        if not (lake / "lake" / "warehouse" / "cases").exists():
            print(f"{n:>12,} preparing demo warehouse in {lake} …", flush=True)
            measure(PREPARE, str(lake), str(n))

        s, rss, info = measure(BUILD, str(lake), "full")
        cases, steps = info["cases"], info["steps"]
        facts = sum(v for k, v in steps.items() if k.startswith("fact_"))
        row(n, "build --full: facts + marts", s, rss, cases)
        row(n, "  of which facts (fact_*.parquet)", facts, None, cases)
        s, rss, info = measure(BUILD, str(lake), "reuse")
        assert info["reused"]
        s_marts = sum(v for k, v in info["steps"].items() if not k.startswith("fact_"))
        row(n, "build, facts reused: all 6 marts", s, rss, cases)
        row(n, "  of which marts from facts", s_marts, None, cases)
        _, _, scan = measure(SCAN, str(lake))
        row(n, "floor: scan warehouse columns", scan["warehouse"], None, cases)
        row(n, "floor: scan fact columns", scan["facts"], None, cases)
        s, rss, pol = measure(POLARS, str(lake))
        row(n, "polars lazy: unit_month from facts", pol["seconds"], rss, cases)
        same = "identical" if not pol["mismatched"] else f"MISMATCH in {', '.join(pol['mismatched'])}"
        print(f"{'':>12} polars unit_month vs the duckdb mart ({pol['rows']:,} unit-months): {same}; polars does "
              f"one grain in {pol['seconds']:.2f} s, duckdb all six in {s_marts:.2f} s", flush=True)


if __name__ == "__main__":
    main()
