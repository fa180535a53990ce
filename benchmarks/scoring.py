"""Scoring speed: N units × M months through a ruleset with the full breakdown (results, score_items, score_lines).

    uv run python benchmarks/scoring.py [--units 5000] [--months 36] [--ruleset anshan_stationed ...]

Inputs are generated (seeded) straight into the relations the compiled SELECT reads — marts columns, events,
assessors' values — so the figure is the rules engine's: one SELECT over every unit-month, then the items and
lines unpivoted in SQL. Each ruleset runs in a fresh interpreter; wall time and peak RSS are printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402

STEP = r"""
import json, sys, time
import numpy as np
import pyarrow as pa
from dashboard.core import scoring
from dashboard.core.contract import EVENT_LEVELS, EVENT_TYPES
from dashboard.core.rules import model as m
from dashboard.core.rules.cases import EVENTS, IMPORTED, MANUAL, connect
from dashboard.core.rules.compiler import metric_columns
from dashboard.core.rules.loader import find

ruleset_id, units, months = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
loaded = find(ruleset_id)
rs = loaded.ruleset
rng = np.random.default_rng(7)
periods = [f"{2023 + i // 12}-{i % 12 + 1:02d}" for i in range(months)]
n = units * months
period = np.repeat(np.array(periods), units)
subject = np.tile(np.array([f"U{i:05d}" for i in range(units)]), months)
cols = {"period": period, "subject": subject, "grp": np.tile(np.array([f"G{i % 3}" for i in range(units)]), months)}
for c in metric_columns(rs):
    if c.endswith("_den"):
        continue
    if c.endswith("_num"):
        den = rng.integers(0, 400, n)
        cols[c[:-4] + "_den"] = den
        cols[c] = np.minimum(den, rng.binomial(den, 0.985))
    else:
        cols[c] = rng.poisson(3, n) if c != "cases_accepted" else rng.integers(0, 2000, n)
subjects = pa.table(cols)
# About three events per unit-month, over every event type the catalog knows.
k = 3 * n
rows = rng.integers(0, n, k)
events = pa.table({
    "period": period[rows], "subject": subject[rows],
    "event_type": np.array(EVENT_TYPES)[rng.integers(0, len(EVENT_TYPES), k)],
    "level": np.array(EVENT_LEVELS)[rng.integers(0, len(EVENT_LEVELS), k)],
    "severity": rng.integers(1, 4, k).astype(np.int32), "duration_min": rng.integers(0, 400, k).astype(np.int32),
    "count": rng.integers(1, 3, k).astype(np.int32)}).cast(EVENTS)
manual_items = [it for sec in rs.sections for it in sec.items if isinstance(it, m.Manual)]
manual = pa.table({
    "period": np.repeat(period, len(manual_items)), "subject": np.repeat(subject, len(manual_items)),
    "item_id": np.tile(np.array([it.id for it in manual_items] or ["none"]), n)[: n * len(manual_items)],
    "value": pa.array([0] * (n * len(manual_items)), pa.decimal128(18, 4))}).cast(MANUAL) if manual_items else \
    pa.Table.from_pylist([], schema=MANUAL)
imports = sorted({it.ruleset for sec in rs.sections for it in sec.items if isinstance(it, m.ImportScore)})
imported = pa.table({"period": np.repeat(period, len(imports)), "subject": np.repeat(subject, len(imports)),
                     "ruleset": np.tile(np.array(imports or ["none"]), n)[: n * len(imports)],
                     "total": pa.array([90] * (n * len(imports)), pa.decimal128(18, 4))}).cast(IMPORTED) \
    if imports else pa.Table.from_pylist([], schema=IMPORTED)

con = connect()
def query(tables, sql):
    cur = con.cursor()
    try:
        for name, t in tables.items():
            cur.register(name, t)
        return cur.sql(sql).to_arrow_table()
    finally:
        cur.close()

t0 = time.perf_counter()
# A period as long as the ruleset's own: every unit-month is scored as a part, nothing rolled up.
own = {"month": "2023-01", "quarter": "2023-Q1", "year": "2023"}[rs.period]
raw = scoring.compute(loaded, own, {
    "subjects": subjects, "subject_events": events, "manual_scores": manual, "imported": imported}, {}, query)
t1 = time.perf_counter()
s = scoring.tables(raw)
t2 = time.perf_counter()
sums = query({"lines": s.lines.select(["period", "subject", "points"]), "results": s.results},
             "SELECT count(*) AS bad FROM (SELECT period, subject, sum(points) AS p FROM lines GROUP BY ALL) "
             "JOIN results USING (period, subject) WHERE p <> total").column("bad")[0].as_py()
print(json.dumps({"compute": t1 - t0, "breakdown": t2 - t1, "results": s.results.num_rows,
                  "items": s.items.num_rows, "lines": s.lines.num_rows, "unbalanced": sums}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=5000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--ruleset", nargs="*", default=["anshan_stationed", "township_grading"])
    args = ap.parse_args()
    print(f"{'ruleset':<22}{'unit-months':>12}{'wall s':>9}{'scoring s':>11}{'breakdown s':>13}"
          f"{'items':>12}{'lines':>12}{'peak RSS':>10}")
    for ruleset in args.ruleset:
        seconds, peak, out = measure(STEP, ruleset, str(args.units), str(args.months))
        print(f"{ruleset:<22}{out['results']:>12,}{seconds:>9.2f}{out['compute']:>11.2f}{out['breakdown']:>13.2f}"
              f"{out['items']:>12,}{out['lines']:>12,}{peak / 1e9:>9.2f}G")
        if out["unbalanced"]:
            raise SystemExit(f"{ruleset}: {out['unbalanced']} unit-months whose lines do not sum to the total")


if __name__ == "__main__":
    main()
