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
ADJUSTMENTS = ("bonus_cap", "deduction_cap", "base_floor", "total_floor", "total_cap", "rounding")
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
        # An event recorded without its duration is at least the least serious form: the lowest tier.
        tiers = sorted(rule.duration_tiers, key=lambda t: t.min_minutes, reverse=True)
        whens = " ".join(f"WHEN e.duration_min >= {t.min_minutes} THEN {_num(t.points)}" for t in tiers)
        return f"CASE WHEN e.duration_min IS NULL THEN {_num(tiers[-1].points)} {whens} ELSE {ZERO} END"
    return ZERO  # a rule that only raises flags


def _event_aggregates(rule: m.PerEvent) -> list[str]:
    """Aggregates over one subject's events: the line's raw points and how many events matched."""
    match = f"e.event_type = {_str(rule.event_type)}"
    if rule.levels:
        match += f" AND e.level IN ({', '.join(_str(x) for x in rule.levels)})"
    if rule.severities:
        match += f" AND e.severity IN ({', '.join(str(int(x)) for x in rule.severities)})"
    if rule.min_minutes is not None:
        match += f" AND e.duration_min >= {int(rule.min_minutes)}"
    times = {"count": "coalesce(e.count, 1)", "once": "1", "any": "1"}[rule.count_mode]
    points = f"sum(CASE WHEN {match} THEN ({_event_points(rule)}) * {times} END)"
    if rule.count_mode == "any":
        points = f"max(CASE WHEN {match} THEN ({_event_points(rule)}) END)"
    return [f"coalesce({points}, {ZERO}) AS {_q(rule.id)}",
            f"coalesce(sum(CASE WHEN {match} THEN coalesce(e.count, 1) END), 0) AS {_q(rule.id + '__hits')}"]


def _veto_aggregates(rule: m.RuleBase) -> list[str]:
    """Per veto tier, how many of the event types that tier counts the subject has."""
    if rule.veto is None:
        return []
    out = []
    for i, tier in enumerate(rule.veto.tiers, 1):
        types = ", ".join(_str(t) for t in rule.veto.counted(tier)[0])
        if types:
            out.append(f"coalesce(sum(CASE WHEN e.event_type IN ({types}) THEN coalesce(e.count, 1) END), 0) "
                       f"AS {_q(f'{rule.id}__vetoes{i}')}")
    return out


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
    Continuous: points = (P/Q)·gap/(S·D), the exact rational rounded half-up (away from zero) to 0.0001 in integers.
    A zero denominator is no data: no points.
    """
    k = _scale(rule.target, rule.step)
    t, st = int(rule.target * k), int(rule.step * k)
    num, den = _nd(rule.metric)
    gap = f"({t} * {den} - {k} * {num})" if rule.direction == "below" else f"({k} * {num} - {t} * {den})"
    if rule.continuous:
        q = _scale(rule.points_per_step)
        p = int(abs(rule.points_per_step) * q)
        sign = "-" if rule.points_per_step < 0 else ""
        a, b = f"({p} * {gap} * 10000)", f"({q} * {st} * {den})"
        ten_thousandths = f"((2 * {a} + {b}) // (2 * {b}))"
        return (f"CASE WHEN {den} > 0 AND {gap} > 0 THEN {sign}(({ten_thousandths})::DECIMAL(38, 0) "
                f"* CAST('0.0001' AS {AMOUNT}))::{AMOUNT} ELSE {ZERO} END")
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
    """The other assessment's total × scale; a total that is missing is no data (0, and `import_missing` raised)."""
    return f"coalesce(im.{_q(rule.ruleset)} * {_num(rule.scale)}, {ZERO})"


def _counted(rule: m.PerEvent) -> str:
    """The count a per_event rule over a metric multiplies: the metric, at most `max_count` (a sample's size)."""
    n, _ = _nd(rule.metric)  # type: ignore[arg-type]
    return n if rule.max_count is None else f"least({n}, {rule.max_count})"


def _per_event_line(rule: m.PerEvent) -> str:
    if rule.metric is not None:
        return _within(f"({_counted(rule)})::{AMOUNT} * {_num(rule.points or Decimal(0))}", rule.max_total)
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
    """What a scored item holds before its rule applies: its full max, or zero (for a subject it applies to)."""
    start = rule.start or ("full" if _can_only_lose(rule) else "zero")
    return (rule.max or Decimal(0)) if start == "full" else Decimal(0)


def _applies(rule: m.RuleBase) -> str | None:
    """SQL true where the item applies to the subject (its unit kinds), None when it applies to everyone."""
    if not rule.unit_kinds:
        return None
    return f"coalesce(s.kind IN ({', '.join(_str(k) for k in rule.unit_kinds)}), false)"


def _only_where(cond: str | None, sql: str) -> str:
    return sql if cond is None else f"CASE WHEN {cond} THEN {sql} ELSE {ZERO} END"


def _items(rs: m.Ruleset) -> list[tuple[m.Section, m.RuleBase]]:
    return [(sec, it) for sec in rs.sections for it in sec.items]


def _scored(rs: m.Ruleset, sec: m.Section) -> bool:
    """Items kept within [floor, max] from a start: every scorecard item, and base-score items elsewhere."""
    return isinstance(rs.model, m.Scorecard) or sec.pool == "score"


def _veto_tier(rule: m.RuleBase) -> str:
    """The index of the highest veto tier reached (0: none), each tier counting its own event types and metrics."""
    assert rule.veto is not None
    whens = []
    for i, tier in sorted(enumerate(rule.veto.tiers, 1), key=lambda t: t[1].min_count, reverse=True):
        types, counted_metrics = rule.veto.counted(tier)
        terms = [f"coalesce(ev.{_q(f'{rule.id}__vetoes{i}')}, 0)"] if types else []
        terms += [_nd(metric)[0] for metric in counted_metrics]
        whens.append(f"WHEN {' + '.join(terms)} >= {tier.min_count} THEN {i}")
    return f"CASE {' '.join(whens)} ELSE 0 END"


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


def _order(ranking: m.Ranking) -> str:
    """Total first, then the ranking's tie-break measures (exact keys; no data last)."""
    keys = ["total DESC"]
    for tb in ranking.tie_break:
        n, d = _q(tie_break_column(tb.metric, "n")), _q(tie_break_column(tb.metric, "d"))
        key = n if metrics()[tb.metric].kind == "count" else f"CASE WHEN {d} > 0 THEN ({n} * {ORDER_SCALE}) // {d} END"
        keys.append(f"{key} {'DESC' if tb.order == 'desc' else 'ASC'} NULLS LAST")
    return ", ".join(keys)


def _grade_flags(grades: list[m.Grade]) -> str:
    """The flags list with each grade's own flags added for those who land in it."""
    flagged = [g for g in grades if g.flags]
    if not flagged:
        return "flags"
    whens = " ".join(f"WHEN grade = {_str(g.name.zh)} THEN [{', '.join(_str(f) for f in g.flags)}]::VARCHAR[]"
                     for g in flagged)
    return f"list_distinct(list_concat(flags, CASE {whens} ELSE []::VARCHAR[] END))"


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
    order = _order(r)
    rank = f"CASE WHEN ranked THEN rank() OVER (PARTITION BY {part}, ranked ORDER BY {order}) END"
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
    award_window = f"OVER (PARTITION BY {part}, {eligible_award} ORDER BY {order})"
    award_rank = f"CASE WHEN {eligible_award} THEN rank() {award_window} END"
    # The last place a tie group holds: its rank plus the others tied with it.
    award_last = f"CASE WHEN {eligible_award} THEN count(*) {award_window} END"
    if r.award_ties == "exclude":
        # A tie group gets an award only when every place it holds is within the award's places.
        fits = "award_rank >= {0} AND award_last <= {1}"
    else:
        fits = "award_rank BETWEEN {0} AND {1}"
    award = ("CASE " + " ".join(f"WHEN {fits.format(first, last)} THEN {_str(a.name.zh)}"
                                for a, (first, last) in zip(r.awards, r.award_ranks(), strict=True))
             + " END") if r.awards else "NULL::VARCHAR"
    if excellence is not None:
        e = excellence
        epart = "period, grp" if e.within == "group" else "period"
        graded_ok = (f"grade IN ({', '.join(_str(g) for g in e.grades)})" if e.grades else "true")
        candidate = f"(ranked AND {graded_ok} AND NOT {_flags_any(e.ineligible_flags)})"
        q = _scale(e.quota)
        quota_n = f"(({int(e.quota * q)} * count(*) OVER (PARTITION BY {epart})) // {q})"
        ex_order = f"OVER (PARTITION BY {epart}, {candidate} ORDER BY {order})"
        place = f"rank() {ex_order}" if e.ties_at_cutoff == "include" else f"count(*) {ex_order}"
        excellent = f"coalesce({candidate} AND {place} <= {quota_n}, false)"
    else:
        excellent = "false"
    demote = ""
    if excellence is not None and excellence.demote_to is not None:
        graded_in = ", ".join(_str(g) for g in excellence.grades)
        demote = (f" REPLACE (CASE WHEN grade IN ({graded_in}) AND NOT excellent THEN {_str(excellence.demote_to)} "
                  "ELSE grade END AS grade)")
    return f"""
grade_only AS (
    SELECT *, {_grade(grades)} AS grade, {ranked} AS ranked FROM {source}
),
graded AS (
    SELECT * REPLACE ({_grade_flags(grades)} AS flags) FROM grade_only
),
ranked AS (
    SELECT *, {rank} AS rank FROM graded
),
tiered AS (
    SELECT *, {tier_index} AS tier_index, {award_rank} AS award_rank, {award_last} AS award_last FROM ranked
),
decided AS (
    SELECT * EXCLUDE (tier_index, award_rank, award_last), {tier} AS tier, {award} AS award,
        {excellent} AS excellent
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
    aggregates += [a for _, it in items for a in _veto_aggregates(it)]
    manual = [it for _, it in items if isinstance(it, m.Manual)]
    imports = sorted({it.ruleset for _, it in items if isinstance(it, m.ImportScore)})

    line_sql, item_sql, flag_terms = [], [], []
    for sec, it in items:
        applies = _applies(it)
        raw = _only_where(applies, KINDS[it.kind](it))
        scored = _scored(rs, sec)
        # A scored item's `max` is its full score (applied by the clamp); elsewhere it bounds the line.
        line_sql.append(f"({raw if scored else _within(raw, it.max)})::{AMOUNT} AS {_q(it.id)}")
        start = _only_where(applies, _num(item_start(it))) if scored else ZERO
        line_sql.append(f"({start})::{AMOUNT} AS {_q(it.id + '__start')}")
        held = f"({_q(it.id + '__start')} + {_q(it.id)})"
        if scored:
            kept = held if it.max is None else f"least({held}, {_num(it.max)})"
            kept = f"greatest({kept}, {_num(it.floor)})"
            item_sql.append(f"({_only_where(applies, f'{kept} - {held}')})::{AMOUNT} AS {_q(it.id + '__clamp')}")
            kept = f"({held} + {_q(it.id + '__clamp')})"
        else:
            kept = held
        if it.veto is not None:
            factor = {"zero": "0", "half": "0.5", "none": "1"}
            whens = " ".join(f"WHEN {i} THEN CAST('{factor[t.outcome]}' AS {AMOUNT})"
                             for i, t in enumerate(it.veto.tiers, 1))
            tier_col = _q(it.id + "__veto_tier")
            reached = _veto_tier(it) if applies is None else f"CASE WHEN {applies} THEN {_veto_tier(it)} ELSE 0 END"
            line_sql.append(f"{reached} AS {tier_col}")
            item_sql.append(f"(({kept}) * CASE {tier_col} {whens} ELSE CAST('1' AS {AMOUNT}) END - ({kept}))"
                            f"::{AMOUNT} AS {_q(it.id + '__veto')}")
            flag_terms += [f"CASE WHEN {tier_col} = {i} THEN {_str(flag)} END"
                           for i, t in enumerate(it.veto.tiers, 1) for flag in t.flags]
        if isinstance(it, m.PerEvent):
            hits = f"coalesce(ev.{_q(it.id + '__hits')}, 0)" if it.event_type else _nd(it.metric)[0]  # type: ignore[arg-type]
            where = f" AND {applies}" if applies else ""
            flag_terms += [f"CASE WHEN {hits} >= {it.flags_from_count}{where} THEN {_str(f)} END" for f in it.flags]
        if isinstance(it, m.ImportScore):
            where = f" AND {applies}" if applies else ""
            flag_terms.append(f"CASE WHEN im.{_q(it.ruleset)} IS NULL{where} THEN 'import_missing' END")
    score_parts, round_parts = [], []
    for sec, it in items:
        parts = [_q(it.id + "__start"), _q(it.id)]
        if _scored(rs, sec):
            parts.append(_q(it.id + "__clamp"))
        if it.veto is not None:
            parts.append(_q(it.id + "__veto"))
        unrounded = f"({' + '.join(parts)})"
        if it.round is not None:
            # As bulletins print items: the item's score half-up to its places, the difference a line of its own.
            round_parts.append(f"(round({unrounded}, {it.round}) - {unrounded})::{AMOUNT} AS {_q(it.id + '__round')}")
            parts.append(_q(it.id + "__round"))
        score_parts.append(f"({' + '.join(parts)})::{AMOUNT} AS {_q(it.id + '__score')}")
    base_sql = " + ".join(_q(it.id + "__start") for sec, it in items if _scored(rs, sec))
    if isinstance(rs.model, m.BaseBonusDeduction) and not any(_scored(rs, sec) for sec, _ in items):
        base_sql = _num(rs.model.base)
    tie_cols = [f"{expr} AS {_q(name)}" for name, expr in _tie_break_columns(rs)]

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
        {_volume(rs)} AS volume,{"".join(chr(10) + "        " + c + "," for c in tie_cols)}
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
item_rounded AS (
    SELECT *{", " + ", ".join(round_parts) if round_parts else ""} FROM kept
),
scores AS (
    SELECT *, {", ".join(score_parts)} FROM item_rounded
),
pools AS (
    SELECT *, {pool("score")} AS score_pool, {pool("bonus")} AS bonus, {pool("deduction")} AS deduction FROM scores
),"""
    md = rs.model
    if isinstance(md, m.Scorecard):
        tail = f"""
totals AS (
    SELECT *, (score_pool)::{AMOUNT} AS unrounded,
        {ZERO} AS bonus_cap, {ZERO} AS deduction_cap, {ZERO} AS base_floor, {ZERO} AS total_floor,
        {ZERO} AS total_cap
    FROM pools
),"""
    else:
        base = "score_pool" if any(sec.pool == "score" for sec in rs.sections) else _num(md.base)
        bonus_capped = f"least(bonus, {_num(md.bonus_cap)})" if md.bonus_cap is not None else "bonus"
        deduction_capped = "greatest(deduction, -bonus_capped)" if md.deduction_not_exceed_bonus else "deduction"
        floor = f"greatest(subtotal, {_num(md.total_floor)})" if md.total_floor is not None else "subtotal"
        cap = f"least(floored, {_num(md.total_cap)})" if md.total_cap is not None else "floored"
        # 扣完为止 on the base part: the base less its deductions floors before the bonuses are added.
        net = f"({base} + deduction_capped)"
        based = f"greatest({net}, {_num(md.base_floor)})" if md.base_floor is not None else net
        tail = f"""
capped AS (
    SELECT *, ({bonus_capped})::{AMOUNT} AS bonus_capped FROM pools
),
deducted AS (
    SELECT *, ({deduction_capped})::{AMOUNT} AS deduction_capped FROM capped
),
summed AS (
    SELECT *, ({based} - {net})::{AMOUNT} AS base_floor,
        ({based} + bonus_capped)::{AMOUNT} AS subtotal FROM deducted
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
        ({base_sql or ZERO})::{AMOUNT} AS base
    FROM totals
),{group_stage("rounded", rs.grades, rs.ranking, rs.excellence)}
SELECT * FROM staged
"""


def _tie_break_metrics(rs: m.Ruleset) -> list[str]:
    """Every metric a ranking of the ruleset (its own period's or a roll-up's) breaks ties by."""
    out: list[str] = []
    for ranking in [rs.ranking, *(r.ranking for r in rs.rollups)]:
        for tb in (ranking.tie_break if ranking else []):
            if tb.metric not in out:
                out.append(tb.metric)
    return out


def tie_break_column(metric: str, part: str) -> str:
    """The column holding a tie-break metric's numerator (n) or denominator (d), summed over parts in a roll-up."""
    return f"tb__{metric}__{part}"


def _tie_break_columns(rs: m.Ruleset) -> list[tuple[str, str]]:
    out = []
    for metric in _tie_break_metrics(rs):
        n, d = _nd(metric)
        out += [(tie_break_column(metric, "n"), n), (tie_break_column(metric, "d"), d)]
    return out


def _volume(rs: m.Ruleset) -> str:
    """The count the minimum-volume rule reads (0 when the ruleset has none)."""
    mv = rs.ranking.min_volume if rs.ranking else None
    return _nd(mv.metric)[0] if mv else "0::HUGEINT"


def parts_in(own: str, longer: str) -> int:
    """How many of a ruleset's own periods a longer period has: 3 months a quarter, 12 a year, 4 quarters a year."""
    return {("month", "quarter"): 3, ("month", "year"): 12, ("quarter", "year"): 4}[(own, longer)]


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
    # Σ in hundredths (exact integers), then ten-thousandths truncated toward zero, as a DECIMAL.
    hundredths = "(sum_total * 100)::HUGEINT"
    if rollup.combine == "sum" and rollup.partial == "sum":
        unrounded = f"sum_total::{AMOUNT}"
    else:
        # mean: Σ ÷ parts scored; a scaled partial sum: Σ ÷ parts scored × the parts the period has.
        times = parts_in(rs.period, rollup.period) if rollup.combine == "sum" else 1
        whole = f"parts = {times}" if rollup.combine == "sum" else "false"
        unrounded = (f"CASE WHEN {whole} THEN sum_total::{AMOUNT} ELSE "
                     f"(sign({hundredths}) * ((abs({hundredths}) * 100 * {times}) // parts))::DECIMAL(38, 0) "
                     f"* CAST('0.0001' AS {AMOUNT}) END")
    tie_sums = "".join(f", sum({_q(name)})::HUGEINT AS {_q(name)}" for name, _ in _tie_break_columns(rs))
    return f"""
WITH combined AS (
    SELECT period, subject, any_value(grp) AS grp, sum(volume) AS volume, count(*) AS parts,
        sum(total) AS sum_total{tie_sums},
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
        for tier in (it.veto.tiers if it.veto else []):
            for metric in it.veto.counted(tier)[1]:  # type: ignore[union-attr]
                add(metric)
    if rs.ranking and rs.ranking.min_volume:
        add(rs.ranking.min_volume.metric)
    for metric in _tie_break_metrics(rs):
        add(metric)
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
        if it.round is not None:
            out.append(f"{it.id}__round")
    return out + list(ADJUSTMENTS)


def item_ids(rs: m.Ruleset) -> list[str]:
    return [it.id for _, it in _items(rs)]


def is_adjustment(line: str) -> bool:
    """A line that only keeps the total within its rules (a cap, a floor, an item's range, a veto, rounding)."""
    return line in ADJUSTMENTS or line.endswith(("__clamp", "__veto", "__round"))
