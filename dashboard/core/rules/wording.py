"""How the rule card writes numbers, comparisons and lists, shared by every kind's sentence and the card."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from dashboard.core.metrics import metrics

# Between the clauses of a sentence (每次 −2 分；本项最多 10 分), within a list of parts, within a list of names.
CLAUSE = {"zh": "；", "en": "; "}
COMMA = {"zh": "，", "en": ", "}
LIST = {"zh": "、", "en": ", "}
_OPS = {">=": {"zh": "不低于", "en": "at least"}, ">": {"zh": "高于", "en": "above"},
        "<=": {"zh": "不高于", "en": "at most"}, "<": {"zh": "低于", "en": "below"}, "==": {"zh": "等于", "en": "equal to"}}
_COMPARISON = {"zh": "{name}{op} {value}", "en": "{name} {op} {value}"}


def say(text: Mapping[str, str], lang: str, **fields: object) -> str:
    """A phrase ({"zh": template, "en": template}) in a language, its {placeholders} filled."""
    return text[lang].format(**fields)


def joined(parts: Iterable[str], sep: Mapping[str, str], lang: str) -> str:
    return sep[lang].join(parts)


def signed(d: Decimal) -> str:
    """A signed number of points: −2, +3, −0.2."""
    text = format(d.normalize(), "f")
    sign = "+" if d > 0 else ("−" if d < 0 else "")
    return f"{sign}{text.lstrip('-')}"


def plain(d: Decimal) -> str:
    """A plain number with a true minus sign: −0.5, 3."""
    text = format(d.normalize(), "f")
    return ("−" + text[1:]) if text.startswith("-") else text


def points_en(d: Decimal) -> str:
    return f"{plain(d)} point{'' if abs(d) == 1 else 's'}"


def amount(d: Decimal, lang: str) -> str:
    """An amount of points as a sentence states it: 10 in Chinese (before 分), "10 points" in English."""
    return plain(d) if lang == "zh" else points_en(d)


def percent(d: Decimal) -> str:
    return f"{format((d * 100).normalize(), 'f')}%"


def threshold(metric: str, v: Decimal) -> str:
    """A threshold as the reader knows it: 98% for a rate, 15 分钟 for a mean, 3 for a count."""
    spec = metrics()[metric]
    if spec.kind in ("rate", "ratio"):
        return percent(v)
    return format(v.normalize(), "f")


def comparison(metric: str, op: str, value: Decimal, lang: str) -> str:
    """满意率不低于 98% / satisfaction rate at least 98%."""
    return say(_COMPARISON, lang, name=metrics()[metric].name(lang), op=_OPS[op][lang], value=threshold(metric, value))
