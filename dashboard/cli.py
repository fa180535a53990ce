"""The `hall` command line: demo data, ingest, build and serve."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Annotated, Literal, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dashboard.core.db import REPO_ROOT, Lake
from dashboard.core.text import join, pick, t
from dashboard.resources import PACKAGE

app = typer.Typer(help="Service Hall Scorecard (政务服务中心考核看板).", no_args_is_help=True, add_completion=False)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

Lang = Literal["zh", "en"]
# The marts `hall metrics` can slice (dashboard.core.marts.MARTS; a test keeps the two lists equal).
Grain = Literal["unit_month", "window_month", "staff_month", "item_month", "hall_month", "unit_day"]
AsJson = Annotated[bool, typer.Option("--json", help="Print a machine-readable summary.")]


class Refused(Exception):
    """A command that will not run as asked (a missing file, an unsafe address): its message, exit code 2."""


def _fail(e: Exception, lang: str = "en") -> NoReturn:
    """Print a set-up error verbatim (paths and TOML may hold brackets rich would eat) and exit 2."""
    from dashboard.core.rules.loader import RulesError

    err.print(f"error: {e.render(lang) if isinstance(e, RulesError) else e}", markup=False, highlight=False)
    raise typer.Exit(2) from e


def _expected_errors() -> tuple[type[Exception], ...]:
    """What a command meets in normal use (bad input, a data folder or ruleset not set up), as opposed to a bug."""
    from dashboard.core.calendar import CalendarError
    from dashboard.core.ingest import IngestError
    from dashboard.core.metrics import MetricsError
    from dashboard.core.report import ReportError
    from dashboard.core.rules.loader import RulesError

    return Refused, CalendarError, IngestError, MetricsError, ReportError, RulesError


def _one_line_errors(command: Callable[..., None]) -> Callable[..., None]:
    """The commands' one error path: an expected error is one line on stderr and exit 2 (in the command's
    `--lang`); anything else is a bug and keeps its traceback."""

    @functools.wraps(command)
    def run(**options: object) -> None:
        try:
            command(**options)
        except Exception as e:
            if not isinstance(e, _expected_errors()):
                raise
            _fail(e, str(options.get("lang", "en")))

    return run


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, disable=quiet, transient=True)


def _waiting(holder: str) -> None:
    err.print(f"waiting: the data folder is being written by {holder}", markup=False, highlight=False)


@app.command()
@_one_line_errors
def demo(
    cases: Annotated[int, typer.Option(help="Total cases over the 24 months.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    end_month: Annotated[str | None, typer.Option(help="Last month (YYYY-MM); default: last month.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where to write the exports (default: "
                                                               "data/demo/exports).")] = None,
    as_json: AsJson = False,
) -> None:
    """Generate deterministic demo exports for a city hall (Parquet, plus one month as Chinese-header XLSX)."""
    from dashboard import demo as demo_mod

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
    # A file that could not be read has no row count: say so rather than suggest it held none.
    unknown = "; rows: unknown" if f.rows_in is None else ""
    return head + rows + (f" ({'; '.join(why)})" if why else "") + unknown


@app.command()
@_one_line_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Export files or folders.")],
    force: Annotated[bool, typer.Option(help="Re-process files already ingested (the result is the same).")] = False,
    as_json: AsJson = False,
) -> None:
    """Run exports through the gate: accepted rows to the warehouse, the rest to quarantine with a reason."""
    from dashboard.core import ingest as gate

    with _progress(as_json) as bar:
        task = bar.add_task("ingesting files", total=None)
        report = gate.ingest(paths, force=force, waiting=_waiting,
                             progress=lambda rep, done, total: bar.update(task, completed=done, total=total,
                                                                          description=rep.source_file))
    if as_json:
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        for f in report.files:
            out.print(_file_line(f), markup=False, highlight=False)
        d = report.to_dict()
        # Rows of files that could not be counted are quarantined with their file: unknown on both sides.
        n = d["rows_unknown_files"]
        unknown = (f" + unknown ({n} file{'s' if n > 1 else ''} not counted)", " + unknown") if n else ("", "")
        out.print(f"ingest: {d['files']} files ({', '.join(f'{v} {k}' for k, v in d['statuses'].items())}); "
                  f"rows in {d['rows_in']:,}{unknown[0]} = accepted {d['rows_accepted']:,} + quarantined "
                  f"{d['rows_quarantined']:,}{unknown[1]}; {d['seconds']:.1f} s", highlight=False)
    # A file with every row rejected failed as surely as one quarantined whole.
    if report.failed:
        raise typer.Exit(1)


@app.command()
@_one_line_errors
def build(
    full: Annotated[bool, typer.Option("--full", help="Rebuild the fact tables even if the warehouse is "
                                                      "unchanged.")] = False,
    as_json: AsJson = False,
) -> None:
    """Build the fact tables and marts (指标汇总) from the warehouse, with the data folder's definition options."""
    from dashboard.core import marts
    from dashboard.core.metrics import MetricOptions

    options = MetricOptions.load(Lake.default().root)
    with _progress(as_json) as bar:
        task = bar.add_task("building", total=None)
        summary = marts.build(options=options, full=full, waiting=_waiting, progress=lambda name, done, total: bar.update(
            task, completed=done, total=total, description=name))
    if as_json:
        out.print_json(json.dumps({"facts": summary.facts, "facts_reused": summary.facts_reused,
                                   "marts": summary.marts, "options": summary.options,
                                   "step_seconds": summary.step_seconds, "seconds": round(summary.seconds, 3)},
                                  ensure_ascii=False))
        return
    out.print(f"build: {len(summary.marts)} marts ({', '.join(f'{k} {v:,} rows' for k, v in summary.marts.items())}) "
              f"from {summary.facts.get('fact_cases', 0):,} cases"
              f"{' (facts reused: warehouse unchanged)' if summary.facts_reused else ''}; {summary.seconds:.1f} s",
              highlight=False)
    out.print("options: " + "; ".join(options.describe("en")), highlight=False, markup=False)


def _metric_value(row: dict, lang: str) -> str:
    """A value as people read it: 98.52%, 4.50 working days, 1,234; None as "no data"."""
    from dashboard.core.metrics import half_up, metrics

    v = row["value"]
    if v is None:
        return t("common.no_data", lang)
    if row["kind"] == "count":
        return f"{int(v):,}"
    if row["kind"] == "distribution":
        return str(v)
    if row["kind"] in ("rate", "ratio"):
        return f"{half_up(v * 100)}%"
    unit = metrics()[row["metric"]].unit
    return t(f"cli.unit.{unit}", lang, value=half_up(v)) if unit in ("working_days", "minutes") else f"{half_up(v)}"


@app.command("metrics")
@_one_line_errors
def metrics_cmd(
    period: Annotated[str, typer.Option(help="A month (2025-06), quarter (2025-Q2) or year (2025); months are "
                                             "summed as Σnumerator / Σdenominator.")],
    grain: Annotated[Grain, typer.Option(help="The mart to slice.")] = "unit_month",
    unit: Annotated[str | None, typer.Option(help="Only this unit (unit_code).")] = None,
    metric: Annotated[list[str] | None, typer.Option(help="Only these indicators (repeatable), e.g. --metric "
                                                          "on_time_rate.")] = None,
    fmt: Annotated[Literal["table", "csv", "json"], typer.Option("--format", help="How to print the rows.")] = "table",
    lang: Annotated[Lang, typer.Option(help="Language of names and headers.")] = "zh",
) -> None:
    """Print indicators for a slice of a mart, each with its numerator and denominator."""
    import csv

    from dashboard.core import marts
    from dashboard.core.db import connect
    from dashboard.core.metrics import MetricsError, half_up, metrics

    unknown = sorted(set(metric or ()) - set(metrics()))
    if unknown:
        raise MetricsError(f"unknown indicator {', '.join(unknown)}; indicators: {', '.join(metrics())}")
    lake = Lake.default()
    with closing(connect(lake)) as wh:
        table = marts.slice_mart(wh, grain, period, None, unit)
    rows = [r for r in marts.metric_rows(table, grain, lang)
            if not metric or r["metric"] in metric or r["metric"].rsplit("_", 1)[0] in metric]
    keys = [k for k in marts.MARTS[grain] if k != "period"]
    if fmt == "json":
        payload = {"grain": grain, "period": period, "options": marts.build_info(lake).get("options", {}),
                   "rows": [{**r, "value": None if r["value"] is None else str(
                       r["value"] if r["kind"] in ("count", "distribution") else half_up(r["value"], 6))}
                       for r in rows]}
        out.print_json(json.dumps(payload, ensure_ascii=False, default=str))
        return
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(["period", *keys, "metric", "name", "value", "numerator", "denominator"])
        for r in rows:
            w.writerow([period, *(r[k] for k in keys), r["metric"], r["name"], _metric_value(r, lang),
                        r["numerator"], "" if r["denominator"] is None else r["denominator"]])
        return
    from rich.table import Table

    grid = Table(title=f"{grain} {period}", show_lines=False)
    for k in keys:
        grid.add_column(k)
    for c in ("indicator", "value", "numerator", "denominator"):
        grid.add_column(t(f"cli.metrics.col.{c}", lang), justify="left" if c == "indicator" else "right")
    for r in rows:
        grid.add_row(*(str(r[k]) if r[k] is not None else "—" for k in keys), r["name"], _metric_value(r, lang),
                     "" if r["numerator"] is None or r["kind"] == "count" else f"{r['numerator']:,}",
                     "" if r["denominator"] is None else f"{r['denominator']:,}")
    out.print(grid)
    options = marts.options_in_force(lake)
    out.print(t("cli.options", lang, options=join(options.describe(lang), lang, "clauses")), markup=False,
              highlight=False)


@app.command()
@_one_line_errors
def serve(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on; anything but loopback needs sign-in (an "
                                              "[auth] section in secrets.toml).")] = "127.0.0.1",
    secrets: Annotated[Path | None, typer.Option(help="The secrets.toml holding the [auth] sign-in section "
                                                      "(default: ~/.streamlit/secrets.toml, then "
                                                      ".streamlit/secrets.toml in the repository).")] = None,
) -> None:
    """Serve the dashboard on http://ADDRESS:PORT (loopback by default)."""
    from dashboard.core.access import LOOPBACK, secrets_files, sign_in_configured

    if secrets is not None and not secrets.is_file():
        raise Refused(f"{secrets}: no such secrets file")
    if address not in LOOPBACK and not sign_in_configured(secrets_files(secrets)):
        raise Refused(f"refusing to serve on {address} without sign-in: with no OpenID Connect provider in "
                      f"{' or '.join(map(str, secrets_files(secrets)))} ([auth] with redirect_uri, cookie_secret, "
                      "client_id, client_secret, server_metadata_url), anyone who reaches the port would read every "
                      "unit. Configure sign-in (see the README) or serve on 127.0.0.1.")
    cmd = [sys.executable, "-m", "streamlit", "run", str(PACKAGE / "app.py"),
           "--server.port", str(port), "--server.address", address, "--server.headless", "true"]
    # Streamlit runs beside its config, so the secrets files are named to it rather than found from its folder.
    files = [f.resolve() for f in secrets_files(secrets) if f.is_file()]
    for f in files:
        cmd += ["--secrets.files", str(f)]
    # The server starts beside its config (.streamlit/); the data folder and roles file stay the caller's.
    from dashboard.core.access import roles_path

    env = {**os.environ, "HALL_DATA": str(Lake.default().root), "HALL_ROLES": str(roles_path())}
    raise typer.Exit(subprocess.call(cmd, cwd=REPO_ROOT, env=env))


rules_app = typer.Typer(help="Assessment rules (考核细则): check files, print rule cards.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("check")
@_one_line_errors
def rules_check(
    paths: Annotated[list[Path] | None, typer.Argument(help="Ruleset files or folders (default: every file in "
                                                            "rulesets/).")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the messages.")] = "en",
) -> None:
    """Validate ruleset files and run their cases; every problem as file:line:col: message. Exit 1 if any."""
    from dashboard.core.rules.loader import case_problems, check, ruleset_files

    files: list[Path] = []
    for p in paths or []:
        files += sorted(p.glob("**/*.yaml")) if p.is_dir() else [p]
    loaded, problems = check(files or ruleset_files())
    for one in loaded:
        if any(pr.file == str(one.path) for pr in problems):
            continue
        failed = case_problems(one)
        problems += failed
        rs = one.ruleset
        if not failed:
            rules = t("cli.rules_check.rules", lang, count=sum(len(s.items) for s in rs.sections))
            cases = t("cli.rules_check.cases", lang, count=len(rs.cases))
            out.print(t("cli.rules_check.ok", lang, path=one.path, id=rs.id, start=rs.effective.from_period,
                        rules=rules, cases=cases), highlight=False, markup=False)
    for pr in problems:
        err.print(pr.render(lang), highlight=False, markup=False)
    raise typer.Exit(1 if problems else 0)


@rules_app.command("card")
@_one_line_errors
def rules_card(
    ruleset: Annotated[str, typer.Argument(help="Ruleset id, e.g. anshan_stationed.")],
    period: Annotated[str | None, typer.Option(help="The version in force in this period (default: the "
                                                    "newest).")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the card.")] = "zh",
) -> None:
    """Print a ruleset as sentences (the rule card)."""
    from dashboard.core.rules.explain import card
    from dashboard.core.rules.loader import find

    one = find(ruleset, period)
    out.print(card(one.ruleset, lang, one.path.stem, one.sha256), highlight=False, markup=False)


@app.command("score")
@_one_line_errors
def score_cmd(
    ruleset: Annotated[str, typer.Option(help="Ruleset id, e.g. anshan_stationed.")],
    period: Annotated[str, typer.Option(help="The period to score (2025-06, 2025-Q2 or 2025).")],
    unit: Annotated[str | None, typer.Option(help="Only this unit; prints its lines too.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Results with their lines as JSON.")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Also write results, score_items and score_lines "
                                                               "as Parquet here.")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of names and headers.")] = "zh",
) -> None:
    """Score a period under a ruleset: total, grade and flags per unit, and the lines that add up to each total."""
    from rich.table import Table

    from dashboard.core import scoring
    from dashboard.core.db import connect

    with closing(connect(Lake.default())) as wh:
        scores = scoring.score(wh, ruleset, period, None if unit is None else (unit,))
    if out_dir is not None:
        import pyarrow.parquet as pq

        out_dir.mkdir(parents=True, exist_ok=True)
        for name, table in (("results", scores.results), ("score_items", scores.items), ("score_lines", scores.lines)):
            pq.write_table(table, out_dir / f"{name}.parquet")
    results, lines = scores.results.to_pylist(), scores.lines.to_pylist()
    if as_json:
        by_subject: dict[str, list] = {}
        for ln in lines:
            by_subject.setdefault(ln["subject"], []).append(
                {"period": ln["period"], "line": ln["line"], "name": pick(ln["name_zh"], ln["name_en"], lang),
                 "points": str(ln["points"])})
        out.print_json(json.dumps([{**r, "lines": by_subject.get(r["subject"], [])} for r in results],
                                  ensure_ascii=False, default=str))
        return
    name = scores.ruleset.ruleset.name
    grid = Table(title=f"{pick(name.zh, name.en, lang)} {period} "
                       f"({scores.ruleset.path.stem}, sha256 {scores.ruleset.sha256[:12]})")
    for c in ("subject", "name", "total", "grade", "rank", "tier", "title", "excellent", "flags"):
        grid.add_column(t(f"cli.score.col.{c}", lang), justify="right" if c in ("total", "rank") else "left")
    for r in results:
        grid.add_row(r["subject"], r["name"] or "", str(r["total"]), r["grade"] or "",
                     "" if r["rank"] is None else str(r["rank"]), r["tier"] or "", r["award"] or "",
                     t("cli.score.excellent_yes", lang) if r["excellent"] else "", ", ".join(r["flags"]))
    out.print(grid)
    if unit is not None:
        for ln in lines:
            if ln["points"] != 0 or ln["line"] == "base":
                out.print(f"  {ln['points']:>+10.2f} {pick(ln['name_zh'], ln['name_en'], lang)}", highlight=False,
                          markup=False)


@app.command("report")
@_one_line_errors
def report_cmd(
    period: Annotated[str, typer.Option(help="The month of the bulletin, e.g. 2025-06.")],
    fmt: Annotated[Literal["xlsx", "pdf"], typer.Option("--format", help="The file's format.")],
    out_file: Annotated[Path, typer.Option("--out", help="The file to write.")],
    ruleset: Annotated[str | None, typer.Option(help="Ruleset id (default: the monthly unit ruleset in "
                                                     "force).")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the bulletin.")] = "zh",
) -> None:
    """Write the monthly bulletin (月度考核通报) as XLSX or PDF."""
    from dashboard.core import bulletin, report
    from dashboard.core.db import connect
    from dashboard.core.period import Period

    month = Period.parse_or_none(period)
    if month is None or month.kind != "month":
        _fail(ValueError(f"--period must be a month such as 2025-06, not {period!r}"))
    with closing(connect(Lake.default())) as wh:
        b = bulletin.build(wh, period, ruleset, lang)
        data = report.to_xlsx(b) if fmt == "xlsx" else report.to_pdf(b)[0]
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_bytes(data)
    out.print(f"report: {out_file} ({fmt}, {len(data):,} bytes, {b.stamp['ruleset_id']} {b.stamp['version']})")


@app.command("metrics-doc")
@_one_line_errors
def metrics_doc(check: Annotated[bool, typer.Option(help="Exit 1 if docs/metrics.md is out of date.")] = False) -> None:
    """Write docs/metrics.md (指标口径说明, Chinese and English) from the indicator definitions."""
    from dashboard.core.metrics import render_markdown

    _write_doc(REPO_ROOT / "docs" / "metrics.md", render_markdown(), check)


def _write_doc(path: Path, text: str, check: bool) -> None:
    name = path.relative_to(REPO_ROOT)
    if check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        out.print(f"{name} is up to date" if same else f"{name} is out of date; run the command without --check")
        raise typer.Exit(0 if same else 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    out.print(f"wrote {path}")


@app.command("contract-doc")
@_one_line_errors
def contract_doc(check: Annotated[bool, typer.Option(help="Exit 1 if data/README.md is out of date.")] = False) -> None:
    """Write data/README.md from the input contract."""
    from dashboard.core.contract import render_markdown

    _write_doc(REPO_ROOT / "data" / "README.md", render_markdown(), check)


if __name__ == "__main__":
    app()
