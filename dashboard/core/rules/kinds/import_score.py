"""`import_score`: a score taken from another assessment (its total for the same subject and period) × scale."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import ZERO, ident, literal
from dashboard.core.rules.vocabulary import IDENT, Amount, RuleBase
from dashboard.core.rules.wording import say


class ImportScore(RuleBase):
    """A score taken from another assessment (that ruleset's total for the same subject and period) × scale."""

    kind: Literal["import_score"]
    ruleset: Annotated[str, Field(pattern=IDENT.pattern)]
    scale: Amount = Decimal(1)


def line(rule: ImportScore) -> str:
    """The other assessment's total × scale; a total that is missing is no data (0, and `import_missing` raised)."""
    return f"coalesce(im.{ident(rule.ruleset)} * {literal(rule.scale)}, {ZERO})"


def flags(rule: ImportScore, applies: str | None) -> list[str]:
    where = f" AND {applies}" if applies else ""
    return [f"CASE WHEN im.{ident(rule.ruleset)} IS NULL{where} THEN 'import_missing' END"]


TEXT = {"sentence": {"zh": "取考核方案 {ruleset} 的同期总分 × {scale}（缺少该得分时记为无数据，不计分并标记）",
                     "en": "the total under ruleset {ruleset} for the same period × {scale} (a missing total is no data: "
                           "no points, and flagged)"}}


def sentence(r: ImportScore, lang: str) -> str:
    return say(TEXT["sentence"], lang, ruleset=r.ruleset, scale=r.scale)


KIND = register(RuleKind(model=ImportScore, sql=line, text=TEXT, sentence=sentence,
                         inputs=lambda r: Inputs(imported=(r.ruleset,)), flags=flags))
