"""`threshold_slope`: points per whole step a rate falls short of (or exceeds) a target, counted in integers."""

from __future__ import annotations

from typing import Literal

from dashboard.core.metrics import metrics
from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.sql import AMOUNT, ZERO, fraction, literal, scale_of
from dashboard.core.rules.vocabulary import Amount, MetricId, RateValue, RuleBase, StepValue
from dashboard.core.rules.wording import amount, percent, say, signed


class ThresholdSlope(RuleBase):
    """Points per whole step a rate falls short of (or exceeds) a target, counted in integers."""

    kind: Literal["threshold_slope"]
    metric: MetricId
    target: RateValue
    step: StepValue
    points_per_step: Amount
    direction: Literal["below", "above"] = "below"
    # continuous: points_per_step × (gap ÷ step) exactly, not whole steps only (93.27% against 95% in 1-point
    # percentage steps is −1.73); the rational is rounded half-up to the engine's 4 places.
    continuous: bool = False


def line(rule: ThresholdSlope) -> str:
    """Whole steps a value falls short of (or exceeds) the target, counted in integers, × points per step.

    With value = N/D, steps = ⌊(target − N/D) / step⌋ = (T·D − k·N) // (S·D) for whole T = target·k, S = step·k:
    no float and no DECIMAL division, so 99.99% against 100% is exactly one 0.01-point step short.
    Continuous: points = (P/Q)·gap/(S·D), the exact rational rounded half-up (away from zero) to 0.0001 in integers.
    A zero denominator is no data: no points.
    """
    k = scale_of(rule.target, rule.step)
    t, st = int(rule.target * k), int(rule.step * k)
    num, den = fraction(rule.metric)
    gap = f"({t} * {den} - {k} * {num})" if rule.direction == "below" else f"({k} * {num} - {t} * {den})"
    if rule.continuous:
        q = scale_of(rule.points_per_step)
        p = int(abs(rule.points_per_step) * q)
        sign = "-" if rule.points_per_step < 0 else ""
        a, b = f"({p} * {gap} * 10000)", f"({q} * {st} * {den})"
        ten_thousandths = f"((2 * {a} + {b}) // (2 * {b}))"
        return (f"CASE WHEN {den} > 0 AND {gap} > 0 THEN {sign}(({ten_thousandths})::DECIMAL(38, 0) "
                f"* CAST('0.0001' AS {AMOUNT}))::{AMOUNT} ELSE {ZERO} END")
    steps = f"CASE WHEN {den} > 0 AND {gap} > 0 THEN {gap} // ({st} * {den}) ELSE 0 END"
    return f"(({steps})::{AMOUNT} * {literal(rule.points_per_step)})"


TEXT = {
    "below": {"zh": "{metric}低于 {target} 时，每低 {step} 个百分点 {points} 分（不足一档不计）",
              "en": "{metric} below {target}: {points} for each full {step} percentage points below it"},
    "above": {"zh": "{metric}高于 {target} 时，每高 {step} 个百分点 {points} 分（不足一档不计）",
              "en": "{metric} above {target}: {points} for each full {step} percentage points above it"},
    "below_continuous": {"zh": "{metric}低于 {target} 时，每低 {step} 个百分点 {points} 分（按实际差距连续计算，精确到 0.0001 分）",
                         "en": "{metric} below {target}: {points} per {step} percentage points below it, counted "
                               "continuously (to 0.0001 of a point)"},
    "above_continuous": {"zh": "{metric}高于 {target} 时，每高 {step} 个百分点 {points} 分（按实际差距连续计算，精确到 0.0001 分）",
                         "en": "{metric} above {target}: {points} per {step} percentage points above it, counted "
                               "continuously (to 0.0001 of a point)"},
    "max": {"zh": "；本项最多 {amount} 分", "en": "; at most {amount}"},
}


def sentence(r: ThresholdSlope, lang: str) -> str:
    phrase = r.direction + ("_continuous" if r.continuous else "")
    text = say(TEXT[phrase], lang, metric=metrics()[r.metric].name(lang), target=percent(r.target),
               step=format((r.step * 100).normalize(), "f"), points=signed(r.points_per_step))
    if r.max is not None:
        text += say(TEXT["max"], lang, amount=amount(r.max, lang))
    return text


KIND = register(RuleKind(
    model=ThresholdSlope, sql=line, text=TEXT, sentence=sentence,
    inputs=lambda r: Inputs(metrics=(r.metric,)),
    watched=lambda r, metric: [(r.target, "target")] if r.metric == metric else [],
    can_only_lose=lambda r: r.points_per_step <= 0, says_max=True))
