"""A ruleset as sentences a leadership office can sign off (the rule card), in Chinese or English.

Every phrase comes from the catalog (`rules.card.*` in `dashboard/core/locales`); this module only chooses which
phrases a ruleset needs and fills them in. The markdown marks (`#`, `##`, `-`) are not words, so they stay here.
"""

from __future__ import annotations

from dashboard.core.contract import catalog_flags, event_types
from dashboard.core.metrics import metrics
from dashboard.core.rules import kinds
from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import parts_in
from dashboard.core.rules.wording import amount, percent
from dashboard.core.text import join, normalize_lang, pick, t


def _flags(names: list[str], lang: str) -> list[str]:
    return [catalog_flags()[f][lang] for f in names]


def _ranks(first: int, last: int, lang: str) -> str:
    return t("rules.card.ranking.rank" if first == last else "rules.card.ranking.ranks", lang, first=first, last=last)


def _veto(r: m.RuleBase, lang: str) -> str:
    assert r.veto is not None
    what = [event_types()[x][lang] for x in r.veto.event_types] + [metrics()[x].name(lang) for x in r.veto.metrics]
    tiers = []
    for tier in sorted(r.veto.tiers, key=lambda tier: tier.min_count):
        counting = ""
        if tier.event_types is not None or tier.metrics is not None:
            types, counted = r.veto.counted(tier)
            names = [event_types()[x][lang] for x in types] + [metrics()[x].name(lang) for x in counted]
            counting = t("rules.card.veto.counting", lang, names=join(names, lang))
        flags = "".join(t("rules.card.veto.flag", lang, flag=f) for f in _flags(tier.flags, lang))
        tiers.append(t("rules.card.veto.tier", lang, min=tier.min_count, counting=counting,
                       outcome=t(f"rules.card.veto.outcome.{tier.outcome}", lang), flags=flags))
    if not tiers:
        return t("rules.card.veto.untiered", lang, what=join(what, lang))
    return t("rules.card.veto.line", lang, what=join(what, lang), tiers=join(tiers, lang, "clauses"))


def rule_sentence(r: m.RuleBase, lang: str) -> str:
    """One rule as a sentence: its name, what it does, its range, veto and the clause it comes from."""
    lang = normalize_lang(lang)
    kind = kinds.of(r)
    what = kind.sentence(r, lang)
    if r.max is not None and not kind.says_max:
        what += t("rules.card.rule.max", lang, points=amount(r.max, lang))
    if r.unit_kinds:
        what += t("rules.card.rule.unit_kinds", lang, kinds=join(r.unit_kinds, lang))
    if r.round is not None:
        what += t("rules.card.rule.round", lang, count=r.round)
    if r.veto is not None:
        what += t("common.sep.clauses", lang) + _veto(r, lang)
    if r.note:
        what += t("rules.card.rule.note", lang, note=r.note)
    source = t("rules.card.rule.source", lang, source=r.source) if r.source else ""
    return t("rules.card.rule.line", lang, name=pick(r.name.zh, r.name.en, lang), what=what, source=source)


def _ranking(ranking: m.Ranking, lang: str) -> list[str]:
    out = []
    where = t(f"rules.card.ranking.within.{'group' if ranking.within == 'group' else 'all'}", lang)
    if ranking.tie_break:
        keys = [t(f"rules.card.ranking.order.{'desc' if tb.order == 'desc' else 'asc'}", lang,
                  metric=metrics()[tb.metric].name(lang)) for tb in ranking.tie_break]
        out.append(t("rules.card.ranking.tie_break", lang, where=where,
                     keys=t("rules.card.ranking.tie_break_sep", lang).join(keys)))
    else:
        out.append(t("rules.card.ranking.shared", lang, where=where))
    if ranking.min_volume:
        mv = ranking.min_volume
        out.append(t("rules.card.ranking.min_volume", lang, metric=metrics()[mv.metric].name(lang), min=mv.min))
    for tier in ranking.tiers:
        first, last = tier.ranks
        out.append(t("rules.card.ranking.tier", lang, ranks=_ranks(first, last, lang),
                     name=pick(tier.name.zh, tier.name.en, lang)))
    if ranking.downgrade:
        out.append(t("rules.card.ranking.downgrade", lang, flags=join(_flags(ranking.downgrade.flags, lang), lang),
                     steps=ranking.downgrade.steps))
    if ranking.below_lowest:
        out.append(t("rules.card.ranking.below_lowest", lang,
                     name=pick(ranking.below_lowest.zh, ranking.below_lowest.en, lang)))
    for a, (first, last) in zip(ranking.awards, ranking.award_ranks(), strict=True):
        places = t("rules.card.ranking.award_places", lang, count=a.places) if a.places else ""
        out.append(t("rules.card.ranking.award", lang, ranks=_ranks(first, last, lang),
                     name=pick(a.name.zh, a.name.en, lang), places=places))
    if ranking.awards and ranking.award_ties in ("exclude", "include"):
        out.append(t(f"rules.card.ranking.award_ties.{ranking.award_ties}", lang))
    if ranking.award_ineligible_flags:
        out.append(t("rules.card.ranking.award_barred", lang,
                     flags=join(_flags(ranking.award_ineligible_flags, lang), lang)))
    return out


def _excellence(e: m.Excellence, lang: str) -> list[str]:
    name = pick(e.name.zh, e.name.en, lang)
    grades = join(e.grades, lang)
    out = [t("rules.card.excellence.line", lang, name=name, quota=percent(e.quota),
             where=t(f"rules.card.excellence.within.{'group' if e.within == 'group' else 'all'}", lang),
             grades=t("rules.card.excellence.grades", lang, grades=grades) if e.grades else "",
             ties=t(f"rules.card.excellence.ties.{e.ties_at_cutoff}", lang))]
    if e.demote_to:
        out.append(t("rules.card.excellence.demoted", lang, grades=grades, name=name, grade=e.demote_to))
    if e.ineligible_flags:
        out.append(t("rules.card.excellence.barred", lang, flags=join(_flags(e.ineligible_flags, lang), lang),
                     name=name))
    return out


def _stage(ranking: m.Ranking | None, excellence: m.Excellence | None, lang: str) -> list[str]:
    return (_ranking(ranking, lang) if ranking is not None else []) + \
        (_excellence(excellence, lang) if excellence is not None else [])


def _model(rs: m.Ruleset, lang: str) -> list[str]:
    md = rs.model
    if isinstance(md, m.Scorecard):
        return [t("rules.card.model.scorecard", lang, max=md.max)]
    out = [t("rules.card.model.base", lang, base=md.base)]
    if md.bonus_cap is not None:
        out.append(t("rules.card.model.bonus_cap", lang, cap=md.bonus_cap))
    if md.deduction_not_exceed_bonus:
        out.append(t("rules.card.model.deduction_not_exceed_bonus", lang))
    if md.base_floor is not None:
        out.append(t("rules.card.model.base_floor", lang, floor=md.base_floor))
    if md.total_floor is not None:
        out.append(t("rules.card.model.total_floor", lang, floor=md.total_floor))
    if md.total_cap is not None:
        out.append(t("rules.card.model.total_cap", lang, cap=md.total_cap))
    out.append(t("rules.card.model.rounding", lang))
    return out


def _grade(g: m.Grade, lang: str) -> str:
    bands = []
    if g.min is not None:
        bands.append(t(f"rules.card.grade.min.{'inclusive' if g.min_inclusive else 'exclusive'}", lang, value=g.min))
    if g.max is not None:
        bands.append(t(f"rules.card.grade.max.{'inclusive' if g.max_inclusive else 'exclusive'}", lang, value=g.max))
    text = t("rules.card.grade.line", lang, name=pick(g.name.zh, g.name.en, lang),
             bands=t("rules.card.grade.and", lang).join(bands))
    if g.flags:
        text += t("rules.card.grade.flags", lang, flags=t("rules.card.grade.flag_sep", lang).join(_flags(g.flags, lang)))
    return text


def card(rs: m.Ruleset, lang: str = "zh", version: str | None = None, sha256: str | None = None) -> str:
    """The rule card: title, period, how the total is formed, every rule, the grades, and the assumptions."""
    lang = normalize_lang(lang)
    lines = [f"# {pick(rs.name.zh, rs.name.en, lang)}", ""]
    lines.append(t("rules.card.source", lang, source=rs.source))
    lines.append(t("rules.card.assesses", lang, subject=t(f"rules.card.subject.{rs.subject}", lang),
                   period=t(f"rules.card.period.{rs.period}", lang), start=rs.effective.from_period)
                 + (t("rules.card.version", lang, version=version, sha=sha256[:12]) if version and sha256 else ""))
    if rs.unit_kinds:
        # The kinds are Chinese names (部门、乡镇), so the card lists them as Chinese does in either language.
        lines.append(t("rules.card.unit_kinds", lang, kinds=join(rs.unit_kinds, "zh")))
    lines += ["", *_model(rs, lang)]
    for sec in rs.sections:
        lines += ["", f"## {pick(sec.name.zh, sec.name.en, lang)}{t(f'rules.card.pool.{sec.pool}', lang)}"]
        lines += [f"- {rule_sentence(it, lang)}" for it in sec.items]
    if rs.grades:
        lines += ["", f"## {t('rules.card.grades', lang)}"]
        lines += [f"- {_grade(g, lang)}" for g in rs.grades]
    stage = _stage(rs.ranking, rs.excellence, lang)
    if stage:
        lines += ["", f"## {t('rules.card.stage', lang)}"]
        lines += [f"- {x}" for x in stage]
    for r in rs.rollups:
        lines += ["", f"## {t(f'rules.card.rollup.title.{r.period}', lang)}"]
        lines.append("- " + t("rules.card.rollup.combine", lang, period=t(f"rules.card.rollup.period.{r.period}", lang),
                              how=t(f"rules.card.rollup.how.{r.combine}", lang)))
        if r.partial == "scale" and r.combine == "sum":
            lines.append("- " + t("rules.card.rollup.scaled", lang, n=parts_in(rs.period, r.period)))
        lines += [f"- {_grade(g, lang)}" for g in r.grades]
        lines += [f"- {x}" for x in _stage(r.ranking, r.excellence, lang)]
    if rs.assumptions:
        lines += ["", f"## {t('rules.card.assumptions', lang)}"]
        lines += [f"- {pick(a.zh, a.en, lang)}" for a in rs.assumptions]
    return "\n".join(lines) + "\n"
