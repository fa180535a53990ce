"""Marts (指标汇总表): build the fact tables (queries/facts/) from the warehouse, then one mart per grain (queries/)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.core import queries
from dashboard.core.contract import TABLES
from dashboard.core.db import Lake, Warehouse, connect
from dashboard.core.metrics import MetricOptions, MetricsError, metrics, months_of
from dashboard.core.period import BEIJING

QUERIES = queries.QUERIES
BUILD_INFO = "_build.json"
# What each file under queries/ declares in its header (kind, keys, order, attributes, inputs); the build reads the
# headers again each time, these are the ones the code was started with.
CATALOG = queries.load(QUERIES)
# Build stages under queries/facts, each after what it reads, with the order their file is written in. Cases are
# sorted by (month, unit) so a one-unit drill-down reads only that unit's row groups; the other facts (no @order)
# keep the warehouse's month order (sorting them would cost more than it saves).
FACTS: dict[str, str | None] = {n: ", ".join(CATALOG[n].order) or None for n in queries.steps(CATALOG)
                                if CATALOG[n].kind in ("fact", "stage")}


def base_facts(catalog: dict[str, queries.Query]) -> list[str]:
    """The reusable fact tables (kind fact), in build order: what the facts fingerprint covers."""
    return [n for n in queries.steps(catalog) if catalog[n].kind == "fact"]


# The fact tables proper depend on the warehouse, the calendar, their SQL and only the options of
# MetricOptions.fact_params (how the export's deadline reads), not on the other options.
BASE_FACTS = tuple(base_facts(CATALOG))
# Marts and their keys: files are sorted as their header says, so the same warehouse always gives the same rows.
MARTS: dict[str, tuple[str, ...]] = {n: CATALOG[n].keys for n in queries.steps(CATALOG)
                                     if CATALOG[n].kind == "mart"}
# Descriptive columns carried along when months are summed (one value per key).
LABELS: dict[str, tuple[str, ...]] = {n: CATALOG[n].attributes for n in MARTS}
# Scored subjects (unit, window, staff) → their mart, key column and name column.
SUBJECTS: dict[str, tuple[str, str, str]] = {q.subject: (n, q.keys[-1], q.attributes[0])
                                             for n, q in CATALOG.items() if q.subject is not None}


class AuditError(MetricsError):
    """An audit under queries/audits/ found rows that break its rule: the build's output is not to be trusted."""


@dataclass
class BuildSummary:
    """What one `hall build` produced: rows per fact table and mart, the options in force, seconds per step."""

    facts: dict[str, int] = field(default_factory=dict)
    marts: dict[str, int] = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    facts_reused: bool = False
    # The instant deadlines and rectification limits are judged at, where it came from, the months reported and
    # which of them are provisional (数据未完结): see the `as_of` option in rulesets/_catalog.yaml.
    as_of: str | None = None
    as_of_source: str | None = None
    periods: dict[str, str | None] = field(default_factory=dict)
    provisional: list[str] = field(default_factory=list)


def query_path(name: str) -> Path:
    """The .sql file of a fact stage, a mart, a check or an audit."""
    return CATALOG[name].path


def write_calendar(lake: Lake) -> int:
    """Write the working-day calendar (工作日历) the queries join against; returns its row count."""
    from dashboard.core.calendar import WorkCalendar  # the holiday tables load only when a build needs them

    cal = WorkCalendar(lake.calendar_overrides)
    table = cal.table()
    lake.lake.mkdir(parents=True, exist_ok=True)
    tmp = lake.lake / "calendar.parquet.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, lake.lake / "calendar.parquet")
    return table.num_rows


def _copy(wh: Warehouse, query: queries.Query, target: Path, params: dict | None = None) -> int:
    """Run one query file into a Parquet file (replaced atomically), sorted as its header says; returns its row
    count."""
    tmp = target.with_name(f".{target.name}.tmp")
    order_by = f" ORDER BY {', '.join(query.order)}" if query.order else ""
    # Large facts favour a fast codec; marts are small and kept compact. Paths are ours (the lake), never user
    # input; values go in as bound parameters.
    codec = "snappy" if query.kind == "fact" else "zstd"
    wh.execute(f"COPY (SELECT * FROM ({query.text}){order_by}) TO '{tmp}' "
               f"(FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 122880)", params)
    os.replace(tmp, target)
    return _rows(target)


def _rows(path: Path) -> int:
    """Rows in a Parquet file, from its footer."""
    return pq.ParquetFile(path).metadata.num_rows


def _params(query: queries.Query, pool: dict) -> dict | None:
    """The named parameters a query's header declares, from what the build has."""
    missing = [p for p in query.params if p not in pool]
    if missing:
        raise queries.QueryError(f"{query.where('params')}: @params {missing[0]}: the build has no such parameter "
                                 f"(it has {', '.join(sorted(pool))})")
    return {p: pool[p] for p in query.params} or None


FACTS_STAMP = "_facts.json"


def facts_fingerprint(lake: Lake, options: MetricOptions | None = None,
                      catalog: dict[str, queries.Query] | None = None) -> str:
    """A digest of everything the fact tables depend on: the warehouse tables their headers name, calendar, fact
    SQL, view code and the options the facts read."""
    catalog = catalog if catalog is not None else queries.load(QUERIES)
    base = base_facts(catalog)
    h = hashlib.sha256()
    fact_options = (options if options is not None else MetricOptions.defaults()).fact_params()
    h.update(json.dumps(fact_options, sort_keys=True).encode())
    for table in sorted({d for n in base for d in catalog[n].depends if d in TABLES}):
        for path in sorted(lake.table_dir(table).glob("**/*.parquet")):
            st = path.stat()
            h.update(f"{path.relative_to(lake.warehouse)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    cal = lake.lake / "calendar.parquet"
    h.update(cal.read_bytes() if cal.exists() else b"")
    for name in base:
        h.update(catalog[name].path.read_bytes())
    h.update(Path(__file__).with_name("db.py").read_bytes())
    return h.hexdigest()


def _reusable_facts(lake: Lake, fingerprint: str, base: list[str]) -> bool:
    stamp = lake.facts / FACTS_STAMP
    if not stamp.exists() or not all((lake.facts / f"{n}.parquet").exists() for n in base):
        return False
    return json.loads(stamp.read_text(encoding="utf-8")).get("fingerprint") == fingerprint


def build(lake: Lake | None = None, progress: Callable[[str, int, int], None] | None = None,
          options: MetricOptions | None = None, full: bool = False,
          waiting: Callable[[str], None] | None = None) -> BuildSummary:
    """Build the fact tables (skipped when nothing they depend on changed, unless `full`), then every mart, with
    the data folder's definition options (or `options`), then run every audit; one writer per data folder at a
    time, so a second build waits for the first (`waiting` hears who holds the folder) and never runs beside it."""
    lake = lake or Lake.default()
    with lake.writer("hall build", waiting):
        return _build(lake, progress, options, full)


def _build(lake: Lake, progress, options: MetricOptions | None, full: bool) -> BuildSummary:
    options = options if options is not None else MetricOptions.load(lake.root)
    t0 = time.perf_counter()
    # The headers are read again on every build, so an edited query file is built as it now stands.
    catalog = queries.load(QUERIES)
    order = queries.steps(catalog)
    base = base_facts(catalog)
    write_calendar(lake)
    lake.facts.mkdir(parents=True, exist_ok=True)
    lake.marts.mkdir(parents=True, exist_ok=True)
    fingerprint = facts_fingerprint(lake, options, catalog)
    reuse = not full and _reusable_facts(lake, fingerprint, base)
    if not reuse:
        # Facts about to change: a build that fails halfway must not leave them looking current.
        (lake.facts / FACTS_STAMP).unlink(missing_ok=True)
    # A bounded build spills to the lake's temp folder instead of growing with the warehouse.
    wh = connect(lake, memory_limit=os.environ.get("HALL_BUILD_MEMORY", "3GB"))
    summary = BuildSummary(options=dict(options), facts_reused=reuse)
    pool = {**options.fact_params(), **options.sql_params()}
    steps = [*order, "audits"]
    pending: list[tuple[Path, Path]] = []
    try:
        if not reuse:  # the facts' fingerprint covers the cases and the calendar this check reads
            _check_calendar(wh, catalog["calendar_coverage"], pool)
        for i, name in enumerate(order):
            if progress:
                progress(name, i, len(steps))
            t = time.perf_counter()
            query = catalog[name]
            if "as_of" in query.params and "as_of" not in pool:
                summary.as_of, summary.as_of_source = resolve_as_of(wh, options)
                pool["as_of"] = summary.as_of
            if query.kind == "mart":
                # Written beside the live marts under a name no reader lists, put in place once the audits pass.
                target = lake.marts / f".{name}.parquet.pending"
                pending.append((target, lake.marts / f"{name}.parquet"))
                summary.marts[name] = _copy(wh, query, target, _params(query, pool))
            else:
                target = lake.facts / f"{name}.parquet"
                if reuse and query.kind == "fact":
                    summary.facts[name] = _rows(target)
                else:
                    summary.facts[name] = _copy(wh, query, target, _params(query, pool))
                if name == base[-1] and not reuse:
                    (lake.facts / FACTS_STAMP).write_text(json.dumps({"fingerprint": fingerprint}), encoding="utf-8")
            # Later steps and the audits read each output by its query's name.
            wh.register(name, target)
            summary.step_seconds[name] = round(time.perf_counter() - t, 3)
        if progress:
            progress("audits", len(order), len(steps))
        t = time.perf_counter()
        audit(wh, catalog)
        summary.step_seconds["audits"] = round(time.perf_counter() - t, 3)
        summary.periods, summary.provisional = _reported_months(wh, summary.as_of, int(options["rectification_days"]))
    except BaseException:
        # A build that failed, an audit included, leaves the marts that were there.
        for staged, _ in pending:
            staged.unlink(missing_ok=True)
        raise
    finally:
        wh.close()
    for staged, final in pending:
        os.replace(staged, final)
    summary.seconds = time.perf_counter() - t0
    info = {
        "built_at": dt.datetime.now(dt.UTC).astimezone(BEIJING).isoformat(timespec="seconds"),
        "options": summary.options,
        "as_of": summary.as_of,
        "as_of_source": summary.as_of_source,
        "periods": summary.periods,
        "provisional": summary.provisional,
        "facts": summary.facts,
        "facts_reused": reuse,
        "marts": summary.marts,
        "seconds": round(summary.seconds, 3),
    }
    (lake.marts / BUILD_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    if progress:
        progress("done", len(steps), len(steps))
    return summary


def indicator_columns() -> pa.Table:
    """The catalog's indicators as columns (indicator, kind, rollup, column_name, role), for the audits to read."""
    rows = [{"indicator": m.id, "kind": m.kind, "rollup": m.rollup, "column_name": c,
             "role": ("numerator", "denominator")[i] if len(m.columns) == 2 else "count"}
            for m in metrics().values() for i, c in enumerate(m.columns)]
    return pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in
                                                        ("indicator", "kind", "rollup", "column_name", "role")]))


def audit(wh: Warehouse, catalog: dict[str, queries.Query], shown: int = 5) -> None:
    """Run every audit under queries/audits/ over the outputs registered on `wh` (a per-mart audit once per mart);
    the first to return rows fails with its name, the mart, how many rows and the first `shown` of them."""
    columns = indicator_columns()
    marts = [n for n in queries.steps(catalog) if catalog[n].kind == "mart"]
    for name, query in sorted(catalog.items()):
        if query.kind != "audit":
            continue
        for mart in marts if query.each == "mart" else [None]:
            sql = query.sql(mart, catalog[mart].keys) if mart else query.sql()
            # Sorted, so the rows a message shows are the same on every run.
            found = wh.query_with({"indicator_columns": columns}, f"SELECT * FROM ({sql}) ORDER BY ALL")
            if found.num_rows:
                rows = "; ".join(", ".join(f"{k}={v}" for k, v in r.items()) for r in found.slice(0, shown).to_pylist())
                on = f" on {mart}" if mart else ""
                raise AuditError(f"audit {name}{on} ({query.label['en']}, {query.file}) found {found.num_rows:,} "
                                 f"row{'s' if found.num_rows != 1 else ''} breaking its rule; first: {rows}")


def build_info(lake: Lake) -> dict:
    """What the last build recorded (built_at, options, row counts), or {} before the first build."""
    path = lake.marts / BUILD_INFO
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def options_in_force(lake: Lake) -> MetricOptions:
    """The definition options the current marts were built with (the catalog's defaults before any build)."""
    return MetricOptions.from_overrides(build_info(lake).get("options", {}), str(lake.marts / BUILD_INFO))


def resolve_as_of(wh: Warehouse, options: MetricOptions) -> tuple[str | None, str | None]:
    """The as-of instant (ISO 8601, Beijing time) and its source: the stated `as_of` option, else the newest
    cases.updated_at of the export (a lower bound of when it ran); (None, None) with no cases. A stated instant
    earlier than a record the export holds is refused: the export cannot have run before that record changed."""
    row = wh.query("SELECT max(updated_at) AS updated, max(accepted_at) AS accepted FROM fact_cases").to_pylist()[0]
    newest = max((v for v in (row["updated"], row["accepted"]) if v is not None), default=None)
    stated = options.get("as_of")
    if stated is None:
        return (None, None) if newest is None else (newest.astimezone(BEIJING).isoformat(), "cases.updated_at")
    instant = dt.datetime.fromisoformat(stated)
    if newest is not None and instant < newest:
        raise MetricsError(f"as_of {stated} is before the newest case record (changed "
                           f"{newest.astimezone(BEIJING).isoformat()}): the export cannot have run before it; state a "
                           "later instant or leave as_of out")
    return instant.astimezone(BEIJING).isoformat(), "option"


def _reported_months(wh: Warehouse, as_of: str | None, rectification_days: int) -> tuple[dict, list[str]]:
    """The first and last month the marts report, and the provisional ones: a month is final once the rectification
    limit (working days) has run out after its last day by the as-of instant, and provisional until then."""
    row = wh.query("SELECT strftime(min(month), '%Y-%m') AS first, strftime(max(month), '%Y-%m') AS last "
                   "FROM measures").to_pylist()[0]
    periods = {"first": row["first"], "last": row["last"]}
    if as_of is None or row["first"] is None:
        return periods, []
    rows = wh.query(
        "WITH months AS (SELECT m FROM range(?::DATE, ?::DATE + INTERVAL 1 DAY, INTERVAL 1 MONTH) AS t(m)), "
        "now AS (SELECT max(workday_seq) AS seq FROM calendar WHERE date <= ?::TIMESTAMPTZ::DATE) "
        "SELECT strftime(m, '%Y-%m') AS period FROM months, now "
        "WHERE ?::TIMESTAMPTZ::DATE <= last_day(m) OR now.seq IS NULL OR now.seq - "
        "(SELECT max(workday_seq) FROM calendar WHERE date <= last_day(m)) <= ? ORDER BY period",
        [f"{row['first']}-01", f"{row['last']}-01", as_of, as_of, rectification_days])
    return periods, rows.column("period").to_pylist()


def _check_calendar(wh: Warehouse, check: queries.Query, pool: dict) -> None:
    """Refuse to build when a deadline needs working days from a year without a published schedule."""
    row = wh.query(check.text, _params(check, pool)).to_pylist()[0]
    if row["cases"]:
        from dashboard.core.calendar import CalendarError

        raise CalendarError(
            f"{row['cases']:,} cases (accepted {row['first_accepted']} – {row['last_accepted']}, e.g. "
            f"{row['example_case']}) need working days in a year without a published holiday schedule; add that "
            "year to the calendar override file (published_years and [[day]] entries) and build again"
        )


def scope_clause(scope: tuple[str, ...] | None) -> tuple[str, list]:
    """SQL (and its parameter) limiting unit_code to the caller's scope; empty for the whole hall."""
    if scope is None:
        return "", []
    return " AND unit_code IN (SELECT unnest(?::VARCHAR[]))", [list(scope)]


def _has_mart(wh: Warehouse, name: str) -> bool:
    return (wh.lake.marts / f"{name}.parquet").exists()


def periods(wh: Warehouse, scope: tuple[str, ...] | None) -> list[str]:
    """Months that have unit data the scope may see, newest first."""
    if not _has_mart(wh, "unit_month"):
        return []
    clause, params = scope_clause(scope)
    t = wh.query(f"SELECT DISTINCT period FROM mart_unit_month WHERE true{clause} ORDER BY period DESC", params)
    return t.column("period").to_pylist()


def latest_period(wh: Warehouse, scope: tuple[str, ...] | None) -> str | None:
    """The newest month with data in scope, or None before the first build."""
    p = periods(wh, scope)
    return p[0] if p else None


def unit_month(wh: Warehouse, period: str, scope: tuple[str, ...] | None) -> pa.Table:
    """One month of the unit_month mart, limited to the scope."""
    clause, params = scope_clause(scope)
    return wh.query(
        f"SELECT * FROM mart_unit_month WHERE period = ?{clause} ORDER BY unit_code", [period, *params]
    )


def data_as_of(wh: Warehouse, scope: tuple[str, ...] | None) -> dict:
    """When the marts were built, the as-of instant of the data and its source, the newest month in scope (and
    whether it is provisional), the provisional months, and how many cases in scope stand behind them."""
    info = build_info(wh.lake)
    if not info:
        return {}
    clause, params = scope_clause(scope)
    t = wh.query(f"SELECT coalesce(sum(cases_accepted), 0)::BIGINT AS n FROM mart_unit_month WHERE true{clause}", params)
    latest = latest_period(wh, scope)
    provisional = list(info.get("provisional") or [])
    return {"built_at": info["built_at"], "latest_period": latest,
            "cases_rows": t.column("n")[0].as_py(), "options": info.get("options", {}),
            "as_of": info.get("as_of"), "as_of_source": info.get("as_of_source"),
            "provisional": provisional, "latest_provisional": latest in provisional}


def provisional_periods(lake: Lake) -> list[str]:
    """The months the last build marked provisional (数据未完结), oldest first; [] before a build."""
    return list(build_info(lake).get("provisional") or [])


def is_provisional(lake: Lake, period: str) -> bool:
    """True when a month, quarter or year holds a provisional month: its numbers can still change."""
    return bool(set(months_of(period)) & set(provisional_periods(lake)))


def metric_columns() -> list[str]:
    """Every numerator, denominator and count column a mart carries, in catalog order."""
    return [c for m in metrics().values() for c in m.columns]


def slice_mart(wh: Warehouse, grain: str, period: str, scope: tuple[str, ...] | None,
               unit: str | None = None) -> pa.Table:
    """A grain's rows for a month, quarter or year within the scope; several months are summed per key
    (Σnumerator, Σdenominator — never an average of rates) and then carry no median or P90."""
    if grain not in MARTS:
        raise MetricsError(f"grain {grain!r}: choose one of {', '.join(MARTS)}")
    if not _has_mart(wh, grain):
        raise MetricsError(f"no {grain} mart yet: run `hall build` first")
    months = months_of(period)
    if grain == "hall_month" and scope is not None:
        # A hall holds every unit's work: a caller limited to some units sees no hall totals.
        return wh.query("SELECT * FROM mart_hall_month LIMIT 0")
    clause, params = scope_clause(scope)
    if unit is not None:
        clause, params = clause + " AND unit_code = ?", [*params, unit]
    if grain == "unit_day":
        sql = f"SELECT * FROM mart_unit_day WHERE period IN (SELECT unnest(?::VARCHAR[])){clause} ORDER BY ALL"
        return wh.query(sql, [months, *params])
    keys = [k for k in MARTS[grain] if k != "period"]
    labels = ", ".join(f'any_value("{c}") AS "{c}"' for c in LABELS[grain])
    single = len(months) == 1
    distinct = [] if single else [m.id for m in metrics().values() if m.rollup == "distinct"]
    sums = ", ".join(f'sum("{c}")::BIGINT AS "{c}"' for c in metric_columns() if c not in distinct)
    if distinct:
        return _with_distinct(wh, grain, keys, months, _sum_slice(wh, grain, keys, labels, sums, period, months,
                                                                  clause, params, single), distinct)
    return _sum_slice(wh, grain, keys, labels, sums, period, months, clause, params, single)


def _sum_slice(wh: Warehouse, grain: str, keys: list[str], labels: str, sums: str, period: str, months: list[str],
               clause: str, params: list, single: bool) -> pa.Table:
    dist = ("any_value(handling_days_median) AS handling_days_median, any_value(handling_days_p90) AS "
            "handling_days_p90" if single else
            "NULL::DECIMAL(12,2) AS handling_days_median, NULL::DECIMAL(12,2) AS handling_days_p90")
    sql = (f"SELECT ? AS period, {', '.join(keys)}{', ' + labels if labels else ''}, {sums}, {dist} "
           f"FROM mart_{grain} WHERE period IN (SELECT unnest(?::VARCHAR[])){clause} "
           f"GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}")
    return wh.query(sql, [period, months, *params])


# Counts whose months do not add up (rollup: distinct in the catalog), and the measures rows they are counted from
# again over a longer period: one row per key of the finest grain with something to count.
DISTINCT_ROWS = {"overdue_items": "overdue_item"}


def _with_distinct(wh: Warehouse, grain: str, keys: list[str], months: list[str], summed: pa.Table,
                   distinct: list[str]) -> pa.Table:
    """Summed months with each distinct count (e.g. overdue_items) counted again over the whole period from the
    build's measures rows, keyed as the grain is; columns in the same order as a single month's slice. A lake
    without the build's facts cannot count them again: they are NULL ("no data") there, never a wrong sum."""
    has_facts = (wh.lake.facts / "measures.parquet").exists()
    joins, params = [], []
    picks = {}
    for i, c in enumerate(distinct):
        if not has_facts:
            picks[c] = f'NULL::BIGINT AS "{c}"'
            continue
        on = " AND ".join(f's."{k}" IS NOT DISTINCT FROM d{i}."{k}"' for k in keys)
        joins.append(f"LEFT JOIN (SELECT {', '.join(keys)}, count(DISTINCT item_code) AS n FROM measures "
                     f"WHERE grain = ? AND strftime(month, '%Y-%m') IN (SELECT unnest(?::VARCHAR[])) "
                     f"GROUP BY ALL) AS d{i} ON {on}")
        params += [DISTINCT_ROWS[c], months]
        picks[c] = f'coalesce(d{i}.n, 0)::BIGINT AS "{c}"'
    cols = [c for c in summed.column_names if c not in ("handling_days_median", "handling_days_p90")]
    head = [c for c in cols if c not in metric_columns()]
    select = [f's."{c}"' for c in head]
    select += [picks.get(c, f's."{c}"') for c in metric_columns()]
    select += ["s.handling_days_median", "s.handling_days_p90"]
    sql = (f"SELECT {', '.join(select)} FROM summed AS s {' '.join(joins)} "
           f"ORDER BY {', '.join(f's.{k}' for k in keys)}")
    return wh.query_with({"summed": summed}, sql, params or None)


def metric_rows(table: pa.Table, grain: str, lang: str = "zh") -> list[dict]:
    """Long form of a mart slice: one row per key × indicator with its value, numerator and denominator."""
    keys = list(MARTS[grain])
    out = []
    for row in table.to_pylist():
        for m in metrics().values():
            num = row[m.columns[0]]
            den = row[m.columns[1]] if len(m.columns) == 2 else None
            out.append({**{k: row[k] for k in keys}, "metric": m.id, "name": m.name(lang), "kind": m.kind,
                        "value": m.value(num, den), "numerator": num, "denominator": den})
            if m.distribution:
                for q, label in (("median", {"zh": "中位数", "en": "median"}), ("p90", {"zh": "P90", "en": "P90"})):
                    out.append({**{k: row[k] for k in keys}, "metric": f"{m.id}_{q}",
                                "name": f"{m.name(lang)} ({label[lang]})", "kind": "distribution",
                                "value": row.get(f"{m.id}_{q}"), "numerator": None, "denominator": None})
    return out
