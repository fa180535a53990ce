"""The hall office's records: events about staff and units, and manual scores."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dashboard.core.contract import (
    EVENT_LEVELS,
    TABLES,
    UNIT_KINDS,
    event_types,
)
from dashboard.demo.arrays import _choice, _office_tod, _ts
from dashboard.demo.plan import (
    BACK_OFFICE_EVENTS,
    DAY,
    EVENT_TYPES,
    HOUR,
    NEGATIVE_EVENTS,
    RECORDERS,
    SOURCES,
    UNIT_EVENTS,
)

PENNANT_WORDS = ("热情服务暖人心", "高效办事为人民", "服务周到情暖人心", "便民利民真诚为民", "一心为民办实事")
MEDIA = {"县级": "县融媒体中心", "市级": "市日报", "省级": "省电视台", "国家级": "人民网"}
MEDIA_TOPICS = ("“一件事一次办”", "帮办代办", "延时错时服务", "“跨省通办”", "“免证办”")
CRITICISM = ("办件超期", "差评整改不及时", "窗口空岗", "数据录入不规范", "一次性告知不到位")
COMPLAINTS = ("等待时间长", "多次跑动仍未办成", "工作人员推诿", "材料要求前后不一致", "网上申报后迟迟未受理")


def _events(ctx, d, prof, rng, i, ym, people) -> pa.Table:
    """Hall-office records of the month's plan: inspections, notices, complaints, pennants and press, each with the
    window and staff member where one is meant, and a note as the office writes it."""
    etype, unit = prof.events[i]
    n = len(etype)
    codes = [EVENT_TYPES[e] for e in etype]
    neg = np.array([c in NEGATIVE_EVENTS for c in codes], bool)
    # A unit's deductions gather at its worse windows; bonuses land anywhere.
    a, k = d.unit_win[unit, 0], d.unit_win[unit, 1]
    cum = np.cumsum(prof.win_conduct)
    before = np.where(a > 0, cum[np.maximum(a - 1, 0)], 0.0)
    w_neg = np.searchsorted(cum, before + rng.random(n) * (cum[a + k - 1] - before), side="right")
    window = np.where(neg, np.clip(w_neg, a, a + k - 1), a + (rng.random(n) * k).astype(np.int64))
    staff = d.win_staff[window, 0] + (rng.random(n) * d.win_staff[window, 1]).astype(np.int64)
    back = d.unit_bo[unit, 0] + (rng.random(n) * d.unit_bo[unit, 1]).astype(np.int64)
    lo, hi = ctx.month_day[i], ctx.month_day[i + 1]
    wday = lo + _choice(rng, ctx.work[lo:hi].astype(float), n)
    aday = lo + rng.integers(0, hi - lo, n)
    anytime = np.isin(etype, [EVENT_TYPES.index(c) for c in ("complaint_12345", "media_exposure") if c in EVENT_TYPES])
    t = np.where(anytime, (ctx.day0 + aday) * DAY + 8 * HOUR + rng.integers(0, 14 * HOUR, n),
                 (ctx.day0 + wday) * DAY + _office_tod(rng, n))
    o = np.argsort(t, kind="stable")
    etype, unit, window, staff, back, t = etype[o], unit[o], window[o], staff[o], back[o], t[o]
    zc = prof.conduct[i, unit]
    phones = people.phone(people.draw(rng, n) + 7 * people.population, 4).to_pylist()
    ids = people.id_number(people.draw(rng, n) + 7 * people.population).to_pylist()

    def caller(j: int, x: float) -> str:
        # Callers and complainants dictate numbers into the record: the gate must scrub them from the note.
        return f"（联系电话 {phones[j]}）" if x < 0.25 else (f"（身份证号 {ids[j]}）" if x < 0.3 else "")

    rows = {c: [] for c in TABLES["events"].names}
    for j in range(n):
        et = EVENT_TYPES[etype[j]]
        spec = event_types()[et]
        wname, sname, uname = d.win_names[window[j]], d.staff_names[staff[j]], d.unit_names[unit[j]]
        level = severity = duration = None
        per_staff = et not in UNIT_EVENTS
        staff_j = int(back[j]) if et in BACK_OFFICE_EVENTS else int(staff[j])
        count = 1
        verified = bool(rng.random() < 0.9)
        if et == "late":
            duration = int(rng.integers(5, 46))
            severity = 1 if duration < 30 else 2
            note, source = f"巡查发现{wname}工作人员{sname}迟到{duration}分钟", "巡查"
        elif et == "post_empty":
            # 20 minutes and more is recorded; weak units leave posts longer, a few for more than half a day (旷工).
            x = rng.random()
            long_p, absent_p = 0.22 + 0.25 * min(zc[j], 1), 0.04 + 0.10 * min(zc[j], 1)
            duration = int(rng.integers(240, 481) if x < absent_p else
                           rng.integers(60, 240) if x < absent_p + long_p else rng.integers(21, 60))
            severity = 1 if duration < 60 else (2 if duration < 240 else 3)
            what = "旷工" if duration >= 240 else "空岗"
            note, source = f"{wname}{what}{duration}分钟，未放置暂停服务牌，群众等候", "巡查"
        elif et == "phone":
            severity = 3 if rng.random() < 0.05 + 0.15 * min(zc[j], 1) else 1
            count = int(1 + (rng.random() < 0.2))
            note, source = f"视频巡查发现{wname}工作人员{sname}工作时间玩手机", "巡查"
        elif et == "dress":
            severity, count = 1, int(1 + (rng.random() < 0.2))
            note, source = f"{wname}工作人员{sname}未按规定着装、未佩戴工作牌", "巡查"
        elif et == "attitude":
            severity = int(rng.integers(1, 3))
            note, source = f"群众反映{wname}工作人员{sname}服务态度生硬，经调取录音录像属实", "巡查"
        elif et == "quarrel":
            severity = 2
            note = f"办事群众{caller(j, rng.random())}反映{wname}工作人员{sname}与其争吵，经调取录音录像属实"
            source = "群众反映"
        elif et == "pennant":
            note = f"办事群众赠送锦旗“{PENNANT_WORDS[int(rng.integers(0, len(PENNANT_WORDS)))]}”，感谢{wname}工作人员{sname}"
            source = "群众赠送"
        elif et == "praise_or_media":
            level = EVENT_LEVELS[int(_choice(rng, np.array([0.4, 0.35, 0.2, 0.05]), 1)[0])]
            topic = MEDIA_TOPICS[int(rng.integers(0, len(MEDIA_TOPICS)))]
            note, source = f"{MEDIA[level]}报道{uname}{topic}便民举措", "媒体"
        elif et == "criticized":
            level = EVENT_LEVELS[int(_choice(rng, np.array([0.5, 0.35, 0.13, 0.02]), 1)[0])]
            severity = 2 if level == "县级" else 3
            reason = CRITICISM[int(rng.integers(0, len(CRITICISM)))]
            note, source = f"{uname}因{reason}被{level}通报批评", "通知单"
        elif et == "complaint_12345":
            severity = int(rng.integers(1, 4))
            what = COMPLAINTS[int(rng.integers(0, len(COMPLAINTS)))]
            note = f"12345 热线工单：来电人{caller(j, rng.random())}反映在{uname}办事{what}"
            source, per_staff = "12345", rng.random() < 0.5
        elif spec["kind"] == "bonus":
            level = EVENT_LEVELS[int(_choice(rng, np.array([0.5, 0.3, 0.15, 0.05]), 1)[0])]
            who = f"{wname}工作人员{sname}" if per_staff else uname
            note, source = f"{who}：{spec['zh']}（{level}）", "通知单"
        else:
            severity = int(rng.integers(1, 4))
            if et == "backoffice_absent":
                duration = int(rng.integers(30, 240))
            where = uname if not per_staff else (f"{uname}后台" if et in BACK_OFFICE_EVENTS else wname)
            source = SOURCES.get(et, "巡查" if per_staff else "通知单")
            note = f"{'巡查记录' if source == '巡查' else source}：{where}{spec['zh']}"
        if et in NEGATIVE_EVENTS:
            status = ("已整改" if rng.random() < 0.3 else "已确认") if verified else "待核实"
        else:
            status, verified = "已登记", True
        rows["event_id"].append(f"SJ{ym:06d}{j + 1:04d}")
        rows["occurred_at"].append(int(t[j]))
        rows["unit_code"].append(d.unit_code[unit[j]].as_py())
        rows["window_code"].append(d.win_code[window[j]].as_py() if per_staff and et not in BACK_OFFICE_EVENTS
                                   else None)
        rows["staff_id"].append(d.staff_id[staff_j].as_py() if per_staff else None)
        rows["event_type"].append(et)
        rows["level"].append(level)
        rows["severity"].append(severity)
        rows["duration_min"].append(duration)
        rows["count"].append(count)
        rows["source"].append(source)
        rows["verified"].append(verified)
        rows["status"].append(status)
        rows["note"].append(note)
        rows["recorded_by"].append(RECORDERS[int(rng.integers(0, len(RECORDERS)))])
        rows["updated_at"].append(int(t[j] + rng.integers(HOUR, 3 * DAY)))
    tt = np.array(rows["occurred_at"], np.int64)
    upd = np.minimum(np.array(rows["updated_at"], np.int64), ctx.as_of)
    types = {c.name: c.type for c in TABLES["events"].columns}
    cols = {c: pa.array(v, types[c]) for c, v in rows.items() if c not in ("occurred_at", "updated_at")}
    cols["occurred_at"] = _ts(tt)
    cols["updated_at"] = _ts(np.maximum(upd, tt))
    return pa.table({c: cols[c] for c in TABLES["events"].names})


def _periods_of(kind: str, months: list[tuple[int, int]]) -> list[tuple[str, tuple[int, int]]]:
    """The ruleset periods the demo months cover, each with its last month (when the assessors record)."""
    out: dict[str, tuple[int, int]] = {}
    for y, mo in months:
        label = {"month": f"{y:04d}-{mo:02d}", "quarter": f"{y:04d}-Q{(mo - 1) // 3 + 1}", "year": f"{y:04d}"}[kind]
        out[label] = (y, mo)
    return list(out.items())


def _manual_scores(dims, ctx, rng) -> pa.Table:
    """Assessors' values for every manual item of every shipped ruleset: mostly clean, some findings, a reason each."""
    from dashboard.core.rules import model as rm
    from dashboard.core.rules.loader import load, ruleset_files

    newest: dict[str, rm.Ruleset] = {}
    for path in ruleset_files():
        rs = load(path).ruleset
        newest[rs.id] = rs  # files sort by first period: the last one is the newest version
    units = dims.units.to_pydict()
    kind_of = dict(zip(units["unit_code"], units["kind"], strict=True))
    windows = dims.windows.to_pydict()
    staff = dims.staff.to_pydict()
    rows: dict[str, list] = {c: [] for c in TABLES["manual_scores"].names}
    for rs in newest.values():
        items = [it for sec in rs.sections for it in sec.items if isinstance(it, rm.Manual)]
        if not items:
            continue
        ok = set(rs.unit_kinds) or set(UNIT_KINDS)
        if rs.subject == "unit":
            subjects = [(u, u) for u in units["unit_code"] if kind_of[u] in ok]
        elif rs.subject == "window":
            subjects = [(u, w) for w, u in zip(windows["window_code"], windows["unit_code"], strict=True)
                        if kind_of[u] in ok]
        else:
            subjects = [(u, s) for s, u in zip(staff["staff_id"], staff["unit_code"], strict=True) if kind_of[u] in ok]
        for label, (y, mo) in _periods_of(rs.period, ctx.months):
            stamp = int(ctx.month_start[ctx.months.index((y, mo))]) + 20 * DAY
            for unit, subject in subjects:
                for it in items:
                    lo, hi = float(it.min_value), float(it.max_value)
                    if hi <= 0:  # a deduction the assessors found, or nothing
                        value = 0.0 if rng.random() < 0.7 else max(lo, -0.5 * int(rng.integers(1, 5)))
                    elif lo >= 0:  # points the assessors award, usually most of them
                        value = min(hi, max(lo, round(hi * float(rng.choice([1, 1, 0.9, 0.8, 0.6])) * 2) / 2))
                    else:
                        value = round(float(rng.uniform(lo, hi)) * 2) / 2
                    rows["ruleset_id"].append(rs.id)
                    rows["item_id"].append(it.id)
                    rows["unit_code"].append(unit)
                    rows["subject_code"].append(subject)
                    rows["period"].append(label)
                    rows["value"].append(value)
                    rows["reason"].append(f"考核组现场查验、调阅资料：{it.name.zh}")
                    rows["assessor"].append(RECORDERS[int(rng.integers(0, len(RECORDERS)))])
                    rows["updated_at"].append(stamp)
    types = {c.name: c.type for c in TABLES["manual_scores"].columns}
    cols = {c: pa.array(v, types[c]) for c, v in rows.items() if c not in ("value", "updated_at")}
    cols["value"] = pa.array([str(v) for v in rows["value"]]).cast(types["value"])
    cols["updated_at"] = _ts(np.array(rows["updated_at"], np.int64))
    return pa.table({c: cols[c] for c in TABLES["manual_scores"].names})
