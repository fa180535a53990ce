"""Every shipped ruleset's embedded cases — worked out by hand from its document — come out of the compiled SQL."""

from __future__ import annotations

import pytest

from dashboard.core.db import REPO_ROOT
from dashboard.core.rules.cases import score_case
from dashboard.core.rules.loader import load


def _cases():
    for path in sorted((REPO_ROOT / "rulesets").glob("*/*.yaml")):
        loaded = load(path)
        for case in loaded.ruleset.cases:
            yield pytest.param(loaded.ruleset, case, id=f"{path.parent.name}/{path.stem}: {case.name}")


@pytest.mark.parametrize(("ruleset", "case"), list(_cases()))
def test_ruleset_case(ruleset, case):
    result = score_case(ruleset, case)
    assert not result.problems, result


def test_a_wrong_expectation_is_reported():
    """The runner compares: a case expecting 97 where the rules give 96 fails with both numbers."""
    loaded = load(REPO_ROOT / "rulesets" / "anshan_stationed" / "2023-04.yaml")
    case = loaded.ruleset.cases[0]
    wrong = case.model_copy(update={"expect": case.expect.model_copy(update={"total": case.expect.total + 1})})
    assert score_case(loaded.ruleset, wrong).problems == [f"total 96.00 ≠ expected {case.expect.total + 1}"]
