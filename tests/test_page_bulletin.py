"""The bulletin page (通报) and the default ruleset: monthly unit rulesets offered by name in either language, the
catalog's declared default (`default_rulesets` in rulesets/_catalog.yaml) chosen when it is in force, else the first
— on the page and in `bulletin.default_ruleset`, which `hall report` uses."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import bulletin, contract
from dashboard.core.db import REPO_ROOT
from dashboard.core.rules.loader import RulesError, find, ruleset_files
from dashboard.core.text import t

APP = str(REPO_ROOT / "dashboard" / "app.py")
PERIOD = "2025-06"


def _monthly_unit(period: str) -> list[str]:
    out = []
    for path in ruleset_files():
        try:
            rs = find(path.parent.name, period).ruleset
        except RulesError:
            continue
        if rs.subject == "unit" and rs.period == "month" and rs.id not in out:
            out.append(rs.id)
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_bulletins_ruleset_is_chosen_by_name(demo_lake, monkeypatch, lang):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"lang": lang, "period": PERIOD})
    at.run()
    at.switch_page("app_pages/bulletin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    offered = _monthly_unit(PERIOD)
    box = at.selectbox(key="w_bulletin_ruleset")
    names = [find(i, PERIOD).ruleset.name.zh if lang == "zh" else find(i, PERIOD).ruleset.name.en for i in offered]
    assert box.options == names and not set(box.options) & set(offered)
    assert box.value == bulletin.default_ruleset(PERIOD) == at.query_params["ruleset"]
    box.select("anshan_stationed").run()  # Anshan stays selectable
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["ruleset"] == "anshan_stationed"
    anshan = find("anshan_stationed", PERIOD)
    name = anshan.ruleset.name.zh if lang == "zh" else anshan.ruleset.name.en
    assert t("bulletin.footnote.ruleset", lang, name=name, id=anshan.ruleset.id, version=anshan.path.stem,
             sha=anshan.sha256) in [c.value for c in at.caption]


def _with_default(monkeypatch, declared: str | None) -> None:
    catalog = dict(contract.load_catalog())
    catalog["default_rulesets"] = {"unit": declared} if declared else {}
    monkeypatch.setattr(contract, "load_catalog", lambda: catalog)


@pytest.mark.slow  # builds a bulletin for every ruleset
def test_the_declared_default_is_used_when_in_force_else_the_first(monkeypatch):
    offered = _monthly_unit(PERIOD)
    assert "anshan_stationed" in offered
    _with_default(monkeypatch, "anshan_stationed")
    assert bulletin.default_ruleset(PERIOD) == "anshan_stationed"
    # Not in force in 2020 (Anshan starts 2023-04): the first monthly unit ruleset in force then, if any.
    _with_default(monkeypatch, "anshan_stationed")
    early = _monthly_unit("2020-06")
    if early:
        assert bulletin.default_ruleset("2020-06") == early[0]
    else:
        with pytest.raises(RulesError):
            bulletin.default_ruleset("2020-06")
    # A default that does not exist, or scores something else (an annual scheme), falls back to the first.
    for declared in ("no_such_ruleset", "xianyang_county", None):
        _with_default(monkeypatch, declared)
        assert bulletin.default_ruleset(PERIOD) == offered[0]
