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
Each item's line, its event aggregates and flags come from its kind's entry in `rules.kinds`.
"""

from __future__ import annotations

from decimal import Decimal

from dashboard.core.contract import catalog_flags
from dashboard.core.metrics import metrics
from dashboard.core.rules import kinds
from dashboard.core.rules import model as m
from dashboard.core.rules.sql import (
    AMOUNT,
    ORDER_SCALE,
    ZERO,
    bounded,
    fraction,
    ident,
    literal,
    scale_of,
    string,
)

# Adjustment lines, in the order DESIGN.md §5 applies them; each is new total minus old total, so lines sum.
ADJUSTMENTS = ("bonus_cap", "deduction_cap", "base_floor", "total_floor", "total_cap", "rounding")


def _veto_aggregates(rule: m.RuleBase) -> list[str]:
    """Per veto tier, how many of the event types that tier counts the subject has."""
    if rule.veto is None:
        return []
    out = []
    for i, tier in enumerate(rule.veto.tiers, 1):
        types = ", ".join(string(t) for t in rule.veto.counted(tier)[0])
        if types:
            out.append(f"coalesce(sum(CASE WHEN e.event_type IN ({types}) THEN coalesce(e.count, 1) END), 0) "
                       f"AS {ident(f'{rule.id}__vetoes{i}')}")
    return out


def item_start(rule: m.RuleBase) -> Decimal:
    """What a scored item holds before its rule applies: its full max, or zero (for a subject it applies to)."""
    start = rule.start or ("full" if kinds.of(rule).can_only_lose(rule) else "zero")
    return (rule.max or Decimal(0)) if start == "full" else Decimal(0)


def _applies(rule: m.RuleBase) -> str | None:
    """SQL true where the item applies to the subject (its unit kinds), None when it applies to everyone."""
    if not rule.unit_kinds:
        return None
    return f"coalesce(s.kind IN ({', '.join(string(k) for k in rule.unit_kinds)}), false)"


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
        terms = [f"coalesce(ev.{ident(f'{rule.id}__vetoes{i}')}, 0)"] if types else []
        terms += [fraction(metric)[0] for metric in counted_metrics]
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
            conds.append(f"{column} {'>=' if g.min_inclusive else '>'} {literal(g.min)}")
        if g.max is not None:
            conds.append(f"{column} {'<=' if g.max_inclusive else '<'} {literal(g.max)}")
        whens.append(f"WHEN {' AND '.join(conds) or 'true'} THEN {string(g.name.zh)}")
    return f"CASE {' '.join(whens)} END"


def _flags_any(flags: list[str]) -> str:
    if not flags:
        return "false"
    return f"list_has_any(flags, [{', '.join(string(f) for f in flags)}]::VARCHAR[])"


def _order(ranking: m.Ranking) -> str:
    """Total first, then the ranking's tie-break measures (exact keys; no data last)."""
    keys = ["total DESC"]
    for tb in ranking.tie_break:
        n, d = ident(tie_break_column(tb.metric, "n")), ident(tie_break_column(tb.metric, "d"))
        key = n if metrics()[tb.metric].kind == "count" else f"CASE WHEN {d} > 0 THEN ({n} * {ORDER_SCALE}) // {d} END"
        keys.append(f"{key} {'DESC' if tb.order == 'desc' else 'ASC'} NULLS LAST")
    return ", ".join(keys)


def _grade_flags(grades: list[m.Grade]) -> str:
    """The flags list with each grade's own flags added for those who land in it."""
    flagged = [g for g in grades if g.flags]
    if not flagged:
        return "flags"
    whens = " ".join(f"WHEN grade = {string(g.name.zh)} THEN [{', '.join(string(f) for f in g.flags)}]::VARCHAR[]"
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
        below = string(r.below_lowest.zh) if r.below_lowest else "NULL"
        tier = ("CASE " + " ".join(f"WHEN tier_index = {i} THEN {string(t.name.zh)}" for i, t in enumerate(r.tiers, 1))
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
    award = ("CASE " + " ".join(f"WHEN {fits.format(first, last)} THEN {string(a.name.zh)}"
                                for a, (first, last) in zip(r.awards, r.award_ranks(), strict=True))
             + " END") if r.awards else "NULL::VARCHAR"
    if excellence is not None:
        e = excellence
        epart = "period, grp" if e.within == "group" else "period"
        graded_ok = (f"grade IN ({', '.join(string(g) for g in e.grades)})" if e.grades else "true")
        candidate = f"(ranked AND {graded_ok} AND NOT {_flags_any(e.ineligible_flags)})"
        q = scale_of(e.quota)
        quota_n = f"(({int(e.quota * q)} * count(*) OVER (PARTITION BY {epart})) // {q})"
        ex_order = f"OVER (PARTITION BY {epart}, {candidate} ORDER BY {order})"
        place = f"rank() {ex_order}" if e.ties_at_cutoff == "include" else f"count(*) {ex_order}"
        excellent = f"coalesce({candidate} AND {place} <= {quota_n}, false)"
    else:
        excellent = "false"
    demote = ""
    if excellence is not None and excellence.demote_to is not None:
        graded_in = ", ".join(string(g) for g in excellence.grades)
        demote = (f" REPLACE (CASE WHEN grade IN ({graded_in}) AND NOT excellent THEN {string(excellence.demote_to)} "
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
    aggregates = [a for _, it in items for a in kinds.of(it).event_columns(it)]
    aggregates += [a for _, it in items for a in _veto_aggregates(it)]
    manual = [it for _, it in items if kinds.of(it).inputs(it).manual]
    imports = sorted({r for _, it in items for r in kinds.of(it).inputs(it).imported})

    line_sql, item_sql, flag_terms = [], [], []
    for sec, it in items:
        applies = _applies(it)
        raw = _only_where(applies, kinds.of(it).sql(it))
        scored = _scored(rs, sec)
        # A scored item's `max` is its full score (applied by the clamp); elsewhere it bounds the line.
        line_sql.append(f"({raw if scored else bounded(raw, it.max)})::{AMOUNT} AS {ident(it.id)}")
        start = _only_where(applies, literal(item_start(it))) if scored else ZERO
        line_sql.append(f"({start})::{AMOUNT} AS {ident(it.id + '__start')}")
        held = f"({ident(it.id + '__start')} + {ident(it.id)})"
        if scored:
            kept = held if it.max is None else f"least({held}, {literal(it.max)})"
            kept = f"greatest({kept}, {literal(it.floor)})"
            item_sql.append(f"({_only_where(applies, f'{kept} - {held}')})::{AMOUNT} AS {ident(it.id + '__clamp')}")
            kept = f"({held} + {ident(it.id + '__clamp')})"
        else:
            kept = held
        if it.veto is not None:
            factor = {"zero": "0", "half": "0.5", "none": "1"}
            whens = " ".join(f"WHEN {i} THEN CAST('{factor[t.outcome]}' AS {AMOUNT})"
                             for i, t in enumerate(it.veto.tiers, 1))
            tier_col = ident(it.id + "__veto_tier")
            reached = _veto_tier(it) if applies is None else f"CASE WHEN {applies} THEN {_veto_tier(it)} ELSE 0 END"
            line_sql.append(f"{reached} AS {tier_col}")
            item_sql.append(f"(({kept}) * CASE {tier_col} {whens} ELSE CAST('1' AS {AMOUNT}) END - ({kept}))"
                            f"::{AMOUNT} AS {ident(it.id + '__veto')}")
            flag_terms += [f"CASE WHEN {tier_col} = {i} THEN {string(flag)} END"
                           for i, t in enumerate(it.veto.tiers, 1) for flag in t.flags]
        flag_terms += kinds.of(it).flags(it, applies)
    score_parts, round_parts = [], []
    for sec, it in items:
        parts = [ident(it.id + "__start"), ident(it.id)]
        if _scored(rs, sec):
            parts.append(ident(it.id + "__clamp"))
        if it.veto is not None:
            parts.append(ident(it.id + "__veto"))
        unrounded = f"({' + '.join(parts)})"
        if it.round is not None:
            # As bulletins print items: the item's score half-up to its places, the difference a line of its own.
            round_parts.append(f"(round({unrounded}, {it.round}) - {unrounded})::{AMOUNT} AS {ident(it.id + '__round')}")
            parts.append(ident(it.id + "__round"))
        score_parts.append(f"({' + '.join(parts)})::{AMOUNT} AS {ident(it.id + '__score')}")
    base_sql = " + ".join(ident(it.id + "__start") for sec, it in items if _scored(rs, sec))
    if isinstance(rs.model, m.BaseBonusDeduction) and not any(_scored(rs, sec) for sec, _ in items):
        base_sql = literal(rs.model.base)
    tie_cols = [f"{expr} AS {ident(name)}" for name, expr in _tie_break_columns(rs)]

    def pool(name: str) -> str:
        cols = [ident(it.id + "__score") for sec, it in items
                if (sec.pool == name and not isinstance(rs.model, m.Scorecard))
                or (name == "score" and isinstance(rs.model, m.Scorecard))]
        return f"({' + '.join(cols) or ZERO})::{AMOUNT}"

    manual_cols = ", ".join(f"max(CASE WHEN item_id = {string(it.id)} THEN value END)::{AMOUNT} AS {ident(it.id)}"
                            for it in manual) or "NULL AS no_manual_items"
    import_cols = ", ".join(f"max(CASE WHEN ruleset = {string(r)} THEN total END)::{AMOUNT} AS {ident(r)}"
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
        base = "score_pool" if any(sec.pool == "score" for sec in rs.sections) else literal(md.base)
        bonus_capped = f"least(bonus, {literal(md.bonus_cap)})" if md.bonus_cap is not None else "bonus"
        deduction_capped = "greatest(deduction, -bonus_capped)" if md.deduction_not_exceed_bonus else "deduction"
        floor = f"greatest(subtotal, {literal(md.total_floor)})" if md.total_floor is not None else "subtotal"
        cap = f"least(floored, {literal(md.total_cap)})" if md.total_cap is not None else "floored"
        # 扣完为止 on the base part: the base less its deductions floors before the bonuses are added.
        net = f"({base} + deduction_capped)"
        based = f"greatest({net}, {literal(md.base_floor)})" if md.base_floor is not None else net
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
        n, d = fraction(metric)
        out += [(tie_break_column(metric, "n"), n), (tie_break_column(metric, "d"), d)]
    return out


def _volume(rs: m.Ruleset) -> str:
    """The count the minimum-volume rule reads (0 when the ruleset has none)."""
    mv = rs.ranking.min_volume if rs.ranking else None
    return fraction(mv.metric)[0] if mv else "0::HUGEINT"


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
    kept = ", ".join(string(f) for f in rollup_flags(rollup.period))
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
    tie_sums = "".join(f", sum({ident(name)})::HUGEINT AS {ident(name)}" for name, _ in _tie_break_columns(rs))
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
        for metric in kinds.of(it).inputs(it).metrics:
            add(metric)
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
