"""`per_event`: points per recorded event (巡查/通知单/表扬…) or per unit of a count metric, capped per line."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from dashboard.core.contract import EVENT_LEVELS, catalog_flags
from dashboard.core.metrics import metrics
from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import AMOUNT, ZERO, bounded, fraction, ident, literal, string
from dashboard.core.rules.vocabulary import (
    Amount,
    CountMetricId,
    EventType,
    FlagCode,
    RuleBase,
    RuleValueError,
    Strict,
)
from dashboard.core.rules.wording import CLAUSE, COMMA, LIST, amount, joined, say, signed


class DurationTier(Strict):
    """Points for an event lasting at least `min_minutes` (the longest tier reached applies)."""

    min_minutes: int
    points: Amount


class PerEvent(RuleBase):
    """Points per recorded event (巡查/通知单/表扬…): count × points, by level, severity or duration, capped per line."""

    kind: Literal["per_event"]
    event_type: EventType | None = None
    metric: CountMetricId | None = None
    points: Amount | None = None
    points_by_level: dict[str, Amount] | None = None
    points_by_severity: dict[int, Amount] | None = None
    duration_tiers: list[DurationTier] | None = None
    count_mode: Literal["count", "once", "any"] = "count"
    levels: list[str] | None = None
    severities: list[int] | None = None  # only events of these severities count (情节严重 → 3)
    min_minutes: Annotated[int, Field(ge=0)] | None = None  # only events lasting this long count (旷工: ≥ 240)
    max_total: Amount | None = None
    flags: list[FlagCode] = []
    flags_from_count: Annotated[int, Field(ge=1)] = 1  # flags are raised from this many occurrences on
    # What one unit of a count metric is (办件, 事项, a sampled case), and the most the document lets it count.
    counts: Literal["events", "cases", "items", "sample"] | None = None
    max_count: Annotated[int, Field(ge=1)] | None = None

    @field_validator("levels")
    @classmethod
    def _known_filter_levels(cls, v: list[str] | None) -> list[str] | None:
        for level in v or []:
            if level not in EVENT_LEVELS:
                raise RuleValueError("rules.error.unknown_level", level=level, levels=tuple(EVENT_LEVELS))
        return v

    @field_validator("points_by_level")
    @classmethod
    def _known_levels(cls, v: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        for level in v or {}:
            if level not in EVENT_LEVELS:
                raise RuleValueError("rules.error.unknown_level", level=level, levels=tuple(EVENT_LEVELS))
        return v

    @model_validator(mode="after")
    def _one_way_to_score(self) -> PerEvent:
        if (self.event_type is None) == (self.metric is None):
            raise RuleValueError("rules.error.per_event.events_or_metric")
        if self.metric is not None and self.points is None and self.flags == []:
            raise RuleValueError("rules.error.per_event.metric_plain_points")
        if self.metric is not None and self.counts is None:
            raise RuleValueError("rules.error.per_event.counts_needed")
        if self.counts == "sample" and self.max_count is None:
            raise RuleValueError("rules.error.per_event.sample_max_count")
        if self.metric is not None and (self.levels or self.severities or self.min_minutes is not None):
            raise RuleValueError("rules.error.per_event.filters_on_metric")
        if self.metric is None and (self.counts is not None or self.max_count is not None):
            raise RuleValueError("rules.error.per_event.counts_on_events")
        ways = [w for w in ("points", "points_by_level", "points_by_severity", "duration_tiers")
                if getattr(self, w) is not None]
        if len(ways) > 1 or (not ways and not self.flags):
            raise RuleValueError("rules.error.per_event.one_way_to_score")
        return self


def _event_points(rule: PerEvent) -> str:
    """SQL for the points one recorded event earns under a per_event rule (before × count)."""
    if rule.points is not None:
        return literal(rule.points)
    if rule.points_by_level is not None:
        whens = " ".join(f"WHEN {string(k)} THEN {literal(v)}" for k, v in rule.points_by_level.items())
        return f"CASE e.level {whens} ELSE {ZERO} END"
    if rule.points_by_severity is not None:
        whens = " ".join(f"WHEN {k} THEN {literal(v)}" for k, v in rule.points_by_severity.items())
        return f"CASE e.severity {whens} ELSE {ZERO} END"
    if rule.duration_tiers is not None:
        # The longest tier the duration reaches applies; shorter than every tier earns nothing.
        # An event recorded without its duration is at least the least serious form: the lowest tier.
        tiers = sorted(rule.duration_tiers, key=lambda t: t.min_minutes, reverse=True)
        whens = " ".join(f"WHEN e.duration_min >= {t.min_minutes} THEN {literal(t.points)}" for t in tiers)
        return f"CASE WHEN e.duration_min IS NULL THEN {literal(tiers[-1].points)} {whens} ELSE {ZERO} END"
    return ZERO  # a rule that only raises flags


def event_columns(rule: PerEvent) -> list[str]:
    """Aggregates over one subject's events: the line's raw points and how many events matched."""
    if rule.event_type is None:
        return []
    match = f"e.event_type = {string(rule.event_type)}"
    if rule.levels:
        match += f" AND e.level IN ({', '.join(string(x) for x in rule.levels)})"
    if rule.severities:
        match += f" AND e.severity IN ({', '.join(str(int(x)) for x in rule.severities)})"
    if rule.min_minutes is not None:
        match += f" AND e.duration_min >= {int(rule.min_minutes)}"
    times = {"count": "coalesce(e.count, 1)", "once": "1", "any": "1"}[rule.count_mode]
    points = f"sum(CASE WHEN {match} THEN ({_event_points(rule)}) * {times} END)"
    if rule.count_mode == "any":
        points = f"max(CASE WHEN {match} THEN ({_event_points(rule)}) END)"
    return [f"coalesce({points}, {ZERO}) AS {ident(rule.id)}",
            f"coalesce(sum(CASE WHEN {match} THEN coalesce(e.count, 1) END), 0) AS {ident(rule.id + '__hits')}"]


def _counted(rule: PerEvent) -> str:
    """The count a per_event rule over a metric multiplies: the metric, at most `max_count` (a sample's size)."""
    n, _ = fraction(rule.metric)  # type: ignore[arg-type]
    return n if rule.max_count is None else f"least({n}, {rule.max_count})"


def line(rule: PerEvent) -> str:
    if rule.metric is not None:
        return bounded(f"({_counted(rule)})::{AMOUNT} * {literal(rule.points or Decimal(0))}", rule.max_total)
    return bounded(f"coalesce(ev.{ident(rule.id)}, {ZERO})", rule.max_total)


def flags(rule: PerEvent, applies: str | None) -> list[str]:
    """Each flag raised from `flags_from_count` matching events (or units of the count metric) on."""
    hits = f"coalesce(ev.{ident(rule.id + '__hits')}, 0)" if rule.event_type else fraction(rule.metric)[0]  # type: ignore[arg-type]
    where = f" AND {applies}" if applies else ""
    return [f"CASE WHEN {hits} >= {rule.flags_from_count}{where} THEN {string(f)} END" for f in rule.flags]


def can_only_lose(rule: PerEvent) -> bool:
    amounts = [rule.points] if rule.points is not None else list((rule.points_by_level or {}).values()) + \
        list((rule.points_by_severity or {}).values()) + [t.points for t in rule.duration_tiers or []]
    return bool(amounts) and all(a is not None and a <= 0 for a in amounts)


TEXT = {
    "per_counted": {"zh": "按{counted}每{unit} {points} 分", "en": "{points} per {unit} of {counted}"},
    "at_most_counted": {"zh": "，最多计 {max_count} {unit}", "en": ", counting at most {max_count}"},
    "unit_cases": {"zh": "件", "en": "case"},
    "unit_items": {"zh": "项（事项）", "en": "item"},
    "unit_sample": {"zh": "件（抽查件）", "en": "sampled case"},
    "unit_events": {"zh": "次", "en": "occurrence"},
    "per_occurrence": {"zh": "每次 {points} 分", "en": "{points} per occurrence"},
    "by_level": {"zh": "按级别每次 {parts}", "en": "per occurrence by level: {parts}"},
    "level": {"zh": "{level} {points}", "en": "{level} {points}"},
    "by_severity": {"zh": "按严重程度每次 {parts}", "en": "per occurrence by severity: {parts}"},
    "severity": {"zh": "{severity} 级 {points}", "en": "severity {severity}: {points}"},
    "by_duration": {"zh": "按持续时长每次（取达到的最高一档）{parts}；未记录时长的按最低一档计",
                    "en": "per occurrence by duration (the highest tier reached): {parts}; an event recorded without "
                          "its duration counts as the lowest tier"},
    "duration": {"zh": "持续 {minutes} 分钟及以上 {points}", "en": "{minutes} minutes or more: {points}"},
    "no_points": {"zh": "不计分", "en": "no points"},
    "only_levels": {"zh": "仅计{levels}", "en": "only at level {levels}"},
    "only_severities": {"zh": "仅计严重程度 {severities} 级", "en": "only at severity {severities}"},
    "only_lasting": {"zh": "仅计持续 {minutes} 分钟及以上", "en": "only events lasting {minutes} minutes or more"},
    "count_once": {"zh": "每条记录计一次（不按次数累计）", "en": "each record once, whatever its count"},
    "count_any": {"zh": "有则计一次，不累计", "en": "once if any, not cumulative"},
    "max_total": {"zh": "本项合计不超过 {amount} 分", "en": "at most {amount} in all"},
    "max": {"zh": "本项最多 {amount} 分", "en": "at most {amount} for the item"},
    "flag": {"zh": "{flag}", "en": "{flag}"},
    "flag_from": {"zh": "累计 {count} 次及以上：{flag}", "en": "from {count} occurrences: {flag}"},
}


def _how(r: PerEvent, lang: str) -> str:
    """What one event (or one unit of the count) is worth."""
    if r.points is not None and r.metric is not None:
        unit = say(TEXT[f"unit_{r.counts}"], lang)
        how = say(TEXT["per_counted"], lang, counted=metrics()[r.metric].name(lang), unit=unit, points=signed(r.points))
        if r.max_count is not None:
            how += say(TEXT["at_most_counted"], lang, max_count=r.max_count, unit=unit.split("（")[0])
        return how
    if r.points is not None:
        return say(TEXT["per_occurrence"], lang, points=signed(r.points))
    if r.points_by_level is not None:
        levels = sorted(r.points_by_level.items(), key=lambda kv: EVENT_LEVELS.index(kv[0]))
        parts = [say(TEXT["level"], lang, level=lvl, points=signed(p)) for lvl, p in levels]
        return say(TEXT["by_level"], lang, parts=joined(parts, COMMA, lang))
    if r.points_by_severity is not None:
        parts = [say(TEXT["severity"], lang, severity=k, points=signed(p)) for k, p in sorted(r.points_by_severity.items())]
        return say(TEXT["by_severity"], lang, parts=joined(parts, COMMA, lang))
    if r.duration_tiers is not None:
        tiers = sorted(r.duration_tiers, key=lambda t: t.min_minutes)
        parts = [say(TEXT["duration"], lang, minutes=t.min_minutes, points=signed(t.points)) for t in tiers]
        return say(TEXT["by_duration"], lang, parts=joined(parts, COMMA, lang))
    return say(TEXT["no_points"], lang)


def sentence(r: PerEvent, lang: str) -> str:
    extra = []
    if r.levels:
        extra.append(say(TEXT["only_levels"], lang, levels=joined(r.levels, LIST, lang)))
    if r.severities:
        extra.append(say(TEXT["only_severities"], lang, severities=joined((str(x) for x in r.severities), LIST, lang)))
    if r.min_minutes is not None:
        extra.append(say(TEXT["only_lasting"], lang, minutes=r.min_minutes))
    if r.count_mode != "count":
        extra.append(say(TEXT[f"count_{r.count_mode}"], lang))
    if r.max_total is not None:
        extra.append(say(TEXT["max_total"], lang, amount=amount(r.max_total, lang)))
    if r.max is not None:
        extra.append(say(TEXT["max"], lang, amount=amount(r.max, lang)))
    for f in r.flags:
        flag = catalog_flags()[f]["zh"] if lang == "zh" else catalog_flags()[f]["en"].lower()
        extra.append(say(TEXT["flag_from"], lang, count=r.flags_from_count, flag=flag) if r.flags_from_count > 1
                     else say(TEXT["flag"], lang, flag=flag))
    return _how(r, lang) + "".join(CLAUSE[lang] + e for e in extra)


def inputs(rule: PerEvent) -> Inputs:
    return Inputs(metrics=(rule.metric,) if rule.metric else (), events=(rule.event_type,) if rule.event_type else ())


KIND = register(RuleKind(model=PerEvent, sql=line, text=TEXT, sentence=sentence, inputs=inputs,
                         can_only_lose=can_only_lose, says_max=True, event_columns=event_columns, flags=flags))
