"""Scoring (考核评分): a ruleset version over a period's marts and events → results, score_items, score_lines.

A period as long as the ruleset's own is scored directly; a longer one (a monthly ruleset over a quarter or a
year) scores each of its own periods and rolls them up (the ruleset's `rollups`, else the mean). Ranks and quotas
are facts about the whole hall, so every subject is scored and the caller's scope filters what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.core import marts
from dashboard.core.db import Warehouse
from dashboard.core.metrics import MetricsError, period_of
from dashboard.core.period import BEIJING_ZONE, KINDS
from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import (
    ADJUSTMENTS,
    compile_rollup,
    compile_ruleset,
    is_adjustment,
    item_ids,
    line_ids,
    metric_columns,
    parts_in,
)
from dashboard.core.rules.loader import Loaded, RulesError, find
from dashboard.core.text import LANGS, both, t

# Names of the lines that are not rules: the base and the adjustments, in both languages (locale `score_line.*`).
LINE_NAMES = {k: both(f"score_line.{k}") for k in (
    "base", "bonus_cap", "deduction_cap", "base_floor", "total_floor", "total_cap", "rounding")}
# Subject → (mart, key column, name column), from the marts' headers (@subject).
GRAINS = marts.SUBJECTS
EVENT_KEY = {"unit": "unit_code", "window": "window_code", "staff": "staff_id"}
RESULT_COLUMNS = ("period", "subject", "grp", "total", "grade", "rank", "tier", "award", "excellent", "flags", "ranked")


@dataclass(frozen=True)
class Scores:
    """One ruleset version over one period: results, items and the lines that explain each total."""

    ruleset: Loaded
    period: str
    results: pa.Table
    items: pa.Table
    lines: pa.Table



def parts_of(rs_period: str, period: str) -> list[str]:
    """The ruleset's own periods that make up `period` (the period itself when they are the same length)."""
    p = period_of(period)
    if KINDS.index(p.kind) < KINDS.index(rs_period):
        raise MetricsError(f"a {rs_period} ruleset cannot score the {p.kind} {period}")
    return p.parts(rs_period)


def _label_sql(rs_period: str, column: str) -> str:
    """SQL naming the ruleset period a timestamp falls in (Beijing time, as the marts)."""
    local = f"timezone('{BEIJING_ZONE}', {column})"
    if rs_period == "month":
        return f"strftime({local}, '%Y-%m')"
    if rs_period == "quarter":
        return f"strftime({local}, '%Y') || '-Q' || CAST(quarter({local}) AS VARCHAR)"
    return f"strftime({local}, '%Y')"


def _subjects(wh: Warehouse, rs: m.Ruleset, parts: list[str]) -> tuple[pa.Table, dict[str, str]]:
    """Who is scored in each part, with their group (圈层) and the metric columns the rules read; and their names."""
    grain, key, label = GRAINS[rs.subject]
    cols = metric_columns(rs)
    slices = [marts.slice_mart(wh, grain, part, None) for part in parts]
    table = pa.concat_tables(slices) if slices else None
    kinds = list(rs.unit_kinds)
    picked = wh.query_with(
        {"slice": table},
        f"SELECT s.period, s.{key} AS subject, u.\"group\" AS grp, u.kind AS kind, any_value(s.{label}) AS name"
        + "".join(f', sum(s."{c}")::BIGINT AS "{c}"' for c in cols)
        + " FROM slice AS s LEFT JOIN units AS u ON u.unit_code = s.unit_code "
        f"WHERE s.{key} IS NOT NULL AND (len(?::VARCHAR[]) = 0 OR u.kind IN (SELECT unnest(?::VARCHAR[]))) "
        "GROUP BY ALL ORDER BY s.period, subject", [kinds, kinds])
    names = dict(zip(picked.column("subject").to_pylist(), picked.column("name").to_pylist(), strict=True))
    return picked.drop_columns(["name"]), names


def _events(wh: Warehouse, rs: m.Ruleset, parts: list[str]) -> pa.Table:
    """The parts' events per subject; an event the office marked unverified (待核实) does not count yet."""
    key = EVENT_KEY[rs.subject]
    label = _label_sql(rs.period, "occurred_at")
    return wh.query(
        f"SELECT {label} AS period, {key} AS subject, event_type, level, severity, duration_min, count "
        f"FROM events WHERE {key} IS NOT NULL AND coalesce(verified, true) "
        f"AND {label} IN (SELECT unnest(?::VARCHAR[]))", [parts])


def _manual(wh: Warehouse, rs: m.Ruleset, parts: list[str]) -> pa.Table:
    """Assessors' values for this ruleset's manual items in the parts, by the subject they assess."""
    return wh.query(
        "SELECT period, subject_code AS subject, item_id, value::DECIMAL(18, 4) AS value FROM manual_scores "
        "WHERE ruleset_id = ? AND period IN (SELECT unnest(?::VARCHAR[]))", [rs.id, parts])


def _imported(wh: Warehouse, rs: m.Ruleset, parts: list[str], seen: tuple[str, ...]) -> pa.Table:
    """Other rulesets' totals for the same subjects and parts (import_score), each scored or rolled up first."""
    wanted = sorted({it.ruleset for sec in rs.sections for it in sec.items if isinstance(it, m.ImportScore)})
    rows = []
    for other in wanted:
        if other in seen:
            raise MetricsError(f"import_score cycle: {' → '.join([*seen, other])}")
        for part in parts:
            got = _score(wh, other, part, (*seen, other)).results
            rows += [{"period": part, "subject": r["subject"], "ruleset": other, "total": r["total"]}
                     for r in got.select(["subject", "total"]).to_pylist()]
    # Column by column: Table.from_pylist would import pandas, a second's start-up for nothing.
    return pa.table({"period": pa.array([r["period"] for r in rows], pa.string()),
                     "subject": pa.array([r["subject"] for r in rows], pa.string()),
                     "ruleset": pa.array([r["ruleset"] for r in rows], pa.string()),
                     "total": pa.array([r["total"] for r in rows], pa.decimal128(18, 2))})


@dataclass(frozen=True)
class _Raw:
    loaded: Loaded
    period: str
    wide: pa.Table  # one row per subject and part: every compiled column
    rolled: pa.Table | None  # one row per subject for the whole period, when it was rolled up
    names: dict[str, str]


def _score(wh: Warehouse, ruleset_id: str, period: str, seen: tuple[str, ...]) -> Scores:
    return tables(_run(wh, ruleset_id, period, seen))


def _run(wh: Warehouse, ruleset_id: str, period: str, seen: tuple[str, ...]) -> _Raw:
    loaded = find(ruleset_id, period)
    rs = loaded.ruleset
    parts = parts_of(rs.period, period)
    subjects, names = _subjects(wh, rs, parts)
    tables = {"subjects": subjects, "subject_events": _events(wh, rs, parts), "manual_scores": _manual(wh, rs, parts),
              "imported": _imported(wh, rs, parts, (*seen, ruleset_id))}
    return compute(loaded, period, tables, names, wh.query_with)


def compute(loaded: Loaded, period: str, tables: dict[str, pa.Table], names: dict[str, str],
            query: Callable[[dict[str, pa.Table], str], pa.Table]) -> _Raw:
    """The compiled ruleset over prepared input relations, rolled up when the period is longer than its own."""
    rs = loaded.ruleset
    wide = query(tables, f"SELECT * FROM ({compile_ruleset(rs)}) ORDER BY period, subject")
    rolled = None
    # The label is written into the SQL: only a period's spelling may pass.
    kind = period_of(period).kind
    if kind != rs.period:
        spec = next((r for r in rs.rollups if r.period == kind), None) \
            or m.Rollup(period=kind, combine="mean")  # type: ignore[arg-type]
        ties = "".join(f", {c}" for c in wide.column_names if c.startswith("tb__"))
        totals = query({"wide": wide}, f"SELECT '{period}' AS period, period AS part, subject, grp, volume, total, "
                                       f"flags{ties} FROM wide")
        rolled = query({"period_totals": totals}, f"SELECT * FROM ({compile_rollup(rs, spec)}) ORDER BY subject")
    return _Raw(loaded, period, wide, rolled, names)


def score_months(wh: Warehouse, ruleset_id: str, months: list[str],
                 scope: tuple[str, ...] | None = None) -> pa.Table:
    """Results of a monthly ruleset for several months, one compiled pass per version in force (a month before
    the ruleset came into force is left out); ranks hall-wide, rows limited to the scope."""
    loaded_of: dict[Path, Loaded] = {}
    by_version: dict[Path, list[str]] = {}
    for month in months:
        try:
            loaded = find(ruleset_id, month)
        except RulesError:
            continue
        loaded_of[loaded.path] = loaded
        by_version.setdefault(loaded.path, []).append(month)
    out = []
    for path, parts in by_version.items():
        loaded = loaded_of[path]
        rs = loaded.ruleset
        if rs.period != "month":
            raise MetricsError(f"{ruleset_id} is scored by {rs.period}, not by month")
        subjects, names = _subjects(wh, rs, parts)
        inputs = {"subjects": subjects, "subject_events": _events(wh, rs, parts),
                  "manual_scores": _manual(wh, rs, parts), "imported": _imported(wh, rs, parts, (ruleset_id,))}
        out.append(tables(compute(loaded, parts[0], inputs, names, wh.query_with)).results)
    if not out:
        return pa.table({"period": pa.array([], pa.string()), "subject": pa.array([], pa.string())})
    results = pa.concat_tables(out, promote_options="permissive")
    if scope is None:
        return results
    if rs.subject == "unit":
        keep = set(scope)
    else:
        grain, key, _ = GRAINS[rs.subject]
        got = wh.query(f"SELECT DISTINCT {key} AS k FROM mart_{grain} WHERE unit_code IN (SELECT unnest(?::VARCHAR[]))",
                       [list(scope)])
        keep = set(got.column("k").to_pylist())
    return _scoped(results, keep)


def _stamp(raw: _Raw) -> dict:
    rs = raw.loaded.ruleset
    return {"ruleset_id": rs.id, "version": raw.loaded.path.stem, "sha256": raw.loaded.sha256}


def tables(raw: _Raw) -> Scores:
    """results, score_items and score_lines from a computed run."""
    stamp = _stamp(raw)
    source = raw.rolled if raw.rolled is not None else raw.wide
    pools = ("score_pool", "bonus", "deduction") if raw.rolled is None else ()
    results = source.select([*RESULT_COLUMNS, *pools])
    results = _with(results, {**stamp, "name": [raw.names.get(s) for s in results.column("subject").to_pylist()]})
    if raw.rolled is None:
        return Scores(raw.loaded, raw.period, results, _items(raw), _lines(raw))
    return Scores(raw.loaded, raw.period, results, _items(raw), _rollup_lines(raw))


def _with(table: pa.Table, columns: dict) -> pa.Table:
    """Columns added to a table: a list as it is, a constant dictionary-encoded (one copy, an index per row)."""
    for name, value in columns.items():
        if isinstance(value, list):
            array = pa.array(value, pa.string())
        else:
            array = pa.DictionaryArray.from_arrays(pa.array(np.zeros(table.num_rows, np.int32)), pa.array([value]))
        table = table.append_column(name, array)
    return table


def _line_names(rs: m.Ruleset) -> dict[str, tuple[str, str]]:
    names = dict(LINE_NAMES)
    for sec in rs.sections:
        for it in sec.items:
            names[it.id] = (it.name.zh, it.name.en)
            for what in ("clamp", "veto", "round"):
                names[f"{it.id}__{what}"] = (t(f"score_line.{what}", "zh", name=it.name.zh),
                                             t(f"score_line.{what}", "en", name=it.name.en))
    return names


def _constant(value, n: int, type_: pa.DataType = pa.string()) -> pa.Array:
    """A column holding one value: dictionary-encoded text (an index per row), or the value repeated."""
    if pa.types.is_string(type_):
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value], type_))
    return pa.repeat(pa.scalar(value, type_), n)


def _lines(raw: _Raw) -> pa.Table:
    """score_lines: one row per subject, part and line; adjustments only where they moved the total.

    Built from the compiled SELECT's columns without copying them: a block of rows per line, in line order.
    """
    rs = raw.loaded.ruleset
    names = _line_names(rs)
    n = raw.wide.num_rows
    blocks = []
    for order, line in enumerate(line_ids(rs)):
        points = raw.wide.column(line).cast(pa.decimal128(18, 4))
        block = pa.table({"period": raw.wide.column("period"), "subject": raw.wide.column("subject"),
                          "line": _constant(line, n), "order": _constant(order, n, pa.int32()),
                          "name_zh": _constant(names[line][0], n), "name_en": _constant(names[line][1], n),
                          "points": points})
        if is_adjustment(line):
            block = block.filter(pc.not_equal(points, pa.scalar(0, pa.decimal128(18, 4))))
        blocks.append(block)
    return _with(pa.concat_tables(blocks, promote_options="permissive"), _stamp(raw))


def _items(raw: _Raw) -> pa.Table:
    """score_items: per subject, part and item — start, the rule's line, clamp, veto, the item's own rounding and
    its score."""
    rs = raw.loaded.ruleset
    n = raw.wide.num_rows
    amount = pa.decimal128(18, 4)
    zero = _constant(0, n, amount)
    blocks = []
    for sec in rs.sections:
        for it in sec.items:
            def col(name: str) -> pa.ChunkedArray | pa.Array:
                return raw.wide.column(name).cast(amount) if name in raw.wide.column_names else zero
            blocks.append(pa.table({
                "period": raw.wide.column("period"), "subject": raw.wide.column("subject"),
                "section": _constant(sec.id, n), "item_id": _constant(it.id, n), "kind": _constant(it.kind, n),
                "start": col(f"{it.id}__start"), "line": col(it.id),
                "clamp": col(f"{it.id}__clamp"), "veto": col(f"{it.id}__veto"), "rounding": col(f"{it.id}__round"),
                "score": col(f"{it.id}__score")}))
    return _with(pa.concat_tables(blocks, promote_options="permissive"), _stamp(raw))


def _rollup_lines(raw: _Raw) -> pa.Table:
    """A rolled-up total's lines: each part's total (or its share of the mean) and the rounding that remains."""
    assert raw.rolled is not None
    rolled = {r["subject"]: r for r in raw.rolled.select(["subject", "total", "parts"]).to_pylist()}
    rs = raw.loaded.ruleset
    spec = next((r for r in rs.rollups if r.period == period_of(raw.period).kind), None)
    mean = spec is None or spec.combine == "mean"
    whole = 1 if mean else (parts_in(rs.period, spec.period) if spec.partial == "scale" else None)  # type: ignore[union-attr]
    rows = []
    from decimal import ROUND_DOWN, Decimal
    for r in raw.wide.select(["period", "subject", "total"]).to_pylist():
        n = rolled[r["subject"]]["parts"]
        # A mean (or a partial period scaled up) shows each part's share; a sum shows the part's total.
        scaled = whole is not None and (mean or n != whole)
        share = (r["total"] * (whole or 1) / n).quantize(Decimal("0.0001"), rounding=ROUND_DOWN) if scaled \
            else r["total"]
        notes = both("score_line.part_mean" if mean else "score_line.part_scaled", n=n, whole=whole) if scaled \
            else ("", "")
        zh, en = (t("score_line.part", lang, period=r["period"], note=note) for lang, note in zip(LANGS, notes, strict=True))
        rows.append({"period": raw.period, "subject": r["subject"], "line": r["period"], "order": 0,
                     "name_zh": zh, "name_en": en, "points": share})
    sums: dict[str, Decimal] = {}
    for row in rows:
        sums[row["subject"]] = sums.get(row["subject"], Decimal(0)) + row["points"]
    for subject, got in sums.items():
        rest = rolled[subject]["total"] - got
        if rest != 0:
            rows.append({"period": raw.period, "subject": subject, "line": "rounding", "order": 1,
                         "name_zh": LINE_NAMES["rounding"][0], "name_en": LINE_NAMES["rounding"][1], "points": rest})
    schema = pa.schema([("period", pa.string()), ("subject", pa.string()), ("line", pa.string()),
                        ("order", pa.int64()), ("name_zh", pa.string()), ("name_en", pa.string()),
                        ("points", pa.decimal128(18, 4))])
    return _with(pa.Table.from_pylist(rows, schema=schema), _stamp(raw))


def _scoped(table: pa.Table, keep: set[str] | None) -> pa.Table:
    if keep is None:
        return table
    mask = pa.array([s in keep for s in table.column("subject").to_pylist()])
    return table.filter(mask)


def _with_ranked_of(results: pa.Table, rs: m.Ruleset, period: str) -> pa.Table:
    """Add `ranked_of`: how many subjects were ranked beside each one (the hall, or its group when ranks are per
    圈层), counted before the caller's scope is applied, so a unit head reads "rank 12 of 40", not "of 1"."""
    kind = period_of(period).kind
    ranking = rs.ranking if kind == rs.period else next((r.ranking for r in rs.rollups if r.period == kind), None)
    by_group = ranking is not None and ranking.within == "group"
    if "rank" not in results.column_names:
        return results
    ranked = results.column("rank").is_valid().to_pylist()
    keys = list(zip(results.column("period").to_pylist(),
                    results.column("grp").to_pylist() if by_group and "grp" in results.column_names
                    else [None] * results.num_rows, strict=True))
    counts: dict = {}
    for key, r in zip(keys, ranked, strict=True):
        counts[key] = counts.get(key, 0) + int(r)
    return results.append_column("ranked_of", pa.array([counts[k] if r else None for k, r in zip(keys, ranked,
                                                                                                strict=True)],
                                                       pa.int64()))


def score(wh: Warehouse, ruleset_id: str, period: str, scope: tuple[str, ...] | None = None) -> Scores:
    """Score every subject for the period with the ruleset version in force then; return those in scope."""
    raw = _run(wh, ruleset_id, period, ())
    s = tables(raw)
    rs = raw.loaded.ruleset
    s = Scores(s.ruleset, s.period, _with_ranked_of(s.results, rs, period), s.items, s.lines)
    if scope is None:
        return s
    if rs.subject == "unit":
        keep = set(scope)
    else:
        grain, key, _ = GRAINS[rs.subject]
        got = wh.query(f"SELECT DISTINCT {key} AS k FROM mart_{grain} WHERE unit_code IN (SELECT unnest(?::VARCHAR[]))",
                       [list(scope)])
        keep = set(got.column("k").to_pylist())
    return Scores(s.ruleset, s.period, _scoped(s.results, keep), _scoped(s.items, keep), _scoped(s.lines, keep))


__all__ = ["ADJUSTMENTS", "Scores", "item_ids", "parts_of", "score"]
