"""A ruleset as sentences a leadership office can sign off (the rule card), in Chinese or English."""

from __future__ import annotations

from decimal import Decimal

from dashboard.core.contract import EVENT_LEVELS, catalog_flags, event_types
from dashboard.core.metrics import metrics
from dashboard.core.rules import model as m
from dashboard.core.rules.compiler import parts_in


def _pts(d: Decimal) -> str:
    """A signed number of points: −2, +3, −0.2."""
    text = format(d.normalize(), "f")
    sign = "+" if d > 0 else ("−" if d < 0 else "")
    return f"{sign}{text.lstrip('-')}"


def _n(d: Decimal) -> str:
    """A plain number with a true minus sign: −0.5, 3."""
    text = format(d.normalize(), "f")
    return ("−" + text[1:]) if text.startswith("-") else text


def _points_en(d: Decimal) -> str:
    return f"{_n(d)} point{'' if abs(d) == 1 else 's'}"


def _ranks(first: int, last: int, lang: str) -> str:
    if lang == "zh":
        return f"第 {first} 名" if first == last else f"第 {first}–{last} 名"
    return f"rank {first}" if first == last else f"ranks {first}–{last}"


def _pct(d: Decimal) -> str:
    return f"{format((d * 100).normalize(), 'f')}%"


def _per_event(r: m.PerEvent, lang: str) -> str:
    zh = lang == "zh"
    if r.points is not None and r.metric is not None:
        counted = metrics()[r.metric].name(lang)
        unit = {"cases": ("件", "case"), "items": ("项（事项）", "item"), "sample": ("件（抽查件）", "sampled case"),
                "events": ("次", "occurrence"), None: ("件", "one")}[r.counts]
        how = f"按{counted}每{unit[0]} {_pts(r.points)} 分" if zh else f"{_pts(r.points)} per {unit[1]} of {counted}"
        if r.max_count is not None:
            how += (f"，最多计 {r.max_count} {unit[0].split('（')[0]}" if zh else
                    f", counting at most {r.max_count}")
    elif r.points is not None:
        how = f"每次 {_pts(r.points)} 分" if zh else f"{_pts(r.points)} per occurrence"
    elif r.points_by_level is not None:
        levels = sorted(r.points_by_level.items(), key=lambda kv: EVENT_LEVELS.index(kv[0]))
        parts = [f"{lvl} {_pts(p)}" for lvl, p in levels]
        how = ("按级别每次 " if zh else "per occurrence by level: ") + ("，" if zh else ", ").join(parts)
    elif r.points_by_severity is not None:
        parts = [f"{k} 级 {_pts(p)}" if zh else f"severity {k}: {_pts(p)}"
                 for k, p in sorted(r.points_by_severity.items())]
        how = ("按严重程度每次 " if zh else "per occurrence by severity: ") + ("，" if zh else ", ").join(parts)
    elif r.duration_tiers is not None:
        tiers = sorted(r.duration_tiers, key=lambda t: t.min_minutes)
        parts = [(f"持续 {t.min_minutes} 分钟及以上 {_pts(t.points)}" if zh else
                  f"{t.min_minutes} minutes or more: {_pts(t.points)}") for t in tiers]
        how = ("按持续时长每次（取达到的最高一档）" if zh else "per occurrence by duration (the highest tier reached): ") \
            + ("，" if zh else ", ").join(parts) \
            + ("；未记录时长的按最低一档计" if zh else "; an event recorded without its duration counts as the lowest tier")
    else:
        how = "不计分" if zh else "no points"
    extra = []
    if r.levels:
        extra.append(f"仅计{'、'.join(r.levels)}" if zh else f"only at level {', '.join(r.levels)}")
    if r.severities:
        sev = "、".join(str(x) for x in r.severities)
        extra.append(f"仅计严重程度 {sev} 级" if zh else f"only at severity {', '.join(str(x) for x in r.severities)}")
    if r.min_minutes is not None:
        extra.append(f"仅计持续 {r.min_minutes} 分钟及以上" if zh else f"only events lasting {r.min_minutes} minutes or more")
    if r.count_mode != "count":
        extra.append({"once": ("每条记录计一次（不按次数累计）", "each record once, whatever its count"),
                      "any": ("有则计一次，不累计", "once if any, not cumulative")}[r.count_mode][0 if zh else 1])
    if r.max_total is not None:
        extra.append(f"本项合计不超过 {_n(r.max_total)} 分" if zh else f"at most {_points_en(r.max_total)} in all")
    if r.max is not None:
        extra.append(f"本项最多 {_n(r.max)} 分" if zh else f"at most {_points_en(r.max)} for the item")
    for f in r.flags:
        flag = catalog_flags()[f]
        if r.flags_from_count > 1:
            extra.append(f"累计 {r.flags_from_count} 次及以上：{flag['zh']}" if zh else
                         f"from {r.flags_from_count} occurrences: {flag['en'].lower()}")
        else:
            extra.append(flag["zh"] if zh else flag["en"].lower())
    return how + "".join(("；" if zh else "; ") + e for e in extra)


def _slope(r: m.ThresholdSlope, lang: str) -> str:
    zh = lang == "zh"
    metric = metrics()[r.metric].name(lang)
    step = format((r.step * 100).normalize(), "f")
    if zh:
        side = "低于" if r.direction == "below" else "高于"
        more = "低" if r.direction == "below" else "高"
        tail = "（按实际差距连续计算，精确到 0.0001 分）" if r.continuous else "（不足一档不计）"
        text = f"{metric}{side} {_pct(r.target)} 时，每{more} {step} 个百分点 {_pts(r.points_per_step)} 分{tail}"
    else:
        side = "below" if r.direction == "below" else "above"
        text = (f"{metric} {side} {_pct(r.target)}: {_pts(r.points_per_step)} per {step} percentage points "
                f"{side} it, counted continuously (to 0.0001 of a point)" if r.continuous else
                f"{metric} {side} {_pct(r.target)}: {_pts(r.points_per_step)} for each full {step} "
                f"percentage points {side} it")
    if r.max is not None:
        text += f"；本项最多 {_n(r.max)} 分" if zh else f"; at most {_points_en(r.max)}"
    return text


def _value(metric: str, v: Decimal) -> str:
    """A threshold as the reader knows it: 98% for a rate, 15 分钟 for a mean, 3 for a count."""
    spec = metrics()[metric]
    if spec.kind in ("rate", "ratio"):
        return _pct(v)
    return format(v.normalize(), "f")


def _cmp(metric: str, op: str, value: Decimal, lang: str) -> str:
    words = {">=": ("不低于", "at least"), ">": ("高于", "above"), "<=": ("不高于", "at most"), "<": ("低于", "below"),
             "==": ("等于", "equal to")}[op]
    name = metrics()[metric].name(lang)
    return f"{name}{words[0]} {_value(metric, value)}" if lang == "zh" else f"{name} {words[1]} {_value(metric, value)}"


def _step(r: m.Step, lang: str) -> str:
    zh = lang == "zh"
    parts = []
    for b in r.bands:
        edges = []
        if b.min is not None:
            edges.append(_cmp(r.metric, ">=" if b.min_inclusive else ">", b.min, lang))
        if b.max is not None:
            edges.append(_cmp(r.metric, "<=" if b.max_inclusive else "<", b.max, lang))
        cond = ("且" if zh else " and ").join(edges) or (metrics()[r.metric].name(lang))
        parts.append(f"{cond} {_pts(b.points)} 分" if zh else f"{cond}: {_pts(b.points)}")
    return ("；" if zh else "; ").join(parts) + ("（取第一个符合的档次）" if zh else " (the first band that holds)")


def _rank_points(r: m.RankPoints, lang: str) -> str:
    name = metrics()[r.metric].name(lang)
    where = ("同组" if r.within == "group" else "全部对象") if lang == "zh" else \
        ("within the group" if r.within == "group" else "among all")
    if lang == "zh":
        order = "由高到低" if r.order == "desc" else "由低到高"
        return (f"按{name}{where}{order}排名，第一名 {r.first_points} 分，每降一名减 {r.decrement} 分，"
                f"最低 {r.min_points} 分（并列同名次）")
    order = "highest first" if r.order == "desc" else "lowest first"
    return (f"ranked by {name} {where} ({order}): {r.first_points} for first, {r.decrement} less per place, "
            f"at least {r.min_points} (ties share a rank)")


def _condition(r: m.Condition, lang: str) -> str:
    cond = _cmp(r.metric, r.op, r.value, lang)
    return f"{cond}时 {_pts(r.points)} 分" if lang == "zh" else f"{_pts(r.points)} when {cond}"


def _all_of(r: m.AllOf, lang: str) -> str:
    conds = ("、" if lang == "zh" else ", ").join(_cmp(t.metric, t.op, t.value, lang) for t in r.tests)
    return f"同时满足 {conds} 时 {_pts(r.points)} 分" if lang == "zh" else f"{_pts(r.points)} when all hold: {conds}"


def _manual(r: m.Manual, lang: str) -> str:
    if lang == "zh":
        return f"由考核组评定，取值 {_n(r.min_value)} 至 {_n(r.max_value)} 分，须注明理由"
    return f"set by the assessors between {_n(r.min_value)} and {_n(r.max_value)}, with a reason"


def _proportional(r: m.Proportional, lang: str) -> str:
    name = metrics()[r.metric].name(lang)
    return f"{r.points} 分 × {name}" if lang == "zh" else f"{r.points} × {name}"


def _peer(r: m.PeerCompare, lang: str) -> str:
    name = metrics()[r.metric].name(lang)
    if lang == "zh":
        side = "不低于" if r.better == "higher" else "不高于"
        scope = "同组" if r.within == "group" else "全部考核对象"
        return (f"{name}{side}{scope}平均水平 {_pts(r.points_at_or_better)} 分，否则 {_pts(r.points_worse)} 分"
                f"（比率按合计分子/合计分母比较，精确比较）")
    side = "at or above" if r.better == "higher" else "at or below"
    scope = "the group's" if r.within == "group" else "everyone's"
    return (f"{_pts(r.points_at_or_better)} when {name} is {side} {scope} average, else {_pts(r.points_worse)} "
            f"(a rate against the pooled rate, compared exactly)")


def _import(r: m.ImportScore, lang: str) -> str:
    if lang == "zh":
        return f"取考核方案 {r.ruleset} 的同期总分 × {r.scale}（缺少该得分时记为无数据，不计分并标记）"
    return (f"the total under ruleset {r.ruleset} for the same period × {r.scale} (a missing total is no data: "
            "no points, and flagged)")


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
    body = {"per_event": _per_event, "threshold_slope": _slope, "step": _step, "rank_points": _rank_points,
            "condition": _condition, "all_of": _all_of, "manual": _manual, "proportional": _proportional,
            "peer_compare": _peer, "import_score": _import}[r.kind]  # type: ignore[attr-defined]
    what = body(r, lang)
    if r.max is not None and r.kind not in ("per_event", "threshold_slope"):  # type: ignore[attr-defined]
        what += f"；本项最多 {_n(r.max)} 分" if zh else f"; at most {_points_en(r.max)} for the item"
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
            out.append(f"{_ranks(*t.ranks, lang)}：{t.name.zh}" if zh else
                       f"{_ranks(*t.ranks, lang).capitalize()}: {t.name.en}")
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
            f"{e.name.zh}：{where}不超过 {_pct(e.quota)}（向下取整）" + (f"，须为{grades}" if grades else "")
            + f"，{ties[e.ties_at_cutoff][0]}{e.name.zh}。" if zh else
            f"{e.name.en}: at most {_pct(e.quota)} of {where} (rounded down)"
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
