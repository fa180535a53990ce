"""The `hall` command line: demo data, ingest, build and serve."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dashboard.core.db import REPO_ROOT, Lake
from dashboard.resources import PACKAGE

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


def _waiting(holder: str) -> None:
    err.print(f"waiting: the data folder is being written by {holder}", markup=False, highlight=False)


@app.command()
def demo(
    cases: int = typer.Option(1_000_000, help="Total cases over the 24 months."),
    seed: int = typer.Option(7, help="Random seed; the same seed gives the same files."),
    end_month: str = typer.Option(None, help="Last month (YYYY-MM); default: last month."),
    out_dir: Path = typer.Option(None, "--out", help="Where to write the exports (default: data/demo/exports)."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
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
            report = gate.ingest(paths, force=force, waiting=_waiting,
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
def build(
    full: bool = typer.Option(False, "--full", help="Rebuild the fact tables even if the warehouse is unchanged."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Build the fact tables and marts (指标汇总) from the warehouse, with the data folder's definition options."""
    from dashboard.core import marts
    from dashboard.core.calendar import CalendarError
    from dashboard.core.metrics import MetricOptions, MetricsError

    try:
        options = MetricOptions.load(Lake.default().root)
        with _progress(as_json) as bar:
            task = bar.add_task("building", total=None)
            summary = marts.build(options=options, full=full, waiting=_waiting, progress=lambda name, done, total: bar.update(
                task, completed=done, total=total, description=name))
    except (CalendarError, MetricsError) as e:
        _fail(e)
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
        return "无数据" if lang == "zh" else "no data"
    if row["kind"] == "count":
        return f"{int(v):,}"
    if row["kind"] == "distribution":
        return str(v)
    if row["kind"] in ("rate", "ratio"):
        return f"{half_up(v * 100)}%"
    unit = metrics()[row["metric"]].unit
    units = {"working_days": ("个工作日", " working days"), "minutes": (" 分钟", " min")}.get(unit, ("", ""))
    return f"{half_up(v)}{units[0] if lang == 'zh' else units[1]}"


@app.command("metrics")
def metrics_cmd(
    grain: str = typer.Option("unit_month", help="unit_month | window_month | staff_month | item_month | "
                                                 "hall_month | unit_day"),
    period: str = typer.Option(..., help="A month (2025-06), quarter (2025-Q2) or year (2025); months are summed "
                                         "as Σnumerator / Σdenominator."),
    unit: str = typer.Option(None, help="Only this unit (unit_code)."),
    metric: list[str] = typer.Option(None, help="Only these indicators (repeatable), e.g. --metric on_time_rate."),
    fmt: str = typer.Option("table", "--format", help="table | csv | json"),
    lang: str = typer.Option("zh", help="zh | en"),
) -> None:
    """Print indicators for a slice of a mart, each with its numerator and denominator."""
    import csv

    from dashboard.core import marts
    from dashboard.core.db import connect
    from dashboard.core.metrics import MetricsError, half_up, metrics

    if fmt not in ("table", "csv", "json") or lang not in ("zh", "en"):
        _fail(ValueError("--format is table, csv or json; --lang is zh or en"))
    unknown = sorted(set(metric or ()) - set(metrics()))
    if unknown:
        _fail(MetricsError(f"unknown indicator {', '.join(unknown)}; indicators: {', '.join(metrics())}"))
    lake = Lake.default()
    wh = connect(lake)
    try:
        table = marts.slice_mart(wh, grain, period, None, unit)
    except MetricsError as e:
        _fail(e)
    finally:
        wh.close()
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

    zh = lang == "zh"
    t = Table(title=f"{grain} {period}", show_lines=False)
    for k in keys:
        t.add_column(k)
    for c in (("指标", "Indicator"), ("值", "Value"), ("分子", "Numerator"), ("分母", "Denominator")):
        t.add_column(c[0] if zh else c[1], justify="left" if c[1] == "Indicator" else "right")
    for r in rows:
        t.add_row(*(str(r[k]) if r[k] is not None else "—" for k in keys), r["name"], _metric_value(r, lang),
                  "" if r["numerator"] is None or r["kind"] == "count" else f"{r['numerator']:,}",
                  "" if r["denominator"] is None else f"{r['denominator']:,}")
    out.print(t)
    options = marts.options_in_force(lake)
    out.print(("口径：" if zh else "Options: ") + ("；" if zh else "; ").join(options.describe(lang)), markup=False,
              highlight=False)


@app.command()
def serve(
    port: int = typer.Option(8501, help="Port to serve on."),
    address: str = typer.Option("127.0.0.1", help="Address to listen on; anything but loopback needs sign-in "
                                "(an [auth] section in secrets.toml)."),
    secrets: Path = typer.Option(None, help="The secrets.toml holding the [auth] sign-in section (default: "
                                 "~/.streamlit/secrets.toml, then .streamlit/secrets.toml in the repository)."),
) -> None:
    """Serve the dashboard on http://ADDRESS:PORT (loopback by default)."""
    from dashboard.core.access import LOOPBACK, secrets_files, sign_in_configured

    if secrets is not None and not secrets.is_file():
        err.print(f"error: {secrets}: no such secrets file", markup=False, highlight=False)
        raise typer.Exit(2)
    if address not in LOOPBACK and not sign_in_configured(secrets_files(secrets)):
        err.print(f"error: refusing to serve on {address} without sign-in: with no OpenID Connect provider in "
                  f"{' or '.join(map(str, secrets_files(secrets)))} ([auth] with redirect_uri, cookie_secret, "
                  "client_id, client_secret, server_metadata_url), anyone who reaches the port would read every unit. "
                  "Configure sign-in (see the README) or serve on 127.0.0.1.", markup=False, highlight=False)
        raise typer.Exit(2)
    cmd = [sys.executable, "-m", "streamlit", "run", str(PACKAGE / "app.py"),
           "--server.port", str(port), "--server.address", address, "--server.headless", "true"]
    if secrets is not None:
        cmd += ["--secrets.files", str(secrets.resolve())]
    raise typer.Exit(subprocess.call(cmd, cwd=REPO_ROOT, env=os.environ.copy()))


rules_app = typer.Typer(help="Assessment rules (考核细则): check files, print rule cards.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("check")
def rules_check(
    paths: list[Path] = typer.Argument(None, help="Ruleset files or folders (default: every file in rulesets/)."),
    lang: str = typer.Option("en", help="zh | en"),
) -> None:
    """Validate ruleset files and run their cases; every problem as file:line:col: message. Exit 1 if any."""
    from dashboard.core.rules.loader import case_problems, check, ruleset_files

    files: list[Path] = []
    for p in paths or []:
        files += sorted(p.glob("**/*.yaml")) if p.is_dir() else [p]
    loaded, problems = check(files or ruleset_files())
    zh = lang == "zh"
    for one in loaded:
        if any(pr.file == str(one.path) for pr in problems):
            continue
        failed = case_problems(one)
        problems += failed
        rs = one.ruleset
        if not failed:
            rules, cases = sum(len(s.items) for s in rs.sections), len(rs.cases)
            out.print(f"通过 {one.path}：{rs.id}，自 {rs.effective.from_period} 起，{rules} 条规则，{cases} 个案例全部通过"
                      if zh else f"ok {one.path}: {rs.id} from {rs.effective.from_period}, {rules} rules, "
                      f"{cases} cases pass", highlight=False, markup=False)
    for pr in problems:
        err.print(pr.render(lang), highlight=False, markup=False)
    raise typer.Exit(1 if problems else 0)


@rules_app.command("card")
def rules_card(
    ruleset: str = typer.Argument(..., help="Ruleset id, e.g. anshan_stationed."),
    period: str = typer.Option(None, help="The version in force in this period (default: the newest)."),
    lang: str = typer.Option("zh", help="zh | en"),
) -> None:
    """Print a ruleset as sentences (the rule card)."""
    from dashboard.core.rules.explain import card
    from dashboard.core.rules.loader import RulesError, find

    try:
        one = find(ruleset, period)
    except RulesError as e:
        _fail(ValueError(e.render(lang)))
    out.print(card(one.ruleset, lang, one.path.stem, one.sha256), highlight=False, markup=False)


@app.command("score")
def score_cmd(
    ruleset: str = typer.Option(..., help="Ruleset id, e.g. anshan_stationed."),
    period: str = typer.Option(..., help="The period to score (2025-06, 2025-Q2 or 2025)."),
    unit: str = typer.Option(None, help="Only this unit; prints its lines too."),
    as_json: bool = typer.Option(False, "--json", help="Results with their lines as JSON."),
    out_dir: Path = typer.Option(None, "--out", help="Also write results, score_items and score_lines as Parquet here."),
    lang: str = typer.Option("zh", help="zh | en"),
) -> None:
    """Score a period under a ruleset: total, grade and flags per unit, and the lines that add up to each total."""
    from rich.table import Table

    from dashboard.core import scoring
    from dashboard.core.db import connect
    from dashboard.core.metrics import MetricsError
    from dashboard.core.rules.loader import RulesError

    wh = connect(Lake.default())
    try:
        scores = scoring.score(wh, ruleset, period, None if unit is None else (unit,))
    except RulesError as e:
        _fail(ValueError(e.render(lang)))
    except MetricsError as e:
        _fail(e)
    finally:
        wh.close()
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
                {"period": ln["period"], "line": ln["line"], "name": ln["name_zh" if lang == "zh" else "name_en"],
                 "points": str(ln["points"])})
        out.print_json(json.dumps([{**r, "lines": by_subject.get(r["subject"], [])} for r in results],
                                  ensure_ascii=False, default=str))
        return
    zh = lang == "zh"
    t = Table(title=f"{scores.ruleset.ruleset.name.zh if zh else scores.ruleset.ruleset.name.en} {period} "
                    f"({scores.ruleset.path.stem}, sha256 {scores.ruleset.sha256[:12]})")
    heads = (("对象", "Subject"), ("名称", "Name"), ("总分", "Total"), ("等次", "Grade"), ("名次", "Rank"),
             ("等级", "Tier"), ("称号", "Title"), ("评优", "Excellent"), ("标记", "Flags"))
    for c in heads:
        t.add_column(c[0] if zh else c[1], justify="right" if c[1] in ("Total", "Rank") else "left")
    for r in results:
        t.add_row(r["subject"], r["name"] or "", str(r["total"]), r["grade"] or "",
                  "" if r["rank"] is None else str(r["rank"]), r["tier"] or "", r["award"] or "",
                  ("是" if zh else "yes") if r["excellent"] else "", ", ".join(r["flags"]))
    out.print(t)
    if unit is not None:
        for ln in lines:
            if ln["points"] != 0 or ln["line"] == "base":
                out.print(f"  {ln['points']:>+10.2f} {ln['name_zh'] if zh else ln['name_en']}", highlight=False,
                          markup=False)


@app.command("report")
def report_cmd(
    period: str = typer.Option(..., help="The month of the bulletin, e.g. 2025-06."),
    ruleset: str = typer.Option(None, help="Ruleset id (default: the monthly unit ruleset in force)."),
    fmt: str = typer.Option(..., "--format", help="xlsx | pdf"),
    out_file: Path = typer.Option(..., "--out", help="The file to write."),
    lang: str = typer.Option("zh", help="zh | en"),
) -> None:
    """Write the monthly bulletin (月度考核通报) as XLSX or PDF."""
    from dashboard.core import bulletin, report
    from dashboard.core.db import connect
    from dashboard.core.metrics import MetricsError
    from dashboard.core.rules.loader import RulesError

    if fmt not in ("xlsx", "pdf"):
        _fail(ValueError(f"--format must be xlsx or pdf, not {fmt!r}"))
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        _fail(ValueError(f"--period must be a month such as 2025-06, not {period!r}"))
    wh = connect(Lake.default())
    try:
        b = bulletin.build(wh, period, ruleset, lang)
        data = report.to_xlsx(b) if fmt == "xlsx" else report.to_pdf(b)[0]
    except RulesError as e:
        _fail(ValueError(e.render(lang)))
    except (MetricsError, report.ReportError) as e:
        _fail(e)
    finally:
        wh.close()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_bytes(data)
    out.print(f"report: {out_file} ({fmt}, {len(data):,} bytes, {b.stamp['ruleset_id']} {b.stamp['version']})")


@app.command("metrics-doc")
def metrics_doc(check: bool = typer.Option(False, help="Exit 1 if docs/metrics.md is out of date.")) -> None:
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
def contract_doc(check: bool = typer.Option(False, help="Exit 1 if data/README.md is out of date.")) -> None:
    """Write data/README.md from the input contract."""
    from dashboard.core.contract import render_markdown

    _write_doc(REPO_ROOT / "data" / "README.md", render_markdown(), check)


if __name__ == "__main__":
    app()
