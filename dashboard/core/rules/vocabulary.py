"""What every rule item is written in: the value types of a ruleset file, the veto and `RuleBase`."""

from __future__ import annotations

import difflib
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from dashboard.core.contract import EVENT_TYPES, UNIT_KINDS, catalog_flags
from dashboard.core.metrics import metrics
from dashboard.core.text import Message

IDENT = re.compile(r"[a-z][a-z0-9_]*")


class RuleValueError(ValueError):
    """A rule value that is wrong: a catalog key (`rules.error.…`) and its arguments, rendered in the reader's
    language."""

    def __init__(self, key: str, **fmt: object):
        self.message = Message(key, **fmt)
        super().__init__(self.message.render("en"))


def did_you_mean(name: str, known: list[str], cutoff: float = 0.6) -> Message | str:
    """The "(did you mean 'x'?)" hint for a name close to a known one, else nothing."""
    near = difflib.get_close_matches(name, known, n=1, cutoff=cutoff)
    return Message("rules.error.did_you_mean", name=near[0]) if near else ""


class Strict(BaseModel):
    """Every model refuses keys it does not define (a typo is an error, not a silently ignored key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A name or sentence in both languages."""

    zh: str
    en: str


def _metric(v: str) -> str:
    if v not in metrics():
        raise RuleValueError("rules.error.unknown_metric", metric=v, hint=did_you_mean(v, list(metrics())))
    return v


# Points are held as DECIMAL(18, 4): a value with more places, or too large, would be rounded or overflow silently.
AMOUNT_PLACES = 4
AMOUNT_LIMIT = Decimal(10) ** 13


def _amount(v: Decimal) -> Decimal:
    """A number of points the engine holds exactly, or an error (never a silently rounded parameter)."""
    if not v.is_finite():
        raise RuleValueError("rules.error.not_points", value=v)
    if abs(v) >= AMOUNT_LIMIT or v != v.quantize(Decimal(1).scaleb(-AMOUNT_PLACES)):
        raise RuleValueError("rules.error.not_exact", value=v, places=AMOUNT_PLACES, limit=AMOUNT_LIMIT)
    return v


def _positive_fraction(v: Decimal, info: ValidationInfo) -> Decimal:
    """A step of a rate: a fraction above zero (a zero step would divide by zero)."""
    v = _fraction(v, info)
    if v <= 0:
        raise RuleValueError("rules.error.not_positive", field=info.field_name)
    return v


def _fraction(v: Decimal, info: ValidationInfo) -> Decimal:
    """Rates are fractions: 98% is 0.98. A value above 1 is almost always a percentage typed as such."""
    field = info.field_name
    if v > 1:
        raise RuleValueError("rules.error.rate_above_one", field=field, value=v, fraction=v / 100)
    if v < 0:
        raise RuleValueError("rules.error.negative", field=field)
    return v


def _count_metric(v: str) -> str:
    _metric(v)
    if metrics()[v].kind != "count":
        raise RuleValueError("rules.error.not_count", metric=v, kind=metrics()[v].kind)
    return v


MetricId = Annotated[str, AfterValidator(_metric)]
CountMetricId = Annotated[str, AfterValidator(_count_metric)]
RateValue = Annotated[Decimal, AfterValidator(_fraction)]
StepValue = Annotated[Decimal, AfterValidator(_positive_fraction)]
Amount = Annotated[Decimal, AfterValidator(_amount)]
UnitKind = Literal[UNIT_KINDS]  # type: ignore[valid-type]


def _flag(v: str) -> str:
    if v not in catalog_flags():
        raise RuleValueError("rules.error.unknown_flag", flag=v, flags=tuple(catalog_flags()))
    return v


FlagCode = Annotated[str, AfterValidator(_flag)]


def _event_type(v: str) -> str:
    if v not in EVENT_TYPES:
        raise RuleValueError("rules.error.unknown_event_type", event_type=v, hint=did_you_mean(v, list(EVENT_TYPES)))
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
                raise RuleValueError("rules.error.veto_counts_nothing")
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
            raise RuleValueError("rules.error.floor_above_max", floor=self.floor, max=self.max)
        return self


def check_value(metric: str, value: Decimal | None, field: str) -> None:
    """A value compared with a rate is a fraction (98% is 0.98); with a count or a mean, a plain number."""
    if value is not None and metrics()[metric].kind in ("rate", "ratio"):
        if value > 1:
            raise RuleValueError("rules.error.rate_above_one", field=field, value=value, fraction=value / 100)
        if value < 0:
            raise RuleValueError("rules.error.negative", field=field)


Op = Literal[">=", ">", "<=", "<", "=="]
