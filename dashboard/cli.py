"""The `hall` command line: demo data, ingest, build and serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dashboard.core.db import REPO_ROOT, Lake

app = typer.Typer(help="Service Hall Scorecard (政务服务中心考核看板).", no_args_is_help=True, add_completion=False)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _fail(e: Exception) -> None:
    """Print a set-up error verbatim (paths and TOML may hold brackets rich would eat) and exit 2."""
    err.print(f"error: {e}", markup=False, highlight=False)
    raise typer.Exit(2) from e


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, disable=quiet, transient=True)


@app.command()
def demo(
    cases: int = typer.Option(1_000_000, help="Total cases over the 24 months."),
    seed: int = typer.Option(7, help="Random seed; the same seed gives the same files."),
    end_month: str = typer.Option(None, help="Last month (YYYY-MM); default: last month."),
    out_dir: Path = typer.Option(None, "--out", help="Where to write the exports (default: data/demo/exports)."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Generate deterministic demo exports for a city hall (Parquet, plus one month as Chinese-header XLSX)."""
    from dashboard.core import demo as demo_mod

    target = out_dir or Lake.default().demo_exports
    with _progress(as_json) as bar:
        task = bar.add_task("generating months", total=None)
        summary = demo_mod.generate(target, cases=cases, seed=seed, end_month=end_month,
                                    progress=lambda done, total: bar.update(task, completed=done, total=total))
    rows = summary.rows
    if as_json:
        out.print_json(json.dumps({"out_dir": str(summary.out_dir), "files": len(summary.files), "rows": rows,
                                   "months": [summary.months[0], summary.months[-1]],
                                   "seconds": round(summary.seconds, 2)}, ensure_ascii=False))
        return
    out.print(f"demo: {len(summary.files)} files, {rows.get('cases', 0):,} cases, "
              f"{summary.months[0]}–{summary.months[-1]}, {summary.seconds:.1f} s → {summary.out_dir}")


def _file_line(f) -> str:
    """One line per file: what it was, what happened to its rows, and why."""
    mark = {"accepted": "✓", "partial": "!", "quarantined": "✗", "skipped": "="}[f.status]
    head = f"{mark} {f.source_file} → {f.table or '?'}: {f.status}"
    if f.status == "skipped":
        return f"{head} ({f.reason})"
    rows = "" if f.rows_in is None else (
        f"; {f.rows_in:,} in = {f.rows_accepted:,} accepted + {f.rows_quarantined:,} quarantined")
    why = [f"{f.reason}: {f.detail}"] if f.reason else []
    why += [f"{k} {v}" for k, v in sorted(f.reasons.items())] + list(f.notes)
    return head + rows + (f" ({'; '.join(why)})" if why else "")


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Export files or folders."),
    force: bool = typer.Option(False, help="Re-process files already ingested (the result is the same)."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Run exports through the gate: accepted rows to the warehouse, the rest to quarantine with a reason."""
    from dashboard.core import ingest as gate

    try:
        with _progress(as_json) as bar:
            task = bar.add_task("ingesting files", total=None)
            report = gate.ingest(paths, force=force,
                                 progress=lambda rep, done, total: bar.update(task, completed=done, total=total,
                                                                              description=rep.source_file))
    except gate.IngestError as e:
        _fail(e)
    if as_json:
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        for f in report.files:
            out.print(_file_line(f), markup=False, highlight=False)
        d = report.to_dict()
        out.print(f"ingest: {d['files']} files ({', '.join(f'{v} {k}' for k, v in d['statuses'].items())}); "
                  f"rows in {d['rows_in']:,} = accepted {d['rows_accepted']:,} + quarantined "
                  f"{d['rows_quarantined']:,}; {d['seconds']:.1f} s", highlight=False)
    if any(f.status == "quarantined" for f in report.files):
        raise typer.Exit(1)


@app.command()
def build(as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary.")) -> None:
    """Build the marts (指标汇总) from the warehouse."""
    from dashboard.core import marts
    from dashboard.core.calendar import CalendarError

    try:
        with _progress(as_json) as bar:
            task = bar.add_task("building marts", total=None)
            summary = marts.build(progress=lambda name, done, total: bar.update(
                task, completed=done, total=total, description=name))
    except CalendarError as e:
        _fail(e)
    if as_json:
        out.print_json(json.dumps({"marts": summary.marts, "seconds": round(summary.seconds, 3)}))
        return
    out.print(f"build: {len(summary.marts)} marts ({', '.join(f'{k} {v:,} rows' for k, v in summary.marts.items())}); "
              f"{summary.seconds:.1f} s")


@app.command()
def serve(port: int = typer.Option(8501, help="Port to serve on.")) -> None:
    """Serve the dashboard on http://localhost:PORT."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard" / "app.py"),
           "--server.port", str(port), "--server.headless", "true"]
    raise typer.Exit(subprocess.call(cmd, cwd=REPO_ROOT, env=os.environ.copy()))


@app.command("contract-doc")
def contract_doc(check: bool = typer.Option(False, help="Exit 1 if data/README.md is out of date.")) -> None:
    """Write data/README.md from the input contract."""
    from dashboard.core.contract import render_markdown

    path = REPO_ROOT / "data" / "README.md"
    text = render_markdown()
    if check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        out.print("data/README.md is up to date" if same else "data/README.md is out of date")
        raise typer.Exit(0 if same else 1)
    path.write_text(text, encoding="utf-8")
    out.print(f"wrote {path}")


if __name__ == "__main__":
    app()
