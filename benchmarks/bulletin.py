"""Bulletin speed: the monthly bulletin for every unit of a built demo warehouse, as XLSX and as PDF.

    uv run python benchmarks/bulletin.py --root /work/bench/1m/data [--period 2025-06] [--repeat 3]

Each step runs in a fresh interpreter (imports included, as `hall report` pays them); content is built once per
step, so "xlsx" and "pdf" are each the whole command: scores, marts, layout and file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402

STEP = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from dashboard.core import bulletin, marts, report
from dashboard.core.db import Lake, connect
t_import = time.perf_counter() - t0
root, fmt, period = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
wh = connect(Lake(root))
period = period or marts.latest_period(wh, None)
t1 = time.perf_counter()
b = bulletin.build(wh, period)
t2 = time.perf_counter()
data = report.to_xlsx(b) if fmt == "xlsx" else report.to_pdf(b)[0]
t3 = time.perf_counter()
units = len(next(tb for tb in b.tables if tb.key == "ranking").rows)
print(json.dumps({"import": t_import, "content": t2 - t1, "render": t3 - t2, "bytes": len(data), "units": units,
                  "period": period}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True, help="a data folder with built marts (HALL_DATA)")
    ap.add_argument("--period", default="")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'format':<7}{'units':>6}{'period':>9}{'wall s':>9}{'import s':>10}{'content s':>11}{'render s':>10}"
          f"{'bytes':>10}{'peak RSS':>10}")
    for fmt in ("xlsx", "pdf"):
        for _ in range(args.repeat):
            seconds, peak, out = measure(STEP, args.root, fmt, args.period)
            print(f"{fmt:<7}{out['units']:>6}{out['period']:>9}{seconds:>9.2f}{out['import']:>10.2f}"
                  f"{out['content']:>11.2f}{out['render']:>10.2f}{out['bytes']:>10,}{peak / 1e9:>9.2f}G")


if __name__ == "__main__":
    main()
