"""`condition`: points when a metric compares to a value (no data: no points)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import model_validator

from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import ZERO, compare, literal
from dashboard.core.rules.vocabulary import Amount, MetricId, Op, RuleBase, check_value
from dashboard.core.rules.wording import comparison, say, signed


class Condition(RuleBase):
    """Points when a metric compares to a value (no data: no points)."""

    kind: Literal["condition"]
    metric: MetricId
    op: Op
    value: Decimal
    points: Amount

    @model_validator(mode="after")
    def _values(self) -> Condition:
        check_value(self.metric, self.value, "value")
        return self


def line(rule: Condition) -> str:
    return f"CASE WHEN {compare(rule.metric, rule.op, rule.value)} THEN {literal(rule.points)} ELSE {ZERO} END"


TEXT = {"sentence": {"zh": "{condition}时 {points} 分", "en": "{points} when {condition}"}}


def sentence(r: Condition, lang: str) -> str:
    return say(TEXT["sentence"], lang, condition=comparison(r.metric, r.op, r.value, lang), points=signed(r.points))


KIND = register(RuleKind(
    model=Condition, sql=line, text=TEXT, sentence=sentence, inputs=lambda r: Inputs(metrics=(r.metric,)),
    watched=lambda r, metric: [(r.value, r.op)] if r.metric == metric else [],
    can_only_lose=lambda r: r.points <= 0))
