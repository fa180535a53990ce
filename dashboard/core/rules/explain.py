"""A ruleset as sentences a leadership office can sign off (the rule card), in Chinese or English."""

from __future__ import annotations

from dashboard.core.contract import catalog_flags, event_types
from dashboard.core.metrics import metrics
from dashboard.core.rules import kinds
from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import parts_in
from dashboard.core.rules.wording import percent, plain, points_en


def _ranks(first: int, last: int, lang: str) -> str:
    if lang == "zh":
        return f"第 {first} 名" if first == last else f"第 {first}–{last} 名"
    return f"rank {first}" if first == last else f"ranks {first}–{last}"


def _veto(r: m.RuleBase, lang: str) -> str:
    assert r.veto is not None
    zh = lang == "zh"
    what = [event_types()[t]["zh" if zh else "en"] for t in r.veto.event_types]
    what += [metrics()[x].name(lang) for x in r.veto.metrics]
    outcome = {"zero": ("本项不得分", "the item scores nothing"), "half": ("本项得分减半", "the item's score is halved"),
               "none": ("本项照常计分", "the item is scored as usual")}
    tiers = []
    for t in sorted(r.veto.tiers, key=lambda t: t.min_count):
        flags = [catalog_flags()[f]["zh" if zh else "en"] for f in t.flags]
        tail = ("，" + "，".join(flags)) if zh and flags else ("; " + "; ".join(flags) if flags else "")
        own = ""
        if t.event_types is not None or t.metrics is not None:
            types, counted = r.veto.counted(t)
            names = [event_types()[x]["zh" if zh else "en"] for x in types] + [metrics()[x].name(lang) for x in counted]
            own = f"（本档计{'、'.join(names)}）" if zh else f" (counting {', '.join(names)})"
        tiers.append(f"累计 {t.min_count} 件次及以上{own}{outcome[t.outcome][0]}{tail}" if zh else
                     f"from {t.min_count}{own}: {outcome[t.outcome][1]}{tail}")
    joined = "、".join(what) if zh else ", ".join(what)
    return (f"否决：{joined}" + "；".join([""] + tiers)) if zh else (f"veto on {joined}: " + "; ".join(tiers))


def rule_sentence(r: m.RuleBase, lang: str) -> str:
    """One rule as a sentence: its name, what it does, its range, veto and the clause it comes from."""
    zh = lang == "zh"
    kind = kinds.of(r)
    what = kind.sentence(r, lang)
    if r.max is not None and not kind.says_max:
        what += f"；本项最多 {plain(r.max)} 分" if zh else f"; at most {points_en(r.max)} for the item"
    if r.unit_kinds:
        what += (f"；仅适用于{'、'.join(r.unit_kinds)}" if zh else f"; applies to {', '.join(r.unit_kinds)} only")
    if r.round is not None:
        what += (f"；本项得分四舍五入保留 {r.round} 位小数" if zh else
                 f"; the item's score is rounded half-up to {r.round} decimal place{'' if r.round == 1 else 's'}")
    if r.veto is not None:
        what += ("；" if zh else "; ") + _veto(r, lang)
    if r.note:
        what += f"（{r.note}）" if zh else f" (note: {r.note})"
    src = f"（{r.source}）" if zh and r.source else (f" ({r.source})" if r.source else "")
    sep = "：" if zh else ": "
    return f"{r.name.zh if zh else r.name.en}{sep}{what}{src}"


def _stage(ranking: m.Ranking | None, excellence: m.Excellence | None, lang: str) -> list[str]:
    zh = lang == "zh"
    out = []
    if ranking is not None:
        where = ("各组（圈层）内" if ranking.within == "group" else "全部对象") if zh else \
            ("within each group" if ranking.within == "group" else "among all")
        if ranking.tie_break:
            keys = [metrics()[tb.metric].name(lang) + (("（高者在前）" if tb.order == "desc" else "（低者在前）") if zh
                    else (" (higher first)" if tb.order == "desc" else " (lower first)")) for tb in ranking.tie_break]
            out.append(f"按总分{where}排名；总分相同时依次比较{'、'.join(keys)}，仍相同者同名次。" if zh else
                       f"Ranked by total {where}; equal totals are ordered by {', then '.join(keys)}; "
                       "still equal, they share a rank.")
        else:
            out.append(f"按总分{where}排名，同分同名次（如 1、2、2、4）。" if zh else
                       f"Ranked by total {where}; equal totals share a rank (1, 2, 2, 4).")
        if ranking.min_volume:
            mv = ranking.min_volume
            out.append(f"{metrics()[mv.metric].name(lang)}不足 {mv.min} 的列出但不参与排名。" if zh else
                       f"Fewer than {mv.min} of {metrics()[mv.metric].name(lang)}: listed, not ranked.")
        for t in ranking.tiers:
            first, last = t.ranks
            out.append(f"{_ranks(first, last, lang)}：{t.name.zh}" if zh else
                       f"{_ranks(first, last, lang).capitalize()}: {t.name.en}")
        if ranking.downgrade:
            flags = [catalog_flags()[f]["zh" if zh else "en"] for f in ranking.downgrade.flags]
            out.append(f"有{'、'.join(flags)}情形的降 {ranking.downgrade.steps} 个等级。" if zh else
                       f"With {', '.join(flags)}: down {ranking.downgrade.steps} tier(s).")
        if ranking.below_lowest:
            out.append(f"低于最低等级者：{ranking.below_lowest.zh}" if zh else
                       f"Below the lowest tier: {ranking.below_lowest.en}")
        for a, (first, last) in zip(ranking.awards, ranking.award_ranks(), strict=True):
            held = (f"（共 {a.places} 个名额）" if zh else f" ({a.places} award{'' if a.places == 1 else 's'})") \
                if a.places else ""
            out.append(f"{_ranks(first, last, lang)}授予「{a.name.zh}」{held}" if zh else
                       f"{_ranks(first, last, lang).capitalize()}: “{a.name.en}”{held}")
        if ranking.awards and ranking.award_ties == "exclude":
            out.append("末位并列超出名额的，并列者均不授予该称号（称号数不超过名额）。" if zh else
                       "A tie that would exceed an award's places gets none of it (never more awards than places).")
        elif ranking.awards and ranking.award_ties == "include":
            out.append("末位并列的均授予该称号（可能超出名额）。" if zh else
                       "A tie at an award's last place shares it (it may be given more often than it has places).")
        if ranking.award_ineligible_flags:
            flags = [catalog_flags()[f]["zh" if zh else "en"] for f in ranking.award_ineligible_flags]
            out.append(f"有{'、'.join(flags)}情形的不授予称号（名次依次递补）。" if zh else
                       f"Subjects with {', '.join(flags)} are passed over for titles.")
    if excellence is not None:
        e = excellence
        where = ("各组（圈层）" if e.within == "group" else "全部对象") if zh else \
            ("each group" if e.within == "group" else "all subjects")
        ties = {"include": ("名额边界并列者全部评为", "ties at the cutoff are all included (the quota may be exceeded)"),
                "exclude": ("名额边界并列且超出名额者均不评为", "ties at the cutoff that would exceed the quota are all left out")}
        grades = "、".join(e.grades)
        out.append(
            f"{e.name.zh}：{where}不超过 {percent(e.quota)}（向下取整）" + (f"，须为{grades}" if grades else "")
            + f"，{ties[e.ties_at_cutoff][0]}{e.name.zh}。" if zh else
            f"{e.name.en}: at most {percent(e.quota)} of {where} (rounded down)"
            + (f", from grade {', '.join(e.grades)}" if e.grades else "") + f"; {ties[e.ties_at_cutoff][1]}.")
        if e.demote_to:
            out.append(f"分数达到{'、'.join(e.grades)}但未评为{e.name.zh}者（超出名额或不具备资格），等次定为{e.demote_to}。"
                       if zh else f"Those in grade {', '.join(e.grades)} who are not {e.name.en} (over the quota or "
                       f"not eligible) are graded {e.demote_to}.")
        if e.ineligible_flags:
            flags = [catalog_flags()[f]["zh" if zh else "en"] for f in e.ineligible_flags]
            out.append(f"有{'、'.join(flags)}情形的不得评为{e.name.zh}。" if zh else
                       f"Not eligible with: {', '.join(flags)}.")
    return out


def _model(rs: m.Ruleset, lang: str) -> list[str]:
    zh = lang == "zh"
    md = rs.model
    if isinstance(md, m.Scorecard):
        return [f"满分 {md.max} 分，由以下各部分组成。" if zh else f"Out of {md.max} points, made up of the sections below."]
    out = [f"基础分 {md.base} 分。" if zh else f"Base score {md.base}."]
    if md.bonus_cap is not None:
        out.append(f"加分合计不超过 {md.bonus_cap} 分。" if zh else f"Bonuses add at most {md.bonus_cap} in all.")
    if md.deduction_not_exceed_bonus:
        out.append("扣分不超过加分。" if zh else "Deductions never exceed the bonuses.")
    if md.base_floor is not None:
        out.append(f"基础分扣分扣完为止（不低于 {md.base_floor} 分），再加加分。" if zh
                   else f"Deductions from the base stop at {md.base_floor}; bonuses are added after that.")
    if md.total_floor is not None:
        out.append(f"总分不低于 {md.total_floor} 分（扣完为止）。" if zh
                   else f"The total never falls below {md.total_floor} (deductions stop there).")
    if md.total_cap is not None:
        out.append(f"总分不高于 {md.total_cap} 分。" if zh else f"The total is at most {md.total_cap}.")
    out.append("总分最后一次四舍五入保留两位小数。" if zh else "The total is rounded half-up to two decimals, once, at the end.")
    return out


def _grade(g: m.Grade, lang: str) -> str:
    zh = lang == "zh"
    parts = []
    if g.min is not None:
        parts.append((f"{'不低于' if g.min_inclusive else '高于'} {g.min} 分") if zh
                     else f"{'at least' if g.min_inclusive else 'above'} {g.min}")
    if g.max is not None:
        parts.append((f"{'不高于' if g.max_inclusive else '低于'} {g.max} 分") if zh
                     else f"{'at most' if g.max_inclusive else 'below'} {g.max}")
    text = f"{g.name.zh if zh else g.name.en}{'：' if zh else ': '}{('且' if zh else ' and ').join(parts)}"
    if g.flags:
        flags = [catalog_flags()[f]["zh" if zh else "en"] for f in g.flags]
        text += f"（{'、'.join(flags)}）" if zh else f" ({'; '.join(flags)})"
    return text


def card(rs: m.Ruleset, lang: str = "zh", version: str | None = None, sha256: str | None = None) -> str:
    """The rule card: title, period, how the total is formed, every rule, the grades, and the assumptions."""
    zh = lang == "zh"
    period = {"month": ("每月", "monthly"), "quarter": ("每季度", "quarterly"), "year": ("每年", "yearly")}[rs.period]
    subject = {"unit": ("单位", "units"), "window": ("窗口", "windows"), "staff": ("工作人员", "staff")}[rs.subject]
    lines = [f"# {rs.name.zh if zh else rs.name.en}", ""]
    lines.append(f"依据：{rs.source}" if zh else f"Source: {rs.source}")
    lines.append((f"考核对象：{subject[0]}；考核周期：{period[0]}；自 {rs.effective.from_period} 起施行"
                  if zh else f"Assesses {subject[1]}, {period[1]}, from {rs.effective.from_period}")
                 + (f"（版本 {version}，sha256 {sha256[:12]}）" if zh and version and sha256 else
                    f" (version {version}, sha256 {sha256[:12]})" if version and sha256 else ""))
    if rs.unit_kinds:
        kinds = "、".join(rs.unit_kinds)
        lines.append(f"适用单位类型：{kinds}" if zh else f"Applies to unit kinds: {kinds}")
    lines += ["", *_model(rs, lang)]
    for sec in rs.sections:
        pool = {"score": ("", ""), "bonus": ("（加分）", " (bonuses)"), "deduction": ("（扣分）", " (deductions)")}[sec.pool]
        lines += ["", f"## {sec.name.zh if zh else sec.name.en}{pool[0] if zh else pool[1]}"]
        lines += [f"- {rule_sentence(it, lang)}" for it in sec.items]
    if rs.grades:
        lines += ["", "## 等次" if zh else "## Grades"]
        lines += [f"- {_grade(g, lang)}" for g in rs.grades]
    stage = _stage(rs.ranking, rs.excellence, lang)
    if stage:
        lines += ["", "## 排名与评优" if zh else "## Ranking and excellence"]
        lines += [f"- {x}" for x in stage]
    for r in rs.rollups:
        period_name = {"quarter": ("季度", "Quarter"), "year": ("年度", "Year")}[r.period]
        how = {"sum": ("各期得分之和", "the sum of its periods' totals"),
               "mean": ("各期得分的平均（按实际考核期数）", "the mean of its periods' totals (over the periods scored)")}
        lines += ["", f"## {period_name[0]}汇总" if zh else f"## {period_name[1]} roll-up"]
        lines.append(f"- {period_name[0]}得分为{how[r.combine][0]}。" if zh else
                     f"- The {period_name[1].lower()} score is {how[r.combine][1]}.")
        if r.partial == "scale" and r.combine == "sum":
            n = parts_in(rs.period, r.period)
            lines.append(f"- 考核期不满 {n} 期的，按已考核各期的平均分 × {n} 计。" if zh else
                         f"- Scored in fewer than {n} periods: the mean of those scored × {n}.")
        lines += [f"- {_grade(g, lang)}" for g in r.grades]
        lines += [f"- {x}" for x in _stage(r.ranking, r.excellence, lang)]
    if rs.assumptions:
        lines += ["", "## 文件未明确之处的约定" if zh else "## Where the document is silent: assumptions"]
        lines += [f"- {a.zh if zh else a.en}" for a in rs.assumptions]
    return "\n".join(lines) + "\n"
