"""Page speed: every dashboard page rendered with AppTest over a built warehouse, as a user reaches it.

    uv run python benchmarks/pages.py --root /work/bench/50m [--repeat 5]

For each page (in a fresh interpreter, so caches start cold, with the libraries a running server has loaded
already imported): the first render through the entrypoint and `switch_page` (for pages after the first, the
entrypoint has rendered the overview before, as when a user clicks through), then `--repeat` changes of the
period filter (each to a month not seen yet, so the data behind it is read afresh). Prints p50 and p95 of server time per page: AppTest runs the script in-process, so the figure is
what the server spends, without the browser's drawing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402

STEP = r"""
import json, os, sys, time
from pathlib import Path
from streamlit.testing.v1 import AppTest
from dashboard.core.db import REPO_ROOT
page, repeat = sys.argv[1], int(sys.argv[2])
app = str(REPO_ROOT / "dashboard" / "app.py")
from dashboard.ui.nav import PAGES
# A running server has its libraries loaded; what a first visit waits for is the data, not Python imports.
import duckdb, plotly.graph_objects, polars, pyarrow  # noqa: E401,F401
import dashboard.data, dashboard.core.bulletin, dashboard.core.scoring, dashboard.core.report  # noqa: E401,F401
at = AppTest.from_file(app, default_timeout=300)
t0 = time.perf_counter()
at.run()
first = time.perf_counter() - t0
if page != PAGES[0][0]:  # the entrypoint opens the first page; any other is reached by switching to it
    t0 = time.perf_counter()
    at.switch_page(page).run()
    first = time.perf_counter() - t0
errors = [str(e.value) for e in at.exception]
name = Path(page).stem
period_box = next((s for s in at.selectbox if s.key == f"w_{name}_period"), None)
changes = []
if period_box is not None:
    months = [o for o in period_box.options if o != period_box.value][:repeat]
    for month in months:
        box = next(s for s in at.selectbox if s.key == f"w_{name}_period")
        t0 = time.perf_counter()
        box.select(month).run()
        changes.append(time.perf_counter() - t0)
        errors += [str(e.value) for e in at.exception]
print(json.dumps({"first": first, "changes": changes, "errors": errors}))
"""


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True, help="a data folder with built marts (HALL_DATA)")
    ap.add_argument("--repeat", type=int, default=5, help="period changes per page")
    ap.add_argument("--runs", type=int, default=3, help="fresh processes per page (first renders)")
    ap.add_argument("--pages", nargs="*", help="only these page files (default: every page)")
    args = ap.parse_args()
    from dashboard.ui.nav import PAGES

    print(f"{'page':<28}{'first p50':>10}{'first p95':>10}{'change p50':>11}{'change p95':>11}{'peak RSS':>10}")
    for path, _, _ in PAGES:
        if args.pages and path not in args.pages:
            continue
        firsts, changes, peak_all = [], [], 0
        for _ in range(args.runs):
            _, peak, out = measure(STEP, path, str(args.repeat), env={"HALL_DATA": args.root})
            if out["errors"]:
                raise SystemExit(f"{path}: {out['errors'][:2]}")
            firsts.append(out["first"])
            changes += out["changes"]
            peak_all = max(peak_all, peak)
        print(f"{path:<28}{_p(firsts, .5):>10.3f}{_p(firsts, .95):>10.3f}{_p(changes, .5):>11.3f}"
              f"{_p(changes, .95):>11.3f}{peak_all / 1e9:>9.2f}G")
    print(json.dumps({"note": "seconds of server time; first = cold caches in a fresh process",
                      "median_of_all_first": statistics.median(firsts)}))


if __name__ == "__main__":
    main()
