"""The rules page on the demo: the chosen ruleset's card and its cases, its versions, and a year rescored under
another ruleset — every change checked against `scoring.score` run independently."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from helpers.rules import write_two_versions
from streamlit.testing.v1 import AppTest

from dashboard.core import scoring
from dashboard.core.db import REPO_ROOT, connect
from dashboard.core.rules.loader import find, load, ruleset_files
from dashboard.core.text import t
from dashboard.ui.format import plain

APP = str(REPO_ROOT / "dashboard" / "app.py")
YEAR = "2024"
A, B = "yuanling_units", "jiange_departments"  # both score 部门 and 派驻单位 yearly
A_FILE = REPO_ROOT / "rulesets" / A / "2017.yaml"


def _open(**params) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=180)
    for k, v in params.items():
        app.query_params[k] = v
    app.run()
    app.switch_page("app_pages/rules.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.fixture(scope="module")
def at(demo_lake):
    mp = pytest.MonkeyPatch()
    mp.setenv("HALL_DATA", str(demo_lake.root))
    yield _open(card=A, whatif_period=YEAR, whatif_b=f"{B}/2018.yaml")
    mp.undo()


@pytest.fixture(scope="module")
def scores(demo_lake):
    wh = connect(demo_lake)
    a = {r["subject"]: r for r in scoring.score(wh, A, YEAR).results.to_pylist()}
    b = {r["subject"]: r for r in scoring.score(wh, B, YEAR).results.to_pylist()}
    return a, b


def _lead(key: str) -> str:
    """The Chinese text of `key` up to its first placeholder, for a line whose figures the test does not pin."""
    return t(key, "zh").partition("{")[0]


def _table(at: AppTest, column: str):
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, column
    return found[0]


def test_the_selected_rulesets_card_in_chinese(at):
    rs = load(A_FILE).ruleset
    assert [x.value for x in at.title] == [t("rules_page.title", "zh")]
    cards = [m.value for m in at.markdown if m.value.startswith("## ")]
    assert len(cards) == 1
    assert cards[0].startswith("## 沅陵县县直单位政务公开政务服务考核\n") and rs.name.zh == "沅陵县县直单位政务公开政务服务考核"
    sha = hashlib.sha256(A_FILE.read_bytes()).hexdigest()
    # The card is the rule engine's (rules.explain), written from the ruleset file, not a page catalog entry.
    assert f"版本 2017，sha256 {sha[:12]}" in cards[0]
    for sec in rs.sections:
        assert f"### {sec.name.zh}" in cards[0]
    assert any(c.value.startswith(_lead("as_of.line")) for c in at.caption)


def test_the_embedded_cases_are_listed_and_all_pass(at):
    rs = load(A_FILE).ruleset
    verdict = t("rules_page.cases.col.verdict", "zh")
    cases = _table(at, verdict)
    assert cases[t("rules_page.cases.col.name", "zh")].tolist() == [c.name for c in rs.cases]
    assert cases[t("rules_page.cases.col.note", "zh")].tolist() == [c.note or "" for c in rs.cases]
    assert cases[t("rules_page.cases.col.expected", "zh")].tolist() == [
        f"{c.expect.total:.2f}" if c.expect else
        "；".join(f"{s} {e.total:.2f}" for s, e in c.expect_by_subject.items()) for c in rs.cases]
    assert set(cases[verdict]) == {t("rules_page.cases.pass", "zh")}
    summary = t("rules_page.cases.summary", "zh", total=len(rs.cases), passed=len(rs.cases))
    assert any(c.value == summary for c in at.caption)


def test_the_version_history_has_the_files_sha256(at):
    versions = _table(at, "sha256")
    col = {k: t(f"rules_page.versions.col.{k}", "zh") for k in ("version", "from", "to", "file")}
    assert versions.to_dict("records") == [{col["version"]: "2017", col["from"]: "2017",
                                            col["to"]: t("rules_page.versions.open", "zh"),
                                            "sha256": hashlib.sha256(A_FILE.read_bytes()).hexdigest(),
                                            col["file"]: f"rulesets/{A}/2017.yaml"}]
    assert any(i.value == t("rules_page.diff.single", "zh") for i in at.info)


def test_what_if_changes_are_the_differences_of_the_two_scorings(at, scores):
    a, b = scores
    year, side_a, side_b = (t(f"rules_page.whatif.{k}", "zh") for k in ("period.year", "a", "b"))
    assert {s.label: s.value for s in at.selectbox if s.label in (year, side_a, side_b)} == {
        year: YEAR, side_a: f"{A}/2017.yaml", side_b: f"{B}/2018.yaml"}
    col = {k: t(f"rules_page.whatif.col.{k}", "zh")
           for k in ("name", "total_a", "total_b", "rank_a", "rank_b", "change", "rank_change")}
    table = _table(at, col["rank_change"])
    by_name = {r["name"]: s for s, r in a.items()}
    assert len(by_name) == len(a) and set(a) == set(b)  # the same units, names unique
    assert sorted(table[col["name"]]) == sorted(by_name)
    for row in table.to_dict("records"):
        s = by_name[row[col["name"]]]
        assert Decimal(row[col["change"]]) == b[s]["total"] - a[s]["total"]
        assert (row[col["total_a"]], row[col["total_b"]]) == (f"{a[s]['total']:.2f}", f"{b[s]['total']:.2f}")
        assert (row[col["rank_a"]], row[col["rank_b"]]) == (str(a[s]["rank"]), str(b[s]["rank"]))
    sizes = [abs(Decimal(c)) for c in table[col["change"]]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 0
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("rules_page.whatif.scored", "zh")] == str(len(a))
    assert metrics[t("rules_page.whatif.moved", "zh")] == str(sum(1 for s in a if b[s]["total"] != a[s]["total"]))


def test_why_lists_the_lines_that_add_up_to_the_change(at, scores):
    a, b = scores
    subject = next(s.value for s in at.selectbox if s.label == t("rules_page.why.subject", "zh"))
    top = max(a, key=lambda s: (abs(b[s]["total"] - a[s]["total"]), b[s]["total"] - a[s]["total"]))
    assert abs(b[subject]["total"] - a[subject]["total"]) == abs(b[top]["total"] - a[top]["total"])
    col = {k: t(f"rules_page.why.col.{k}", "zh") for k in ("line", "points_a", "points_b", "change")}
    why = _table(at, col["change"])
    diffs = [Decimal(x) for x in why[col["change"]]]
    assert sum(diffs, Decimal(0)) == b[subject]["total"] - a[subject]["total"]
    assert [abs(d) for d in diffs] == sorted((abs(d) for d in diffs), reverse=True)
    base = why[why[col["line"]] == "base"].to_dict("records")
    # Base scores of the two rulesets, as their files state them.
    assert base and Decimal(base[0][col["points_a"]]) != Decimal(base[0][col["points_b"]])


def test_choices_live_in_the_url_and_a_ruleset_without_alternatives_says_so(demo_lake, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    app = _open(card=A, whatif_period=YEAR)
    box = app.selectbox(key="w_rules_card")
    # Rulesets by name only; the URL keeps the id.
    assert not set(box.options) & {p.parent.name for p in ruleset_files()}
    assert load(A_FILE).ruleset.name.zh in box.options
    box.select("huozhou_staff").run()  # the only ruleset that scores staff
    assert not app.exception
    assert app.query_params["card"] == "huozhou_staff"
    assert any(m.value.startswith("## 霍州市政务大厅窗口工作人员考核") for m in app.markdown)
    assert any(i.value == t("rules_page.whatif.no_alternative", "zh") for i in app.info)


def test_whatif_over_a_year_offers_every_ruleset_that_scores_it_by_name(demo_lake, monkeypatch):
    """A monthly ruleset that rolls up to a year, tried against an annual scheme over the same year."""
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    loaded = {p.parent.name: load(p).ruleset for p in ruleset_files()}
    a = next(i for i, rs in loaded.items()
             if rs.subject == "unit" and rs.period == "month" and any(r.period == "year" for r in rs.rollups))
    app = _open(card=a)
    app.segmented_control(key="w_rules_whatif_granularity").set_value("year").run()
    app.selectbox(key="w_rules_whatif_period").select(YEAR).run()
    assert not app.exception, [e.value for e in app.exception]
    box = app.selectbox(key="w_rules_whatif_b")
    annual = sorted(i for i, rs in loaded.items() if rs.subject == "unit" and rs.period == "year")
    assert annual and all(any(o.startswith(loaded[i].name.zh + " · ") for o in box.options) for i in annual)
    assert not any(o.startswith(loaded[a].name.zh) for o in box.options)
    b_rel = f"{annual[0]}/{find(annual[0], YEAR).path.stem}.yaml"  # options are labels; the value is the file
    assert box.format_func(b_rel) in box.options
    box.select(b_rel).run()
    assert not app.exception, [e.value for e in app.exception]
    assert (app.query_params["whatif_period"], app.query_params["whatif_b"]) == (YEAR, b_rel)
    wh = connect(demo_lake)
    ra = {r["name"]: r["total"] for r in scoring.score(wh, a, YEAR).results.to_pylist()}
    rb = {r["name"]: r["total"] for r in scoring.score(wh, b_rel.split("/")[0], YEAR).results.to_pylist()}
    name, change = t("rules_page.whatif.col.name", "zh"), t("rules_page.whatif.col.change", "zh")
    table = _table(app, t("rules_page.whatif.col.rank_change", "zh"))
    for row in table.to_dict("records"):
        if row[change] != "–":
            assert Decimal(row[change]) == rb[row[name]] - ra[row[name]]


def test_in_english(demo_lake, monkeypatch):
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    app = _open(lang="en", card=A, whatif_period=YEAR, whatif_b=f"{B}/2018.yaml")
    assert [x.value for x in app.title] == [t("rules_page.title", "en")]
    rs = load(A_FILE).ruleset
    assert any(m.value.startswith(f"## {rs.name.en}\n") for m in app.markdown)
    verdict = t("rules_page.cases.col.verdict", "en")
    assert set(_table(app, verdict)[verdict]) == {t("rules_page.cases.pass", "en")}
    assert t("rules_page.whatif.col.change", "en") in _table(app, t("rules_page.whatif.col.total_a", "en")).columns


@pytest.fixture
def two_anshan_versions(tmp_path, monkeypatch):
    """The shipped rulesets copied to a temporary folder, where anshan_stationed has a second version (2025-01), and
    the loader, the diff and the what-if pointed at it."""
    import shutil

    from dashboard.core import whatif
    from dashboard.core.rules import diff, loader

    root = tmp_path / "rulesets"
    shutil.copytree(REPO_ROOT / "rulesets", root)
    write_two_versions(root / "anshan_stationed")
    for fn, defaults in ((loader.ruleset_files, (root,)), (loader.find, (None, root)), (diff.resolve, (root,)),
                         (diff.versions, (root,)), (whatif.score_file, (None, root))):
        monkeypatch.setattr(fn, "__defaults__", defaults)
    return root


def test_two_versions_diffed_and_the_older_one_tried_on_a_newer_month(demo_lake, monkeypatch, two_anshan_versions):
    from dashboard.core.rules import loader

    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    app = _open(card="anshan_stationed", period="2025-06")
    # The card opens on the newest version; the history lists both, and the diff counts the rules.
    assert any("版本 2025-01" in m.value for m in app.markdown if m.value.startswith("## "))
    assert _table(app, "sha256")[t("rules_page.versions.col.version", "zh")].tolist() == ["2023-04", "2025-01"]
    added, removed, changed = (t(f"rules_page.diff.{k}", "zh") for k in ("added", "removed", "changed"))
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics[added], metrics[removed], metrics[changed]) == ("1", "1", "1")
    changes = _table(app, t("rules_page.diff.col.fields", "zh"))
    assert sorted(zip(changes[t("rules_page.diff.col.change", "zh")], changes[t("rules_page.diff.col.id", "zh")],
                      strict=True)) == sorted([(changed, "late"), (removed, "dress"), (added, "smoking")])
    assert any("+        points: -3" in c.value for c in app.code)

    # What-if: A is the version in force in 2025-06 (2025-01), B the older one applied to the same month.
    picked = {s.label: s.value for s in app.selectbox}
    assert tuple(picked[t(f"rules_page.whatif.{k}", "zh")] for k in ("period.month", "a", "b")) == (
        "2025-06", "anshan_stationed/2025-01.yaml", "anshan_stationed/2023-04.yaml")
    old_name = load(two_anshan_versions / "anshan_stationed" / "2023-04.yaml").ruleset.name.zh
    old_label = plain(t("rules_page.version_label", "zh", name=old_name, version="2023-04"))
    assert t("rules_page.whatif.not_in_force", "zh", side="B", version=old_label, start="2023-04",
             period="2025-06") in [c.value for c in app.caption]
    wh = connect(demo_lake)
    a = {r["name"]: r["total"] for r in scoring.score(wh, "anshan_stationed", "2025-06").results.to_pylist()}
    only_old = two_anshan_versions.parent / "old_only"
    (only_old / "anshan_stationed").mkdir(parents=True)
    old = (two_anshan_versions / "anshan_stationed" / "2023-04.yaml").read_bytes()
    (only_old / "anshan_stationed" / "2023-04.yaml").write_bytes(old.replace(b", to_period: 2024-12", b""))
    monkeypatch.setattr(loader.find, "__defaults__", (None, only_old))
    b = {r["name"]: r["total"] for r in scoring.score(wh, "anshan_stationed", "2025-06").results.to_pylist()}
    name, change = t("rules_page.whatif.col.name", "zh"), t("rules_page.whatif.col.change", "zh")
    table = _table(app, t("rules_page.whatif.col.rank_change", "zh"))
    assert len(table) == len(a) == len(b)
    moved = 0
    for row in table.to_dict("records"):
        assert Decimal(row[change]) == b[row[name]] - a[row[name]]
        moved += b[row[name]] != a[row[name]]
    assert moved  # the demo month has lateness, dress or bonuses that the two versions score differently
