"""The ruleset file (考核细则) as a closed vocabulary: pydantic models that refuse anything they do not know."""

from __future__ import annotations

import difflib
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dashboard.core.contract import EVENT_LEVELS, EVENT_TYPES, UNIT_KINDS, catalog_flags
from dashboard.core.metrics import PERIOD, metrics

IDENT = re.compile(r"[a-z][a-z0-9_]*")


class RuleValueError(ValueError):
    """A rule value that is wrong, with the message in both languages."""

    def __init__(self, en: str, zh: str):
        super().__init__(en)
        self.en, self.zh = en, zh


class Strict(BaseModel):
    """Every model refuses keys it does not define (a typo is an error, not a silently ignored key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A name or sentence in both languages."""

    zh: str
    en: str


def _metric(v: str) -> str:
    if v not in metrics():
        near = difflib.get_close_matches(v, list(metrics()), n=1)
        raise RuleValueError(f"unknown metric {v!r}" + (f" (did you mean {near[0]!r}?)" if near else ""),
                             f"未知指标 {v!r}" + (f"（是否应为 {near[0]!r}？）" if near else ""))
    return v


# Points are held as DECIMAL(18, 4): a value with more places, or too large, would be rounded or overflow silently.
AMOUNT_PLACES = 4
AMOUNT_LIMIT = Decimal(10) ** 13


def _amount(v: Decimal) -> Decimal:
    """A number of points the engine holds exactly, or an error (never a silently rounded parameter)."""
    if not v.is_finite():
        raise RuleValueError(f"{v} is not a number of points", f"{v} 不是有效分值")
    if abs(v) >= AMOUNT_LIMIT or v != v.quantize(Decimal(1).scaleb(-AMOUNT_PLACES)):
        raise RuleValueError(
            f"{v} cannot be held exactly: points have at most {AMOUNT_PLACES} decimal places and stay below "
            f"{AMOUNT_LIMIT:,}", f"{v} 无法精确保存：分值最多 {AMOUNT_PLACES} 位小数，且小于 {AMOUNT_LIMIT:,}")
    return v


def _positive_fraction(v: Decimal, info: ValidationInfo) -> Decimal:
    """A step of a rate: a fraction above zero (a zero step would divide by zero)."""
    v = _fraction(v, info)
    if v <= 0:
        raise RuleValueError(f"{info.field_name} must be above 0", f"{info.field_name} 必须大于 0")
    return v


def _fraction(v: Decimal, info: ValidationInfo) -> Decimal:
    """Rates are fractions: 98% is 0.98. A value above 1 is almost always a percentage typed as such."""
    field = info.field_name
    if v > 1:
        raise RuleValueError(f"{field} {v} is more than 1: rates are fractions here, so write {v / 100} for {v}%",
                             f"{field} {v} 大于 1：比率以小数表示，{v}% 应写为 {v / 100}")
    if v < 0:
        raise RuleValueError(f"{field} must not be negative", f"{field} 不能为负数")
    return v


def _count_metric(v: str) -> str:
    _metric(v)
    if metrics()[v].kind != "count":
        raise RuleValueError(f"metric {v!r} is a {metrics()[v].kind}, not a count", f"指标 {v!r} 不是计数指标")
    return v


MetricId = Annotated[str, AfterValidator(_metric)]
CountMetricId = Annotated[str, AfterValidator(_count_metric)]
RateValue = Annotated[Decimal, AfterValidator(_fraction)]
StepValue = Annotated[Decimal, AfterValidator(_positive_fraction)]
Amount = Annotated[Decimal, AfterValidator(_amount)]
UnitKind = Literal[UNIT_KINDS]  # type: ignore[valid-type]


def _flag(v: str) -> str:
    if v not in catalog_flags():
        raise RuleValueError(f"unknown flag {v!r} (flags: {', '.join(catalog_flags())})",
                             f"未知标记 {v!r}（可用：{'、'.join(catalog_flags())}）")
    return v


FlagCode = Annotated[str, AfterValidator(_flag)]


def _event_type(v: str) -> str:
    if v not in EVENT_TYPES:
        near = difflib.get_close_matches(v, EVENT_TYPES, n=1)
        raise RuleValueError(f"unknown event type {v!r}" + (f" (did you mean {near[0]!r}?)" if near else ""),
                             f"未知事件类型 {v!r}" + (f"（是否应为 {near[0]!r}？）" if near else ""))
    return v


EventType = Annotated[str, AfterValidator(_event_type)]


class VetoTier(Strict):
    """From `min_count` occurrences on, the item is worth nothing (zero) or half (half), and flags are raised."""

    min_count: Annotated[int, Field(ge=1)]
    outcome: Literal["zero", "half", "none"]
    flags: list[FlagCode] = []
    # What this tier counts, when it differs from the veto's (剑阁: one complaint halves, overdue cases only add up
    # toward the second tier).
    event_types: list[EventType] | None = None
    metrics: list[CountMetricId] | None = None


class Veto(Strict):
    """一票否决 on an item: occurrences counted over event types and count metrics; the highest tier reached applies."""

    event_types: list[EventType] = []
    metrics: list[CountMetricId] = []
    tiers: list[VetoTier]

    @model_validator(mode="after")
    def _something_counted(self) -> Veto:
        for t in self.tiers:
            if not (self.event_types if t.event_types is None else t.event_types) and \
                    not (self.metrics if t.metrics is None else t.metrics):
                raise RuleValueError("a veto tier counts event_types or metrics: give at least one",
                                     "否决的每一档须统计至少一种事件类型（event_types）或计数指标（metrics）")
        return self

    def counted(self, tier: VetoTier) -> tuple[list[str], list[str]]:
        """(event types, count metrics) that a tier counts."""
        return (self.event_types if tier.event_types is None else tier.event_types,
                self.metrics if tier.metrics is None else tier.metrics)


class RuleBase(Strict):
    """What every rule item has: where it comes from and how far it may go."""

    id: Annotated[str, Field(pattern=IDENT.pattern)]
    name: Text
    source: str | None = None
    note: str | None = None
    max: Amount | None = None
    floor: Amount = Decimal(0)
    start: Literal["full", "zero"] | None = None
    veto: Veto | None = None
    round: Annotated[int, Field(ge=0, le=AMOUNT_PLACES)] | None = None  # the item's score rounded half-up to places
    unit_kinds: list[UnitKind] = []  # the item applies only to units of these kinds (乡镇 only, …)

    @model_validator(mode="after")
    def _range(self) -> RuleBase:
        if self.max is not None and self.floor > self.max:
            raise RuleValueError(f"floor {self.floor} is above max {self.max}", f"下限 floor {self.floor} 高于满分 max {self.max}")
        return self


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
                raise RuleValueError(f"unknown level {level!r} (levels: {', '.join(EVENT_LEVELS)})",
                                     f"未知级别 {level!r}（可用：{'、'.join(EVENT_LEVELS)}）")
        return v

    @field_validator("points_by_level")
    @classmethod
    def _known_levels(cls, v: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        for level in v or {}:
            if level not in EVENT_LEVELS:
                raise RuleValueError(f"unknown level {level!r} (levels: {', '.join(EVENT_LEVELS)})",
                                     f"未知级别 {level!r}（可用：{'、'.join(EVENT_LEVELS)}）")
        return v

    @model_validator(mode="after")
    def _one_way_to_score(self) -> PerEvent:
        if (self.event_type is None) == (self.metric is None):
            raise RuleValueError("give exactly one of event_type (recorded events) or metric (a count indicator)",
                                 "event_type（事件）与 metric（计数指标）须且只须给出一个")
        if self.metric is not None and self.points is None and self.flags == []:
            raise RuleValueError("a per_event rule over a metric takes plain points",
                                 "按计数指标计分时只能使用 points")
        if self.metric is not None and self.counts is None:
            raise RuleValueError("a per_event rule over a count metric says what it counts: counts: cases, items, "
                                 "sample or events", "按计数指标计分须写明计数对象：counts: cases（办件）、items（事项）、"
                                 "sample（抽查件）或 events（事件）")
        if self.counts == "sample" and self.max_count is None:
            raise RuleValueError("counts: sample needs max_count, the size of the sample",
                                 "counts: sample 须给出 max_count（抽查件数）")
        if self.metric is not None and (self.levels or self.severities or self.min_minutes is not None):
            raise RuleValueError("levels, severities and min_minutes filter recorded events, not a count metric",
                                 "levels、severities、min_minutes 只用于筛选事件，不能用于计数指标")
        if self.metric is None and (self.counts is not None or self.max_count is not None):
            raise RuleValueError("counts and max_count apply to a count metric; recorded events are counted as they are",
                                 "counts 与 max_count 仅用于计数指标")
        ways = [w for w in ("points", "points_by_level", "points_by_severity", "duration_tiers")
                if getattr(self, w) is not None]
        if len(ways) > 1 or (not ways and not self.flags):
            raise RuleValueError(
                "give exactly one of points, points_by_level, points_by_severity, duration_tiers (or only flags)",
                "points、points_by_level、points_by_severity、duration_tiers 须且只须给出一个（或只设标记）")
        return self


class ThresholdSlope(RuleBase):
    """Points per whole step a rate falls short of (or exceeds) a target, counted in integers."""

    kind: Literal["threshold_slope"]
    metric: MetricId
    target: RateValue
    step: StepValue
    points_per_step: Amount
    direction: Literal["below", "above"] = "below"
    # continuous: points_per_step × (gap ÷ step) exactly, not whole steps only (93.27% against 95% in 1-point
    # percentage steps is −1.73); the rational is rounded half-up to the engine's 4 places.
    continuous: bool = False


def _check_value(metric: str, value: Decimal | None, field: str) -> None:
    """A value compared with a rate is a fraction (98% is 0.98); with a count or a mean, a plain number."""
    if value is not None and metrics()[metric].kind in ("rate", "ratio"):
        if value > 1:
            raise RuleValueError(
                f"{field} {value} is more than 1: rates are fractions here, so write {value / 100} for {value}%",
                f"{field} {value} 大于 1：比率以小数表示，{value}% 应写为 {value / 100}")
        if value < 0:
            raise RuleValueError(f"{field} must not be negative", f"{field} 不能为负数")


class Band(Strict):
    """One band of a `step` rule: points when the value is within it (min inclusive, max exclusive unless told)."""

    min: Decimal | None = None
    min_inclusive: bool = True
    max: Decimal | None = None
    max_inclusive: bool = False
    points: Amount


class Step(RuleBase):
    """Points by band of a metric's value; the first band that holds it applies, none gives no points."""

    kind: Literal["step"]
    metric: MetricId
    bands: list[Band]

    @model_validator(mode="after")
    def _values(self) -> Step:
        for band in self.bands:
            _check_value(self.metric, band.min, "min")
            _check_value(self.metric, band.max, "max")
        return self


class RankPoints(RuleBase):
    """Points by rank (ties share a rank): first_points for the first, less by decrement each place, never below min_points."""

    kind: Literal["rank_points"]
    metric: MetricId
    order: Literal["desc", "asc"] = "desc"
    within: Literal["all", "group"] = "all"
    first_points: Amount
    decrement: Amount
    min_points: Amount = Decimal(0)


Op = Literal[">=", ">", "<=", "<", "=="]


class Condition(RuleBase):
    """Points when a metric compares to a value (no data: no points)."""

    kind: Literal["condition"]
    metric: MetricId
    op: Op
    value: Decimal
    points: Amount

    @model_validator(mode="after")
    def _values(self) -> Condition:
        _check_value(self.metric, self.value, "value")
        return self


class Comparison(Strict):
    """One comparison inside `all_of`."""

    metric: MetricId
    op: Op
    value: Decimal

    @model_validator(mode="after")
    def _values(self) -> Comparison:
        _check_value(self.metric, self.value, "value")
        return self


class AllOf(RuleBase):
    """Points when every comparison holds (any without data: no points)."""

    kind: Literal["all_of"]
    tests: Annotated[list[Comparison], Field(min_length=1)]
    points: Amount


class Manual(RuleBase):
    """An assessor's value within [min_value, max_value], recorded in manual_scores with a reason."""

    kind: Literal["manual"]
    min_value: Amount
    max_value: Amount

    @model_validator(mode="after")
    def _bounds(self) -> Manual:
        if self.min_value > self.max_value:
            raise RuleValueError(f"min_value {self.min_value} is above max_value {self.max_value}",
                                 f"min_value {self.min_value} 大于 max_value {self.max_value}")
        return self


class Proportional(RuleBase):
    """Points in proportion to a rate: points × value (no data: no points)."""

    kind: Literal["proportional"]
    metric: MetricId
    points: Amount

    @model_validator(mode="after")
    def _rate(self) -> Proportional:
        if metrics()[self.metric].kind not in ("rate", "ratio"):
            raise RuleValueError(f"proportional needs a rate; {self.metric!r} is a {metrics()[self.metric].kind}",
                                 f"按比例计分须使用比率指标，{self.metric!r} 不是比率")
        return self


class PeerCompare(RuleBase):
    """Points against the group's average, compared exactly: a count as x·n ≥ Σx, a rate against the pooled rate."""

    kind: Literal["peer_compare"]
    metric: MetricId
    within: Literal["all", "group"] = "group"
    better: Literal["higher", "lower"] = "higher"
    points_at_or_better: Amount
    points_worse: Amount


class ImportScore(RuleBase):
    """A score taken from another assessment (that ruleset's total for the same subject and period) × scale."""

    kind: Literal["import_score"]
    ruleset: Annotated[str, Field(pattern=IDENT.pattern)]
    scale: Amount = Decimal(1)


Rule = Annotated[
    PerEvent | ThresholdSlope | Step | RankPoints | Condition | AllOf | Manual | Proportional | PeerCompare
    | ImportScore,
    Field(discriminator="kind"),
]
RULE_KINDS = ("per_event", "threshold_slope", "step", "rank_points", "condition", "all_of", "manual",
              "proportional", "peer_compare", "import_score")


class Section(Strict):
    """A group of items; in a scorecard its items' maxima sum to the section's maximum."""

    id: Annotated[str, Field(pattern=IDENT.pattern)]
    name: Text
    max: Decimal | None = None
    pool: Literal["score", "bonus", "deduction"] = "score"
    items: list[Rule]

    @model_validator(mode="after")
    def _items_sum_to_max(self) -> Section:
        if self.max is not None and self.pool == "score":
            total = sum((i.max or Decimal(0)) for i in self.items)
            if total != self.max:
                raise RuleValueError(
                    f"section {self.id}: its items' maxima sum to {total}, not the section's {self.max}",
                    f"分项 {self.id} 各项满分合计 {total}，与本项满分 {self.max} 不符")
        return self


class Grade(Strict):
    """A grade band with explicit edges: [min, max] with each edge inclusive or not."""

    name: Text
    min: Amount | None = None
    min_inclusive: bool = True
    max: Amount | None = None
    max_inclusive: bool = True
    flags: list[FlagCode] = []  # raised on those who land in the grade (不合格 → 取消当季评优)


class Effective(Strict):
    """The periods a version applies to."""

    from_period: str
    to_period: str | None = None

    @field_validator("from_period", "to_period")
    @classmethod
    def _period(cls, v: str | None) -> str | None:
        if v is not None and not PERIOD.fullmatch(v):
            raise RuleValueError(f"period {v!r}: write 2025-06, 2025-Q2 or 2025",
                                 f"考核期 {v!r} 格式应为 2025-06、2025-Q2 或 2025")
        return v


class Scorecard(Strict):
    """Sections that sum to a declared maximum."""

    kind: Literal["scorecard"]
    max: Amount


class BaseBonusDeduction(Strict):
    """A base score, bonuses up to a cap, deductions (optionally not exceeding the bonuses), floor and cap."""

    kind: Literal["base_bonus_deduction"]
    base: Amount
    bonus_cap: Amount | None = None
    deduction_not_exceed_bonus: bool = False
    # The base less its deductions stops here before any bonus is added (鞍山: 100 分扣完为止, then bonuses).
    base_floor: Amount | None = None
    total_floor: Amount | None = Decimal(0)
    total_cap: Amount | None = None


class CaseEvent(Strict):
    """An event given to a case: its type and, when the rule needs them, level, severity, duration and count."""

    event_type: EventType
    level: str | None = None
    severity: int | None = None
    duration_min: int | None = None
    count: int = 1


class CaseInputs(Strict):
    """What one subject brings to a period: group, events, metric columns, assessors' values, imported totals."""

    group: str | None = None
    kind: str | None = None
    events: list[CaseEvent] = []
    metrics: dict[str, Decimal] = {}
    manual: dict[str, Decimal] = {}
    imported: dict[str, Decimal] = {}


class CaseExpect(Strict):
    """The result worked out by hand from the document: total, grade, lines, flags, and the group stage's outcome."""

    total: Decimal
    grade: str | None = None
    lines: dict[str, Decimal] | None = None
    flags: list[str] | None = None
    rank: int | None = None
    tier: str | None = None
    award: str | None = None
    excellent: bool | None = None


class Case(Strict):
    """An example that travels with the ruleset, with the working in a note.

    One subject (`inputs` → `expect`), several ranked together (`subjects` → `expect_by_subject`), or several
    over the parts of a longer period (`parts`, a list of {subject: inputs}, with `rollup` naming the period).
    """

    name: str
    note: str | None = None
    inputs: CaseInputs | None = None
    expect: CaseExpect | None = None
    subjects: dict[str, CaseInputs] | None = None
    parts: list[dict[str, CaseInputs]] | None = None
    rollup: Literal["quarter", "year"] | None = None
    expect_by_subject: dict[str, CaseExpect] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Case:
        shapes = [x is not None for x in (self.inputs, self.subjects, self.parts)]
        if sum(shapes) != 1:
            raise RuleValueError("a case gives exactly one of inputs, subjects or parts",
                                 "案例须且只须给出 inputs、subjects、parts 之一")
        if (self.inputs is None) != (self.expect is None) or (self.inputs is None) == (self.expect_by_subject is None):
            raise RuleValueError("inputs go with expect; subjects and parts go with expect_by_subject",
                                 "inputs 对应 expect；subjects 与 parts 对应 expect_by_subject")
        if (self.parts is None) != (self.rollup is None):
            raise RuleValueError("parts go with rollup (the longer period they make up)",
                                 "parts 须与 rollup（汇总的考核期）同时给出")
        return self


class Tier(Strict):
    """A rank tier (等级): the ranks [first, last] that earn it."""

    name: Text
    ranks: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)]


class Downgrade(Strict):
    """Subjects with any of these flags drop `steps` tiers; below the lowest they get the below-lowest outcome."""

    flags: Annotated[list[FlagCode], Field(min_length=1)]
    steps: Annotated[int, Field(ge=1)] = 1


class MinVolume(Strict):
    """Subjects with fewer than `min` of a count metric are listed but not ranked."""

    metric: CountMetricId
    min: Annotated[int, Field(ge=1)]


class Award(Strict):
    """A title for the ranks [first, last] (红旗窗口 for 1, 优秀窗口 for 2–3), or for the next `places` places after
    the awards before it; flagged subjects are passed over."""

    name: Text
    ranks: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)] | None = None
    places: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Award:
        if (self.ranks is None) == (self.places is None):
            raise RuleValueError("give an award exactly one of ranks [first, last] or places (how many it holds)",
                                 "称号须且只须给出 ranks（名次范围）或 places（名额）之一")
        return self


class TieBreak(Strict):
    """A secondary measure that orders equal totals (higher first with desc)."""

    metric: MetricId
    order: Literal["desc", "asc"] = "desc"


class Ranking(Strict):
    """Ranks by total, ties sharing a rank (1, 2, 2, 4), within the whole period or within each group (圈层)."""

    within: Literal["all", "group"] = "all"
    min_volume: MinVolume | None = None
    tiers: list[Tier] = []
    downgrade: Downgrade | None = None
    below_lowest: Text | None = None
    awards: list[Award] = []
    award_ineligible_flags: list[FlagCode] = []
    tie_break: list[TieBreak] = []
    # A tie still standing across an award's last place: all share it (include, the award may be given more
    # often than it has places) or none of the tied group gets it (exclude, never more than its places).
    award_ties: Literal["include", "exclude"] | None = None

    def award_ranks(self) -> list[tuple[int, int]]:
        """Each award's [first, last] place, `places` counted on from the award before."""
        out, last = [], 0
        for a in self.awards:
            first, end = (a.ranks[0], a.ranks[1]) if a.ranks is not None else (last + 1, last + (a.places or 0))
            out.append((first, end))
            last = end
        return out

    @model_validator(mode="after")
    def _tiers_in_order(self) -> Ranking:
        last = 0
        for t in self.tiers:
            if t.ranks[0] != last + 1 or t.ranks[1] < t.ranks[0]:
                raise RuleValueError(f"tier {t.name.en} covers ranks {t.ranks}; tiers must follow on from rank {last + 1}",
                                     f"等级 {t.name.zh} 的名次 {t.ranks} 须从第 {last + 1} 名接续")
            last = t.ranks[1]
        if self.downgrade and not self.tiers:
            raise RuleValueError("a downgrade needs tiers", "降级须先定义等级（tiers）")
        if any(a.places is not None for a in self.awards) and self.award_ties is None:
            raise RuleValueError("awards given by places say what a tie at the last place does: award_ties: include "
                                 "or exclude", "按名额授予的称号须写明末位并列如何处理：award_ties: include 或 exclude")
        return self


class Excellence(Strict):
    """评优: at most quota × group size excellent, from subjects in `grades` without an ineligibility flag."""

    name: Text
    quota: RateValue
    within: Literal["all", "group"] = "group"
    grades: list[str] = []
    ineligible_flags: list[FlagCode] = []
    ties_at_cutoff: Literal["include", "exclude"]
    demote_to: str | None = None  # the grade for those in `grades` who are not excellent (over the quota, barred)


class Rollup(Strict):
    """How a longer period is scored from the ruleset's own periods: sum or mean of totals, then its own stage."""

    period: Literal["quarter", "year"]
    combine: Literal["sum", "mean"]
    # scale: a subject scored in fewer parts than the period has gets its mean × the parts in the period, so a
    # partial quarter is comparable with a full one (霍州 staff); sum leaves it as the sum of what was scored.
    partial: Literal["sum", "scale"] = "sum"
    grades: list[Grade] = []
    ranking: Ranking | None = None
    excellence: Excellence | None = None

    @field_validator("grades")
    @classmethod
    def _contiguous(cls, grades: list[Grade]) -> list[Grade]:
        _check_bands(grades)
        return grades


class Ruleset(Strict):
    """One version of one assessment scheme."""

    id: Annotated[str, Field(pattern=IDENT.pattern)]
    name: Text
    source: str
    subject: Literal["unit", "window", "staff"]
    unit_kinds: list[Literal[UNIT_KINDS]] = []  # type: ignore[valid-type]
    period: Literal["month", "quarter", "year"]
    effective: Effective
    model: Annotated[Scorecard | BaseBonusDeduction, Field(discriminator="kind")]
    sections: list[Section]
    grades: list[Grade] = []
    ranking: Ranking | None = None
    excellence: Excellence | None = None
    rollups: list[Rollup] = []
    assumptions: list[Text] = []
    cases: list[Case] = []

    @model_validator(mode="after")
    def _whole(self) -> Ruleset:
        ids = [it.id for sec in self.sections for it in sec.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise RuleValueError(f"item ids must be unique; repeated: {', '.join(dupes)}",
                                 f"考核项编号不能重复：{'、'.join(dupes)}")
        order = ["month", "quarter", "year"]
        for r in self.rollups:
            if order.index(r.period) <= order.index(self.period):
                raise RuleValueError(f"a {self.period} ruleset cannot roll up to {r.period}",
                                     f"{self.period} 考核不能汇总为 {r.period}")
        names = {g.name.zh for g in self.grades} | {g.name.zh for r in self.rollups for g in r.grades}
        for ex in [self.excellence, *(r.excellence for r in self.rollups)]:
            if ex is not None and ex.demote_to is not None and not ex.grades:
                raise RuleValueError("demote_to needs the excellence grades it demotes from",
                                     "demote_to 须与评优等次（grades）同时给出")
            for g in (ex.grades if ex else []) + ([ex.demote_to] if ex and ex.demote_to else []):
                if g not in names:
                    raise RuleValueError(f"excellence grade {g!r} is not one of the grades", f"评优等次 {g!r} 不在等次中")
        if isinstance(self.model, BaseBonusDeduction):
            scored = [s for s in self.sections if s.pool == "score"]
            if scored and sum((s.max or Decimal(0)) for s in scored) != self.model.base:
                raise RuleValueError(
                    f"the scored sections' maxima sum to {sum((s.max or Decimal(0)) for s in scored)}, "
                    f"not the base {self.model.base}",
                    f"基本分各分项满分合计与基础分 {self.model.base} 不符")
        if isinstance(self.model, Scorecard):
            total = sum((s.max or Decimal(0)) for s in self.sections)
            if total != self.model.max:
                raise RuleValueError(f"the sections' maxima sum to {total}, not the scorecard's {self.model.max}",
                                     f"各分项满分合计 {total}，与总分 {self.model.max} 不符")
        return self

    @field_validator("grades")
    @classmethod
    def _contiguous(cls, grades: list[Grade]) -> list[Grade]:
        _check_bands(grades)
        return grades


def _edge(value: Decimal | None, inclusive: bool) -> str:
    return "∞" if value is None else f"{value}{'' if inclusive else ' (exclusive)'}"


def _check_bands(grades: list[Grade]) -> None:
    """Bands ordered from the top, each starting exactly where the next one ends, one side inclusive."""
    for upper, lower in zip(grades, grades[1:], strict=False):
        if upper.min is None or lower.max != upper.min:
            raise RuleValueError(
                f"grade bands {upper.name.en} and {lower.name.en} do not meet: {upper.name.en} starts at "
                f"{_edge(upper.min, upper.min_inclusive)}, {lower.name.en} ends at {_edge(lower.max, lower.max_inclusive)}",
                f"等次 {upper.name.zh} 与 {lower.name.zh} 的分数段不衔接")
        if upper.min_inclusive == lower.max_inclusive:
            both = "both include" if upper.min_inclusive else "neither includes"
            raise RuleValueError(
                f"grade bands {upper.name.en} and {lower.name.en} {both} {upper.min}: exactly one must",
                f"等次 {upper.name.zh} 与 {lower.name.zh} 在 {upper.min} 处须且只须有一方包含该分数")
