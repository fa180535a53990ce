"""Compile a ruleset to one wide SQL SELECT: a row per subject with every line, pool, adjustment, total and grade.

The SELECT reads two relations the caller provides: `subjects(subject, <metric>_num, <metric>_den, …)` — who is
scored, with the numerators and denominators the rules read (a mart slice) — and
`subject_events(subject, event_type, level, severity, duration_min, count)` — what the hall office recorded in
the period — aggregated in one pass (a column per rule line). Every amount is DECIMAL(18, 4); the total is
rounded half-up once, at the very end.
"""

from __future__ import annotations

from decimal import Decimal

from dashboard.core.rules import model as m

AMOUNT = "DECIMAL(18, 4)"
# Adjustment lines, in the order DESIGN.md §5 applies them; each is new total minus old total, so lines sum.
ADJUSTMENTS = ("bonus_cap", "deduction_cap", "total_floor", "total_cap", "rounding")


def _num(d: Decimal) -> str:
    """A decimal literal DuckDB keeps exact (never a float)."""
    return f"CAST('{d}' AS {AMOUNT})"


def _str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _event_points(rule: m.PerEvent) -> str:
    """SQL for the points one recorded event earns under a per_event rule (before × count)."""
    if rule.points is not None:
        return _num(rule.points)
    if rule.points_by_level is not None:
        whens = " ".join(f"WHEN {_str(k)} THEN {_num(v)}" for k, v in rule.points_by_level.items())
        return f"CASE e.level {whens} ELSE {_num(Decimal(0))} END"
    if rule.points_by_severity is not None:
        whens = " ".join(f"WHEN {k} THEN {_num(v)}" for k, v in rule.points_by_severity.items())
        return f"CASE e.severity {whens} ELSE {_num(Decimal(0))} END"
    if rule.duration_tiers is not None:
        # The longest tier the duration reaches applies; shorter than every tier earns nothing.
        tiers = sorted(rule.duration_tiers, key=lambda t: t.min_minutes, reverse=True)
        whens = " ".join(f"WHEN e.duration_min >= {t.min_minutes} THEN {_num(t.points)}" for t in tiers)
        return f"CASE {whens} ELSE {_num(Decimal(0))} END"
    return _num(Decimal(0))  # a rule that only raises flags


def _event_sum(rule: m.PerEvent) -> str:
    """Aggregate over one subject's events: the line's raw points."""
    return (f"coalesce(sum(CASE WHEN e.event_type = {_str(rule.event_type)} "
            f"THEN ({_event_points(rule)}) * coalesce(e.count, 1) END), {_num(Decimal(0))})")


def _event_hits(rule: m.PerEvent) -> str:
    """Aggregate over one subject's events: how many matched the rule (for its flags)."""
    return f"coalesce(sum(CASE WHEN e.event_type = {_str(rule.event_type)} THEN coalesce(e.count, 1) END), 0)"


def _within(raw: str, bound: Decimal | None) -> str:
    """An amount kept within ±bound (a line cap or an item's max points); no bound leaves it as it is."""
    if bound is None:
        return raw
    cap = _num(bound)
    return f"least(greatest({raw}, -{cap}), {cap})"


def _scale(*values: Decimal) -> int:
    """10^k, k the most decimal places among the values: multiplying by it makes them all whole."""
    places = max((-v.normalize().as_tuple().exponent for v in values), default=0)
    return 10 ** max(places, 0)


def _slope(rule: m.ThresholdSlope) -> str:
    """Whole steps a rate falls short of (or exceeds) the target, counted in integers, × points per step.

    With rate = num/den, steps = floor((target − num/den) / step) = (T·den − k·num) // (S·den) for whole T = target·k,
    S = step·k: no float and no DECIMAL division, so 99.99% against 100% is exactly one 0.01-point step short.
    A zero denominator is no data: no points.
    """
    k = _scale(rule.target, rule.step)
    t, st = int(rule.target * k), int(rule.step * k)
    num, den = f's."{rule.metric}_num"::HUGEINT', f's."{rule.metric}_den"::HUGEINT'
    gap = f"({t} * {den} - {k} * {num})" if rule.direction == "below" else f"({k} * {num} - {t} * {den})"
    steps = f"CASE WHEN {den} > 0 AND {gap} > 0 THEN {gap} // ({st} * {den}) ELSE 0 END"
    return f"(({steps})::{AMOUNT} * {_num(rule.points_per_step)})"



def _coalesced(alias: str, column: str) -> str:
    return f'coalesce({alias}."{column}", {_num(Decimal(0))})'


def _grade(grades: list[m.Grade]) -> str:
    if not grades:
        return "NULL::VARCHAR"
    whens = []
    for g in grades:
        conds = []
        if g.min is not None:
            conds.append(f"total {'>=' if g.min_inclusive else '>'} {_num(g.min)}")
        if g.max is not None:
            conds.append(f"total {'<=' if g.max_inclusive else '<'} {_num(g.max)}")
        whens.append(f"WHEN {' AND '.join(conds) or 'true'} THEN {_str(g.name.zh)}")
    return f"CASE {' '.join(whens)} END"


def _can_only_lose(rule: m.RuleBase) -> bool:
    """True when every amount the rule can give is ≤ 0: such an item starts full and loses points."""
    if isinstance(rule, m.PerEvent):
        amounts = [rule.points] if rule.points is not None else list((rule.points_by_level or {}).values()) + \
            list((rule.points_by_severity or {}).values()) + [t.points for t in rule.duration_tiers or []]
        return bool(amounts) and all(a <= 0 for a in amounts)
    if isinstance(rule, m.ThresholdSlope):
        return rule.points_per_step <= 0
    return False


def item_start(rule: m.RuleBase) -> Decimal:
    """What a scorecard item holds before its rule applies: its full max, or zero."""
    start = rule.start or ("full" if _can_only_lose(rule) else "zero")
    return (rule.max or Decimal(0)) if start == "full" else Decimal(0)


def _scorecard_tail(rs: m.Ruleset) -> str:
    """Scorecard items: start (full or zero) + the rule's line, kept within [floor, max]; the total is their sum."""
    items = [it for sec in rs.sections for it in sec.items]
    scores, clamps = [], []
    for it in items:
        start = _num(item_start(it))
        kept = f'({start} + "{it.id}")'
        if it.max is not None:
            kept = f"least({kept}, {_num(it.max)})"
        kept = f"greatest({kept}, {_num(it.floor)})"
        scores.append(f'({kept})::{AMOUNT} AS "{it.id}__score"')
        clamps.append(f'("{it.id}__score" - {start} - "{it.id}")::{AMOUNT} AS "{it.id}__clamp"')
    base = sum((item_start(it) for it in items), Decimal(0))
    total = " + ".join(f'"{it.id}__score"' for it in items) or _num(Decimal(0))
    return f"""
scored AS (
    SELECT *, {", ".join(scores)} FROM lines
),
totals AS (
    SELECT *, {", ".join(clamps)}, ({total})::{AMOUNT} AS unrounded FROM scored
),
final AS (
    SELECT
        *,
        round(unrounded, 2)::DECIMAL(18, 2) AS total,
        (round(unrounded, 2) - unrounded)::{AMOUNT} AS rounding,
        {_num(base)} AS base
    FROM totals
)
SELECT *, {_grade(rs.grades)} AS grade FROM final
"""


def compile_ruleset(rs: m.Ruleset) -> str:
    """The ruleset as one SELECT over `subjects` and `subject_events` (see the module docstring)."""
    scorecard = isinstance(rs.model, m.Scorecard)
    items = [(sec, it) for sec in rs.sections for it in sec.items]
    for _, it in items:
        if not isinstance(it, m.PerEvent | m.ThresholdSlope):
            raise NotImplementedError(f"rule kind {it.kind} does not compile yet")
    events = [it for _, it in items if isinstance(it, m.PerEvent)]
    sums = ",\n        ".join(
        [f'{_event_sum(it)} AS "{it.id}", {_event_hits(it)} AS "{it.id}__hits"' for it in events]
        or ["0 AS no_event_rules"])
    line_sql = []
    for _, it in items:
        raw = _within(_coalesced("ev", it.id), it.max_total) if isinstance(it, m.PerEvent) else _slope(it)
        # In a scorecard `max` is the item's full score (applied to the item); otherwise it bounds the line.
        line_sql.append(f'{raw if scorecard else _within(raw, it.max)} AS "{it.id}"')
    lines = ",\n        ".join(line_sql)
    flag_terms = []
    for it in events:
        for flag in it.flags:
            flag_terms.append(f'CASE WHEN coalesce(ev."{it.id}__hits", 0) > 0 THEN {_str(flag)} END')
    flags = f"list_distinct(list_filter([{', '.join(flag_terms)}], lambda f: f IS NOT NULL))" if flag_terms \
        else "[]::VARCHAR[]"
    head = f"""
WITH event_lines AS (
    SELECT
        e.subject,
        {sums}
    FROM subject_events AS e
    GROUP BY e.subject
),
lines AS (
    SELECT
        s.subject,
        {lines},
        {flags} AS flags
    FROM subjects AS s
    LEFT JOIN event_lines AS ev ON ev.subject = s.subject
),"""
    if scorecard:
        return head + _scorecard_tail(rs)
    bonus = " + ".join(f'"{it.id}"' for sec, it in items if sec.pool == "bonus") or _num(Decimal(0))
    deduction = " + ".join(f'"{it.id}"' for sec, it in items if sec.pool == "deduction") or _num(Decimal(0))
    md = rs.model
    bonus_capped = f"least(bonus, {_num(md.bonus_cap)})" if md.bonus_cap is not None else "bonus"
    deduction_capped = "greatest(deduction, -bonus_capped)" if md.deduction_not_exceed_bonus else "deduction"
    floor = f"greatest(subtotal, {_num(md.total_floor)})" if md.total_floor is not None else "subtotal"
    cap = f"least(floored, {_num(md.total_cap)})" if md.total_cap is not None else "floored"
    return head + f"""
pools AS (
    SELECT *, ({bonus})::{AMOUNT} AS bonus, ({deduction})::{AMOUNT} AS deduction FROM lines
),
capped AS (
    SELECT *, ({bonus_capped})::{AMOUNT} AS bonus_capped FROM pools
),
deducted AS (
    SELECT *, ({deduction_capped})::{AMOUNT} AS deduction_capped FROM capped
),
summed AS (
    SELECT *, ({_num(md.base)} + bonus_capped + deduction_capped)::{AMOUNT} AS subtotal FROM deducted
),
floored AS (
    SELECT *, ({floor})::{AMOUNT} AS floored FROM summed
),
totals AS (
    SELECT *, ({cap})::{AMOUNT} AS unrounded FROM floored
),
final AS (
    SELECT
        *,
        round(unrounded, 2)::DECIMAL(18, 2) AS total,
        (bonus_capped - bonus)::{AMOUNT} AS bonus_cap,
        (deduction_capped - deduction)::{AMOUNT} AS deduction_cap,
        (floored - subtotal)::{AMOUNT} AS total_floor,
        (unrounded - floored)::{AMOUNT} AS total_cap,
        (round(unrounded, 2) - unrounded)::{AMOUNT} AS rounding,
        {_num(md.base)} AS base
    FROM totals
)
SELECT *, {_grade(rs.grades)} AS grade FROM final
"""


def metric_columns(rs: m.Ruleset) -> list[str]:
    """The numerator and denominator columns the ruleset reads from `subjects`."""
    cols: list[str] = []
    for sec in rs.sections:
        for it in sec.items:
            metric = getattr(it, "metric", None)
            if metric:
                cols += [c for c in (f"{metric}_num", f"{metric}_den") if c not in cols]
    return cols


def line_ids(rs: m.Ruleset) -> list[str]:
    """The columns of the compiled SELECT that are lines of the explanation, in order: base, items, adjustments."""
    items = [it.id for sec in rs.sections for it in sec.items]
    if isinstance(rs.model, m.Scorecard):
        return ["base", *items, *(f"{i}__clamp" for i in items), "rounding"]
    return ["base", *items, *ADJUSTMENTS]


def is_adjustment(line: str) -> bool:
    """A line that only keeps the total within its rules (a cap, a floor, an item's range, rounding)."""
    return line in ADJUSTMENTS or line.endswith("__clamp")
