"""The monthly bulletin (月度考核通报): its content from the marts and the scores, in Chinese or English.

`build` gathers the numbers once; `dashboard.core.report` renders them as XLSX or PDF. Rates stay exact
fractions with their numerators and denominators until they are printed; a zero denominator is "no data".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from dashboard.core import marts, scoring
from dashboard.core.db import Warehouse
from dashboard.core.metrics import CATALOG_OPTIONS, MetricOptions, MetricsError, half_up, metrics, thresholds
from dashboard.core.period import BEIJING, Period
from dashboard.core.rules.loader import RulesError, find, ruleset_files
from dashboard.core.table import Column
from dashboard.core.text import join, pick, t

# How many units head and close each group's list (红黑榜).
TOP_N = 3


@dataclass(frozen=True)
class BulletinTable:
    """One table of the bulletin: a sheet in the XLSX, a section in the PDF."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict]


@dataclass(frozen=True)
class Bulletin:
    """Everything the bulletin says about one month, in one language."""

    lang: str
    period: str
    previous: str | None
    title: str
    office: str
    period_label: str
    summary: str
    tables: list[BulletinTable]
    satisfaction: list[tuple[str, Fraction | None]]  # (unit name, rate) for the chart, in ranking order
    footnotes: list[str]
    stamp: dict = field(default_factory=dict)  # ruleset id, version, sha256


def _rate(num: int | None, den: int | None) -> Fraction | None:
    return None if not den else Fraction(int(num or 0), int(den))


def _pct(value: Fraction | None, lang: str) -> str:
    return t("common.no_data", lang) if value is None else f"{half_up(value * 100)}%"


def _minute(stamp: str) -> str:
    """An ISO instant as Beijing time to the minute (the data-as-of line's form)."""
    try:
        return dt.datetime.fromisoformat(stamp).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def default_ruleset(period: str) -> str:
    """The monthly unit ruleset a bulletin that names none is issued under: the catalog's declared default
    (`default_rulesets.unit` in rulesets/_catalog.yaml) when it is in force for the month, else the first monthly
    unit ruleset in force (by id)."""
    from ruamel.yaml import YAML

    from dashboard.core.contract import load_catalog

    declared = (load_catalog().get("default_rulesets") or {}).get("unit")
    fast = YAML(typ="safe")  # a quick look at each file's header; only the chosen one is validated in full
    candidates = [declared] if declared else []
    for path in ruleset_files():
        head = fast.load(path.read_text(encoding="utf-8")) or {}
        if head.get("period") == "month" and head.get("subject") == "unit":
            candidates.append(path.parent.name)
    for ruleset_id in dict.fromkeys(candidates):
        try:
            rs = find(ruleset_id, period).ruleset
        except RulesError:
            continue
        if rs.period == "month" and rs.subject == "unit":
            return rs.id
    raise RulesError([])


def _group_ranks(rows: list[dict]) -> dict[str, int]:
    """Rank within each group by total, ties sharing a rank (1, 2, 2, 4)."""
    out = {}
    for r in rows:
        peers = [x["total"] for x in rows if x["grp"] == r["grp"]]
        out[r["subject"]] = 1 + sum(1 for x in peers if x > r["total"])
    return out


def _totals(months: list[dict]) -> dict[str, int]:
    sums: dict[str, int] = {}
    for row in months:
        for k, v in row.items():
            if isinstance(v, int) and (k.endswith(("_num", "_den")) or k == "cases_accepted"):
                sums[k] = sums.get(k, 0) + v
    return sums


def _summary(period_label: str, now: dict[str, int], before: dict[str, int] | None, lang: str) -> str:
    parts = [t("bulletin.summary.cases", lang, period=period_label, cases=f"{now.get('cases_accepted', 0):,}")]
    for metric in ("on_time_rate", "same_day_rate", "satisfaction_rate"):
        n, d = now.get(f"{metric}_num", 0), now.get(f"{metric}_den", 0)
        value = _rate(n, d)
        text = t("bulletin.summary.rate", lang, name=metrics()[metric].name(lang), value=_pct(value, lang),
                 num=f"{n:,}", den=f"{d:,}")
        if before is not None:
            prev = _rate(before.get(f"{metric}_num", 0), before.get(f"{metric}_den", 0))
            if value is not None and prev is not None:
                diff = half_up((value - prev) * 100)
                key = "up" if diff > 0 else ("down" if diff < 0 else "flat")
                text += t(f"bulletin.summary.{key}", lang, value=f"{abs(diff)}")
        parts.append(text)
    return t("bulletin.summary.join", lang).join(parts) + t("bulletin.summary.end", lang)


def _change(now: int | None, before: int | None, lang: str) -> str:
    if now is None:
        return ""
    if before is None:
        return t("bulletin.change.new", lang)
    if before == now:
        return "—"
    return f"↑{before - now}" if now < before else f"↓{now - before}"


def _below_pass(rs_grades: list, grade: str | None) -> bool:
    """True for a grade below 合格 (or the lowest grade when none is called 合格)."""
    names = [g.name.zh for g in rs_grades]
    if grade is None or grade not in names:
        return False
    cut = names.index("合格") if "合格" in names else len(names) - 2
    return names.index(grade) > cut


def build(wh: Warehouse, period: str, ruleset_id: str | None = None, lang: str = "zh",
          scope: tuple[str, ...] | None = None, top_n: int = TOP_N) -> Bulletin:
    """The bulletin for one month: summary, ranking, 红黑榜, breaches, deductions, satisfaction, footnotes."""
    month = Period.parse_or_none(period)
    if month is None or month.kind != "month":
        raise MetricsError(f"a bulletin covers one month such as 2025-06, not {period!r}")
    ruleset_id = ruleset_id or default_ruleset(period)
    # Ranks are hall-wide facts: computed over every unit, then the caller's scope limits what is shown.
    scores = scoring.score(wh, ruleset_id, period)
    rs = scores.ruleset.ruleset
    previous = str(month.previous())
    try:
        before_scores = scoring.score(wh, ruleset_id, previous).results.to_pylist()
    except (RulesError, ValueError):
        before_scores = []
    units = {r["unit_code"]: r for r in marts.slice_mart(wh, "unit_month", period, scope).to_pylist()}
    before_units = marts.slice_mart(wh, "unit_month", previous, scope).to_pylist() if previous in marts.periods(
        wh, scope) else None
    period_label = month.label(lang)

    everyone = scores.results.to_pylist()
    rank = _group_ranks(everyone)
    before_rank = _group_ranks(before_scores) if before_scores else {}
    rows = [r for r in everyone if scope is None or r["subject"] in scope]
    names = {g.name.zh: (pick(g.name.zh, g.name.en, lang), i) for i, g in enumerate(rs.grades)}

    def grade(zh_name: str | None) -> dict:
        """The grade in the bulletin's language, and its level (0 = best) for the colour."""
        shown, level = names.get(zh_name or "", (zh_name or "", None))
        return {"grade": shown, "grade_level": None if level is None else (level, len(rs.grades))}
    ordered = sorted(rows, key=lambda r: (r["grp"] or "", rank[r["subject"]], r["subject"]))
    name = {r["subject"]: r["name"] or r["subject"] for r in rows}
    grp_label = {r["subject"]: r["grp"] or t("bulletin.no_group", lang) for r in rows}

    ranking = BulletinTable("ranking", t("bulletin.table.ranking", lang), [
        Column("group", t("bulletin.col.group", lang)), Column("rank", t("bulletin.col.rank", lang), "int"),
        Column("change", t("bulletin.col.change", lang)), Column("unit", t("bulletin.col.unit", lang)),
        Column("total", t("bulletin.col.total", lang), "score"), Column("grade", t("bulletin.col.grade", lang))],
        [{"group": grp_label[r["subject"]], "rank": rank[r["subject"]],
          "change": _change(rank[r["subject"]], before_rank.get(r["subject"]), lang),
          "unit": name[r["subject"]], "total": r["total"], **grade(r["grade"])} for r in ordered])

    lists = []
    for g in sorted({r["grp"] or "" for r in rows}):
        members = [r for r in ordered if (r["grp"] or "") == g]
        group_all = [x for x in everyone if (x["grp"] or "") == g]
        from_bottom = {r["subject"]: 1 + sum(1 for x in group_all if x["total"] < r["total"]) for r in members}
        for key, picked in (("red", [r for r in members if rank[r["subject"]] <= top_n]),
                            ("black", sorted([r for r in members if from_bottom[r["subject"]] <= top_n],
                                             key=lambda r: (r["total"], r["subject"])))):
            lists += [{"list": t(f"bulletin.list.{key}", lang), "group": grp_label[r["subject"]],
                       "rank": rank[r["subject"]], "unit": name[r["subject"]], "total": r["total"],
                       **grade(r["grade"])} for r in picked]
    red_black = BulletinTable("red_black", t("bulletin.table.red_black", lang, n=top_n), [
        Column("list", t("bulletin.col.list", lang)), Column("group", t("bulletin.col.group", lang)),
        Column("rank", t("bulletin.col.rank", lang), "int"), Column("unit", t("bulletin.col.unit", lang)),
        Column("total", t("bulletin.col.total", lang), "score"), Column("grade", t("bulletin.col.grade", lang))],
        lists)

    breaches = []
    for code in sorted(units):
        u = units[code]
        for th in thresholds():
            n, d = u.get(f"{th.metric}_num"), u.get(f"{th.metric}_den")
            value = _rate(n, d)
            if value is not None and value < th.min:
                breaches.append({"unit": u["unit_name"] or code, "metric": metrics()[th.metric].name(lang),
                                 "value": value, "num": n, "den": d, "line": th.min,
                                 "gap": t("common.pp", lang, value=f"{half_up((value - th.min) * 100)}")})
    breach_table = BulletinTable("breaches", t("bulletin.table.breaches", lang), [
        Column("unit", t("bulletin.col.unit", lang)), Column("metric", t("bulletin.col.metric", lang)),
        Column("value", t("bulletin.col.value", lang), "pct"), Column("num", t("bulletin.col.num", lang), "int"),
        Column("den", t("bulletin.col.den", lang), "int"), Column("line", t("bulletin.col.line", lang), "pct"),
        Column("gap", t("bulletin.col.gap", lang))], breaches)

    lines = [ln for ln in scores.lines.to_pylist() if scope is None or ln["subject"] in scope]
    deductions = []
    for r in ordered:
        if not _below_pass(rs.grades, r["grade"]):
            continue
        for ln in lines:
            if ln["subject"] == r["subject"] and ln["points"] < 0:
                label = pick(ln["name_zh"], ln["name_en"], lang)
                deductions.append({"unit": name[r["subject"]], "total": r["total"], **grade(r["grade"]),
                                   "line": t("bulletin.deduction", lang, name=label,
                                             points=f"{Decimal(ln['points']).quantize(Decimal('0.01')):+}")})
    deduction_table = BulletinTable("deductions", t("bulletin.table.deductions", lang), [
        Column("unit", t("bulletin.col.unit", lang)), Column("total", t("bulletin.col.total", lang), "score"),
        Column("grade", t("bulletin.col.grade", lang)), Column("line", t("bulletin.col.deduction", lang))],
        deductions)

    satisfaction = []
    sat_rows = []
    for r in ordered:
        u = units.get(r["subject"], {})
        n, d = u.get("satisfaction_rate_num"), u.get("satisfaction_rate_den")
        satisfaction.append((name[r["subject"]], _rate(n, d)))
        sat_rows.append({"unit": name[r["subject"]], "value": _rate(n, d), "num": n or 0, "den": d or 0})
    sat_table = BulletinTable("satisfaction", t("bulletin.table.satisfaction", lang), [
        Column("unit", t("bulletin.col.unit", lang)), Column("value", metrics()["satisfaction_rate"].name(lang), "pct"),
        Column("num", t("bulletin.col.num", lang), "int"), Column("den", t("bulletin.col.den", lang), "int")],
        sat_rows)

    options = marts.options_in_force(wh.lake)
    footnotes = [t("bulletin.footnote.ruleset", lang, name=pick(rs.name.zh, rs.name.en, lang), id=rs.id,
                   version=scores.ruleset.path.stem, sha=scores.ruleset.sha256)]
    footnotes += [t("common.labelled", lang, label=metrics()[k].name(lang), value=v)
                  for k, v in _definitions(options, lang).items()]
    footnotes.append(t("bulletin.footnote.thresholds", lang, lines=join(
        [f"{metrics()[th.metric].name(lang)} ≥ {_pct(th.min, lang)}" for th in thresholds()], lang)))
    # A month whose numbers can still change (数据未完结) says so in its title and its notes.
    provisional = marts.is_provisional(wh.lake, period)
    if provisional:
        info = marts.build_info(wh.lake)
        footnotes.insert(0, t("as_of.bulletin_note", lang, as_of=_minute(info.get("as_of") or ""),
                              days=options["rectification_days"]))
    # The summary speaks of the whole hall (全中心共受理…) for every reader: hall totals are not any one unit's
    # figures, and a unit head's own numbers would be mislabelled as the hall's.
    hall_now = marts.slice_mart(wh, "unit_month", period, None).to_pylist() if scope is not None else list(
        units.values())
    hall_before = before_units if scope is None or before_units is None else marts.slice_mart(
        wh, "unit_month", previous, None).to_pylist()
    now = _totals(hall_now)
    before = _totals(hall_before) if hall_before is not None else None
    return Bulletin(
        lang=lang, period=period, previous=previous if before is not None else None,
        title=t("bulletin.title", lang, period=period_label) + (t("as_of.bulletin_title", lang) if provisional else ""),
        office=t("bulletin.office", lang),
        period_label=period_label, summary=_summary(period_label, now, before, lang),
        tables=[ranking, red_black, breach_table, deduction_table, sat_table], satisfaction=satisfaction,
        footnotes=footnotes,
        stamp={"ruleset_id": rs.id, "version": scores.ruleset.path.stem, "sha256": scores.ruleset.sha256})


def _definitions(options: MetricOptions, lang: str) -> dict[str, str]:
    """Numerator / denominator of the rates the bulletin prints, under the options in force."""
    out = {}
    for metric in ("on_time_rate", "same_day_rate", "satisfaction_rate"):
        spec = metrics()[metric]

        def pick(text, spec=spec):
            if isinstance(text, dict):
                return text[CATALOG_OPTIONS()[spec.option].key(options[spec.option])]
            return text

        num, den = pick(spec.numerator), pick(spec.denominator)
        out[metric] = f"{num(lang)} / {den(lang)}" if den is not None else num(lang)
    return out
