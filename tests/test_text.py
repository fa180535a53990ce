"""The text catalog: both locales hold the same keys with the same placeholders, plurals, and its place below core."""

from __future__ import annotations

import re
import string
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import dashboard
from dashboard.core import text
from dashboard.core.text import LOCALES_DIR, TextError, join, messages, t

ROOT = Path(__file__).resolve().parents[1]


def _raw(lang: str) -> dict:
    with (LOCALES_DIR / f"{lang}.toml").open("rb") as f:
        return tomllib.load(f)


def _names(entry: str | dict[str, str]) -> set[str]:
    forms = entry.values() if isinstance(entry, dict) else [entry]
    return {name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name}


def test_locales_have_identical_keys():
    assert set(messages("zh")) == set(messages("en"))
    # Every string of each file is reachable by some key: nothing was swallowed as a plural table by mistake.
    def strings(table: dict) -> int:
        return sum(strings(v) if isinstance(v, dict) else 1 for v in table.values())

    for lang in ("zh", "en"):
        assert strings(_raw(lang)) == sum(len(e) if isinstance(e, dict) else 1 for e in messages(lang).values())


# The one sentence whose translation rightly leaves out a name: English names the excellence title in the line
# before "Not eligible with: …", Chinese repeats it (不得评为{name}). Any other difference is a mistake.
ONE_SIDED = {"rules.card.excellence.barred": ({"flags", "name"}, {"flags"})}


def test_every_key_formats_the_same_placeholders_in_both_languages():
    zh, en = messages("zh"), messages("en")
    differ = {k: (_names(zh[k]), _names(en[k])) for k in zh if _names(zh[k]) != _names(en[k])}
    assert differ == ONE_SIDED
    # The check can fail: a key that the catalog knows formats something.
    assert _names(en["bulletin.summary.rate"]) == {"name", "value", "num", "den"}


def test_english_plurals_have_both_forms_and_chinese_needs_none():
    en_plurals = {k: e for k, e in messages("en").items() if isinstance(e, dict)}
    assert en_plurals, "the catalog has no plural entry to check"
    assert all(set(e) == {"one", "other"} and all("{count" in f for f in e.values()) for e in en_plurals.values())
    assert all(isinstance(messages("zh")[k], str) or "other" in messages("zh")[k] for k in en_plurals)


def test_plural_form_is_chosen_by_count():
    # English: "one" for exactly 1, "other" for 0, 2 and 21 alike; Chinese never inflects.
    assert [t("cli.rules_check.rules", "en", count=n) for n in (0, 1, 2, 21)] == [
        "0 rules", "1 rule", "2 rules", "21 rules"]
    assert t("cli.rules_check.cases", "en", count=1) == "1 case passes"
    assert t("cli.rules_check.cases", "en", count=3) == "3 cases pass"
    assert [t("cli.rules_check.rules", "zh", count=n) for n in (1, 2)] == ["1 条规则", "2 条规则"]
    with pytest.raises(TextError, match="count="):
        t("cli.rules_check.rules", "en")


def test_a_table_named_one_is_a_section_unless_it_holds_only_plural_forms():
    flat = text._flatten({"period": {"one": {"month": "month", "year": "year"}},
                          "files": {"one": "{count} file", "other": "{count} files"},
                          "odd": {"other": "x", "month": "y"}})
    assert flat == {"period.one.month": "month", "period.one.year": "year",
                    "files": {"one": "{count} file", "other": "{count} files"}, "odd.other": "x", "odd.month": "y"}


def test_lookup_formats_falls_back_to_chinese_and_names_a_missing_key():
    assert t("common.pp", "en", value="1.5") == "1.5 pp"
    assert t("common.no_data", "fr") == "无数据"
    with pytest.raises(KeyError, match="no text 'common.nope' in en.toml"):
        t("common.nope", "en")


def test_lists_join_as_each_language_writes_them():
    assert join(["甲", "乙", "丙"], "zh") == "甲、乙、丙"
    assert join(["a", "b"], "en") == "a, b"
    assert join(["a", "b"], "zh", "clauses") == "a；b"
    assert join(["a", "b"], "en", "clauses") == "a; b"
    assert t("common.labelled", "zh", label="口径", value="x") == "口径：x"


def test_every_key_used_in_the_dashboard_exists():
    used = {
        m.group(1)
        for path in (ROOT / "dashboard").rglob("*.py")
        # t(...)/both(...) in the pages and CLI; RuleValueError(...)/Message(...) for the errors core raises.
        for m in re.finditer(r"""\b(?:t|both|RuleValueError|Message)\(\s*["']([^"']+)["']""",
                             path.read_text(encoding="utf-8"))
    }
    assert used, "the scan found no t(...) calls"
    assert {"rules.error.unknown_metric", "access.error.match_one"} <= used, "the scan missed the errors' keys"
    for lang in ("zh", "en"):
        missing = used - set(messages(lang))
        assert not missing, f"{lang}.toml lacks {sorted(missing)}"


def test_the_pages_read_the_same_catalog():
    from dashboard.ui import i18n

    assert i18n.t is t and i18n.messages is messages


def test_the_locales_are_package_files():
    # Inside the package folder, so the wheel (which ships dashboard/) carries them.
    assert LOCALES_DIR.is_relative_to(Path(dashboard.__file__).parent)
    assert sorted(p.name for p in LOCALES_DIR.glob("*.toml")) == ["en.toml", "zh.toml"]


def test_core_text_users_do_not_import_the_ui():
    code = ("import sys; import dashboard.core.bulletin, dashboard.core.report, dashboard.core.scoring, "
            "dashboard.cli; bad = sorted(m for m in sys.modules if m.startswith(('dashboard.ui', 'streamlit'))); "
            "print(bad); assert not bad")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_a_message_renders_in_each_language_and_survives_the_page_cache():
    # The rules page caches case summaries (st.cache_data pickles them), so a Message must pickle and compare equal.
    import pickle

    msg = text.Message("rules.case.differs", who="A: ", field=text.Message("rules.case.field.total"), actual="95",
                       want="96")
    assert msg.render("en") == "A: total 95 ≠ expected 96"
    assert msg.render("zh") == "A: 总分 95 ≠ 应为 96"
    again = pickle.loads(pickle.dumps(msg))
    assert again == msg and again.render("zh") == msg.render("zh")


def test_the_rule_card_spells_no_phrase_of_its_own():
    # Every Chinese phrase of the card lives in the catalog: no string literal in explain.py holds a CJK character.
    import ast

    tree = ast.parse((ROOT / "dashboard" / "core" / "rules" / "explain.py").read_text(encoding="utf-8"))
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert any("rules.card." in s for s in literals), "the scan found none of the card's keys"
    assert not [s for s in literals if re.search(r"[\u4e00-\u9fff\uff08-\uff1b\u3001]", s)]
