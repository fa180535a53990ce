"""Run a ruleset's embedded cases (examples worked out by hand from the document) through the compiled SQL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pyarrow as pa

from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import compile_rollup, compile_ruleset, line_ids, metric_columns
from dashboard.core.text import Message

EVENTS = pa.schema([("period", pa.string()), ("subject", pa.string()), ("event_type", pa.string()),
                    ("level", pa.string()), ("severity", pa.int32()), ("duration_min", pa.int32()),
                    ("count", pa.int32())])
MANUAL = pa.schema([("period", pa.string()), ("subject", pa.string()), ("item_id", pa.string()),
                    ("value", pa.decimal128(18, 4))])
IMPORTED = pa.schema([("period", pa.string()), ("subject", pa.string()), ("ruleset", pa.string()),
                      ("total", pa.decimal128(18, 4))])


@dataclass(frozen=True)
class CaseResult:
    """One case: what came out per subject, and how it differs from what the document says."""

    name: str
    rows: dict[str, dict]
    problems: list[Message]

    def render(self, lang: str = "en") -> list[str]:
        """The problems in the reader's language."""
        return [p.render(lang) for p in self.problems]


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that cannot reach files or the network (rules only ever read registered tables)."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    con.execute("SET enable_external_access = false")
    return con


def relations(rs: m.Ruleset, periods: dict[str, dict[str, m.CaseInputs]]) -> dict[str, pa.Table]:
    """The four input relations of the compiled SELECT for {period: {subject: inputs}}."""
    cols = metric_columns(rs)
    subjects: dict[str, list] = {"period": [], "subject": [], "grp": [], "kind": [], **{c: [] for c in cols}}
    events, manual, imported = [], [], []
    for period, by_subject in periods.items():
        for subject, inp in by_subject.items():
            subjects["period"].append(period)
            subjects["subject"].append(subject)
            subjects["grp"].append(inp.group)
            subjects["kind"].append(inp.kind)
            for c in cols:
                subjects[c].append(int(inp.metrics.get(c, 0)))
            events += [{"period": period, "subject": subject, **e.model_dump()} for e in inp.events]
            manual += [{"period": period, "subject": subject, "item_id": k, "value": v} for k, v in inp.manual.items()]
            imported += [{"period": period, "subject": subject, "ruleset": k, "total": v}
                         for k, v in inp.imported.items()]
    types = {"period": pa.string(), "subject": pa.string(), "grp": pa.string(), "kind": pa.string()}
    return {
        "subjects": pa.table({c: pa.array(v, types.get(c, pa.int64())) for c, v in subjects.items()}),
        "subject_events": pa.Table.from_pylist(events, schema=EVENTS),
        "manual_scores": pa.Table.from_pylist(manual, schema=MANUAL),
        "imported": pa.Table.from_pylist(imported, schema=IMPORTED),
    }


def run(tables: dict[str, pa.Table], sql: str) -> list[dict]:
    con = connect()
    try:
        cur = con.cursor()
        for name, table in tables.items():
            cur.register(name, table)
        return cur.sql(sql).to_arrow_table().to_pylist()
    finally:
        con.close()


def _lines(rs: m.Ruleset, row: dict) -> dict[str, Decimal]:
    return {k: row[k] for k in line_ids(rs) if row[k] != 0 and k != "base"}


def _differs(who: str, field: str, actual: object, want: object) -> Message:
    # Values print as Python writes them (a dict of lines, a list of flags), the same in either language.
    return Message("rules.case.differs", who=who, field=Message(f"rules.case.field.{field}"), actual=str(actual),
                   want=str(want))


def _compare(rs: m.Ruleset, subject: str, row: dict, expect: m.CaseExpect, strict: bool,
             rollup: bool) -> list[Message]:
    """Each way the row differs from what the document says."""
    who = "" if subject == "case" else f"{subject}: "
    out = []
    for key in ("total", "grade", "rank", "tier", "award", "excellent"):
        want = getattr(expect, key)
        if want is not None and row.get(key) != want:
            out.append(_differs(who, key, row.get(key), want))
    if not rollup:
        lines = _lines(rs, row)
        if expect.lines is not None or strict:
            want_lines = {k: Decimal(v) for k, v in (expect.lines or {}).items()}
            if lines != want_lines:
                out.append(_differs(who, "lines", dict(lines), want_lines))
        total = row["base"] + sum(lines.values(), Decimal(0))
        if total != row["total"]:
            out.append(Message("rules.case.lines_sum", who=who, sum=str(total), total=str(row["total"])))
    if (expect.flags is not None or strict) and sorted(row["flags"]) != sorted(expect.flags or []):
        out.append(_differs(who, "flags", row["flags"], expect.flags or []))
    return out


def score_case(rs: m.Ruleset, case: m.Case) -> CaseResult:
    """Score one case's inputs and compare every subject with its expected result."""
    expected: dict[str, m.CaseExpect]
    if case.inputs is not None:
        assert case.expect is not None  # the model pairs inputs with expect
        periods = {"P": {"case": case.inputs}}
        expected = {"case": case.expect}
    elif case.subjects is not None:
        periods = {"P": case.subjects}
        expected = case.expect_by_subject or {}
    else:
        periods = {f"part{i}": part for i, part in enumerate(case.parts or [], 1)}
        expected = case.expect_by_subject or {}
    tables = relations(rs, periods)
    rows = run(tables, compile_ruleset(rs))
    if case.rollup is not None:
        spec = next((r for r in rs.rollups if r.period == case.rollup), None)
        if spec is None:
            return CaseResult(case.name, {}, [Message("rules.case.no_rollup",
                                                      period=Message(f"rules.card.rollup.period.{case.rollup}"))])
        totals = pa.Table.from_pylist([{"period": "R", "part": r["period"], "subject": r["subject"], "grp": r["grp"],
                                        "volume": r["volume"], "total": r["total"], "flags": r["flags"],
                                        **{k: v for k, v in r.items() if k.startswith("tb__")}}
                                       for r in rows])
        rows = run({"period_totals": totals}, compile_rollup(rs, spec))
    by_subject = {r["subject"]: r for r in rows}
    problems: list[Message] = []
    for subject, want in expected.items():
        if subject not in by_subject:
            problems.append(Message("rules.case.not_scored", subject=subject))
            continue
        problems += _compare(rs, subject, by_subject[subject], want, case.inputs is not None, case.rollup is not None)
    return CaseResult(case.name, by_subject, problems)
