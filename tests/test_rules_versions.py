"""Ruleset versions and what changed between two of them (two temporary version files of the Anshan rules), and
the embedded cases run for the rules page."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from helpers.rules import ANSHAN, write_two_versions

from dashboard.core.db import REPO_ROOT
from dashboard.core.rules.casebook import summarize
from dashboard.core.rules.diff import diff, resolve, versions
from dashboard.core.rules.loader import load


@pytest.fixture
def two_versions(tmp_path):
    write_two_versions(tmp_path / "anshan_stationed")
    return tmp_path


def test_versions_list_each_file_with_its_periods_and_sha256(two_versions):
    listed = versions(two_versions)
    assert [(v.relpath, v.from_period, v.to_period) for v in listed] == [
        ("anshan_stationed/2023-04.yaml", "2023-04", "2024-12"), ("anshan_stationed/2025-01.yaml", "2025-01", None)]
    for v in listed:
        assert v.sha256 == hashlib.sha256((two_versions / v.relpath).read_bytes()).hexdigest()
        assert (v.ruleset_id, v.subject, v.period, v.name_zh) == ("anshan_stationed", "unit", "month",
                                                                 "鞍山市政务服务大厅派驻单位考核")


def test_a_file_that_does_not_load_is_left_out(two_versions):
    (two_versions / "anshan_stationed" / "2026-01.yaml").write_text("id: [broken\n", encoding="utf-8")
    assert [v.version for v in versions(two_versions)] == ["2023-04", "2025-01"]


def test_diff_names_the_rules_added_removed_and_changed(two_versions):
    old = two_versions / "anshan_stationed" / "2023-04.yaml"
    new = two_versions / "anshan_stationed" / "2025-01.yaml"
    d = diff(old, new, root=two_versions)
    assert (d.old, d.new) == ("anshan_stationed/2023-04.yaml", "anshan_stationed/2025-01.yaml")
    assert [(c.item_id, c.name_zh, c.section) for c in d.added] == [("smoking", "大厅内吸烟", "deductions")]
    assert [(c.item_id, c.name_zh) for c in d.removed] == [("dress", "着装不规范")]
    assert [(c.item_id, c.fields) for c in d.changed] == [("late", ("points",))]
    assert d.settings == ["effective", "model"]
    # The text diff, line by line.
    lines = d.unified.splitlines()
    assert lines[:2] == ["--- anshan_stationed/2023-04.yaml", "+++ anshan_stationed/2025-01.yaml"]
    assert "-        points: -2" in lines and "+        points: -3" in lines
    assert "-      - id: dress" in lines and "+      - id: smoking" in lines
    assert any(x.startswith("-  bonus_cap: 20 ") for x in lines) and any(x.startswith("+  bonus_cap: 15 ") for x in lines)


def test_a_rule_moved_to_another_section_says_so(two_versions):
    path = two_versions / "anshan_stationed" / "2023-04.yaml"
    text = path.read_text(encoding="utf-8")
    # Rename the deduction section: every item in it "moves", and the section itself changed.
    moved = two_versions / "anshan_stationed" / "2025-01.yaml"
    moved.write_text(text.replace("  - id: deductions\n", "  - id: conduct\n"), encoding="utf-8")
    d = diff(path, moved, root=two_versions)
    assert d.changed and all(c.fields == ("section",) and c.section == "conduct" for c in d.changed)
    assert not d.added and not d.removed
    assert d.settings == ["sections.conduct", "sections.deductions"]


def test_the_same_file_twice_has_no_changes(two_versions):
    path = two_versions / "anshan_stationed" / "2023-04.yaml"
    d = diff(path, path, root=two_versions)
    assert (d.unified, d.items, d.settings) == ("", [], [])


def test_resolve_stays_inside_the_rulesets_folder(two_versions):
    assert resolve("anshan_stationed/2025-01.yaml", two_versions) == (two_versions / "anshan_stationed" /
                                                                     "2025-01.yaml").resolve()
    for bad in ("../anshan_stationed/2025-01.yaml", str(ANSHAN), "anshan_stationed", "x/../../etc/passwd"):
        with pytest.raises(ValueError):
            resolve(bad, two_versions)


@pytest.mark.slow  # runs every shipped ruleset's cases twice
def test_cases_pass_as_shipped_and_fail_when_a_rule_changes_under_them(two_versions):
    shipped = summarize(load(ANSHAN).ruleset)
    assert shipped and all(c.passed and not c.problems for c in shipped)
    assert shipped[0].expected == {"case": Decimal(96)}
    assert shipped[0].note == "100 − 2×2 (迟到) − 3 (手机) + 3 (锦旗) = 96 > 90 → 优秀"
    # Under the new version lateness costs 3: the first case (two late arrivals) no longer comes to 96.
    changed = summarize(load(two_versions / "anshan_stationed" / "2025-01.yaml").ruleset)
    first = changed[0]
    assert not first.passed and any("total 94" in p for p in first.render("en"))
    assert any("总分 94" in p for p in first.render("zh"))


def test_a_ranked_case_lists_every_subjects_expected_total():
    rs = load(REPO_ROOT / "rulesets" / "jiange_townships" / "2018.yaml").ruleset
    ranked = [c for c in summarize(rs) if len(c.expected) > 1]
    assert ranked and all(c.passed for c in ranked)
    case = next(c for c in rs.cases if c.name == ranked[0].name)
    assert ranked[0].expected == {s: e.total for s, e in case.expect_by_subject.items()}


def test_a_case_that_cannot_run_fails_with_the_reason_in_either_language(monkeypatch):
    import dashboard.core.rules.casebook as casebook

    def broken(rs, case):
        raise ValueError("no such table")

    monkeypatch.setattr(casebook, "score_case", broken)
    rs = load(ANSHAN).ruleset
    first = summarize(rs)[0]
    assert not first.passed
    # The exception's own words are not translated: both languages show its type and message as raised.
    assert first.render("en") == first.render("zh") == ("ValueError: no such table",)
