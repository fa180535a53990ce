"""The rule-kind registry: every kind the model knows is registered once, complete, and the engine asks the entry.

Sentences, starts, inputs and watched lines are worked out by hand from each example below (the metric names
are the catalog's: 好评率 / Satisfaction rate, 受理量 / Cases accepted).
"""

from __future__ import annotations

import pkgutil
import re
from decimal import Decimal
from typing import Literal

import pytest
from pydantic import ValidationError

from dashboard.core import rankings
from dashboard.core.rules import kinds
from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import item_start, metric_columns
from dashboard.core.rules.explain import rule_sentence
from dashboard.core.rules.kinds import Inputs, RuleKind, register
from dashboard.core.rules.vocabulary import RuleBase

TEXT = {"zh": "项", "en": "item"}
D = Decimal
CJK = re.compile(r"[\u4e00-\u9fff]")

# One item of each kind: adding a kind adds its example here (the test below fails until it does).
EXAMPLES = {
    "per_event": {"kind": "per_event", "event_type": "service_complaint", "points": -2, "max": 10},
    "threshold_slope": {"kind": "threshold_slope", "metric": "satisfaction_rate", "target": "0.98", "step": "0.01",
                        "points_per_step": "-0.5", "max": 5},
    "step": {"kind": "step", "metric": "satisfaction_rate", "bands": [{"min": "0.98", "points": 3}, {"points": 0}]},
    "rank_points": {"kind": "rank_points", "metric": "cases_accepted", "first_points": 10, "decrement": "0.5"},
    "condition": {"kind": "condition", "metric": "satisfaction_rate", "op": ">=", "value": "0.95", "points": -1},
    "all_of": {"kind": "all_of", "tests": [{"metric": "satisfaction_rate", "op": ">=", "value": "0.9"},
                                           {"metric": "cases_accepted", "op": "<", "value": 3}], "points": 2},
    "manual": {"kind": "manual", "min_value": -5, "max_value": 0},
    "proportional": {"kind": "proportional", "metric": "satisfaction_rate", "points": 10},
    "peer_compare": {"kind": "peer_compare", "metric": "satisfaction_rate", "points_at_or_better": 2,
                     "points_worse": -1},
    "import_score": {"kind": "import_score", "ruleset": "hall_efficiency", "scale": "0.2"},
}

SENTENCES = {
    "per_event": ("每次 −2 分；本项最多 10 分", "−2 per occurrence; at most 10 points for the item"),
    "threshold_slope": ("好评率低于 98% 时，每低 1 个百分点 −0.5 分（不足一档不计）；本项最多 5 分",
                        "Satisfaction rate below 98%: −0.5 for each full 1 percentage points below it; at most 5 points"),
    "step": ("好评率不低于 98% +3 分；好评率 0 分（取第一个符合的档次）",
             "Satisfaction rate at least 98%: +3; Satisfaction rate: 0 (the first band that holds)"),
    "rank_points": ("按受理量全部对象由高到低排名，第一名 10 分，每降一名减 0.5 分，最低 0 分（并列同名次）",
                    "ranked by Cases accepted among all (highest first): 10 for first, 0.5 less per place, at least 0 "
                    "(ties share a rank)"),
    "condition": ("好评率不低于 95%时 −1 分", "−1 when Satisfaction rate at least 95%"),
    "all_of": ("同时满足 好评率不低于 90%、受理量低于 3 时 +2 分",
               "+2 when all hold: Satisfaction rate at least 90%, Cases accepted below 3"),
    "manual": ("由考核组评定，取值 −5 至 0 分，须注明理由", "set by the assessors between −5 and 0, with a reason"),
    "proportional": ("10 分 × 好评率", "10 × Satisfaction rate"),
    "peer_compare": ("好评率不低于同组平均水平 +2 分，否则 −1 分（比率按合计分子/合计分母比较，精确比较）",
                     "+2 when Satisfaction rate is at or above the group's average, else −1 (a rate against the "
                     "pooled rate, compared exactly)"),
    "import_score": ("取考核方案 hall_efficiency 的同期总分 × 0.2（缺少该得分时记为无数据，不计分并标记）",
                     "the total under ruleset hall_efficiency for the same period × 0.2 (a missing total is no data: "
                     "no points, and flagged)"),
}


def _item(kind: str, **extra) -> m.RuleBase:
    return m.Section.model_validate({"id": "s", "name": TEXT, "items": [
        {"id": kind, "name": {"zh": f"{kind}项", "en": kind}, **EXAMPLES[kind], **extra}]}).items[0]


def _rule_models(cls: type = RuleBase) -> set[type]:
    """Every model under RuleBase in the package that carries a `kind` tag, found by walking the class tree."""
    out = set()
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("dashboard.") and "kind" in sub.model_fields:
            out.add(sub)
        out |= _rule_models(sub)
    return out


def test_every_rule_model_is_registered_once_and_the_union_is_the_registry():
    registered = {k.model for k in kinds.REGISTRY.values()}
    assert _rule_models() == registered
    assert len(registered) == len(kinds.REGISTRY)
    assert m.RULE_KINDS == tuple(kinds.REGISTRY) == kinds.ORDER
    # The item union accepts each kind as its own model, and names exactly the registered kinds when refusing one.
    for name, kind in kinds.REGISTRY.items():
        assert type(_item(name)) is kind.model
    with pytest.raises(ValidationError) as e:
        m.Section.model_validate({"id": "s", "name": TEXT, "items": [{"id": "x", "name": TEXT, "kind": "nope"}]})
    (err,) = e.value.errors()
    assert err["type"] == "union_tag_invalid"
    assert re.findall(r"'(\w+)'", err["ctx"]["expected_tags"]) == list(kinds.ORDER)


def test_every_module_in_the_kinds_package_is_listed_and_registers_its_own_kind():
    modules = {mod.name for mod in pkgutil.iter_modules(kinds.__path__)}
    assert modules == set(kinds.ORDER)
    for name in modules:
        assert kinds.REGISTRY[name].model.__module__ == f"{kinds.__name__}.{name}"


def test_every_kind_has_an_example_here():
    assert set(EXAMPLES) == set(kinds.REGISTRY) == set(SENTENCES)


def test_every_phrase_of_every_kind_is_written_in_both_languages():
    for name, kind in kinds.REGISTRY.items():
        assert kind.text, name
        for phrase, langs in kind.text.items():
            assert set(langs) == {"zh", "en"}, (name, phrase)
            assert langs["zh"] and langs["en"], (name, phrase)
            assert not CJK.search(langs["en"]), (name, phrase)


@pytest.mark.parametrize("name", kinds.ORDER)
def test_each_kind_says_its_rule_in_both_languages(name):
    item = _item(name)
    zh, en = SENTENCES[name]
    assert kinds.of(item).sentence(item, "zh") == zh
    assert kinds.of(item).sentence(item, "en") == en
    assert CJK.search(zh) and not CJK.search(en)


def test_the_card_states_an_items_max_once_whoever_writes_it():
    # per_event and threshold_slope say their max themselves; for the others the card adds it.
    for name, zh in (("per_event", "本项最多 10 分"), ("threshold_slope", "本项最多 5 分"), ("manual", "本项最多 3 分")):
        item = _item(name, max=3) if name == "manual" else _item(name)
        assert rule_sentence(item, "zh").count(zh) == 1, name
    assert rule_sentence(_item("manual", max=3), "en").endswith("with a reason; at most 3 points for the item")


def test_items_that_can_only_lose_start_full():
    # Every amount ≤ 0: −2 per event, −0.5 per step, −1 on a condition, at most 0 by hand. A band worth +3, a
    # test worth +2, and kinds whose amounts depend on others (ranks, proportions, peers, imports) start at zero.
    losing = {"per_event", "threshold_slope", "condition", "manual"}
    for name in kinds.REGISTRY:
        item = _item(name, max=4)
        assert kinds.of(item).can_only_lose(item) is (name in losing), name
        assert item_start(item) == (D(4) if name in losing else D(0)), name
    # A proportional item with negative points is still not one that "can only lose": its start stays zero.
    assert item_start(_item("proportional", points=-2, max=4)) == 0
    # A per_event that only raises flags gives no amount at all: it starts at zero.
    flags_only = m.Section.model_validate({"id": "s", "name": TEXT, "items": [
        {"id": "f", "name": TEXT, "kind": "per_event", "event_type": "fight", "flags": ["no_excellence_quarter"],
         "max": 4}]}).items[0]
    assert item_start(flags_only) == 0


def test_inputs_name_what_each_kind_reads():
    expected = {
        "per_event": Inputs(events=("service_complaint",)),
        "threshold_slope": Inputs(metrics=("satisfaction_rate",)),
        "step": Inputs(metrics=("satisfaction_rate",)),
        "rank_points": Inputs(metrics=("cases_accepted",)),
        "condition": Inputs(metrics=("satisfaction_rate",)),
        "all_of": Inputs(metrics=("satisfaction_rate", "cases_accepted")),
        "manual": Inputs(manual=True),
        "proportional": Inputs(metrics=("satisfaction_rate",)),
        "peer_compare": Inputs(metrics=("satisfaction_rate",)),
        "import_score": Inputs(imported=("hall_efficiency",)),
    }
    for name in kinds.REGISTRY:
        item = _item(name)
        assert kinds.of(item).inputs(item) == expected[name], name


def _ruleset(*names: str) -> m.Ruleset:
    items = [{"id": n, "name": {"zh": f"{n}项", "en": n}, **EXAMPLES[n]} for n in names]
    return m.Ruleset.model_validate({
        "id": "probe", "name": TEXT, "source": "test", "subject": "unit", "period": "month",
        "effective": {"from_period": "2025-01"}, "model": {"kind": "base_bonus_deduction", "base": 0},
        "sections": [{"id": "s", "name": TEXT, "pool": "bonus", "items": items}]})


def test_metric_columns_come_from_the_kinds_inputs():
    # all_of reads both of its tests' metrics, in order; a rate is two columns, a count one; events read none.
    assert metric_columns(_ruleset("per_event", "all_of", "manual")) == [
        "satisfaction_rate_num", "satisfaction_rate_den", "cases_accepted"]
    assert metric_columns(_ruleset("rank_points", "proportional", "import_score")) == [
        "cases_accepted", "satisfaction_rate_num", "satisfaction_rate_den"]


def test_watched_lines_are_the_values_a_kind_compares_with():
    rs = _ruleset(*kinds.ORDER)
    sat = [(x.value, x.item_en, x.kind, x.op) for x in rankings.rule_lines(rs, "satisfaction_rate")]
    # The slope's target, the step's one lower edge (the open band has none), the condition, all_of's first test.
    assert sat == [(D("0.98"), "threshold_slope", "threshold_slope", "target"), (D("0.98"), "step", "step", ">="),
                   (D("0.95"), "condition", "condition", ">="), (D("0.9"), "all_of", "all_of", ">=")]
    # rank_points reads cases_accepted but draws nothing; all_of's second test does.
    assert [(x.value, x.kind, x.op) for x in rankings.rule_lines(rs, "cases_accepted")] == [(D(3), "all_of", "<")]


class _Probe(RuleBase):
    kind: Literal["probe"]


def _probe(**over) -> RuleKind:
    fields = {"model": _Probe, "sql": lambda r: "0", "text": {"sentence": {"zh": "试", "en": "probe"}},
              "sentence": lambda r, lang: "", "inputs": lambda r: Inputs()}
    return RuleKind(**{**fields, **over})


def test_register_refuses_an_incomplete_or_repeated_kind():
    before = dict(kinds.REGISTRY)
    with pytest.raises(ValueError, match="zh and in en"):
        register(_probe(text={"sentence": {"zh": "试"}}))
    with pytest.raises(ValueError, match="zh and in en"):
        register(_probe(text={"sentence": {"zh": "试", "en": ""}}))
    with pytest.raises(ValueError, match="no sentence"):
        register(_probe(text={}))
    with pytest.raises(TypeError):
        register(_probe(model=m.Text))
    with pytest.raises(ValueError, match="twice"):
        register(kinds.REGISTRY["step"])
    assert dict(kinds.REGISTRY) == before
