"""`step`: points by band of a metric's value; the first band that holds it applies, none gives no points."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import model_validator

from dashboard.core.metrics import metrics
from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import ZERO, compare, fraction, literal
from dashboard.core.rules.vocabulary import Amount, MetricId, RuleBase, Strict, check_value
from dashboard.core.rules.wording import CLAUSE, comparison, joined, say, signed


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
            check_value(self.metric, band.min, "min")
            check_value(self.metric, band.max, "max")
        return self


def line(rule: Step) -> str:
    whens = []
    for band in rule.bands:
        conds = []
        if band.min is not None:
            conds.append(compare(rule.metric, ">=" if band.min_inclusive else ">", band.min))
        if band.max is not None:
            conds.append(compare(rule.metric, "<=" if band.max_inclusive else "<", band.max))
        if not conds:
            conds.append(f"({fraction(rule.metric)[1]} > 0)")
        whens.append(f"WHEN {' AND '.join(conds)} THEN {literal(band.points)}")
    return f"CASE {' '.join(whens)} ELSE {ZERO} END"


TEXT = {
    "and": {"zh": "且", "en": " and "},
    "band": {"zh": "{cond} {points} 分", "en": "{cond}: {points}"},
    "bands": {"zh": "{bands}（取第一个符合的档次）", "en": "{bands} (the first band that holds)"},
}


def sentence(r: Step, lang: str) -> str:
    parts = []
    for b in r.bands:
        edges = []
        if b.min is not None:
            edges.append(comparison(r.metric, ">=" if b.min_inclusive else ">", b.min, lang))
        if b.max is not None:
            edges.append(comparison(r.metric, "<=" if b.max_inclusive else "<", b.max, lang))
        cond = joined(edges, TEXT["and"], lang) or metrics()[r.metric].name(lang)
        parts.append(say(TEXT["band"], lang, cond=cond, points=signed(b.points)))
    return say(TEXT["bands"], lang, bands=joined(parts, CLAUSE, lang))


def watched(rule: Step, metric: str) -> list[tuple[Decimal | None, str]]:
    """Each band's lower edge."""
    if rule.metric != metric:
        return []
    return [(band.min, ">=" if band.min_inclusive else ">") for band in rule.bands]


KIND = register(RuleKind(
    model=Step, sql=line, text=TEXT, sentence=sentence, inputs=lambda r: Inputs(metrics=(r.metric,)),
    watched=watched, can_only_lose=lambda r: all(b.points <= 0 for b in r.bands)))
