"""`peer_compare`: points against the group's average, compared exactly (a rate against the pooled rate)."""

from __future__ import annotations

from typing import Literal

from dashboard.core.metrics import metrics
from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import ZERO, fraction, literal, partition
from dashboard.core.rules.vocabulary import Amount, MetricId, RuleBase
from dashboard.core.rules.wording import say, signed


class PeerCompare(RuleBase):
    """Points against the group's average, compared exactly: a count as x·n ≥ Σx, a rate against the pooled rate."""

    kind: Literal["peer_compare"]
    metric: MetricId
    within: Literal["all", "group"] = "group"
    better: Literal["higher", "lower"] = "higher"
    points_at_or_better: Amount
    points_worse: Amount


def line(rule: PeerCompare) -> str:
    """At or better than the group average, exactly: x·n ≥ Σx for a count; N·ΣD ≥ ΣN·D against the pooled rate."""
    n, d = fraction(rule.metric)
    has = f"({d} > 0)"
    window = f"OVER ({partition(rule.within, has)})"
    if metrics()[rule.metric].kind == "count":
        left, right = f"{n} * count(*) {window}", f"sum({n}) {window}"
    else:
        left, right = f"{n} * sum({d}) {window}", f"sum({n}) {window} * {d}"
    op = ">=" if rule.better == "higher" else "<="
    return (f"CASE WHEN NOT {has} THEN {ZERO} WHEN {left} {op} {right} THEN {literal(rule.points_at_or_better)} "
            f"ELSE {literal(rule.points_worse)} END")


TEXT = {
    "sentence": {"zh": "{metric}{side}{scope}平均水平 {better} 分，否则 {worse} 分（比率按合计分子/合计分母比较，精确比较）",
                 "en": "{better} when {metric} is {side} {scope} average, else {worse} "
                       "(a rate against the pooled rate, compared exactly)"},
    "higher": {"zh": "不低于", "en": "at or above"},
    "lower": {"zh": "不高于", "en": "at or below"},
    "group": {"zh": "同组", "en": "the group's"},
    "all": {"zh": "全部考核对象", "en": "everyone's"},
}


def sentence(r: PeerCompare, lang: str) -> str:
    return say(TEXT["sentence"], lang, metric=metrics()[r.metric].name(lang), side=say(TEXT[r.better], lang),
               scope=say(TEXT[r.within], lang), better=signed(r.points_at_or_better), worse=signed(r.points_worse))


KIND = register(RuleKind(model=PeerCompare, sql=line, text=TEXT, sentence=sentence,
                         inputs=lambda r: Inputs(metrics=(r.metric,))))
