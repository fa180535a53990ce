"""The hall's dimensions (units, windows, staff, items), its applicants, and each unit's lasting profile and
event plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dashboard.core.calendar import WorkCalendar
from dashboard.core.contract import (
    ITEM_KINDS,
    event_types,
)
from dashboard.demo.arrays import _add_months, _ascii, _choice, _digits, _epoch_day, _mix, _pool, _take, _ts
from dashboard.demo.plan import (
    ACHIEVEMENT_EVENTS,
    BACKGROUND_WEIGHT,
    BAD_PATCHES,
    BONUS_EVENTS,
    DAY,
    DECLINING_UNIT,
    DECLINING_UNITS,
    EVENT_TYPES,
    EXPORT_LAG,
    GAP_MONTHS,
    GAP_UNIT,
    GIVEN,
    HEAVY_EVENTS,
    ID_CHECK,
    ID_WEIGHTS,
    IMPROVING_UNITS,
    ITEM_NAMES,
    LIGHT_EVENTS,
    LONG_QUEUE_WINDOWS,
    LOW_SATISFACTION_UNITS,
    MAIN_HALL,
    MONTHS,
    PARENTS,
    RARE_EVENTS,
    REGIONS,
    STRONG_UNITS,
    SURNAMES,
    TOWN_ITEMS,
    UNIT_SPECS,
    WEAK_UNITS,
)

# ----------------------------------------------------------------------------------------------- dimensions


@dataclass
class _Dims:
    units: pa.Table
    windows: pa.Table
    staff: pa.Table
    items: pa.Table
    unit_code: pa.Array
    unit_hall: pa.Array
    unit_w: np.ndarray
    unit_town: np.ndarray
    unit_second: np.ndarray
    unit_win: np.ndarray  # (start, count) per unit
    unit_bo: np.ndarray
    win_code: pa.Array
    win_unit: np.ndarray
    win_staff: np.ndarray
    win_long: np.ndarray
    win_names: list[str]
    staff_id: pa.Array
    staff_names: list[str]
    item_code: pa.Array
    item_name: pa.Array
    item_names: list[str]
    item_unit: np.ndarray
    item_kind: np.ndarray
    item_legal: np.ndarray
    item_promised: np.ndarray
    item_w: np.ndarray
    name_pool: pa.Array
    unit_names: list[str]


def _person_name(rng: np.random.Generator) -> str:
    # Common surnames dominate; two-character given names are the norm.
    s = SURNAMES[min(int(rng.exponential(18)), len(SURNAMES) - 1)]
    k = 1 if rng.random() < 0.25 else 2
    return s + "".join(GIVEN[int(i)] for i in rng.integers(0, len(GIVEN), k))


def _dims(rng: np.random.Generator, stamp: np.ndarray, start: dt.date) -> _Dims:
    nu = len(UNIT_SPECS)
    codes = [f"U{i + 1:03d}" for i in range(nu)]
    names = [u[0] for u in UNIT_SPECS]
    kinds = [u[2] for u in UNIT_SPECS]
    town_no = {}
    halls = []
    for i, k in enumerate(kinds):
        if k == "乡镇":
            town_no[i] = len(town_no) + 1
            halls.append(f"H{10 + town_no[i]:03d}")
        else:
            halls.append(MAIN_HALL)
    parents = [codes[names.index(PARENTS[n])] if n in PARENTS else None for n in names]
    since = dt.date(2019, 1, 1)
    units = pa.table({
        "unit_code": codes, "name": names, "kind": kinds, "group": [u[3] for u in UNIT_SPECS],
        "parent": pa.array(parents, pa.string()), "hall_code": halls,
        "active_from": pa.array([since] * nu, pa.date32()), "active_to": pa.array([None] * nu, pa.date32()),
        "updated_at": _ts(np.repeat(stamp, nu)),
    })

    # Windows in unit order, numbered through the main hall; township centres number their own.
    w_code, w_name, w_unit, w_kind, w_long = [], [], [], [], []
    unit_win = np.zeros((nu, 2), np.int64)
    hall_no = 0
    for u, (name, short, kind, _g, _w, nwin) in enumerate(UNIT_SPECS):
        unit_win[u] = (len(w_code), nwin)
        for j in range(nwin):
            if kind == "乡镇":
                label, wk = f"{name}便民服务中心{j + 1}号窗", "综合"
            else:
                hall_no += 1
                if nwin >= 5 and j < nwin // 3:
                    label, wk = f"综合受理{hall_no}号窗", "综合"
                elif nwin >= 5 and j == nwin - 1:
                    label, wk = f"帮办代办{hall_no}号窗", "帮办"
                else:
                    label, wk = f"{short}{hall_no}号窗", "专窗"
            code = f"W{len(w_code) + 1:03d}"
            w_code.append(code)
            w_name.append(label)
            w_unit.append(u)
            w_kind.append(wk)
            w_long.append(code in LONG_QUEUE_WINDOWS)
    nw = len(w_code)
    long_units = {names[w_unit[i]] for i in range(nw) if w_long[i]}
    assert long_units == {"不动产登记中心", "公安局出入境管理大队"}, long_units
    windows = pa.table({
        "window_code": w_code, "name": w_name, "unit_code": [codes[u] for u in w_unit],
        "hall_code": [halls[u] for u in w_unit], "kind": w_kind,
        "active_from": pa.array([since] * nw, pa.date32()), "active_to": pa.array([None] * nw, pa.date32()),
        "updated_at": _ts(np.repeat(stamp, nw)),
    })

    # Staff contiguous per window (A/B 岗 rotation), then each unit's 首席代表 and back office.
    s_unit, s_win, s_role, s_name, s_from = [], [], [], [], []
    win_staff = np.zeros((nw, 2), np.int64)
    unit_bo = np.zeros((nu, 2), np.int64)
    seen: set[str] = set()

    def add(u: int, w: int | None, role: str) -> None:
        name = _person_name(rng)
        while name in seen:  # distinct names keep the staff drill-down readable
            name = _person_name(rng)
        seen.add(name)
        s_unit.append(u)
        s_win.append(w)
        s_role.append(role)
        s_name.append(name)
        s_from.append(start - dt.timedelta(days=int(rng.integers(60, 3000))))

    for u in range(nu):
        a, k = unit_win[u]
        for w in range(a, a + k):
            win_staff[w, 0] = len(s_unit)
            n = int(rng.integers(3, 5))
            for _ in range(n):
                add(u, w, "帮办代办" if w_kind[w] == "帮办" else "窗口受理")
            win_staff[w, 1] = n
        if kinds[u] != "乡镇":
            add(u, None, "首席代表")
        unit_bo[u, 0] = len(s_unit)
        nb = 1 + int(UNIT_SPECS[u][4] >= 4) + int(rng.random() < 0.5)
        for _ in range(nb):
            add(u, None, "后台审批")
        unit_bo[u, 1] = nb
    ns = len(s_unit)
    staff_ids = [f"S{i + 1:04d}" for i in range(ns)]
    staff = pa.table({
        "staff_id": staff_ids, "name": s_name, "unit_code": [codes[u] for u in s_unit],
        "window_code": pa.array([None if w is None else w_code[w] for w in s_win], pa.string()),
        "role": s_role, "active_from": pa.array(s_from, pa.date32()), "active_to": pa.array([None] * ns, pa.date32()),
        "updated_at": _ts(np.repeat(stamp, ns)),
    })

    # Item catalogue: licences and approvals are rarely 即办件; registrations, claims and printouts often are.
    i_unit, i_name, i_kind, i_legal, i_prom, i_w = [], [], [], [], [], []
    for u, (_n, short, kind, *_rest) in enumerate(UNIT_SPECS):
        lst = TOWN_ITEMS if kind == "乡镇" else ITEM_NAMES[short]
        for r, nm in enumerate(lst):
            heavy = any(x in nm for x in ("许可", "审批", "核准", "资质", "审查", "首次"))
            p_now = 0.18 if heavy else 0.55
            x = rng.random()
            if x < p_now:
                k, legal, prom = 0, 0, 0
            elif x > 0.95:
                k = 3
                legal = int(rng.choice([15, 20]))
                prom = max(1, round(legal * rng.uniform(0.5, 1.0)))
            elif x > 0.83:
                k = 2
                legal = int(rng.choice([10, 15, 20]))
                prom = max(1, round(legal * rng.uniform(0.4, 0.7)))
            else:
                k = 1
                legal = int(rng.choice([3, 5, 7, 10, 15, 20], p=[0.1, 0.25, 0.15, 0.25, 0.12, 0.13]))
                prom = max(1, round(legal * rng.uniform(0.2, 0.6)))
            i_unit.append(u)
            i_name.append(nm)
            i_kind.append(k)
            i_legal.append(legal)
            i_prom.append(prom)
            i_w.append(1.0 / (r + 1) ** 0.9)
    ni = len(i_unit)
    item_codes = [f"ITM{i + 1:05d}" for i in range(ni)]
    item_unit = np.array(i_unit)
    item_w = np.array(i_w)
    item_w /= np.bincount(item_unit, weights=item_w)[item_unit]
    items = pa.table({
        "item_code": item_codes, "item_name": i_name, "unit_code": [codes[u] for u in i_unit],
        "kind": [ITEM_KINDS[k] for k in i_kind],
        "legal_days": pa.array(i_legal, pa.int32()), "promised_days": pa.array(i_prom, pa.int32()),
        "updated_at": _ts(np.repeat(stamp, ni)),
    })

    unit_second = rng.uniform(0.02, 0.15, nu)
    pool = sorted({_person_name(rng) for _ in range(20_000)})
    return _Dims(
        units=units, windows=windows, staff=staff, items=items,
        unit_code=_pool(codes), unit_hall=_pool(halls), unit_w=np.array([u[4] for u in UNIT_SPECS]),
        unit_town=np.array([k == "乡镇" for k in kinds]),
        unit_second=unit_second, unit_win=unit_win, unit_bo=unit_bo,
        win_code=_pool(w_code), win_unit=np.array(w_unit), win_staff=win_staff, win_long=np.array(w_long),
        win_names=w_name, staff_id=_pool(staff_ids), staff_names=s_name,
        item_code=_pool(item_codes), item_name=_pool(i_name), item_names=i_name, item_unit=item_unit,
        item_kind=np.array(i_kind), item_legal=np.array(i_legal), item_promised=np.array(i_prom), item_w=item_w,
        name_pool=_pool(pool), unit_names=names,
    )


# ----------------------------------------------------------------------------------------------- people


class _People:
    """Applicants: a person index determines name, ID number and phone, so repeat applicants look the same."""

    def __init__(self, salt: int, population: int, names: pa.Array):
        self.salt = np.uint64(salt & 0xFFFFFFFFFFFF)
        self.population = max(population, 1000)
        self.names = names
        self.regions = np.array([[int(c) for c in r] for r in REGIONS], np.uint8) + 48

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # 经办人 and agents file many cases; most people come once or twice.
        frequent = rng.random(n) < 0.12
        return np.where(frequent, rng.integers(0, max(self.population // 200, 1), n),
                        rng.integers(0, self.population, n))

    def _h(self, person: np.ndarray, k: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            return _mix(person.astype(np.uint64) * np.uint64(4) + np.uint64(k) + self.salt * np.uint64(0x9E3779B97F4A7C15))

    def name(self, person: np.ndarray) -> pa.Array:
        return _take(self.names, (self._h(person, 0) % np.uint64(len(self.names))).astype(np.int64))

    def id_number(self, person: np.ndarray) -> pa.Array:
        h = self._h(person, 1)
        n = len(person)
        region = (h % np.uint64(len(REGIONS))).astype(np.int64)
        year = 1950 + ((h >> np.uint64(8)) % np.uint64(57)).astype(np.int64)
        month = 1 + ((h >> np.uint64(16)) % np.uint64(12)).astype(np.int64)
        day = 1 + ((h >> np.uint64(24)) % np.uint64(28)).astype(np.int64)
        seq = 1 + ((h >> np.uint64(32)) % np.uint64(999)).astype(np.int64)
        mat = np.empty((n, 18), np.uint8)
        mat[:, :6] = self.regions[region]
        mat[:, 6:14] = _digits(year * 10_000 + month * 100 + day, 8)
        mat[:, 14:17] = _digits(seq, 3)
        total = (mat[:, :17].astype(np.int64) - 48) @ ID_WEIGHTS
        mat[:, 17] = ID_CHECK[total % 11]
        return _ascii(mat)

    def phone(self, person: np.ndarray, k: int = 2) -> pa.Array:
        return _phones(self._h(person, k))


SECOND_DIGIT = np.frombuffer(b"3333555556788889", np.uint8)  # 13x/15x/18x carriers dominate


def _phones(h: np.ndarray) -> pa.Array:
    n = len(h)
    mat = np.empty((n, 11), np.uint8)
    mat[:, 0] = ord("1")
    mat[:, 1] = SECOND_DIGIT[(h % np.uint64(len(SECOND_DIGIT))).astype(np.int64)]
    mat[:, 2:] = _digits(((h >> np.uint64(8)) % np.uint64(1_000_000_000)).astype(np.int64), 9)
    return _ascii(mat)


# ----------------------------------------------------------------------------------------------- context


class _Ctx:
    """Calendar arrays, month boundaries, export times and per-month case counts."""

    def __init__(self, end: tuple[int, int], cases: int, cal: WorkCalendar):
        self.months = [_add_months(end, k - MONTHS + 1) for k in range(MONTHS)]
        self.labels = [f"{y:04d}-{m:02d}" for y, m in self.months]
        first = dt.date(*self.months[0], 1)
        tb = cal.table(first, dt.date(max(cal.years), 12, 31))
        self.day0 = _epoch_day(first)
        self.work = np.asarray(tb.column("is_workday").to_numpy(zero_copy_only=False), bool)
        self.seq = np.asarray(tb.column("workday_seq").to_numpy(), np.int64)
        names = tb.column("holiday_name").to_pylist()
        self.ndays = len(self.work)
        bounds = [_epoch_day(dt.date(*_add_months(end, k - MONTHS + 1), 1)) for k in range(MONTHS + 1)]
        self.month_day = np.array(bounds, np.int64) - self.day0  # calendar index of each month's first day
        self.month_start = np.array(bounds, np.int64) * DAY
        self.export_at = self.month_start[1:] + EXPORT_LAG
        self.as_of = int(self.export_at[-1])
        self.peak = self._peaks(names)
        growth = 1 + 0.12 * np.arange(MONTHS) / (MONTHS - 1)
        w = np.array([(self.work * self.peak)[self.month_day[i]: self.month_day[i + 1]].sum() for i in range(MONTHS)])
        self.counts = _apportion(cases, w * growth)

    def _peaks(self, names: list[str]) -> np.ndarray:
        """Working days just before and after the 春节 and 国庆 breaks get the rush of people who plan around them."""
        peak = np.ones(self.ndays)
        big = np.array([any(k in n for k in ("Spring Festival", "National Day", "春节", "国庆")) for n in names])
        i = 0
        while i < self.ndays:
            if self.work[i]:
                i += 1
                continue
            j = i
            while j < self.ndays and not self.work[j]:
                j += 1
            if big[i:j].any():
                before = np.flatnonzero(self.work[:i])[-3:]
                after = np.flatnonzero(self.work[j:])[:3] + j
                peak[before] = np.maximum(peak[before], [1.5, 1.9, 2.4][3 - len(before):])
                peak[after] = np.maximum(peak[after], [2.6, 2.0, 1.5][: len(after)])
            i = j
        return peak

    def nth_workday(self, idx: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calendar index of the k-th working day after idx (k = 0: idx itself), and whether it is in range."""
        target = self.seq[idx] + k
        out = np.searchsorted(self.seq, target, side="left")
        inside = out < self.ndays
        out = np.where(k == 0, idx, np.minimum(out, self.ndays - 1))
        return out, inside | (k == 0)

    def month_of(self, t: np.ndarray) -> np.ndarray:
        """0-based month index of local-seconds times; -1 before, MONTHS after the covered span."""
        return np.searchsorted(self.month_start, t, side="right") - 1


def _apportion(total: int, w: np.ndarray) -> np.ndarray:
    """Split `total` in proportion to `w` exactly (largest remainder), so the sum is always `total`."""
    raw = total * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    rest = total - base.sum()
    base[np.argsort(-(raw - base), kind="stable")[:rest]] += 1
    return base


# ----------------------------------------------------------------------------------------------- profiles


@dataclass
class _Profile:
    """Who does well and who does not, month by month: the shares cases, ratings and events are drawn from."""

    late: np.ndarray  # (months, units) share of 承诺件 finished late (即办件 run late a third as often)
    bad: np.ndarray  # (months, units) share of given ratings that are 差评
    spot: np.ndarray  # (months, units) share of other cases finished on the spot when accepted early on a workday
    conduct: np.ndarray  # (months, units) conduct level, 0 best … 1 worst: how many deductions, how heavy
    item_late: np.ndarray  # per item: how much more often than its unit's other cases it runs late
    win_late: np.ndarray  # (months, windows) multipliers on the unit's shares at that window
    win_bad: np.ndarray
    win_conduct: np.ndarray  # per window: its share of its unit's conduct records
    events: list[tuple[np.ndarray, np.ndarray]]  # per month: event type (index into EVENT_TYPES) and unit


def _mix_p(weights: dict[str, float], kind: str, background: bool) -> np.ndarray:
    """A probability per EVENT_TYPES index: the named weights, plus a little of every unnamed catalog type of `kind`."""
    named = set(LIGHT_EVENTS) | set(HEAVY_EVENTS) | set(BONUS_EVENTS) | set(RARE_EVENTS) | set(ACHIEVEMENT_EVENTS)
    total = sum(weights.values())
    p = np.zeros(len(EVENT_TYPES))
    for k, code in enumerate(EVENT_TYPES):
        if code in weights:
            p[k] = weights[code]
        elif background and code not in named and (event_types()[code]["kind"] == "bonus") == (kind == "bonus"):
            p[k] = BACKGROUND_WEIGHT * total / 100
    return p / p.sum()


def _profile(ctx: _Ctx, d: _Dims, rng: np.random.Generator) -> _Profile:
    codes = d.unit_code.to_pylist()
    nu, nw, ni = len(codes), len(d.win_unit), len(d.item_unit)
    at = {c: k for k, c in enumerate(codes)}
    frac = np.arange(MONTHS) / (MONTHS - 1)

    # Level at mid-span and drift over the 24 months, per unit; then an offset per indicator.
    base = rng.uniform(0.18, 0.62, nu)
    drift = rng.normal(0, 0.12, nu)
    spread = np.full(nu, 0.10)
    for group, lo, hi, d_lo, d_hi in ((STRONG_UNITS, 0.03, 0.10, -0.04, 0.04), (WEAK_UNITS, 0.68, 0.80, -0.06, 0.06),
                                      (IMPROVING_UNITS, 0.50, 0.55, -0.95, -0.85),
                                      (DECLINING_UNITS, 0.42, 0.48, 0.80, 0.90)):
        for c in group:
            base[at[c]], drift[at[c]], spread[at[c]] = rng.uniform(lo, hi), rng.uniform(d_lo, d_hi), 0.03
    level = base + drift * (frac[:, None] - 0.5)
    for c, months in BAD_PATCHES.items():
        level[list(months), at[c]] += 0.65
        if months[-1] + 1 < MONTHS:
            level[months[-1] + 1, at[c]] += 0.15  # recovering

    def wobble() -> np.ndarray:  # month-to-month noise with some memory
        e = np.zeros((MONTHS, nu))
        step = rng.normal(0, 0.05, (MONTHS, nu))
        for i in range(MONTHS):
            e[i] = (0.6 * e[i - 1] if i else 0) + step[i]
        return e

    def dim(scale: float = 1.0) -> np.ndarray:
        return np.clip(level + rng.normal(0, 1, nu) * spread * scale + wobble(), 0, 1.1)

    # Conduct follows the unit's level less closely: a punctual unit may still be untidy at the counter.
    z_time, z_sat, z_conduct = dim(), dim(), dim(1.8)
    # Middling units sit a little nearer the top on the clock and in ratings than in conduct; only the units planted
    # for it (below) are rated badly month after month. The big departments run the most practised procedures: they
    # are late less often than their level says.
    planted = np.isin(codes, STRONG_UNITS + WEAK_UNITS + IMPROVING_UNITS + DECLINING_UNITS + tuple(BAD_PATCHES))
    z_sat = np.where(np.isin(codes, WEAK_UNITS), z_sat - 0.2, np.where(planted, z_sat, z_sat * 0.85))
    z_time = np.where(planted, z_time, z_time * 0.85) * np.where(d.unit_w >= 5, 0.8, 1.0)
    late = 0.004 + 0.16 * z_time**2
    bad = 0.002 + 0.085 * z_sat**2
    spot = np.clip(0.30 - 0.27 * z_time, 0.03, 0.30)
    for c in LOW_SATISFACTION_UNITS:  # rated badly every month, late somewhat more than most
        bad[:, at[c]] = 0.07 * np.exp(rng.normal(0, 0.08, MONTHS))
        late[:, at[c]] = 0.06 * np.exp(rng.normal(0, 0.1, MONTHS))
    late[:, at[DECLINING_UNIT]] = 0.02 + 0.24 * frac
    bad[:, at[DECLINING_UNIT]] = 0.006 + 0.08 * frac

    # Some items run late far more often than others (long procedures, joint approvals); the unit's share holds.
    item_late = rng.choice(np.array([0.002, 1.0, 4.0]), ni, p=[0.65, 0.22, 0.13])
    mean = np.bincount(d.item_unit, weights=d.item_w * item_late, minlength=nu)
    item_late /= mean[d.item_unit]

    # Windows: each a little better or worse than its unit, and a few of the middling units' windows with a bad
    # spell of three to five months.
    win_late = np.tile(np.exp(rng.normal(0, 0.3, nw)), (MONTHS, 1))
    win_bad = np.tile(np.exp(rng.normal(0, 0.3, nw)), (MONTHS, 1))
    multi = np.flatnonzero((d.unit_win[d.win_unit, 1] >= 2) & ~planted[d.win_unit])
    for w in rng.choice(multi, min(8, len(multi)), replace=False):
        start, span = int(rng.integers(0, MONTHS - 5)), int(rng.integers(3, 6))
        win_bad[start: start + span, w] *= 4
        win_late[start: start + span, w] *= 2.5
    win_conduct = rng.gamma(1.0, 1.0, nw)
    win_conduct /= np.bincount(d.win_unit, weights=win_conduct, minlength=nu)[d.win_unit]

    events = _event_plan(ctx, d, rng, z_conduct)
    return _Profile(late=late, bad=bad, spot=spot, conduct=z_conduct, item_late=item_late, win_late=win_late,
                    win_bad=win_bad, win_conduct=win_conduct, events=events)


def _event_plan(ctx: _Ctx, d: _Dims, rng: np.random.Generator, z: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Which events each unit collects each month: deductions by its conduct level, bonuses by the opposite, the rare
    complaint-type records capped at two a unit and year, and every catalog type at least once."""
    codes = d.unit_code.to_pylist()
    nu = len(codes)
    gap = codes.index(GAP_UNIT)
    light, heavy = _mix_p(LIGHT_EVENTS, "deduction", True), _mix_p(HEAVY_EVENTS, "deduction", False)
    bonus, rare = _mix_p(BONUS_EVENTS, "bonus", True), _mix_p(RARE_EVENTS, "deduction", False)
    achieved = _mix_p(ACHIEVEMENT_EVENTS, "bonus", False)
    size = np.clip(0.75 + 0.25 * np.sqrt(d.unit_win[:, 1] / 3), 0.8, 1.4)  # more windows, more to inspect
    prone = np.isin(codes, WEAK_UNITS)
    plan: list[tuple[np.ndarray, np.ndarray]] = []
    rare_seen: dict[tuple[int, int], int] = {}
    for i in range(MONTHS):
        zi = z[i]
        lam_d = size * (0.15 + 9 * zi + 5 * zi**2) * np.exp(rng.normal(0, 0.35, nu))
        lam_b = (0.1 + 2.4 * (1 - np.minimum(zi, 1)) ** 4) * np.exp(rng.normal(0, 0.25, nu))
        lam_r = np.where(prone | (zi > 0.8), 0.13, np.where(zi > 0.45, 0.006, 0.0))
        lam_a = 0.08 + 1.6 * (1 - np.minimum(zi, 1)) ** 2
        if i in GAP_MONTHS:
            lam_d[gap] = lam_b[gap] = lam_r[gap] = lam_a[gap] = 0
        nd, nb, nr = rng.poisson(lam_d), rng.poisson(lam_b), rng.poisson(lam_r)
        na = rng.poisson(lam_a)
        year = ctx.months[i][0]
        for u in np.flatnonzero(nr).tolist():  # at most two complaint-type records a unit and year
            have = rare_seen.get((u, year), 0)
            nr[u] = min(nr[u], 2 - have)
            rare_seen[(u, year)] = have + int(nr[u])
        ud = np.repeat(np.arange(nu), nd)
        is_heavy = rng.random(len(ud)) < 0.1 + 0.5 * np.minimum(zi[ud], 1)
        td = np.where(is_heavy, _choice(rng, heavy, len(ud)), _choice(rng, light, len(ud)))
        ub, ur = np.repeat(np.arange(nu), nb), np.repeat(np.arange(nu), nr)
        ua = np.repeat(np.arange(nu), na)
        plan.append((np.concatenate([td, _choice(rng, bonus, len(ub)), _choice(rng, rare, len(ur)),
                                     _choice(rng, achieved, len(ua))]),
                     np.concatenate([ud, ub, ur, ua])))
    # Every catalog type occurs: a missing deduction goes to one of the month's weakest units (a complaint-type one
    # only while the unit has fewer than two that year), a bonus to one of the strongest.
    seen = np.bincount(np.concatenate([t for t, _ in plan]), minlength=len(EVENT_TYPES))
    for k in np.flatnonzero(seen == 0):
        i = int(rng.integers(0, MONTHS))
        year = ctx.months[i][0]
        order = np.argsort(z[i], kind="stable")
        order = order[order != gap] if i in GAP_MONTHS else order
        is_bonus = event_types()[EVENT_TYPES[k]]["kind"] == "bonus"
        pick = order[:5] if is_bonus else order[-5:]
        if EVENT_TYPES[k] in RARE_EVENTS:
            pick = np.array([u for u in order[::-1].tolist() if rare_seen.get((u, year), 0) < 2][:5])
        u = int(pick[rng.integers(0, len(pick))])
        if EVENT_TYPES[k] in RARE_EVENTS:
            rare_seen[(u, year)] = rare_seen.get((u, year), 0) + 1
        t, un = plan[i]
        plan[i] = (np.append(t, k), np.append(un, u))
    return plan
