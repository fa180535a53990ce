"""`manual`: an assessor's value within [min_value, max_value], recorded in manual_scores with a reason."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import ZERO, ident, literal
from dashboard.core.rules.vocabulary import Amount, RuleBase, RuleValueError
from dashboard.core.rules.wording import plain, say


class Manual(RuleBase):
    """An assessor's value within [min_value, max_value], recorded in manual_scores with a reason."""

    kind: Literal["manual"]
    min_value: Amount
    max_value: Amount

    @model_validator(mode="after")
    def _bounds(self) -> Manual:
        if self.min_value > self.max_value:
            raise RuleValueError("rules.error.manual_bounds", least=self.min_value, most=self.max_value)
        return self


def line(rule: Manual) -> str:
    value = f"ma.{ident(rule.id)}"
    # greatest/least skip NULLs, so a missing value would become the bound: no value means no points.
    return (f"CASE WHEN {value} IS NULL THEN {ZERO} "
            f"ELSE least(greatest({value}, {literal(rule.min_value)}), {literal(rule.max_value)}) END")


TEXT = {"sentence": {"zh": "由考核组评定，取值 {least} 至 {most} 分，须注明理由",
                     "en": "set by the assessors between {least} and {most}, with a reason"}}


def sentence(r: Manual, lang: str) -> str:
    return say(TEXT["sentence"], lang, least=plain(r.min_value), most=plain(r.max_value))


KIND = register(RuleKind(model=Manual, sql=line, text=TEXT, sentence=sentence,
                         inputs=lambda r: Inputs(manual=True), can_only_lose=lambda r: r.max_value <= 0))
