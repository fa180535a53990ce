"""`proportional`: points in proportion to a rate, points × value (no data: no points)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from dashboard.core.metrics import metrics
from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import AMOUNT, ZERO, fraction, scale_of
from dashboard.core.rules.vocabulary import Amount, MetricId, RuleBase, RuleValueError
from dashboard.core.rules.wording import say


class Proportional(RuleBase):
    """Points in proportion to a rate: points × value (no data: no points)."""

    kind: Literal["proportional"]
    metric: MetricId
    points: Amount

    @model_validator(mode="after")
    def _rate(self) -> Proportional:
        if metrics()[self.metric].kind not in ("rate", "ratio"):
            raise RuleValueError("rules.error.proportional_needs_rate", metric=self.metric,
                                 kind=metrics()[self.metric].kind)
        return self


def line(rule: Proportional) -> str:
    """points × N/D, exact to 0.0001 (truncated toward zero before the final half-up rounding to 0.01)."""
    n, d = fraction(rule.metric)
    q = scale_of(rule.points)
    p = int(abs(rule.points) * q)
    sign = "-" if rule.points < 0 else ""
    ten_thousandths = f"({p} * {n} * 10000) // ({q} * {d})"
    return (f"CASE WHEN {d} > 0 THEN {sign}(({ten_thousandths})::DECIMAL(38, 0) * CAST('0.0001' AS {AMOUNT}))"
            f"::{AMOUNT} ELSE {ZERO} END")


TEXT = {"sentence": {"zh": "{points} 分 × {metric}", "en": "{points} × {metric}"}}


def sentence(r: Proportional, lang: str) -> str:
    return say(TEXT["sentence"], lang, points=r.points, metric=metrics()[r.metric].name(lang))


KIND = register(RuleKind(model=Proportional, sql=line, text=TEXT, sentence=sentence,
                         inputs=lambda r: Inputs(metrics=(r.metric,))))
