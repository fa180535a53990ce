"""Scoring (考核评分): run a ruleset version over a period's marts and events → results and score_lines."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from dashboard.core import marts
from dashboard.core.db import Warehouse
from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import compile_ruleset, is_adjustment, line_ids
from dashboard.core.rules.loader import Loaded, find

# Names of the lines that are not rules: the base and the adjustments, in both languages.
LINE_NAMES = {
    "base": ("基础分", "Base score"),
    "bonus_cap": ("加分超过上限的部分", "Bonuses above the cap"),
    "deduction_cap": ("扣分超过加分的部分", "Deductions beyond the bonuses"),
    "total_floor": ("扣完为止（总分不低于下限）", "Deductions stop at the floor"),
    "total_cap": ("总分超过上限的部分", "Total above the cap"),
    "rounding": ("四舍五入", "Rounding"),
}
EVENT_COLUMNS = pa.schema([("subject", pa.string()), ("event_type", pa.string()), ("level", pa.string()),
                           ("severity", pa.int32()), ("duration_min", pa.int32()), ("count", pa.int32())])


@dataclass(frozen=True)
class Scores:
    """One ruleset version over one period: a result per subject and the lines that explain each total."""

    ruleset: Loaded
    period: str
    results: pa.Table
    lines: pa.Table


def _subjects(wh: Warehouse, rs: m.Ruleset, period: str, scope: tuple[str, ...] | None) -> pa.Table:
    if rs.subject != "unit":
        raise NotImplementedError(f"scoring {rs.subject} subjects is not built yet")
    units = marts.slice_mart(wh, "unit_month", period, scope)
    return units.rename_columns(["subject" if c == "unit_code" else c for c in units.column_names])


def _events(wh: Warehouse, period: str, scope: tuple[str, ...] | None) -> pa.Table:
    """The period's events per unit; an event the office marked unverified (待核实) does not count yet."""
    clause, params = marts.scope_clause(scope)
    return wh.query(
        "SELECT unit_code AS subject, event_type, level, severity, duration_min, count FROM events "
        "WHERE strftime(occurred_at, '%Y-%m') IN (SELECT unnest(?::VARCHAR[])) AND coalesce(verified, true)"
        f"{clause}", [marts.months_of(period), *params]).cast(EVENT_COLUMNS)


def score(wh: Warehouse, ruleset_id: str, period: str, scope: tuple[str, ...] | None = None) -> Scores:
    """Score every subject in scope for the period with the ruleset version in force then."""
    loaded = find(ruleset_id, period)
    rs = loaded.ruleset
    subjects = _subjects(wh, rs, period, scope)
    names = dict(zip(subjects.column("subject").to_pylist(), subjects.column("unit_name").to_pylist(), strict=True))
    wide = wh.query_with({"subjects": subjects, "subject_events": _events(wh, period, scope)},
                         f"SELECT * FROM ({compile_ruleset(rs)}) ORDER BY subject")
    stamp = {"ruleset_id": rs.id, "version": loaded.path.stem, "sha256": loaded.sha256, "period": period}
    rows = wide.to_pylist()
    results = pa.Table.from_pylist([{**stamp, "subject": r["subject"], "name": names.get(r["subject"]),
                                     "total": r["total"], "grade": r["grade"], "flags": r["flags"]} for r in rows])
    line_names = {it.id: (it.name.zh, it.name.en) for sec in rs.sections for it in sec.items} | LINE_NAMES
    line_names |= {f"{it.id}__clamp": (f"{it.name.zh}：超出本项分值范围的部分", f"{it.name.en}: beyond the item's range")
                   for sec in rs.sections for it in sec.items}
    lines = []
    for r in rows:
        for order, line in enumerate(line_ids(rs)):
            points = r[line]
            # Every rule line is kept (a zero says the rule was applied); adjustments only when they moved the total.
            if is_adjustment(line) and points == 0:
                continue
            lines.append({**stamp, "subject": r["subject"], "line": line, "order": order,
                          "name_zh": line_names[line][0], "name_en": line_names[line][1], "points": points})
    return Scores(loaded, period, results, pa.Table.from_pylist(lines))
