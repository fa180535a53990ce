"""Ruleset files: a valid one loads; each classic mistake is reported as file:line:col with a helpful message."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers.rules import VALID

from dashboard.core.rules import model as m
from dashboard.core.rules.loader import RulesError, load
from dashboard.core.text import Message


def _load(tmp_path, text: str):
    path = tmp_path / "2025-01.yaml"
    path.write_text(text, encoding="utf-8")
    return load(path)


def _error(tmp_path, text: str) -> str:
    with pytest.raises(RulesError) as e:
        _load(tmp_path, text)
    return e.value.render("en").replace(str(tmp_path) + "/", "")


def test_a_valid_file_loads_with_exact_decimals_and_its_sha256(tmp_path):
    loaded = _load(tmp_path, VALID)
    item = loaded.ruleset.sections[0].items[0]
    assert item.step == Decimal("0.001") and item.points_per_step == Decimal("-0.2")
    assert len(loaded.sha256) == 64


@pytest.mark.parametrize(("old", "new", "expected"), [
    # A typo'd key, pointed at the key itself.
    ("        points: -2\n", "        pionts: -2\n", "2025-01.yaml:29:9: unknown key 'pionts' (did you mean 'points'?)"),
    # An unknown kind.
    ("kind: per_event", "kind: per_evnt", "2025-01.yaml:27:15: unknown kind 'per_evnt' (did you mean 'per_event'?); kinds: per_event, "
                                       "threshold_slope, step, rank_points, condition, all_of, manual, proportional, "
                                       "peer_compare, import_score"),
    # Text where a number belongs.
    ("points: -2", "points: 两分", "2025-01.yaml:29:17: points: expected a number, not '两分'"),
    # A percentage written as 100 instead of 1.0.
    ("target: 1.0", "target: 100", "2025-01.yaml:17:17: target 100 is more than 1: rates are fractions here, "
                                   "so write 1 for 100%"),
    # Grade bands with a gap between 良好 (from 80) and 合格 (to 75): pointed at the bands.
    ("min: 60, max: 80,", "min: 60, max: 75,", "2025-01.yaml:32:3: grade bands Good and Pass do not meet: Good "
                                               "starts at 80, Pass ends at 75 (exclusive)"),
    # A section whose items do not sum to its maximum.
    ("    max: 60\n    items", "    max: 50\n    items",
     "2025-01.yaml:9:5: section efficiency: its items' maxima sum to 60, not the section's 50"),
    # An unknown metric, with the catalog's name close by.
    ("metric: on_time_rate", "metric: ontime_rate",
     "2025-01.yaml:16:17: unknown metric 'ontime_rate' (did you mean 'on_time_rate'?)"),
    # A parameter the engine cannot hold exactly (points are DECIMAL(18, 4)): an error, never rounded.
    ("points_per_step: -0.2", "points_per_step: -0.00005",
     "2025-01.yaml:19:26: -0.00005 cannot be held exactly: points have at most 4 decimal places and stay below "
     "10,000,000,000,000"),
    # A zero step would divide by zero at scoring time.
    ("step: 0.001", "step: 0", "2025-01.yaml:18:15: step must be above 0"),
    # A floor above the item's maximum.
    ("        max: 60\n  - id: discipline", "        max: 60\n        floor: 61\n  - id: discipline",
     "2025-01.yaml:13:9: floor 61 is above max 60"),
])
def test_each_mistake_is_named_at_its_line_and_column(tmp_path, old, new, expected):
    assert old in VALID
    assert expected in _error(tmp_path, VALID.replace(old, new, 1)).splitlines()


def test_an_ascii_comma_splitting_a_chinese_note_in_a_flow_mapping_is_explained(tmp_path):
    text = VALID.replace("""      - id: late
        name: {zh: 迟到早退, en: Late}
        kind: per_event
        event_type: late
        points: -2
        max: 40
""", """      - {id: late, name: {zh: 迟到早退, en: Late}, kind: per_event, event_type: late, points: -2, max: 40,
         note: 每次扣2分,当月累计}
""")
    msg = _error(tmp_path, text)
    assert "2025-01.yaml:26:22: unexpected key '当月累计': an ASCII comma inside a {…} mapping splits the text" in msg


def test_messages_come_in_chinese_too(tmp_path):
    with pytest.raises(RulesError) as e:
        _load(tmp_path, VALID.replace("points: -2", "pionts: -2"))
    assert "未知的键 'pionts'（是否应为 'points'？）" in e.value.render("zh")


def test_one_error_reads_in_both_languages_from_the_catalog(tmp_path):
    # The 良好/合格 gap of the parametrized case above, now in Chinese: names picked from the file's own zh,
    # the exclusive edge said as 不含 (worked out from the zh catalog entry `rules.error.bands_apart`).
    with pytest.raises(RulesError) as e:
        _load(tmp_path, VALID.replace("min: 60, max: 80,", "min: 60, max: 75,"))
    zh = e.value.render("zh").replace(str(tmp_path) + "/", "")
    assert zh == "2025-01.yaml:32:3: 等次 良好 与 合格 的分数段不衔接：良好 起于 80（含），合格 止于 75（不含）"
    [problem] = e.value.problems
    assert problem.message.key == "rules.error.bands_apart"


def test_a_message_renders_its_arguments_in_the_same_language():
    # Nested messages, tuples (joined as a list) and names held in both languages all follow `lang`.
    msg = Message("rules.error.no_ruleset", id="anshan", hint=Message("rules.error.did_you_mean", name="anshan_a"),
                  known=("anshan_a", "huozhou"))
    assert msg.render("en") == "no ruleset 'anshan' (did you mean 'anshan_a'?); rulesets: anshan_a, huozhou"
    assert msg.render("zh") == "没有考核方案 'anshan'（是否应为 'anshan_a'？）；现有：anshan_a、huozhou"
    tier = Message("rules.error.tiers_in_order", tier=m.Text(zh="一等", en="First"), ranks="[2, 3]", next=1)
    assert tier.render("en") == "tier First covers ranks [2, 3]; tiers must follow on from rank 1"
    assert tier.render("zh") == "等级 一等 的名次 [2, 3] 须从第 1 名接续"
    # An argument a file wrote as a list is unhashable; the message still is, so problems can be deduplicated.
    a, b = (Message("rules.error.not_a_number", name="points", value=[1, 2]) for _ in range(2))
    assert a == b and len({a, b}) == 1 and a.render("en") == "points: expected a number, not [1, 2]"
    with pytest.raises(KeyError, match="rules.error.nope"):
        Message("rules.error.nope").render("en")


def test_broken_yaml_is_a_positioned_error_too(tmp_path):
    msg = _error(tmp_path, VALID.replace("    max: 60\n    items", "    max: 60\n   items", 1))
    assert msg.startswith("2025-01.yaml:") and "YAML:" in msg


def test_every_shipped_ruleset_loads():
    """Every version under rulesets/ passes the model, its cases included."""
    from dashboard.core.db import REPO_ROOT

    files = sorted((REPO_ROOT / "rulesets").glob("*/*.yaml"))
    assert files, "no rulesets shipped"
    for path in files:
        loaded = load(path)
        assert loaded.ruleset.id == path.parent.name, path
        assert loaded.ruleset.effective.from_period == path.stem, path
        assert loaded.ruleset.cases, f"{path}: a ruleset travels with its worked cases"


def test_an_ascii_comma_in_an_english_name_is_explained_too(tmp_path):
    """The mistake this very project made first: `en: Phone, trading, …` in a {…} mapping."""
    msg = _error(tmp_path, VALID.replace("{zh: 迟到早退, en: Late}", "{zh: 迟到早退, en: Late, or early}"))
    assert "2025-01.yaml:26:36: unexpected key 'or early': an ASCII comma inside a {…} mapping splits the text" in msg


@pytest.mark.slow  # runs `hall rules` in subprocesses
def test_hall_rules_check_and_card():
    from typer.testing import CliRunner

    from dashboard.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["rules", "check"])
    assert res.exit_code == 0, res.output
    assert "ok " in res.output and "anshan_stationed from 2023-04" in res.output and "cases pass" in res.output
    zh = runner.invoke(app, ["rules", "card", "anshan_stationed"])
    assert zh.exit_code == 0, zh.output
    for sentence in ("迟到早退：每次 −2 分（三(一)1）", "加分合计不超过 20 分。", "优秀：高于 90 分",
                     "良好：不低于 80 分且不高于 90 分", "文件未明确之处的约定"):
        assert sentence in zh.output, sentence
    en = runner.invoke(app, ["rules", "card", "anshan_stationed", "--lang", "en"])
    assert "Late arrival or early leave: −2 per occurrence" in en.output


def test_hall_rules_check_reports_a_bad_file_and_overlapping_versions(tmp_path):
    from typer.testing import CliRunner

    from dashboard.cli import app

    folder = tmp_path / "demo_monthly"
    folder.mkdir()
    (folder / "2025-01.yaml").write_text(VALID, encoding="utf-8")
    # A second version from 2025-06 while the first has no end: they overlap.
    (folder / "2025-06.yaml").write_text(VALID.replace("from_period: 2025-01", "from_period: 2025-06"),
                                         encoding="utf-8")
    bad = tmp_path / "broken" / "2025-01.yaml"
    bad.parent.mkdir()
    bad.write_text(VALID.replace("points: -2", "pionts: -2"), encoding="utf-8")
    res = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    assert res.exit_code == 1
    assert f"{bad}:29:9: unknown key 'pionts' (did you mean 'points'?)" in res.output
    assert "version 2025-06 overlaps 2025-01, which runs to no end" in res.output
    # With an end before the second version begins, the two are fine.
    (folder / "2025-01.yaml").write_text(VALID.replace("{from_period: 2025-01}",
                                                       "{from_period: 2025-01, to_period: 2025-05}"),
                                         encoding="utf-8")
    bad.unlink()
    res = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    assert res.exit_code == 0, res.output


def test_hall_rules_check_runs_the_cases_and_speaks_the_chosen_language(tmp_path):
    """A case whose expected total is wrong fails the check at the case's line, in English and in Chinese.

    By hand: 99.8% on time is 2 steps of 0.1 point below 100% at −0.2 each → 60 − 0.4 = 59.6; three late arrivals
    cost 6 of 40 → 34; total 93.6. The file claims 93.8.
    """
    from typer.testing import CliRunner

    from dashboard.cli import app

    case = """cases:
  - name: 两项都扣分
    inputs:
      metrics: {on_time_rate_num: 998, on_time_rate_den: 1000}
      events: [{event_type: late, count: 3}]
    expect: {total: 93.8, lines: {on_time: -0.4, late: -6}}
"""
    folder = tmp_path / "demo_monthly"
    folder.mkdir()
    (folder / "2025-01.yaml").write_text(VALID + case, encoding="utf-8")
    en = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    assert en.exit_code == 1
    line = len(VALID.splitlines()) + 2
    assert f"2025-01.yaml:{line}:5: case '两项都扣分': total 93.60 ≠ expected 93.8" in en.output, en.output
    zh = CliRunner().invoke(app, ["rules", "check", "--lang", "zh", str(tmp_path)])
    assert f"2025-01.yaml:{line}:5: 案例「两项都扣分」：总分 93.60 ≠ 应为 93.8" in zh.output, zh.output
    (folder / "2025-01.yaml").write_text(VALID + case.replace("93.8", "93.6"), encoding="utf-8")
    ok = CliRunner().invoke(app, ["rules", "check", "--lang", "zh", str(tmp_path)])
    assert ok.exit_code == 0 and "1 个案例全部通过" in ok.output, ok.output
