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

from dashboard.core.contract import EVENT_LEVELS, EVENT_TYPES, catalog_flags
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
        raise RuleValueError(f"unknown metric {v!r}", f"未知指标 {v!r}")
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


MetricId = Annotated[str, AfterValidator(_metric)]
RateValue = Annotated[Decimal, AfterValidator(_fraction)]


class RuleBase(Strict):
    """What every rule item has: where it comes from and how far it may go."""

    id: Annotated[str, Field(pattern=IDENT.pattern)]
    name: Text
    source: str | None = None
    note: str | None = None
    max: Decimal | None = None
    floor: Decimal = Decimal(0)
    start: Literal["full", "zero"] | None = None


class DurationTier(Strict):
    """Points for an event lasting at least `min_minutes` (the longest tier reached applies)."""

    min_minutes: int
    points: Decimal


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


class PerEvent(RuleBase):
    """Points per recorded event (巡查/通知单/表扬…): count × points, by level, severity or duration, capped per line."""

    kind: Literal["per_event"]
    event_type: EventType
    points: Decimal | None = None
    points_by_level: dict[str, Decimal] | None = None
    points_by_severity: dict[int, Decimal] | None = None
    duration_tiers: list[DurationTier] | None = None
    count_mode: Literal["count", "distinct_case", "precedence"] = "count"
    max_total: Decimal | None = None
    flags: list[FlagCode] = []

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
    step: RateValue
    points_per_step: Decimal
    direction: Literal["below", "above"] = "below"


class Band(Strict):
    """One band of a `step` rule: points when the value is within [min, max]."""

    min: Decimal | None = None
    max: Decimal | None = None
    points: Decimal


class Step(RuleBase):
    """Points by band of a metric's value."""

    kind: Literal["step"]
    metric: MetricId
    bands: list[Band]



class RankPoints(RuleBase):
    """Points by rank within the group: start for the first, less by decrement for each place, never below min."""

    kind: Literal["rank_points"]
    metric: MetricId
    order: Literal["desc", "asc"] = "desc"
    start: Decimal
    decrement: Decimal
    min_points: Decimal = Decimal(0)



class Condition(RuleBase):
    """Points when a metric compares to a value."""

    kind: Literal["condition"]
    metric: MetricId
    op: Literal[">=", ">", "<=", "<", "=="]
    value: Decimal
    points: Decimal



class Comparison(Strict):
    """One comparison inside `all_of`."""

    metric: MetricId
    op: Literal[">=", ">", "<=", "<", "=="]
    value: Decimal



class AllOf(RuleBase):
    """Points when every comparison holds."""

    kind: Literal["all_of"]
    tests: list[Comparison]
    points: Decimal


class Manual(RuleBase):
    """An assessor's value within bounds, recorded in manual_scores with a reason."""

    kind: Literal["manual"]
    min_value: Decimal
    max_value: Decimal


class Proportional(RuleBase):
    """Points in proportion to a rate: full points × value."""

    kind: Literal["proportional"]
    metric: MetricId
    points: Decimal



class PeerCompare(RuleBase):
    """Points against the group average, compared exactly as x·n ≥ Σx."""

    kind: Literal["peer_compare"]
    metric: MetricId
    points_at_or_above: Decimal
    points_below: Decimal



class ImportScore(RuleBase):
    """A score taken from another assessment (a ruleset's total), scaled."""

    kind: Literal["import_score"]
    ruleset: str
    scale: Decimal = Decimal(1)


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
    min: Decimal | None = None
    min_inclusive: bool = True
    max: Decimal | None = None
    max_inclusive: bool = True


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
    max: Decimal


class BaseBonusDeduction(Strict):
    """A base score, bonuses up to a cap, deductions (optionally not exceeding the bonuses), floor and cap."""

    kind: Literal["base_bonus_deduction"]
    base: Decimal
    bonus_cap: Decimal | None = None
    deduction_not_exceed_bonus: bool = False
    total_floor: Decimal | None = Decimal(0)
    total_cap: Decimal | None = None


class CaseEvent(Strict):
    """An event given to a case: its type and, when the rule needs them, level, severity, duration and count."""

    event_type: EventType
    level: str | None = None
    severity: int | None = None
    duration_min: int | None = None
    count: int = 1


class CaseInputs(Strict):
    """What one subject brings to a period: events, metric numerators/denominators, assessors' values."""

    events: list[CaseEvent] = []
    metrics: dict[str, Decimal] = {}
    manual: dict[str, Decimal] = {}


class CaseExpect(Strict):
    """The result worked out by hand from the document: total, grade, the points of each line, flags."""

    total: Decimal
    grade: str | None = None
    lines: dict[str, Decimal] = {}
    flags: list[str] = []


class Case(Strict):
    """An example that travels with the ruleset: inputs and the expected result, with the working in a note."""

    name: str
    inputs: CaseInputs
    expect: CaseExpect
    note: str | None = None


class Ruleset(Strict):
    """One version of one assessment scheme."""

    id: Annotated[str, Field(pattern=IDENT.pattern)]
    name: Text
    source: str
    subject: Literal["unit", "window", "staff"]
    period: Literal["month", "quarter", "year"]
    effective: Effective
    model: Annotated[Scorecard | BaseBonusDeduction, Field(discriminator="kind")]
    sections: list[Section]
    grades: list[Grade] = []
    assumptions: list[Text] = []
    cases: list[Case] = []

    @model_validator(mode="after")
    def _whole(self) -> Ruleset:
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
