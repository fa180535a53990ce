"""One month of the hall: its cases, ratings, supervision signals and queue tickets."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dashboard.core.contract import (
    APPEALS,
    CASE_STATUSES,
    CHANNELS,
    ITEM_KINDS,
    SIGNALS,
    TICKET_STATUSES,
)
from dashboard.demo.arrays import _any_tod, _choice, _codes, _office_tod, _pool, _take, _ts
from dashboard.demo.events import _events
from dashboard.demo.hall import _Ctx, _Dims, _People, _Profile
from dashboard.demo.plan import (
    BAD_TAGS,
    CH_MOBILE,
    CH_WEB,
    CH_WINDOW,
    CHANNEL_P_HALL,
    CHANNEL_P_TOWN,
    DAY,
    DIRTY_PLAN,
    GAP_MONTHS,
    GAP_UNIT,
    HOUR,
    KIND_NOW,
    MINUTE,
    MONTHS,
    ST_DONE,
    ST_ENDED,
    ST_OPEN,
    ST_REFUSED,
    ST_RETURNED,
    ST_SUSPENDED,
    UNIT_SPECS,
)


@dataclass
class _Month:
    cases: pa.Table  # versions as exported in this month's file
    reexports: list[tuple[int, pa.Table]]
    evaluations: list[tuple[int, pa.Table]]
    supervision: list[tuple[int, pa.Table]]
    tickets: pa.Table
    events: pa.Table


def _split(table: pa.Table, month: np.ndarray) -> list[tuple[int, pa.Table]]:
    """Rows grouped by the month file they belong to; rows after the covered span are not exported yet."""
    out = []
    for m in np.unique(month):
        if 0 <= m < MONTHS:
            out.append((int(m), table.filter(pa.array(month == m))))
    return out


def _month(ctx: _Ctx, d: _Dims, prof: _Profile, people: _People, i: int, rng: np.random.Generator) -> _Month:
    n = int(ctx.counts[i])
    ym = ctx.months[i][0] * 100 + ctx.months[i][1]
    frac = i / (MONTHS - 1)
    u_gap = d.unit_code.to_pylist().index(GAP_UNIT)

    # What is applied for, where and how.
    unit_w = d.unit_w.copy()
    if i in GAP_MONTHS:
        unit_w[u_gap] = 0.0
    item = _choice(rng, unit_w[d.item_unit] * d.item_w, n)
    unit = d.item_unit[item]
    kind = d.item_kind[item]
    legal = d.item_legal[item]
    prom = d.item_promised[item]
    shift = np.array([-0.06, 0.04, 0, 0.02, 0, 0, 0]) * frac  # 网办 grows month by month
    ch_hall = _choice(rng, CHANNEL_P_HALL + shift, n)
    ch_town = _choice(rng, CHANNEL_P_TOWN + shift, n)
    channel = np.where(d.unit_town[unit], ch_town, ch_hall)

    # When: working days in office hours; some online applications are accepted automatically at any hour.
    lo, hi = ctx.month_day[i], ctx.month_day[i + 1]
    online = (channel == CH_WEB) | (channel == CH_MOBILE)
    anyday = online & (rng.random(n) < 0.3)
    work_p = (ctx.work * ctx.peak)[lo:hi]
    any_p = np.where(ctx.work[lo:hi], 1.0, 0.45)
    day = lo + np.where(anyday, _choice(rng, any_p, n), _choice(rng, work_p, n))
    tod = np.where(anyday, _any_tod(rng, n), _office_tod(rng, n))
    acc = (ctx.day0 + day) * DAY + tod

    order = np.argsort(acc, kind="stable")
    item, unit, kind, legal, prom, channel, day, tod, acc, anyday = (
        a[order] for a in (item, unit, kind, legal, prom, channel, day, tod, acc, anyday))

    win_case = channel == CH_WINDOW
    online = (channel == CH_WEB) | (channel == CH_MOBILE)
    r = rng.random(n)
    window = d.unit_win[unit, 0] + (r * d.unit_win[unit, 1]).astype(np.int64)
    staff_w = d.win_staff[window, 0] + (rng.random(n) * d.win_staff[window, 1]).astype(np.int64)
    staff_b = d.unit_bo[unit, 0] + (rng.random(n) * d.unit_bo[unit, 1]).astype(np.int64)
    staff = np.where(win_case, staff_w, staff_b)

    # Deadline: end of the promised_days-th working day after acceptance.
    dl_idx, _ = ctx.nth_workday(day, prom)
    deadline = (ctx.day0 + dl_idx) * DAY + DAY - 1

    # Outcome. Late share by the unit's month, the item and, at a window, the window's month.
    late_p = prof.late[i, unit] * prof.item_late[item] * np.where(win_case, prof.win_late[i, window], 1.0)
    late_p = np.minimum(np.where(kind == KIND_NOW, late_p * 0.3, late_p), 0.9)
    late = rng.random(n) < late_p
    rs = rng.random(n)
    status = np.full(n, ST_DONE)
    status[rs < 0.030] = ST_RETURNED
    status[rs < 0.015] = ST_REFUSED
    status[rs < 0.003] = ST_ENDED
    done = status == ST_DONE
    late &= done
    # 特别程序 (expert review, public notice, site survey) stops the clock; a few wait months for it.
    rsp = rng.random(n)
    susp = np.where(rsp < 0.035, 1 + np.minimum(rng.geometric(0.2, n) - 1, 29), 0)
    susp = np.where(rsp < 0.004, rng.integers(30, 70, n), susp)
    susp = np.where((kind != KIND_NOW) & done, susp, 0)
    # 即办件 are finished on the spot whenever accepted; other cases only when accepted early on a working day.
    same_day_ok = (kind == KIND_NOW) | (ctx.work[day] & (tod < 16.5 * HOUR))
    k_on = np.minimum(1 + np.floor(prom * rng.beta(1.2, 2.5, n)).astype(np.int64), prom)
    k_on = np.where(same_day_ok & (rng.random(n) < prof.spot[i, unit]), 0, k_on)
    k_late = prom + np.where(kind == KIND_NOW, 1 + (rng.random(n) < 0.3), rng.geometric(0.3, n))
    k = np.where(late, k_late, k_on) + susp
    k_closed = np.select([status == ST_REFUSED, status == ST_RETURNED, status == ST_ENDED],
                         [rng.integers(0, 3, n), rng.integers(0, 4, n), rng.integers(1, 6, n)], 0)
    k = np.where(done, k, k_closed)
    k = np.where((k == 0) & ~same_day_ok, 1, k)
    comp_idx, inside = ctx.nth_workday(day, k)
    quick = np.where(kind == KIND_NOW, 3 * MINUTE + rng.exponential(22 * MINUTE, n),
                     30 * MINUTE + rng.random(n) * np.maximum(17.5 * HOUR - tod, HOUR))
    comp = np.where(k == 0, np.minimum(acc + quick.astype(np.int64), (ctx.day0 + day) * DAY + DAY - 1),
                    (ctx.day0 + comp_idx) * DAY + _office_tod(rng, n))
    never = np.int64(2**62)
    comp = np.where(inside, comp, never)

    # The file is a snapshot at its export time: later completions arrive as newer versions in later files.
    export = int(ctx.export_at[i])
    open0 = comp > export
    st0 = np.where(open0, np.where(susp > 0, ST_SUSPENDED, ST_OPEN), status)
    arch_r = rng.random(n)
    bump_a = rng.integers(DAY, 3 * DAY, n)
    bump_u = rng.integers(MINUTE, 2 * HOUR, n)

    def versions(t_export: np.ndarray, rows: np.ndarray, closed: np.ndarray):
        c = comp[rows]
        archived = closed & (t_export - c >= 3 * DAY) & (arch_r[rows] < np.where(status[rows] == ST_DONE, 0.93, 0.6))
        upd = np.where(closed, c + np.where(archived, bump_a[rows], bump_u[rows]), acc[rows] + bump_a[rows] // 3)
        return archived, np.minimum(upd, t_export)

    allrows = np.arange(n)
    arch0, upd0 = versions(np.full(n, export), allrows, ~open0)
    comp0 = comp.copy()
    unit_out = unit.copy()

    # Dirty rows (see DIRTY_PLAN): from rows exported closed, never the gap unit, never re-exported.
    clean = ~open0 & (unit != u_gap)
    cand = np.flatnonzero(clean & done)
    pick = rng.permutation(cand)[: DIRTY_PLAN["completed_before_accepted"](i)]
    comp0[pick] = acc[pick] - rng.integers(HOUR, 48 * HOUR, len(pick))
    rest = np.setdiff1d(np.flatnonzero(clean), pick)
    pick_u = rng.permutation(rest)[: DIRTY_PLAN["unknown_unit"](i)]
    unit_out[pick_u] = len(UNIT_SPECS)  # one past the last unit: "U999"

    person = people.draw(rng, n)
    unit_codes = pa.concat_arrays([d.unit_code, _pool(["U999"])])
    base = {
        "case_id": _codes("AJ", ym * 100_000_000 + np.arange(1, n + 1), 14),
        "item_code": _take(d.item_code, item),
        "item_name": _take(d.item_name, item),
        "item_kind": _take(_pool(ITEM_KINDS), kind),
        "unit_code": _take(unit_codes, unit_out),
        "window_code": _take(d.win_code, window, win_case),
        "staff_id": _take(d.staff_id, staff),
        "hall_code": _take(d.unit_hall, unit),
        "channel": _take(_pool(CHANNELS), channel),
        "accepted_at": _ts(acc),
        "legal_days": pa.array(legal.astype(np.int32)),
        "promised_days": pa.array(prom.astype(np.int32)),
        "deadline_at": _ts(deadline),
        "completed_at": _ts(comp0, ~open0),
        "status": _take(_pool(CASE_STATUSES), st0),
        "suspended_days": pa.array(susp.astype(np.int32)),
        "full_online": pa.array(online & (rng.random(n) < 0.8)),
        "secondary_entry": pa.array(rng.random(n) < d.unit_second[unit]),
        "archived": pa.array(arch0),
        "updated_at": _ts(upd0),
        "applicant_name": people.name(person),
        "applicant_id_number": people.id_number(person),
        "applicant_phone": people.phone(person),
    }
    cases = pa.table(base)

    # Re-exports: cases open at this export and closed before a later one, exported again when they close.
    re_rows = np.flatnonzero(open0 & (comp <= ctx.as_of))
    k_file = np.searchsorted(ctx.export_at, comp[re_rows], side="left")
    if i < GAP_MONTHS[0]:
        k_file = np.where((unit[re_rows] == u_gap) & np.isin(k_file, GAP_MONTHS), GAP_MONTHS[-1] + 1, k_file)
    arch_k, upd_k = versions(ctx.export_at[k_file], re_rows, np.ones(len(re_rows), bool))
    names = cases.column_names
    re_t = cases.take(pa.array(re_rows))
    for col, arr in (("status", _take(_pool(CASE_STATUSES), status[re_rows])), ("completed_at", _ts(comp[re_rows])),
                     ("archived", pa.array(arch_k)), ("updated_at", _ts(upd_k))):
        re_t = re_t.set_column(names.index(col), col, arr)
    reexports = _split(re_t, k_file)

    ev = _evaluations(ctx, d, people, i, rng, ym, done, comp, late, unit, window, staff, channel, win_case,
                      person, base["case_id"], prof)
    sup = _supervision(ctx, rng, ym, done & (kind != KIND_NOW), day, prom, susp, k, late, comp, unit, d,
                       base["case_id"])
    tk = _tickets(ctx, d, rng, ym, win_case, acc, day, unit, window, item, i)
    events = _events(ctx, d, prof, rng, i, ym, people)
    return _Month(cases, reexports, ev, sup, tk, events)


def _evaluations(ctx, d, people, i, rng, ym, done, comp, late, unit, window, staff, channel, win_case,
                 person, case_id, prof) -> list[tuple[int, pa.Table]]:
    n = len(done)
    rated = done & (comp < 2**62) & (rng.random(n) < np.where(win_case, 0.9, 0.8))
    rows = np.flatnonzero(rated)
    m = len(rows)
    default = rng.random(m) < 0.30
    u = unit[rows]
    bad_p = prof.bad[i, u] * np.where(win_case[rows], prof.win_bad[i, window[rows]], 1.0)
    bad_p = np.minimum(np.where(late[rows], bad_p * 4, bad_p), 0.6)
    rating = _rating(rng, bad_p)
    rating[default] = 5
    delay = np.where(win_case[rows], 30 + rng.exponential(150, m), rng.exponential(6 * HOUR, m))
    t = np.where(default, comp[rows] + 5 * DAY, comp[rows] + np.minimum(delay, 3 * DAY).astype(np.int64))
    ch = channel[rows]
    ev_ch = np.where(win_case[rows], _choice(rng, np.array([0.85, 0, 0, 0.10, 0.05, 0, 0]), m),
                     np.where(np.isin(ch, [CH_WEB, CH_MOBILE]), ch, CH_WEB))
    ev_ch = np.where(default, np.where(np.isin(ch, [CH_WINDOW, CH_WEB, CH_MOBILE]), ch, CH_WEB), ev_ch)
    rater = np.where(rng.random(m) < 0.85, person[rows], people.draw(rng, m))

    # Walk-in ratings at a window's 评价器 without a case, on the days the window worked this month.
    wc = np.flatnonzero(win_case)
    nw = min(len(wc), max(int(round(m * 0.03)), DIRTY_PLAN["rating_out_of_range"](i)))
    tpl = wc[rng.integers(0, len(wc), nw)] if len(wc) else np.zeros(0, np.int64)
    wu = unit[tpl]
    w_bad = np.minimum(prof.bad[i, wu] * prof.win_bad[i, window[tpl]], 0.6)
    w_rating = _rating(rng, w_bad)
    w_day = ctx.month_day[i] + _choice(rng, ctx.work[ctx.month_day[i]: ctx.month_day[i + 1]].astype(float), nw)
    w_t = (ctx.day0 + w_day) * DAY + _office_tod(rng, nw)
    bad_w = np.flatnonzero(np.ones(nw, bool))[: DIRTY_PLAN["rating_out_of_range"](i)]
    w_rating[bad_w] = 0 if i % 2 == 0 else 6

    # 追评: after a bad rating is put right, some raters come back with a better one.
    all_rating = np.concatenate([rating, w_rating])
    all_t = np.concatenate([t, w_t])
    all_unit = np.concatenate([u, wu])
    all_win = np.concatenate([window[rows], window[tpl]])
    all_win_ok = np.concatenate([win_case[rows], np.ones(nw, bool)])
    all_staff = np.concatenate([staff[rows], staff[tpl]])
    all_case = np.concatenate([rows, np.full(nw, -1)])
    all_ch = np.concatenate([ev_ch, np.full(nw, CH_WINDOW)])
    all_default = np.concatenate([default, np.zeros(nw, bool)])
    all_rater = np.concatenate([rater, people.draw(rng, nw) + people.population])
    tot = len(all_rating)
    bad = (all_rating >= 1) & (all_rating <= 2)
    rect = bad & (rng.random(tot) < 0.88)
    rect_t = all_t + rng.integers(4 * HOUR, 12 * DAY, tot)
    rect &= rect_t <= ctx.as_of
    appeal = np.where(bad & (rng.random(tot) < 0.12), _choice(rng, np.array([0.5, 0.35, 0.15]), tot), -1)
    follow = np.flatnonzero(rect & (all_case >= 0) & (rng.random(tot) < 0.3))
    f_t = rect_t[follow] + rng.integers(HOUR, 48 * HOUR, len(follow))

    def cat(a, b):
        return np.concatenate([a, b])

    rating_f = cat(all_rating, np.where(rng.random(len(follow)) < 0.6, 5, 4))
    t_f = cat(all_t, f_t)
    unit_f = cat(all_unit, all_unit[follow])
    win_f = cat(all_win, all_win[follow])
    win_ok_f = cat(all_win_ok, all_win_ok[follow])
    staff_f = cat(all_staff, all_staff[follow])
    case_f = cat(all_case, all_case[follow])
    ch_f = cat(all_ch, np.full(len(follow), CHANNELS.index("电话")))
    default_f = cat(all_default, np.zeros(len(follow), bool))
    rater_f = cat(all_rater, all_rater[follow])
    bad_f = cat(bad, np.zeros(len(follow), bool))
    rect_f = cat(rect, np.zeros(len(follow), bool))
    rect_t_f = cat(rect_t, np.zeros(len(follow), np.int64))
    appeal_f = cat(appeal, np.full(len(follow), -1))

    keep = t_f <= ctx.as_of
    o = np.flatnonzero(keep)[np.argsort(t_f[keep], kind="stable")]
    k = len(o)
    tags = _bad_tag_pool()
    tag_idx = rng.integers(0, len(tags), k)
    latest = np.maximum(t_f[o], np.where(rect_f[o], rect_t_f[o], 0))
    upd = latest + rng.integers(0, 30 * MINUTE, k) + np.where(appeal_f[o] >= 0, rng.integers(DAY, 5 * DAY, k), 0)
    upd = np.maximum(np.minimum(upd, ctx.as_of), latest)
    has_case = case_f[o] >= 0
    table = pa.table({
        "eval_id": _codes("PJ", ym * 100_000_000 + np.arange(1, k + 1), 14),
        "case_id": case_id.take(pa.array(np.where(has_case, case_f[o], 0), mask=~has_case)),
        "unit_code": _take(d.unit_code, unit_f[o]),
        "window_code": _take(d.win_code, win_f[o], win_ok_f[o]),
        "staff_id": _take(d.staff_id, staff_f[o]),
        "rated_at": _ts(t_f[o]),
        "rating": pa.array(rating_f[o].astype(np.int32)),
        "channel": _take(_pool(CHANNELS), ch_f[o]),
        "is_default": pa.array(default_f[o]),
        "bad_tags": _take(tags, tag_idx, bad_f[o]),
        "rectified_at": _ts(rect_t_f[o], rect_f[o]),
        "appeal": _take(_pool(APPEALS), np.maximum(appeal_f[o], 0), appeal_f[o] >= 0),
        "updated_at": _ts(upd),
        "rater_phone": people.phone(rater_f[o], 3),
    })
    return _split(table, ctx.month_of(t_f[o]))


def _rating(rng: np.random.Generator, bad_p: np.ndarray) -> np.ndarray:
    n = len(bad_p)
    r = rng.random(n)
    good = np.where(r < 0.81, 5, np.where(r < 0.94, 4, 3))
    low = np.where(rng.random(n) < 0.6, 2, 1)
    return np.where(rng.random(n) < bad_p, low, good).astype(np.int64)


@functools.cache
def _bad_tag_pool() -> pa.Array:
    one = list(BAD_TAGS)
    two = [f"{a};{b}" for a in BAD_TAGS for b in BAD_TAGS if a != b]
    return _pool(one * 4 + two)  # a single tag is the more common case


def _supervision(ctx, rng, ym, eligible, day, prom, susp, k, late, comp, unit, d, case_id):
    """预警 on the last day of a case still open, 黄牌 the day after its deadline, 红牌 three working days late."""
    rows = np.flatnonzero(eligible)
    base = prom[rows] + susp[rows]
    due_idx, _ = ctx.nth_workday(day[rows], base)
    due_morning = (ctx.day0 + due_idx) * DAY + 8 * HOUR + 30 * MINUTE
    # Short promises are due tomorrow anyway: the system warns only about cases promised in 3+ working days.
    warn = (comp[rows] > due_morning) & (prom[rows] >= 3)
    over = k[rows] - base
    yellow = late[rows] & (over >= 1)
    red = late[rows] & (over >= 3)
    y_idx, y_ok = ctx.nth_workday(day[rows], base + 1)
    r_idx, r_ok = ctx.nth_workday(day[rows], base + 3)
    jitter = rng.integers(0, 20 * MINUTE, (3, len(rows)))
    parts = []
    for sig, mask, when in (
        (0, warn, due_morning + jitter[0]),
        (1, yellow & y_ok, (ctx.day0 + y_idx) * DAY + 9 * HOUR + jitter[1]),
        (2, red & r_ok, (ctx.day0 + r_idx) * DAY + 9 * HOUR + jitter[2]),
    ):
        sel = np.flatnonzero(mask)
        parts.append((np.full(len(sel), sig), rows[sel], when[sel]))
    sig = np.concatenate([p[0] for p in parts])
    case = np.concatenate([p[1] for p in parts])
    when = np.concatenate([p[2] for p in parts])
    keep = when <= ctx.as_of
    o = np.flatnonzero(keep)[np.argsort(when[keep], kind="stable")]
    m = len(o)
    table = pa.table({
        "signal_id": _codes("JC", ym * 10_000_000 + np.arange(1, m + 1), 13),
        "case_id": case_id.take(pa.array(case[o])),
        "unit_code": _take(d.unit_code, unit[case[o]]),
        "signal": _take(_pool(SIGNALS), sig[o]),
        "issued_at": _ts(when[o]),
        "updated_at": _ts(when[o] + rng.integers(0, 5 * MINUTE, m)),
    })
    return _split(table, ctx.month_of(when[o]))


def _tickets(ctx, d, rng, ym, win_case, acc, day, unit, window, item, i) -> pa.Table:
    """Queue tickets: one per window case, plus consultations without a case and people who left (过号)."""
    rows = np.flatnonzero(win_case)
    m = len(rows)
    n_consult = int(round(m * 0.10))
    n_gone = int(round(m * 0.03))
    tpl = rows[rng.integers(0, m, n_consult + n_gone)] if m else np.zeros(0, np.int64)
    w = np.concatenate([window[rows], window[tpl]])
    u = np.concatenate([unit[rows], unit[tpl]])
    it = np.concatenate([item[rows], item[tpl]])
    dd = np.concatenate([day[rows], day[tpl]])
    t = len(w)
    has_case = np.arange(t) < m
    gone = np.arange(t) >= m + n_consult
    long_q = d.win_long[w]
    wait = np.where(long_q, 40 * MINUTE + rng.gamma(2.0, 12 * MINUTE, t), rng.gamma(2.2, 5 * MINUTE, t))
    wait = np.minimum(wait * np.where(ctx.peak[dd] > 1, 1.5, 1.0), 150 * MINUTE).astype(np.int64)
    service = np.where(has_case, rng.lognormal(np.log(10 * MINUTE), 0.5, t), rng.lognormal(np.log(4 * MINUTE), 0.5, t))
    day_s = (ctx.day0 + dd) * DAY
    called = np.where(has_case, np.concatenate([acc[rows], np.zeros(t - m, np.int64)]) - rng.integers(30, 180, t),
                      day_s + _office_tod(rng, t))
    issued = np.maximum(called - wait, day_s + 8 * HOUR)
    called = np.maximum(called, issued)
    finished = called + service.astype(np.int64) + 60
    if m:
        finished[:m] = np.maximum(finished[:m], acc[rows] + 60)
    dirty = rng.permutation(m)[: DIRTY_PLAN["called_before_issued"](i)]
    called[dirty] = issued[dirty] - rng.integers(MINUTE, 30 * MINUTE, len(dirty))
    o = np.argsort(issued, kind="stable")
    upd = np.where(gone, called, finished) + rng.integers(0, 5 * MINUTE, t)
    return pa.table({
        "ticket_id": _codes("QH", ym * 100_000_000 + np.arange(1, t + 1), 14),
        "hall_code": _take(d.unit_hall, u[o]),
        "window_code": _take(d.win_code, w[o]),
        "unit_code": _take(d.unit_code, u[o]),
        "item_code": _take(d.item_code, it[o], ~(~has_case[o] & ~gone[o])),
        "issued_at": _ts(issued[o]),
        "called_at": _ts(called[o]),
        "finished_at": _ts(finished[o], ~gone[o]),
        "status": _take(_pool(TICKET_STATUSES), gone[o].astype(np.int64)),
        "updated_at": _ts(upd[o]),
    })
