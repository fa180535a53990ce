"""`all_of`: points when every comparison holds (any without data: no points)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import ZERO, compare, literal
from dashboard.core.rules.vocabulary import Amount, MetricId, Op, RuleBase, Strict, check_value
from dashboard.core.rules.wording import LIST, comparison, joined, say, signed


class Comparison(Strict):
    """One comparison inside `all_of`."""

    metric: MetricId
    op: Op
    value: Decimal

    @model_validator(mode="after")
    def _values(self) -> Comparison:
        check_value(self.metric, self.value, "value")
        return self


class AllOf(RuleBase):
    """Points when every comparison holds (any without data: no points)."""

    kind: Literal["all_of"]
    tests: Annotated[list[Comparison], Field(min_length=1)]
    points: Amount


def line(rule: AllOf) -> str:
    tests = " AND ".join(compare(t.metric, t.op, t.value) for t in rule.tests)
    return f"CASE WHEN {tests} THEN {literal(rule.points)} ELSE {ZERO} END"


TEXT = {"sentence": {"zh": "同时满足 {conditions} 时 {points} 分", "en": "{points} when all hold: {conditions}"}}


def sentence(r: AllOf, lang: str) -> str:
    conditions = joined((comparison(t.metric, t.op, t.value, lang) for t in r.tests), LIST, lang)
    return say(TEXT["sentence"], lang, conditions=conditions, points=signed(r.points))


KIND = register(RuleKind(
    model=AllOf, sql=line, text=TEXT, sentence=sentence,
    inputs=lambda r: Inputs(metrics=tuple(t.metric for t in r.tests)),
    watched=lambda r, metric: [(t.value, t.op) for t in r.tests if t.metric == metric],
    can_only_lose=lambda r: r.points <= 0))
