"""Every shipped ruleset's embedded cases — worked out by hand from its document — come out of the compiled SQL."""

from __future__ import annotations

import pytest
from helpers.rules import VALID

from dashboard.core.db import REPO_ROOT
from dashboard.core.rules.cases import score_case
from dashboard.core.rules.loader import load


def _cases():
    # Shipped rulesets, and the two non-government schemes of seed 000 (篇四, 篇五) the engine must also express.
    for path in [*sorted((REPO_ROOT / "rulesets").glob("*/*.yaml")), *sorted((REPO_ROOT / "tests" / "rulesets").glob("*.yaml"))]:
        loaded = load(path)
        for case in loaded.ruleset.cases:
            yield pytest.param(loaded.ruleset, case, id=f"{path.parent.name}/{path.stem}: {case.name}")


def test_the_non_government_schemes_are_there():
    """篇四 (e-commerce targets) and 篇五 (school discipline, a monthly banner) load and carry cases."""
    names = {p.stem: load(p).ruleset for p in (REPO_ROOT / "tests" / "rulesets").glob("*.yaml")}
    assert {"ecommerce_bazhong", "school_discipline"} <= set(names)
    assert all(rs.cases for rs in names.values())


@pytest.mark.parametrize(("ruleset", "case"), list(_cases()))
def test_ruleset_case(ruleset, case):
    result = score_case(ruleset, case)
    assert not result.problems, result


def test_a_wrong_expectation_is_reported():
    """The runner compares: a case expecting 97 where the rules give 96 fails with both numbers."""
    loaded = load(REPO_ROOT / "rulesets" / "anshan_stationed" / "2023-04.yaml")
    case = loaded.ruleset.cases[0]
    wrong = case.model_copy(update={"expect": case.expect.model_copy(update={"total": case.expect.total + 1})})
    result = score_case(loaded.ruleset, wrong)
    assert result.render("en") == [f"total 96.00 ≠ expected {case.expect.total + 1}"]
    assert result.render("zh") == [f"总分 96.00 ≠ 应为 {case.expect.total + 1}"]


def test_a_case_for_a_missing_roll_up_says_so_in_either_language():
    """anshan_stationed has no roll-up at all, so a case that asks for the quarter's gets only that one problem."""
    loaded = load(REPO_ROOT / "rulesets" / "anshan_stationed" / "2023-04.yaml")
    assert not loaded.ruleset.rollups
    case = loaded.ruleset.cases[0].model_copy(update={"rollup": "quarter"})
    result = score_case(loaded.ruleset, case)
    assert result.render("en") == ["the ruleset has no quarter roll-up"]
    assert result.render("zh") == ["本方案没有季度汇总"]


def test_a_scorecard_keeps_each_item_within_its_range(tmp_path):
    """Items start full (deduction rules) and stay within [0, max]; the clamp is a line of its own.

    On time 990/1000 against 100% in 0.1-point steps: 10 steps × −0.2 = −2 → 60 − 2 = 58.
    Late 25 × −2 = −50 from 40 → −10, kept at 0 by 扣完为止: a +10 clamp line. Total 58 + 0 = 58 → 不合格.
    """
    path = tmp_path / "2025-01.yaml"
    path.write_text(VALID + """\
cases:
  - name: one item short, one item emptied
    inputs:
      events: [{event_type: late, count: 25}]
      metrics: {on_time_rate_num: 990, on_time_rate_den: 1000}
    expect:
      total: 58
      grade: 不合格
      lines: {on_time: -2, late: -50, late__clamp: 10}
""", encoding="utf-8")
    loaded = load(path)
    result = score_case(loaded.ruleset, loaded.ruleset.cases[0])
    assert not result.problems, result
    assert result.rows["case"]["total"] == 58
