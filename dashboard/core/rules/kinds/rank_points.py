"""`rank_points`: points by rank on a metric, ties sharing a rank, less by a decrement each place."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from dashboard.core.metrics import metrics
from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import AMOUNT, ZERO, fraction, literal, order_key, partition
from dashboard.core.rules.vocabulary import Amount, MetricId, RuleBase
from dashboard.core.rules.wording import say


class RankPoints(RuleBase):
    """Points by rank (ties share a rank): first_points for the first, less by decrement each place, never below min_points."""

    kind: Literal["rank_points"]
    metric: MetricId
    order: Literal["desc", "asc"] = "desc"
    within: Literal["all", "group"] = "all"
    first_points: Amount
    decrement: Amount
    min_points: Amount = Decimal(0)


def line(rule: RankPoints) -> str:
    has = f"({fraction(rule.metric)[1]} > 0)"
    rank = (f"rank() OVER ({partition(rule.within, has)} ORDER BY {order_key(rule.metric)} "
            f"{'DESC' if rule.order == 'desc' else 'ASC'})")
    points = f"({literal(rule.first_points)} - ({rank} - 1)::{AMOUNT} * {literal(rule.decrement)})"
    return f"CASE WHEN {has} THEN greatest({points}, {literal(rule.min_points)}) ELSE {ZERO} END"


TEXT = {
    "sentence": {"zh": "按{metric}{where}{order}排名，第一名 {first} 分，每降一名减 {decrement} 分，最低 {least} 分（并列同名次）",
                 "en": "ranked by {metric} {where} ({order}): {first} for first, {decrement} less per place, "
                       "at least {least} (ties share a rank)"},
    "group": {"zh": "同组", "en": "within the group"},
    "all": {"zh": "全部对象", "en": "among all"},
    "desc": {"zh": "由高到低", "en": "highest first"},
    "asc": {"zh": "由低到高", "en": "lowest first"},
}


def sentence(r: RankPoints, lang: str) -> str:
    return say(TEXT["sentence"], lang, metric=metrics()[r.metric].name(lang), where=say(TEXT[r.within], lang),
               order=say(TEXT[r.order], lang), first=r.first_points, decrement=r.decrement, least=r.min_points)


KIND = register(RuleKind(model=RankPoints, sql=line, text=TEXT, sentence=sentence,
                         inputs=lambda r: Inputs(metrics=(r.metric,))))
