"""What every rule item is written in: the value types of a ruleset file, the veto and `RuleBase`."""

from __future__ import annotations

import difflib
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from dashboard.core.contract import EVENT_TYPES, UNIT_KINDS, catalog_flags
from dashboard.core.metrics import metrics

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
    if TYPE_CHECKING:
        # Each registered kind's model declares its own `kind` tag; a field here would let a model without one
        # pass `kinds.register`, so only the type checker sees it.
        kind: str

    @model_validator(mode="after")
    def _range(self) -> RuleBase:
        if self.max is not None and self.floor > self.max:
            raise RuleValueError(f"floor {self.floor} is above max {self.max}", f"下限 floor {self.floor} 高于满分 max {self.max}")
        return self


def check_value(metric: str, value: Decimal | None, field: str) -> None:
    """A value compared with a rate is a fraction (98% is 0.98); with a count or a mean, a plain number."""
    if value is not None and metrics()[metric].kind in ("rate", "ratio"):
        if value > 1:
            raise RuleValueError(
                f"{field} {value} is more than 1: rates are fractions here, so write {value / 100} for {value}%",
                f"{field} {value} 大于 1：比率以小数表示，{value}% 应写为 {value / 100}")
        if value < 0:
            raise RuleValueError(f"{field} must not be negative", f"{field} 不能为负数")


Op = Literal[">=", ">", "<=", "<", "=="]
