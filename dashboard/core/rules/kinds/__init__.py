"""The rule kinds (per_event, threshold_slope, …): one registry entry per kind, each written in its own module.

An entry holds everything the engine knows about its kind: the pydantic model an item is validated by, the SQL
of the item's line, its sentence in Chinese and English (templates kept as data), what it reads, the lines it
draws on an indicator and whether it can only lose points. The item model's union and `RULE_KINDS` are derived
from `REGISTRY`; the compiler, the rule card and the rankings ask the entry instead of testing the item's class.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, get_args

from dashboard.core.rules.vocabulary import RuleBase

LANGS = ("zh", "en")
# The kinds, in the order a ruleset's error lists them when an item names a kind that does not exist.
ORDER = ("per_event", "threshold_slope", "step", "rank_points", "condition", "all_of", "manual", "proportional",
         "peer_compare", "import_score")


@dataclass(frozen=True)
class Inputs:
    """What one item reads besides its own parameters."""

    metrics: tuple[str, ...] = ()  # indicators read from `subjects` (their mart columns)
    events: tuple[str, ...] = ()  # event types read from `subject_events`
    manual: bool = False  # an assessor's value read from `manual_scores`
    imported: tuple[str, ...] = ()  # other rulesets whose totals are read from `imported`


def _no_lines(rule: Any, metric: str) -> list[tuple[Decimal | None, str]]:
    return []


def _may_gain(rule: Any) -> bool:
    return False


def _nothing(rule: Any) -> list[str]:
    return []


def _no_flags(rule: Any, applies: str | None) -> list[str]:
    return []


@dataclass(frozen=True)
class RuleKind:
    """One kind of rule item, complete: model, SQL, sentence in both languages, inputs, watched lines, start."""

    model: type[RuleBase]
    # The item's line in SQL over `subjects AS s` (and `ev`, `ma`, `im`), before line caps, clamp and veto.
    sql: Callable[[Any], str]
    # phrase → {"zh": template, "en": template}; `sentence` fills them with str.format.
    text: Mapping[str, Mapping[str, str]]
    sentence: Callable[[Any, str], str]
    inputs: Callable[[Any], Inputs]
    # (value, op) the item compares `metric` with, drawn on that indicator's chart; op "target" for a target.
    watched: Callable[[Any, str], list[tuple[Decimal | None, str]]] = _no_lines
    # True when every amount the item can give is ≤ 0: such an item starts full and loses points.
    can_only_lose: Callable[[Any], bool] = _may_gain
    # The sentence already states the item's max, so the card does not add it again.
    says_max: bool = False
    # Aggregates over one subject's rows of `subject_events AS e`, named after the item (read as `ev.…`).
    event_columns: Callable[[Any], list[str]] = _nothing
    # SQL terms giving a flag code or NULL per subject; `applies` is the item's unit-kind condition, if any.
    flags: Callable[[Any, str | None], list[str]] = _no_flags

    @property
    def name(self) -> str:
        """The kind as a ruleset file writes it: the model's `kind` tag."""
        return get_args(self.model.model_fields["kind"].annotation)[0]


REGISTRY: dict[str, RuleKind] = {}


def register(kind: RuleKind) -> RuleKind:
    """Add a kind, refusing one that is incomplete: a model without a `kind` tag, a phrase not in both languages."""
    if not issubclass(kind.model, RuleBase) or "kind" not in kind.model.model_fields:
        raise TypeError(f"{kind.model.__name__}: a rule kind's model is a RuleBase with a `kind` tag")
    if kind.name in REGISTRY:
        raise ValueError(f"rule kind {kind.name!r} is registered twice")
    if not kind.text:
        raise ValueError(f"rule kind {kind.name!r} has no sentence")
    for phrase, langs in kind.text.items():
        if set(langs) != set(LANGS) or not all(isinstance(t, str) and t for t in langs.values()):
            raise ValueError(f"rule kind {kind.name!r}: phrase {phrase!r} needs a template in zh and in en, "
                             f"has {sorted(langs)}")
    REGISTRY[kind.name] = kind
    return kind


def of(rule: RuleBase) -> RuleKind:
    """The registry entry of an item."""
    return REGISTRY[rule.kind]


for _module in ORDER:
    importlib.import_module(f"{__name__}.{_module}")
