"""Run a ruleset's embedded cases (examples worked out by hand from the document) through the compiled SQL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pyarrow as pa

from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import compile_ruleset, line_ids, metric_columns


@dataclass(frozen=True)
class CaseResult:
    """One case: what came out, and how it differs from what the document says."""

    name: str
    total: Decimal
    grade: str | None
    lines: dict[str, Decimal]
    flags: list[str]
    problems: list[str]


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    con.execute("SET enable_external_access = false")
    return con


def score_case(rs: m.Ruleset, case: m.Case) -> CaseResult:
    """Score one case's inputs for a single subject and compare with its expected result."""
    sql = compile_ruleset(rs)
    events = pa.Table.from_pylist(
        [{"subject": "case", **e.model_dump()} for e in case.inputs.events],
        schema=pa.schema([("subject", pa.string()), ("event_type", pa.string()), ("level", pa.string()),
                          ("severity", pa.int32()), ("duration_min", pa.int32()), ("count", pa.int32())]))
    metrics = {c: [int(case.inputs.metrics.get(c, 0))] for c in metric_columns(rs)}
    subjects = pa.table({"subject": ["case"], **{c: pa.array(v, pa.int64()) for c, v in metrics.items()}})
    con = _connect()
    try:
        cur = con.cursor()
        cur.register("subject_events", events)
        cur.register("subjects", subjects)
        row = cur.sql(sql).to_arrow_table().to_pylist()[0]
    finally:
        con.close()
    lines = {k: row[k] for k in line_ids(rs) if row[k] != 0 and k != "base"}
    problems = []
    if row["total"] != case.expect.total:
        problems.append(f"total {row['total']} ≠ expected {case.expect.total}")
    if case.expect.grade is not None and row["grade"] != case.expect.grade:
        problems.append(f"grade {row['grade']} ≠ expected {case.expect.grade}")
    if {k: Decimal(v) for k, v in lines.items()} != dict(case.expect.lines):
        problems.append(f"lines {dict(lines)} ≠ expected {dict(case.expect.lines)}")
    if sorted(row["flags"]) != sorted(case.expect.flags):
        problems.append(f"flags {row['flags']} ≠ expected {case.expect.flags}")
    base_and_lines = row["base"] + sum(lines.values(), Decimal(0))
    if base_and_lines != row["total"]:
        problems.append(f"lines sum to {base_and_lines}, not the total {row['total']}")
    return CaseResult(case.name, row["total"], row["grade"], lines, row["flags"], problems)
