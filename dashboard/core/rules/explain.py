"""A ruleset as sentences a leadership office can sign off (the rule card), in Chinese or English."""

from __future__ import annotations

from decimal import Decimal

from dashboard.core.contract import EVENT_LEVELS, catalog_flags
from dashboard.core.metrics import metrics
from dashboard.core.rules import model as m


def _pts(d: Decimal) -> str:
    """A signed number of points: −2, +3, −0.2."""
    text = format(d.normalize(), "f")
    sign = "+" if d > 0 else ("−" if d < 0 else "")
    return f"{sign}{text.lstrip('-')}"


def _pct(d: Decimal) -> str:
    return f"{format((d * 100).normalize(), 'f')}%"


def _per_event(r: m.PerEvent, lang: str) -> str:
    zh = lang == "zh"
    if r.points is not None:
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
            + ("，" if zh else ", ").join(parts)
    else:
        how = "不计分" if zh else "no points"
    extra = []
    if r.max_total is not None:
        extra.append(f"本项合计不超过 {r.max_total} 分" if zh else f"at most {r.max_total} points in all")
    if r.max is not None:
        extra.append(f"本项最多 {r.max} 分" if zh else f"at most {r.max} points for the item")
    for f in r.flags:
        flag = catalog_flags()[f]
        extra.append(flag["zh"] if zh else flag["en"].lower())
    return how + "".join(("；" if zh else "; ") + e for e in extra)


def _slope(r: m.ThresholdSlope, lang: str) -> str:
    zh = lang == "zh"
    metric = metrics()[r.metric].name(lang)
    step = format((r.step * 100).normalize(), "f")
    if zh:
        side = "低于" if r.direction == "below" else "高于"
        more = "低" if r.direction == "below" else "高"
        text = f"{metric}{side} {_pct(r.target)} 时，每{more} {step} 个百分点 {_pts(r.points_per_step)} 分（不足一档不计）"
    else:
        side = "below" if r.direction == "below" else "above"
        text = (f"{metric} {side} {_pct(r.target)}: {_pts(r.points_per_step)} for each full {step} "
                f"percentage points {side} it")
    if r.max is not None:
        text += f"；本项最多 {r.max} 分" if zh else f"; at most {r.max} points"
    return text


def rule_sentence(r: m.RuleBase, lang: str) -> str:
    """One rule as a sentence: its name, what it does, and the clause it comes from."""
    body = {"per_event": _per_event, "threshold_slope": _slope}.get(getattr(r, "kind", ""))
    what = body(r, lang) if body else (f"（{r.kind}）" if lang == "zh" else f"({r.kind})")
    src = f"（{r.source}）" if lang == "zh" and r.source else (f" ({r.source})" if r.source else "")
    sep = "：" if lang == "zh" else ": "
    return f"{r.name.zh if lang == 'zh' else r.name.en}{sep}{what}{src}"


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
    return f"{g.name.zh if zh else g.name.en}{'：' if zh else ': '}{('且' if zh else ' and ').join(parts)}"


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
    lines += ["", *_model(rs, lang)]
    for sec in rs.sections:
        pool = {"score": ("", ""), "bonus": ("（加分）", " (bonuses)"), "deduction": ("（扣分）", " (deductions)")}[sec.pool]
        lines += ["", f"## {sec.name.zh if zh else sec.name.en}{pool[0] if zh else pool[1]}"]
        lines += [f"- {rule_sentence(it, lang)}" for it in sec.items]
    if rs.grades:
        lines += ["", "## 等次" if zh else "## Grades"]
        lines += [f"- {_grade(g, lang)}" for g in rs.grades]
    if rs.assumptions:
        lines += ["", "## 文件未明确之处的约定" if zh else "## Where the document is silent: assumptions"]
        lines += [f"- {a.zh if zh else a.en}" for a in rs.assumptions]
    return "\n".join(lines) + "\n"
