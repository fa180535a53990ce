"""Compile a ruleset to one wide SQL SELECT: a row per subject and period with every line, item, pool, total,
grade, rank, tier and title.

The SELECT reads four relations the caller provides:

- `subjects(period, subject, grp, <metric columns>…)` — who is scored in which period, their group (圈层) and
  the numerators and denominators the rules read (a mart slice);
- `subject_events(period, subject, event_type, level, severity, duration_min, count)` — what the hall office
  recorded;
- `manual_scores(period, subject, item_id, value)` — assessors' values for `manual` items;
- `imported(period, subject, ruleset, total)` — other assessments' totals for `import_score` items.

Every amount is DECIMAL(18, 4); the total is rounded half-up once, at the very end. The order is DESIGN.md §5:
lines → line cap → item clamp → veto → sections → pools and caps → total → round → grade → group stage.
Roll-ups (month → quarter → year) are a second SELECT over the first one's totals (`compile_rollup`).
"""

from __future__ import annotations

from decimal import Decimal

from dashboard.core.contract import catalog_flags
from dashboard.core.metrics import metrics
from dashboard.core.rules import model as m

AMOUNT = "DECIMAL(18, 4)"
# Adjustment lines, in the order DESIGN.md §5 applies them; each is new total minus old total, so lines sum.
ADJUSTMENTS = ("bonus_cap", "deduction_cap", "total_floor", "total_cap", "rounding")
# Rates are ordered by ⌊num·10¹⁸/den⌋: two different fractions with denominators below 10⁹ never share it.
ORDER_SCALE = 10**18
ZERO = f"CAST('0' AS {AMOUNT})"


def _num(d: Decimal) -> str:
    """A decimal literal DuckDB keeps exact (never a float)."""
    return f"CAST('{d}' AS {AMOUNT})"


def _str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scale(*values: Decimal) -> int:
    """10^k, k the most decimal places among the values: multiplying by it makes them all whole."""
    places = max((-v.normalize().as_tuple().exponent for v in values), default=0)
    return 10 ** max(places, 0)


def _nd(metric: str, alias: str = "s") -> tuple[str, str]:
    """A metric's value as an exact fraction N/D in HUGEINT: a count over 1, a mean over den × its display scale."""
    spec = metrics()[metric]
    if spec.kind == "count":
        return f"coalesce({alias}.{_q(metric)}, 0)::HUGEINT", "1::HUGEINT"
    num = f"coalesce({alias}.{_q(metric + '_num')}, 0)::HUGEINT"
    den = f"coalesce({alias}.{_q(metric + '_den')}, 0)::HUGEINT"
    return num, den if spec.scale == 1 else f"({den} * {spec.scale})"


def _compare(metric: str, op: str, value: Decimal, alias: str = "s") -> str:
    """`value(metric) op value` exactly, as N·q op p·D (p/q the value); false when there is no data."""
    n, d = _nd(metric, alias)
    q = _scale(value)
    p = int(value * q)
    sql_op = "=" if op == "==" else op
    return f"({d} > 0 AND {n} * {q} {sql_op} {p} * {d})"


def _event_points(rule: m.PerEvent) -> str:
    """SQL for the points one recorded event earns under a per_event rule (before × count)."""
    if rule.points is not None:
        return _num(rule.points)
    if rule.points_by_level is not None:
        whens = " ".join(f"WHEN {_str(k)} THEN {_num(v)}" for k, v in rule.points_by_level.items())
        return f"CASE e.level {whens} ELSE {ZERO} END"
    if rule.points_by_severity is not None:
        whens = " ".join(f"WHEN {k} THEN {_num(v)}" for k, v in rule.points_by_severity.items())
        return f"CASE e.severity {whens} ELSE {ZERO} END"
    if rule.duration_tiers is not None:
        # The longest tier the duration reaches applies; shorter than every tier earns nothing.
        tiers = sorted(rule.duration_tiers, key=lambda t: t.min_minutes, reverse=True)
        whens = " ".join(f"WHEN e.duration_min >= {t.min_minutes} THEN {_num(t.points)}" for t in tiers)
        return f"CASE {whens} ELSE {ZERO} END"
    return ZERO  # a rule that only raises flags


def _event_aggregates(rule: m.PerEvent) -> list[str]:
    """Aggregates over one subject's events: the line's raw points and how many events matched."""
    match = f"e.event_type = {_str(rule.event_type)}"
    if rule.levels:
        match += f" AND e.level IN ({', '.join(_str(x) for x in rule.levels)})"
    times = {"count": "coalesce(e.count, 1)", "once": "1", "any": "1"}[rule.count_mode]
    points = f"sum(CASE WHEN {match} THEN ({_event_points(rule)}) * {times} END)"
    if rule.count_mode == "any":
        points = f"max(CASE WHEN {match} THEN ({_event_points(rule)}) END)"
    return [f"coalesce({points}, {ZERO}) AS {_q(rule.id)}",
            f"coalesce(sum(CASE WHEN {match} THEN coalesce(e.count, 1) END), 0) AS {_q(rule.id + '__hits')}"]


def _veto_aggregate(rule: m.RuleBase) -> str | None:
    if rule.veto is None or not rule.veto.event_types:
        return None
    types = ", ".join(_str(t) for t in rule.veto.event_types)
    return f"coalesce(sum(CASE WHEN e.event_type IN ({types}) THEN coalesce(e.count, 1) END), 0) AS {_q(rule.id + '__vetoes')}"


def _within(raw: str, bound: Decimal | None) -> str:
    """An amount kept within ±bound (a line cap or an item's max points); no bound leaves it as it is."""
    if bound is None:
        return raw
    cap = _num(bound)
    return f"least(greatest({raw}, -{cap}), {cap})"


def _slope(rule: m.ThresholdSlope) -> str:
    """Whole steps a value falls short of (or exceeds) the target, counted in integers, × points per step.

    With value = N/D, steps = ⌊(target − N/D) / step⌋ = (T·D − k·N) // (S·D) for whole T = target·k, S = step·k:
    no float and no DECIMAL division, so 99.99% against 100% is exactly one 0.01-point step short.
    A zero denominator is no data: no points.
    """
    k = _scale(rule.target, rule.step)
    t, st = int(rule.target * k), int(rule.step * k)
    num, den = _nd(rule.metric)
    gap = f"({t} * {den} - {k} * {num})" if rule.direction == "below" else f"({k} * {num} - {t} * {den})"
    steps = f"CASE WHEN {den} > 0 AND {gap} > 0 THEN {gap} // ({st} * {den}) ELSE 0 END"
    return f"(({steps})::{AMOUNT} * {_num(rule.points_per_step)})"


def _step(rule: m.Step) -> str:
    whens = []
    for band in rule.bands:
        conds = []
        if band.min is not None:
            conds.append(_compare(rule.metric, ">=" if band.min_inclusive else ">", band.min))
        if band.max is not None:
            conds.append(_compare(rule.metric, "<=" if band.max_inclusive else "<", band.max))
        if not conds:
            conds.append(f"({_nd(rule.metric)[1]} > 0)")
        whens.append(f"WHEN {' AND '.join(conds)} THEN {_num(band.points)}")
    return f"CASE {' '.join(whens)} ELSE {ZERO} END"


def _order_key(metric: str) -> str:
    """An exact sort key for a metric's value: the count itself, or ⌊N·10¹⁸/D⌋ for a fraction."""
    n, d = _nd(metric)
    if metrics()[metric].kind == "count":
        return n
    return f"CASE WHEN {d} > 0 THEN ({n} * {ORDER_SCALE}) // {d} END"


def _partition(within: str, extra: str = "") -> str:
    cols = ["s.period"] + (["s.grp"] if within == "group" else []) + ([extra] if extra else [])
    return f"PARTITION BY {', '.join(cols)}"


def _rank_points(rule: m.RankPoints) -> str:
    has = f"({_nd(rule.metric)[1]} > 0)"
    rank = (f"rank() OVER ({_partition(rule.within, has)} ORDER BY {_order_key(rule.metric)} "
            f"{'DESC' if rule.order == 'desc' else 'ASC'})")
    points = f"({_num(rule.first_points)} - ({rank} - 1)::{AMOUNT} * {_num(rule.decrement)})"
    return f"CASE WHEN {has} THEN greatest({points}, {_num(rule.min_points)}) ELSE {ZERO} END"


def _condition(rule: m.Condition) -> str:
    return f"CASE WHEN {_compare(rule.metric, rule.op, rule.value)} THEN {_num(rule.points)} ELSE {ZERO} END"


def _all_of(rule: m.AllOf) -> str:
    tests = " AND ".join(_compare(t.metric, t.op, t.value) for t in rule.tests)
    return f"CASE WHEN {tests} THEN {_num(rule.points)} ELSE {ZERO} END"


def _manual(rule: m.Manual) -> str:
    value = f"ma.{_q(rule.id)}"
    # greatest/least skip NULLs, so a missing value would become the bound: no value means no points.
    return (f"CASE WHEN {value} IS NULL THEN {ZERO} "
            f"ELSE least(greatest({value}, {_num(rule.min_value)}), {_num(rule.max_value)}) END")


def _proportional(rule: m.Proportional) -> str:
    """points × N/D, exact to 0.0001 (truncated toward zero before the final half-up rounding to 0.01)."""
    n, d = _nd(rule.metric)
    q = _scale(rule.points)
    p = int(abs(rule.points) * q)
    sign = "-" if rule.points < 0 else ""
    ten_thousandths = f"({p} * {n} * 10000) // ({q} * {d})"
    return (f"CASE WHEN {d} > 0 THEN {sign}(({ten_thousandths})::DECIMAL(38, 0) * CAST('0.0001' AS {AMOUNT}))"
            f"::{AMOUNT} ELSE {ZERO} END")


def _peer_compare(rule: m.PeerCompare) -> str:
    """At or better than the group average, exactly: x·n ≥ Σx for a count; N·ΣD ≥ ΣN·D against the pooled rate."""
    n, d = _nd(rule.metric)
    has = f"({d} > 0)"
    window = f"OVER ({_partition(rule.within, has)})"
    if metrics()[rule.metric].kind == "count":
        left, right = f"{n} * count(*) {window}", f"sum({n}) {window}"
    else:
        left, right = f"{n} * sum({d}) {window}", f"sum({n}) {window} * {d}"
    op = ">=" if rule.better == "higher" else "<="
    return (f"CASE WHEN NOT {has} THEN {ZERO} WHEN {left} {op} {right} THEN {_num(rule.points_at_or_better)} "
            f"ELSE {_num(rule.points_worse)} END")


def _import(rule: m.ImportScore) -> str:
    return f"coalesce(im.{_q(rule.ruleset)} * {_num(rule.scale)}, {ZERO})"


def _per_event_line(rule: m.PerEvent) -> str:
    if rule.metric is not None:
        n, _ = _nd(rule.metric)
        return _within(f"({n})::{AMOUNT} * {_num(rule.points or Decimal(0))}", rule.max_total)
    return _within(f"coalesce(ev.{_q(rule.id)}, {ZERO})", rule.max_total)


KINDS = {
    "per_event": _per_event_line, "threshold_slope": _slope, "step": _step, "rank_points": _rank_points,
    "condition": _condition, "all_of": _all_of, "manual": _manual, "proportional": _proportional,
    "peer_compare": _peer_compare, "import_score": _import,
}


def _can_only_lose(rule: m.RuleBase) -> bool:
    """True when every amount the rule can give is ≤ 0: such an item starts full and loses points."""
    if isinstance(rule, m.PerEvent):
        amounts = [rule.points] if rule.points is not None else list((rule.points_by_level or {}).values()) + \
            list((rule.points_by_severity or {}).values()) + [t.points for t in rule.duration_tiers or []]
        return bool(amounts) and all(a is not None and a <= 0 for a in amounts)
    if isinstance(rule, m.ThresholdSlope):
        return rule.points_per_step <= 0
    if isinstance(rule, m.Step):
        return all(b.points <= 0 for b in rule.bands)
    if isinstance(rule, m.Condition | m.AllOf):
        return rule.points <= 0
    if isinstance(rule, m.Manual):
        return rule.max_value <= 0
    return False


def item_start(rule: m.RuleBase) -> Decimal:
    """What a scored item holds before its rule applies: its full max, or zero."""
    start = rule.start or ("full" if _can_only_lose(rule) else "zero")
    return (rule.max or Decimal(0)) if start == "full" else Decimal(0)


def _items(rs: m.Ruleset) -> list[tuple[m.Section, m.RuleBase]]:
    return [(sec, it) for sec in rs.sections for it in sec.items]


def _scored(rs: m.Ruleset, sec: m.Section) -> bool:
    """Items kept within [floor, max] from a start: every scorecard item, and base-score items elsewhere."""
    return isinstance(rs.model, m.Scorecard) or sec.pool == "score"


def base_points(rs: m.Ruleset) -> Decimal:
    """The base line: the starts of the scored items, or the model's base when nothing is scored item by item."""
    scored = [it for sec, it in _items(rs) if _scored(rs, sec)]
    if isinstance(rs.model, m.BaseBonusDeduction) and not scored:
        return rs.model.base
    return sum((item_start(it) for it in scored), Decimal(0))


def _veto_tier(rule: m.RuleBase) -> str:
    """The index of the highest veto tier reached (0: none)."""
    assert rule.veto is not None
    terms = [f"coalesce(ev.{_q(rule.id + '__vetoes')}, 0)"] if rule.veto.event_types else []
    terms += [_nd(metric)[0] for metric in rule.veto.metrics]
    count = " + ".join(terms)
    tiers = sorted(enumerate(rule.veto.tiers, 1), key=lambda t: t[1].min_count, reverse=True)
    whens = " ".join(f"WHEN {count} >= {t.min_count} THEN {i}" for i, t in tiers)
    return f"CASE {whens} ELSE 0 END"


def _flag_list(terms: list[str]) -> str:
    if not terms:
        return "[]::VARCHAR[]"
    return f"list_distinct(list_filter([{', '.join(terms)}]::VARCHAR[], lambda f: f IS NOT NULL))"


def _grade(grades: list[m.Grade], column: str = "total") -> str:
    if not grades:
        return "NULL::VARCHAR"
    whens = []
    for g in grades:
        conds = []
        if g.min is not None:
            conds.append(f"{column} {'>=' if g.min_inclusive else '>'} {_num(g.min)}")
        if g.max is not None:
            conds.append(f"{column} {'<=' if g.max_inclusive else '<'} {_num(g.max)}")
        whens.append(f"WHEN {' AND '.join(conds) or 'true'} THEN {_str(g.name.zh)}")
    return f"CASE {' '.join(whens)} END"


def _flags_any(flags: list[str]) -> str:
    if not flags:
        return "false"
    return f"list_has_any(flags, [{', '.join(_str(f) for f in flags)}]::VARCHAR[])"


def group_stage(source: str, grades: list[m.Grade], ranking: m.Ranking | None,
                excellence: m.Excellence | None) -> str:
    """CTEs from `source(period, subject, grp, volume, total, flags, …)` to `staged`: grade, rank, tier, title.

    Ranks share ties (1, 2, 2, 4); subjects under the minimum volume are listed but not ranked; flagged subjects
    drop tiers and are passed over for titles; excellence takes at most ⌊quota × group size⌋ subjects, with ties
    at the cutoff all in (`include`, which may exceed the quota) or all out (`exclude`).
    """
    r = ranking or m.Ranking()
    part = "period, grp" if r.within == "group" else "period"
    ranked = f"volume >= {r.min_volume.min}" if r.min_volume else "true"
    rank = f"CASE WHEN ranked THEN rank() OVER (PARTITION BY {part}, ranked ORDER BY total DESC) END"
    if r.tiers:
        base_tier = "CASE " + " ".join(f"WHEN rank BETWEEN {t.ranks[0]} AND {t.ranks[1]} THEN {i}"
                                       for i, t in enumerate(r.tiers, 1)) + f" WHEN rank IS NOT NULL THEN {len(r.tiers) + 1} END"
        steps = r.downgrade.steps if r.downgrade else 0
        tier_index = f"({base_tier}) + CASE WHEN {_flags_any(r.downgrade.flags if r.downgrade else [])} THEN {steps} ELSE 0 END"
        below = _str(r.below_lowest.zh) if r.below_lowest else "NULL"
        tier = ("CASE " + " ".join(f"WHEN tier_index = {i} THEN {_str(t.name.zh)}" for i, t in enumerate(r.tiers, 1))
                + f" WHEN tier_index > {len(r.tiers)} THEN {below} END")
    else:
        tier_index, tier = "NULL::INTEGER", "NULL::VARCHAR"
    eligible_award = f"ranked AND NOT {_flags_any(r.award_ineligible_flags)}"
    award_rank = (f"CASE WHEN {eligible_award} THEN rank() OVER (PARTITION BY {part}, {eligible_award} "
                  "ORDER BY total DESC) END")
    award = ("CASE " + " ".join(f"WHEN award_rank BETWEEN {a.ranks[0]} AND {a.ranks[1]} THEN {_str(a.name.zh)}"
                                for a in r.awards) + " END") if r.awards else "NULL::VARCHAR"
    if excellence is not None:
        e = excellence
        epart = "period, grp" if e.within == "group" else "period"
        graded_ok = (f"grade IN ({', '.join(_str(g) for g in e.grades)})" if e.grades else "true")
        candidate = f"(ranked AND {graded_ok} AND NOT {_flags_any(e.ineligible_flags)})"
        q = _scale(e.quota)
        quota_n = f"(({int(e.quota * q)} * count(*) OVER (PARTITION BY {epart})) // {q})"
        order = f"OVER (PARTITION BY {epart}, {candidate} ORDER BY total DESC)"
        place = f"rank() {order}" if e.ties_at_cutoff == "include" else f"count(*) {order}"
        excellent = f"coalesce({candidate} AND {place} <= {quota_n}, false)"
    else:
        excellent = "false"
    demote = ""
    if excellence is not None and excellence.demote_to is not None:
        graded_in = ", ".join(_str(g) for g in excellence.grades)
        demote = (f" REPLACE (CASE WHEN grade IN ({graded_in}) AND NOT excellent THEN {_str(excellence.demote_to)} "
                  "ELSE grade END AS grade)")
    return f"""
graded AS (
    SELECT *, {_grade(grades)} AS grade, {ranked} AS ranked FROM {source}
),
ranked AS (
    SELECT *, {rank} AS rank FROM graded
),
tiered AS (
    SELECT *, {tier_index} AS tier_index, {award_rank} AS award_rank FROM ranked
),
decided AS (
    SELECT * EXCLUDE (tier_index, award_rank), {tier} AS tier, {award} AS award, {excellent} AS excellent
    FROM tiered
),
staged AS (
    SELECT *{demote} FROM decided
)"""


def compile_ruleset(rs: m.Ruleset) -> str:
    """The ruleset as one SELECT over `subjects`, `subject_events`, `manual_scores` and `imported` (module doc)."""
    items = _items(rs)
    event_rules = [it for _, it in items if isinstance(it, m.PerEvent) and it.event_type is not None]
    aggregates = [a for it in event_rules for a in _event_aggregates(it)]
    aggregates += [a for _, it in items if (a := _veto_aggregate(it))]
    manual = [it for _, it in items if isinstance(it, m.Manual)]
    imports = sorted({it.ruleset for _, it in items if isinstance(it, m.ImportScore)})

    line_sql, item_sql, flag_terms = [], [], []
    for sec, it in items:
        raw = KINDS[it.kind](it)
        scored = _scored(rs, sec)
        # A scored item's `max` is its full score (applied by the clamp); elsewhere it bounds the line.
        line_sql.append(f"({raw if scored else _within(raw, it.max)})::{AMOUNT} AS {_q(it.id)}")
        start = _num(item_start(it)) if scored else ZERO
        held = f"({start} + {_q(it.id)})"
        if scored:
            kept = held if it.max is None else f"least({held}, {_num(it.max)})"
            kept = f"greatest({kept}, {_num(it.floor)})"
            item_sql.append(f"({kept} - {held})::{AMOUNT} AS {_q(it.id + '__clamp')}")
        else:
            kept = held
        if it.veto is not None:
            factor = {"zero": "0", "half": "0.5", "none": "1"}
            whens = " ".join(f"WHEN {i} THEN CAST('{factor[t.outcome]}' AS {AMOUNT})"
                             for i, t in enumerate(it.veto.tiers, 1))
            tier_col = _q(it.id + "__veto_tier")
            line_sql.append(f"{_veto_tier(it)} AS {tier_col}")
            item_sql.append(f"(({kept}) * CASE {tier_col} {whens} ELSE CAST('1' AS {AMOUNT}) END - ({kept}))"
                            f"::{AMOUNT} AS {_q(it.id + '__veto')}")
            flag_terms += [f"CASE WHEN ({_veto_tier(it)}) = {i} THEN {_str(flag)} END"
                           for i, t in enumerate(it.veto.tiers, 1) for flag in t.flags]
        if isinstance(it, m.PerEvent):
            hits = f"coalesce(ev.{_q(it.id + '__hits')}, 0)" if it.event_type else _nd(it.metric)[0]  # type: ignore[arg-type]
            flag_terms += [f"CASE WHEN {hits} > 0 THEN {_str(f)} END" for f in it.flags]
    score_parts = []
    for sec, it in items:
        parts = [_num(item_start(it)) if _scored(rs, sec) else ZERO, _q(it.id)]
        if _scored(rs, sec):
            parts.append(_q(it.id + "__clamp"))
        if it.veto is not None:
            parts.append(_q(it.id + "__veto"))
        score_parts.append(f"({' + '.join(parts)})::{AMOUNT} AS {_q(it.id + '__score')}")

    def pool(name: str) -> str:
        cols = [_q(it.id + "__score") for sec, it in items
                if (sec.pool == name and not isinstance(rs.model, m.Scorecard))
                or (name == "score" and isinstance(rs.model, m.Scorecard))]
        return f"({' + '.join(cols) or ZERO})::{AMOUNT}"

    manual_cols = ", ".join(f"max(CASE WHEN item_id = {_str(it.id)} THEN value END)::{AMOUNT} AS {_q(it.id)}"
                            for it in manual) or "NULL AS no_manual_items"
    import_cols = ", ".join(f"max(CASE WHEN ruleset = {_str(r)} THEN total END)::{AMOUNT} AS {_q(r)}"
                            for r in imports) or "NULL AS no_imports"
    line_block = ",\n        ".join(line_sql)
    head = f"""
WITH event_lines AS (
    SELECT e.period, e.subject, {", ".join(aggregates) or "0 AS no_event_rules"}
    FROM subject_events AS e
    GROUP BY e.period, e.subject
),
manual_lines AS (
    SELECT period, subject, {manual_cols} FROM manual_scores GROUP BY period, subject
),
imported_lines AS (
    SELECT period, subject, {import_cols} FROM imported GROUP BY period, subject
),
lines AS (
    SELECT
        s.period, s.subject, s.grp,
        {_volume(rs)} AS volume,
        {line_block},
        {_flag_list(flag_terms)} AS flags
    FROM subjects AS s
    LEFT JOIN event_lines AS ev ON ev.period = s.period AND ev.subject = s.subject
    LEFT JOIN manual_lines AS ma ON ma.period = s.period AND ma.subject = s.subject
    LEFT JOIN imported_lines AS im ON im.period = s.period AND im.subject = s.subject
),
kept AS (
    SELECT *{", " + ", ".join(item_sql) if item_sql else ""} FROM lines
),
scores AS (
    SELECT *, {", ".join(score_parts)} FROM kept
),
pools AS (
    SELECT *, {pool("score")} AS score_pool, {pool("bonus")} AS bonus, {pool("deduction")} AS deduction FROM scores
),"""
    md = rs.model
    if isinstance(md, m.Scorecard):
        tail = f"""
totals AS (
    SELECT *, (score_pool)::{AMOUNT} AS unrounded,
        {ZERO} AS bonus_cap, {ZERO} AS deduction_cap, {ZERO} AS total_floor, {ZERO} AS total_cap
    FROM pools
),"""
    else:
        base = "score_pool" if any(sec.pool == "score" for sec in rs.sections) else _num(md.base)
        bonus_capped = f"least(bonus, {_num(md.bonus_cap)})" if md.bonus_cap is not None else "bonus"
        deduction_capped = "greatest(deduction, -bonus_capped)" if md.deduction_not_exceed_bonus else "deduction"
        floor = f"greatest(subtotal, {_num(md.total_floor)})" if md.total_floor is not None else "subtotal"
        cap = f"least(floored, {_num(md.total_cap)})" if md.total_cap is not None else "floored"
        tail = f"""
capped AS (
    SELECT *, ({bonus_capped})::{AMOUNT} AS bonus_capped FROM pools
),
deducted AS (
    SELECT *, ({deduction_capped})::{AMOUNT} AS deduction_capped FROM capped
),
summed AS (
    SELECT *, ({base} + bonus_capped + deduction_capped)::{AMOUNT} AS subtotal FROM deducted
),
floored AS (
    SELECT *, ({floor})::{AMOUNT} AS floored FROM summed
),
totals AS (
    SELECT *, ({cap})::{AMOUNT} AS unrounded,
        (bonus_capped - bonus)::{AMOUNT} AS bonus_cap,
        (deduction_capped - deduction)::{AMOUNT} AS deduction_cap,
        (floored - subtotal)::{AMOUNT} AS total_floor,
        ({cap} - floored)::{AMOUNT} AS total_cap
    FROM floored
),"""
    return head + tail + f"""
rounded AS (
    SELECT
        *,
        round(unrounded, 2)::DECIMAL(18, 2) AS total,
        (round(unrounded, 2) - unrounded)::{AMOUNT} AS rounding,
        {_num(base_points(rs))} AS base
    FROM totals
),{group_stage("rounded", rs.grades, rs.ranking, rs.excellence)}
SELECT * FROM staged
"""


def _volume(rs: m.Ruleset) -> str:
    """The count the minimum-volume rule reads (0 when the ruleset has none)."""
    mv = rs.ranking.min_volume if rs.ranking else None
    return _nd(mv.metric)[0] if mv else "0::HUGEINT"


def rollup_flags(period: str) -> list[str]:
    """Flags whose scope lasts into a roll-up period: a quarter keeps quarter and year flags, a year keeps year."""
    keep = {"quarter": ("quarter", "year"), "year": ("year",)}[period]
    return [code for code, f in catalog_flags().items() if f["scope"] in keep]


def compile_rollup(rs: m.Ruleset, rollup: m.Rollup) -> str:
    """Scores for a longer period from `period_totals(period, part, subject, grp, volume, total, flags)`.

    A sum adds the parts' totals; a mean divides their sum by the number of parts the subject was scored in,
    exact to 0.0001 and rounded half-up once. Flags whose scope lasts (rollup_flags) carry over.
    """
    kept = ", ".join(_str(f) for f in rollup_flags(rollup.period))
    if rollup.combine == "sum":
        unrounded = f"sum_total::{AMOUNT}"
    else:
        # Σ in hundredths (exact integers), then ten-thousandths truncated toward zero, as a DECIMAL.
        hundredths = "(sum_total * 100)::HUGEINT"
        unrounded = (f"(sign({hundredths}) * ((abs({hundredths}) * 100) // parts))::DECIMAL(38, 0) "
                     f"* CAST('0.0001' AS {AMOUNT})")
    return f"""
WITH combined AS (
    SELECT period, subject, any_value(grp) AS grp, sum(volume) AS volume, count(*) AS parts,
        sum(total) AS sum_total,
        list_distinct(list_filter(flatten(list(flags)), lambda f: list_contains([{kept}]::VARCHAR[], f))) AS flags
    FROM period_totals
    GROUP BY period, subject
),
totals AS (
    SELECT *, ({unrounded})::{AMOUNT} AS unrounded FROM combined
),
rounded AS (
    SELECT *, round(unrounded, 2)::DECIMAL(18, 2) AS total FROM totals
),{group_stage("rounded", rollup.grades, rollup.ranking, rollup.excellence)}
SELECT * FROM staged
"""


def metric_columns(rs: m.Ruleset) -> list[str]:
    """The mart columns the ruleset reads from `subjects`."""
    used: list[str] = []

    def add(metric: str | None) -> None:
        if metric:
            used.extend(c for c in metrics()[metric].columns if c not in used)

    for _, it in _items(rs):
        add(getattr(it, "metric", None))
        for t in getattr(it, "tests", []):
            add(t.metric)
        for metric in (it.veto.metrics if it.veto else []):
            add(metric)
    if rs.ranking and rs.ranking.min_volume:
        add(rs.ranking.min_volume.metric)
    return used


def line_ids(rs: m.Ruleset) -> list[str]:
    """The columns of the compiled SELECT that are lines of the explanation, in order: base, items, adjustments."""
    out = ["base"]
    for sec, it in _items(rs):
        out.append(it.id)
        if _scored(rs, sec):
            out.append(f"{it.id}__clamp")
        if it.veto is not None:
            out.append(f"{it.id}__veto")
    return out + list(ADJUSTMENTS)


def item_ids(rs: m.Ruleset) -> list[str]:
    return [it.id for _, it in _items(rs)]


def is_adjustment(line: str) -> bool:
    """A line that only keeps the total within its rules (a cap, a floor, an item's range, a veto, rounding)."""
    return line in ADJUSTMENTS or line.endswith(("__clamp", "__veto"))
