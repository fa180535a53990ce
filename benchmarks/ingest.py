"""Generate and ingest demo exports at 1M and 10M cases; print rows/s and peak RSS for each step.

Usage: uv run python benchmarks/ingest.py [--sizes 1000000 10000000] [--keep DIR]
Each step runs in its own process; peak RSS is the largest sum over that process and its children,
sampled every 50 ms (the gate runs one worker process per file, two at a time).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _measure import measure

GENERATE = """
import json, sys
from pathlib import Path
from dashboard import demo
s = demo.generate(Path(sys.argv[1]), cases=int(sys.argv[2]), seed=7, end_month="2026-10")
print(json.dumps({"rows": s.rows}))
"""

INGEST = """
import json, sys
from pathlib import Path
from dashboard.core import ingest
from dashboard.core.db import Lake
r = ingest.ingest([Path(sys.argv[1])], Lake(Path(sys.argv[2])))
print(json.dumps({"rows_in": r.rows_in, "accepted": r.rows_accepted, "quarantined": r.rows_quarantined,
                  "files": len(r.files)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--keep", type=Path, help="keep the generated data under this folder")
    a = ap.parse_args()
    print(f"{'cases':>12} {'step':<9} {'seconds':>8} {'rows':>12} {'rows/s':>11} {'peak RSS':>9}")
    for n in a.sizes:
        base = Path(tempfile.mkdtemp(prefix=f"bench{n}_", dir=a.keep))
        exports, data = base / "exports", base / "data"
        s, rss, info = measure(GENERATE, str(exports), str(n))
        rows = sum(info["rows"].values())
        print(f"{n:>12,} {'generate':<9} {s:>8.1f} {rows:>12,} {rows / s:>11,.0f} {rss / 2**30:>7.2f}GB")
        s, rss, info = measure(INGEST, str(exports), str(data))
        assert info["rows_in"] == info["accepted"] + info["quarantined"]
        print(f"{n:>12,} {'ingest':<9} {s:>8.1f} {info['rows_in']:>12,} {info['rows_in'] / s:>11,.0f} "
              f"{rss / 2**30:>7.2f}GB  (accepted {info['accepted']:,}, quarantined {info['quarantined']:,})")
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
