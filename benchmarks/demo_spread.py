"""How much the demo spreads: unit-month and window-month rates, trends, breaches, events and grades.

    uv run python benchmarks/demo_spread.py --data DIR [--generate] [--cases 1000000] [--seed 7] [--ruleset ID]

DIR is a data folder (`HALL_DATA`). With --generate the demo is generated, ingested and built there first (and the
generation time printed); otherwise the folder must already hold the demo exports and built marts. Rates are read
from the marts; the events from the demo exports. The grade counts score every month with a monthly ruleset.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import duckdb
import numpy as np


def _q(values) -> str:
    v = np.asarray([x for x in values if x is not None], float)
    if not len(v):
        return "no data"
    p = np.percentile(v, [0, 10, 50, 90, 100])
    return "  ".join(f"{x:7.2%}" for x in p)


def _runs(flags: list[bool]) -> int:
    best = cur = 0
    for f in flags:
        cur = cur + 1 if f else 0
        best = max(best, cur)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--generate", action="store_true")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--end-month", default=None)
    ap.add_argument("--ruleset", default="anshan_stationed")
    args = ap.parse_args()
    os.environ["HALL_DATA"] = str(args.data)
    os.environ.setdefault("HALL_HMAC_KEY", "demo-spread")
    from dashboard import demo
    from dashboard.core import ingest, marts
    from dashboard.core.db import Lake, connect

    lake = Lake(args.data)
    if args.generate:
        t0 = time.perf_counter()
        s = demo.generate(lake.demo_exports, cases=args.cases, seed=args.seed, end_month=args.end_month)
        print(f"generate: {sum(s.rows.values()):,} rows in {time.perf_counter() - t0:.1f} s")
        ingest.ingest([lake.demo_exports], lake)
        marts.build(lake)
    um = Path(lake.root) / "lake" / "marts" / "unit_month.parquet"
    wm = Path(lake.root) / "lake" / "marts" / "window_month.parquet"
    con = duckdb.connect()
    rate = "CASE WHEN {0}_den > 0 THEN {0}_num / {0}_den END"
    u = con.sql(f"SELECT period, unit_code, {rate.format('on_time_rate')} AS ot, {rate.format('satisfaction_rate')} AS sat, "
                f"{rate.format('same_day_rate')} AS sd, overdue_cases AS od, on_time_rate_den AS due "
                f"FROM '{um}' ORDER BY unit_code, period").fetchall()
    print(f"\nunit-months: {len(u)}            min      p10   median      p90      max")
    for j, name in ((2, "on-time"), (3, "satisfaction"), (4, "same-day")):
        print(f"  {name:22s} {_q(r[j] for r in u)}")
    ot = [r[2] for r in u if r[2] is not None]
    sat = [r[3] for r in u if r[3] is not None]
    print(f"  on-time = 100%: {sum(x == 1 for x in ot)}, < 90%: {sum(x < 0.9 for x in ot)}; "
          f"satisfaction < 98%: {sum(x < 0.98 for x in sat)} of {len(sat)}")
    od = np.array([r[5] for r in u], float)
    print(f"  overdue cases per unit-month: p10 {np.percentile(od, 10):.0f}, median {np.median(od):.0f}, "
          f"p90 {np.percentile(od, 90):.0f}, max {od.max():.0f}")
    # Trends: first six against last six months, per unit.
    trend = con.sql(f"""
        WITH p AS (SELECT DISTINCT period FROM '{um}'), r AS (SELECT period, row_number() OVER (ORDER BY period) k,
                   count(*) OVER () n FROM p)
        SELECT unit_code,
               sum(satisfaction_rate_num) FILTER (WHERE k <= 6) / sum(satisfaction_rate_den) FILTER (WHERE k <= 6),
               sum(satisfaction_rate_num) FILTER (WHERE k > n - 6) / sum(satisfaction_rate_den) FILTER (WHERE k > n - 6),
               sum(on_time_rate_num) FILTER (WHERE k <= 6) / sum(on_time_rate_den) FILTER (WHERE k <= 6),
               sum(on_time_rate_num) FILTER (WHERE k > n - 6) / sum(on_time_rate_den) FILTER (WHERE k > n - 6)
        FROM '{um}' JOIN r USING (period) GROUP BY unit_code ORDER BY unit_code""").fetchall()
    d_sat = sorted((b - a, c) for c, a, b, *_ in trend if a is not None and b is not None)
    d_ot = sorted((b - a, c) for c, _, _, a, b in trend if a is not None and b is not None)
    print("  satisfaction, last 6 − first 6 months: "
          + ", ".join(f"{c} {x:+.2%}" for x, c in d_sat[:3] + d_sat[-3:]))
    print("  on-time,      last 6 − first 6 months: "
          + ", ".join(f"{c} {x:+.2%}" for x, c in d_ot[:3] + d_ot[-3:]))

    w = con.sql(f"SELECT window_code, period, {rate.format('on_time_rate')}, {rate.format('satisfaction_rate')} "
                f"FROM '{wm}' ORDER BY window_code, period").fetchall()
    by: dict[str, list] = {}
    for code, _p, o, s in w:
        by.setdefault(code, []).append((o, s))
    sat2 = sum(_runs([s is not None and s < 0.98 for _, s in v]) >= 2 for v in by.values())
    ot2 = sum(_runs([o is not None and o < 1 for o, _ in v]) >= 2 for v in by.values())
    print(f"\nwindow-months: {len(w)}; windows below 98% satisfaction ≥ 2 months running: {sat2} of {len(by)}; "
          f"below 100% on time ≥ 2 months running: {ot2}")
    print(f"  satisfaction {_q(s for _, _, _, s in w)}")
    print(f"  on-time      {_q(o for _, _, o, _ in w)}")

    ev = lake.demo_exports / "events_*.parquet"
    per = con.sql(f"SELECT event_type, count(*) FROM '{ev}' GROUP BY 1 ORDER BY 2 DESC").fetchall()
    print("\nevents: " + ", ".join(f"{t} {n}" for t, n in per))
    comp = con.sql(f"""SELECT unit_code, strftime(occurred_at, '%Y') y, count(*) n FROM '{ev}'
                       WHERE event_type IN ('complaint_12345', 'service_complaint', 'media_exposure')
                       GROUP BY ALL""").fetchall()
    years = sorted({y for _, y, _ in comp})
    for y in years:
        counts = sorted((n for _, yy, n in comp if yy == y), reverse=True)
        print(f"  complaint-type events {y}: {len(counts)} of 40 units have any; counts {counts}")
    dur = con.sql(f"SELECT duration_min FROM '{ev}' WHERE event_type = 'post_empty'").fetchall()
    dur = np.array([x for (x,) in dur if x is not None])
    if len(dur):
        print(f"  post_empty minutes: ≤60 {np.mean(dur <= 60):.0%}, 61–239 {np.mean((dur > 60) & (dur < 240)):.0%}, "
              f"≥240 {np.mean(dur >= 240):.0%}")

    try:
        from dashboard.core import scoring
        months = [r[0] for r in con.sql(f"SELECT DISTINCT period FROM '{um}' ORDER BY 1").fetchall()]
        res = scoring.score_months(connect(lake), args.ruleset, months)
        con.register("res", res)
        grades = con.sql("SELECT period, grade, count(*) FROM res GROUP BY ALL").fetchall()
        flagged = dict(con.sql("SELECT period, count(*) FILTER (WHERE len(flags) > 0) FROM res GROUP BY ALL").fetchall())
    except Exception as e:  # the rules engine may be mid-change: the rest still stands
        print(f"\nscoring {args.ruleset} failed: {type(e).__name__}: {e}")
        return 0
    names = sorted({g for _, g, _ in grades if g is not None})
    table: dict[str, dict[str, int]] = {}
    for p, g, n in grades:
        table.setdefault(p, {})[g] = n
    print(f"\n{args.ruleset}: units per grade and month")
    print("  period   " + "".join(f"{g:>6s}" for g in names) + "   max share  flagged")
    shares = []
    for p in sorted(table):
        row = table[p]
        tot = sum(row.values())
        shares.append(max(row.values()) / tot)
        print(f"  {p}  " + "".join(f"{row.get(g, 0):6d}" for g in names) + f"   {shares[-1]:6.0%}  {flagged.get(p, 0):7d}")
    every = sum(all(table[p].get(g, 0) for g in names) for p in table)
    print(f"  months with every grade: {every} of {len(table)}; months where one grade holds > 60%: "
          f"{sum(s > 0.6 for s in shares)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
