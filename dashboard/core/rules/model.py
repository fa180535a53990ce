"""The ruleset file (考核细则) as a closed vocabulary: pydantic models that refuse anything they do not know.

The items' kinds are registered in `dashboard.core.rules.kinds`, one module each; the item union is derived
from that registry. Their models and the shared vocabulary are re-exported here, so a ruleset reads as `m.…`.
"""

from __future__ import annotations

import functools
import operator
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, field_validator, model_validator

from dashboard.core.contract import UNIT_KINDS
from dashboard.core.period import SPELLING as PERIOD
from dashboard.core.rules import kinds
from dashboard.core.rules.kinds.all_of import AllOf, Comparison  # noqa: F401  (re-exported)
from dashboard.core.rules.kinds.condition import Condition  # noqa: F401
from dashboard.core.rules.kinds.import_score import ImportScore  # noqa: F401
from dashboard.core.rules.kinds.manual import Manual  # noqa: F401
from dashboard.core.rules.kinds.peer_compare import PeerCompare  # noqa: F401
from dashboard.core.rules.kinds.per_event import DurationTier, PerEvent  # noqa: F401
from dashboard.core.rules.kinds.proportional import Proportional  # noqa: F401
from dashboard.core.rules.kinds.rank_points import RankPoints  # noqa: F401
from dashboard.core.rules.kinds.step import Band, Step  # noqa: F401
from dashboard.core.rules.kinds.threshold_slope import ThresholdSlope  # noqa: F401
from dashboard.core.rules.vocabulary import (  # noqa: F401  (re-exported: the vocabulary is read as `m.…`)
    AMOUNT_LIMIT,
    AMOUNT_PLACES,
    IDENT,
    Amount,
    CountMetricId,
    EventType,
    FlagCode,
    MetricId,
    Op,
    RateValue,
    RuleBase,
    RuleValueError,
    StepValue,
    Strict,
    Text,
    UnitKind,
    Veto,
    VetoTier,
)
from dashboard.core.text import Message

if TYPE_CHECKING:
    Rule = RuleBase
else:
    # One model per registered kind, told apart by `kind:`; the registry's order is the order errors list them.
    Rule = Annotated[functools.reduce(operator.or_, (k.model for k in kinds.REGISTRY.values())),
                     Field(discriminator="kind")]
RULE_KINDS = tuple(kinds.REGISTRY)


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
                raise RuleValueError("rules.error.section_sum", section=self.id, total=total, max=self.max)
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
            raise RuleValueError("rules.error.bad_period", period=v)
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
            raise RuleValueError("rules.error.case_one_shape")
        if (self.inputs is None) != (self.expect is None) or (self.inputs is None) == (self.expect_by_subject is None):
            raise RuleValueError("rules.error.case_expect")
        if (self.parts is None) != (self.rollup is None):
            raise RuleValueError("rules.error.case_rollup")
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
            raise RuleValueError("rules.error.award_one_way")
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
                raise RuleValueError("rules.error.tiers_in_order", tier=t.name, ranks=str(t.ranks), next=last + 1)
            last = t.ranks[1]
        if self.downgrade and not self.tiers:
            raise RuleValueError("rules.error.downgrade_needs_tiers")
        if any(a.places is not None for a in self.awards) and self.award_ties is None:
            raise RuleValueError("rules.error.award_ties_needed")
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
            raise RuleValueError("rules.error.duplicate_ids", ids=tuple(dupes))
        order = ["month", "quarter", "year"]
        for r in self.rollups:
            if order.index(r.period) <= order.index(self.period):
                raise RuleValueError("rules.error.rollup_not_longer", period=self.period, rollup=r.period)
        names = {g.name.zh for g in self.grades} | {g.name.zh for r in self.rollups for g in r.grades}
        for ex in [self.excellence, *(r.excellence for r in self.rollups)]:
            if ex is not None and ex.demote_to is not None and not ex.grades:
                raise RuleValueError("rules.error.demote_needs_grades")
            for g in (ex.grades if ex else []) + ([ex.demote_to] if ex and ex.demote_to else []):
                if g not in names:
                    raise RuleValueError("rules.error.unknown_excellence_grade", grade=g)
        if isinstance(self.model, BaseBonusDeduction):
            scored = [s for s in self.sections if s.pool == "score"]
            if scored and sum((s.max or Decimal(0)) for s in scored) != self.model.base:
                raise RuleValueError("rules.error.base_sum", total=sum((s.max or Decimal(0)) for s in scored),
                                     base=self.model.base)
        if isinstance(self.model, Scorecard):
            total = sum((s.max or Decimal(0)) for s in self.sections)
            if total != self.model.max:
                raise RuleValueError("rules.error.scorecard_sum", total=total, max=self.model.max)
        return self

    @field_validator("grades")
    @classmethod
    def _contiguous(cls, grades: list[Grade]) -> list[Grade]:
        _check_bands(grades)
        return grades


def _edge(value: Decimal | None, inclusive: bool) -> Message | str:
    if value is None:
        return "∞"
    return Message("rules.error.edge_inclusive" if inclusive else "rules.error.edge_exclusive", value=value)


def _check_bands(grades: list[Grade]) -> None:
    """Bands ordered from the top, each starting exactly where the next one ends, one side inclusive."""
    for upper, lower in zip(grades, grades[1:], strict=False):
        if upper.min is None or lower.max != upper.min:
            raise RuleValueError("rules.error.bands_apart", upper=upper.name, lower=lower.name,
                                 upper_edge=_edge(upper.min, upper.min_inclusive),
                                 lower_edge=_edge(lower.max, lower.max_inclusive))
        if upper.min_inclusive == lower.max_inclusive:
            key = "bands_both_include" if upper.min_inclusive else "bands_neither_includes"
            raise RuleValueError(f"rules.error.{key}", upper=upper.name, lower=lower.name, at=upper.min)
