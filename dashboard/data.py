"""The dashboard's data layer: the only module that caches; every call carries the user's unit scope."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypedDict

import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.core import audit, marts
from dashboard.core.access import AccessDenied, Action, Principal, narrow
from dashboard.core.db import Lake, Warehouse, connect

Scope = tuple[str, ...] | None
# Marts change only on `hall build`, and every cache key also carries the mart files' stamps, so a rebuild
# is seen at once; the TTL only bounds memory held for months nobody looks at any more.
_TTL = "1h"
# (file name, mtime_ns, size) of every mart file.
_Stamp = tuple[tuple[str, int, int], ...]


class AsOf(TypedDict, total=False):
    """Freshness of the marts: when they were built, the newest month in scope, cases behind them."""

    built_at: str
    latest_period: str | None
    cases_rows: int
    options: dict
    as_of: str | None  # the instant deadlines are judged at (ISO 8601), and where it came from
    as_of_source: str | None
    provisional: list[str]  # months whose numbers can still change (数据未完结)
    latest_provisional: bool


# Session-state key of the signed-in user's Principal. The router sets it on every run from the identity provider
# (or, in demo mode, the role switcher); it is not a widget key, so no browser message can write it.
PRINCIPAL_KEY = "auth_principal"


class _Trusted:
    """Code running outside any browser session (the CLI, benchmarks, tests calling the layer directly)."""


TRUSTED = _Trusted()


def set_principal(principal: Principal | None) -> None:
    """Called by the router once it knows who this session is."""
    st.session_state[PRINCIPAL_KEY] = principal


def principal() -> Principal | _Trusted | None:
    """Who is asking: the session's Principal, None in a session nobody signed in to, TRUSTED outside a session."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return TRUSTED
    return st.session_state.get(PRINCIPAL_KEY)


def _norm(scope: Scope) -> Scope:
    """The units a call may read: the caller's scope, never wider than the session's user may see (a page that
    passed None for a unit head still gets only their units), sorted so one set of units is one cache entry."""
    who = principal()
    if who is TRUSTED:
        return None if scope is None else tuple(sorted(set(scope)))
    if who is None:
        return ()
    return narrow(who.scope, scope)


def _may(action: Action) -> bool:
    who = principal()
    return who is TRUSTED or (who is not None and who.can(action))


def _act(action: Action, **detail) -> Principal | None:
    """Check that the session's user may take a write action, recording the attempt in the audit log either way."""
    who = principal()
    person = None if who is TRUSTED else who
    if who is not TRUSTED and (who is None or not who.can(action)):
        audit.record(Lake.default(), person, action, "refused", **detail)
        raise AccessDenied(person, action)
    return person


def _stamp(lake: Lake) -> _Stamp:
    out = []
    for path in sorted(lake.marts.glob("*.parquet")):
        try:
            st_ = path.stat()
        except FileNotFoundError:  # replaced between glob and stat by a concurrent build
            continue
        out.append((path.name, st_.st_mtime_ns, st_.st_size))
    return tuple(out)


@st.cache_resource(show_spinner=False)
def _warehouse(root: str, mart_files: tuple[str, ...]) -> Warehouse:
    # Views are registered at connect time, so a new set of mart files needs a new warehouse; a rebuilt file
    # under the same name is read afresh by its view. Warehouse is thread-safe: a cursor per query.
    return connect(Lake(Path(root)))


def _rules_stamp() -> tuple[tuple[str, int], ...]:
    # An edited ruleset file changes the scores: its name and mtime join every cache key that scores.
    from dashboard.core.rules.loader import ruleset_files

    return tuple((str(p), p.stat().st_mtime_ns) for p in ruleset_files())


# What the gate has written: every run adds an ingest-log file, so the log files' names and times (with the
# marts' stamp) change whenever the warehouse or the quarantine may have. Listing one folder is cheap.
_LakeStamp = tuple[tuple[str, int], ...]


def _lake_stamp(lake: Lake) -> _LakeStamp:
    out = []
    for path in sorted(lake.ingest_log.glob("*.parquet")):
        try:
            out.append((path.name, path.stat().st_mtime_ns))
        except FileNotFoundError:
            continue
    return tuple(out)


def _present(lake: Lake) -> tuple[str, ...]:
    # A table with no file yet is registered as an empty relation, so a connection must be renewed once the
    # first file of any table, log or fact arrives; more files of a table are seen by its view's glob.
    from dashboard.core.contract import TABLES
    from dashboard.core.lake import log_glob

    have = [t for t in TABLES if next(lake.table_dir(t).glob("**/*.parquet"), None) is not None]
    have += [n for n in ("ingest_log", "quarantine_rows", "quarantine_files") if log_glob(lake, n)[1]]
    have += [f"facts/{p.stem}" for p in sorted(lake.facts.glob("*.parquet"))]
    have += [f"marts/{p.stem}" for p in sorted(lake.marts.glob("*.parquet"))]
    return tuple(have)


@st.cache_resource(show_spinner=False, max_entries=8)
def _lake_warehouse(root: str, present: tuple[str, ...]) -> Warehouse:
    return connect(Lake(Path(root)))


Reads = Literal["marts", "rules", "lake"]


class Snapshot(NamedTuple):
    """What a cached answer is computed from, and so part of its key: the data folder and the stamps of what it reads
    there (mart files; ruleset files; for the gate's records, the tables present and the ingest log)."""

    root: str = ""
    marts: _Stamp = ()
    rules: tuple[tuple[str, int], ...] = ()
    present: tuple[str, ...] = ()
    log: _LakeStamp = ()

    def warehouse(self) -> Warehouse:
        """The warehouse over these mart files."""
        return _warehouse(self.root, tuple(name for name, _, _ in self.marts))

    def lake_warehouse(self) -> Warehouse:
        """The warehouse over every table, log, fact and mart file present (the gate's own records)."""
        return _lake_warehouse(self.root, self.present)


def _snapshot(reads: tuple[Reads, ...]) -> Snapshot:
    lake = Lake.default()
    stamps: dict[str, Any] = {"rules": _rules_stamp()} if "rules" in reads else {}
    if "marts" in reads or "lake" in reads:
        stamps.update(root=str(lake.root), marts=_stamp(lake))
    if "lake" in reads:
        stamps.update(present=_present(lake), log=_lake_stamp(lake))
    return Snapshot(**stamps)


def scoped_cache(*reads: Reads, max_entries: int | None = None, needs_marts: bool = False,
                 allowed: Callable[[Scope], bool] | None = None, empty: Callable[[], Any] | None = None):
    """Cache a data function `f(at: Snapshot, *args, scope)` as the public `f(*args, scope)` keyed by the snapshot of
    what it reads and the caller's scope narrowed to the signed-in user's (`empty()` when not `allowed`, or before
    the first build if `needs_marts`); `f.at(snapshot, *args, scope)` calls the cache with a scope already narrowed."""

    def wrap(compute: Callable) -> Callable:
        cached = st.cache_data(ttl=_TTL, show_spinner=False, max_entries=max_entries)(compute)
        full = inspect.signature(compute)
        public = full.replace(parameters=list(full.parameters.values())[1:])
        scoped = "scope" in public.parameters

        @functools.wraps(compute)
        def call(*args, **kwargs):
            bound = public.bind(*args, **kwargs)
            bound.apply_defaults()
            if allowed is not None and not allowed(bound.arguments["scope"]):
                return empty()
            at = _snapshot(reads)
            if needs_marts and not at.marts:
                return empty()
            # A page may pass a list of months: as a tuple it is one cache entry whichever sequence was passed.
            for name, value in bound.arguments.items():
                if isinstance(value, list):
                    bound.arguments[name] = tuple(value)
            if scoped:
                bound.arguments["scope"] = _norm(bound.arguments["scope"])
            return cached(at, *bound.args, **bound.kwargs)

        call.__signature__ = public  # type: ignore[attr-defined]
        call.at = cached  # type: ignore[attr-defined]
        return call

    return wrap


@scoped_cache("marts", needs_marts=True, empty=list)
def periods(at: Snapshot, scope: Scope) -> list[str]:
    """Months with unit data the scope may see, newest first ('YYYY-MM')."""
    return marts.periods(at.warehouse(), scope)


def latest_period(scope: Scope) -> str | None:
    """The newest month with unit data in scope, or None before the first build."""
    p = periods(scope)
    return p[0] if p else None


@scoped_cache("marts")
def unit_month(at: Snapshot, period: str, scope: Scope) -> pl.DataFrame:
    """One month of the unit_month mart (numerators and denominators per unit), limited to the scope."""
    return pl.from_arrow(marts.unit_month(at.warehouse(), period, scope))


@scoped_cache("marts", needs_marts=True, empty=AsOf)
def data_as_of(at: Snapshot, scope: Scope) -> AsOf:
    """When the marts were built, the newest month in scope and the case rows behind them; empty before a build."""
    info = marts.data_as_of(at.warehouse(), scope)
    return AsOf(**info) if info else AsOf()


class RulesetChoice(NamedTuple):
    """A ruleset that can score a subject over a period: its id (what the URL carries), its names, and its own period
    (a shorter one is rolled up to the period chosen)."""

    id: str
    name_zh: str
    name_en: str
    period: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


_ORDER = ("month", "quarter", "year")


@scoped_cache("rules", max_entries=128)
def rulesets_for(at: Snapshot, subject: str, period: str) -> list[RulesetChoice]:
    """The rulesets in force for the period (a month, quarter or year) that score `subject` (unit, window or staff)
    over it, by id: those whose own period it is, and shorter ones with a roll-up to it."""
    from dashboard.core.metrics import period_of
    from dashboard.core.rules.loader import RulesError, find, ruleset_files

    wanted = period_of(period).kind
    out: dict[str, RulesetChoice] = {}
    for path in ruleset_files():
        if path.parent.name in out:
            continue
        try:
            rs = find(path.parent.name, period).ruleset
        except RulesError:  # not in force then, or a file that does not load (`hall rules check` names it)
            continue
        if rs.subject != subject:
            continue
        # Its own period, or a shorter one that the ruleset itself says how to roll up (a sum or a mean): a scheme
        # that never says how its months make a quarter is not offered for one.
        if rs.period == wanted or (_ORDER.index(rs.period) < _ORDER.index(wanted)
                                   and any(r.period == wanted for r in rs.rollups)):
            out[rs.id] = RulesetChoice(rs.id, rs.name.zh, rs.name.en, rs.period)
    return list(out.values())


def default_ruleset(subject: str, ids: list[str]) -> str | None:
    """The ruleset a page opens on among `ids`: the catalog's declared default for the subject
    (`default_rulesets` in rulesets/_catalog.yaml) when it is offered, else the first; None when there is none."""
    from dashboard.core.contract import load_catalog

    declared = (load_catalog().get("default_rulesets") or {}).get(subject)
    return declared if declared in ids else (ids[0] if ids else None)


@scoped_cache("marts", "rules", max_entries=32)
def bulletin(at: Snapshot, period: str, ruleset: str, lang: str, scope: Scope):
    """The month's bulletin content (ranking, 红黑榜, breaches, deductions) for the scope, in one language."""
    from dashboard.core import bulletin as core_bulletin

    return core_bulletin.build(at.warehouse(), period, ruleset, lang, scope)


@scoped_cache("marts", "rules", max_entries=16)
def bulletin_files(at: Snapshot, period: str, ruleset: str, lang: str, scope: Scope) -> tuple[bytes, bytes]:
    """The bulletin as (XLSX, PDF) bytes, built once per month, ruleset, language and scope."""
    from dashboard.core import report

    b = bulletin.at(at, period, ruleset, lang, scope)
    return report.to_xlsx(b), report.to_pdf(b)[0]


def bulletin_file_makers(period: str, ruleset: str, lang: str, scope: Scope):
    """(xlsx, pdf): callables a download button runs when clicked. Streamlit runs them outside the script, where
    nobody is signed in, so the user's scope is narrowed now, while the session is known, and travels with them."""
    at, narrowed = _snapshot(("marts", "rules")), _norm(scope)

    def xlsx() -> bytes:
        return bulletin_files.at(at, period, ruleset, lang, narrowed)[0]

    def pdf() -> bytes:
        return bulletin_files.at(at, period, ruleset, lang, narrowed)[1]

    return xlsx, pdf


@scoped_cache("marts", "rules", max_entries=64)
def scores(at: Snapshot, ruleset: str, period: str, scope: Scope) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(results, score_items, score_lines) of a ruleset over a period, limited to the scope (ranks hall-wide)."""
    from dashboard.core import scoring

    s = scoring.score(at.warehouse(), ruleset, period, scope)
    return pl.from_arrow(s.results), pl.from_arrow(s.items), pl.from_arrow(s.lines)


@scoped_cache("marts", max_entries=256)
def mart_slice(at: Snapshot, grain: str, period: str, scope: Scope, unit: str | None = None) -> pl.DataFrame:
    """A grain's rows for a month, quarter or year (Σnum/Σden over months), limited to the scope and a unit."""
    return pl.from_arrow(marts.slice_mart(at.warehouse(), grain, period, scope, unit))


def all_rulesets() -> list[str]:
    """Every ruleset id shipped, sorted."""
    from dashboard.core.rules.loader import ruleset_files

    return sorted({p.parent.name for p in ruleset_files()})


# --- Rules page: versions, rule cards, embedded cases, version diffs and what-if scoring by version file ---


@scoped_cache("rules")
def ruleset_versions(at: Snapshot) -> list:
    """Every version file of every ruleset (`rules.diff.Version`: id, version, effective periods, sha256)."""
    from dashboard.core.rules.diff import versions

    return versions()


@scoped_cache("rules")
def version_rollups(at: Snapshot) -> dict[str, tuple[str, ...]]:
    """Each version file's roll-ups (the quarter or year it says how to score from its own periods), by relpath."""
    from dashboard.core import whatif
    from dashboard.core.rules.diff import versions

    return whatif.rollups_of(versions())


@scoped_cache("rules", max_entries=64)
def rule_card(at: Snapshot, relpath: str, lang: str) -> str:
    """The rule card (Markdown) of a version file named relative to the rulesets folder."""
    from dashboard.core.rules import explain
    from dashboard.core.rules.diff import resolve
    from dashboard.core.rules.loader import load

    one = load(resolve(relpath))
    return explain.card(one.ruleset, lang, one.path.stem, one.sha256)


@scoped_cache("rules", max_entries=64)
def ruleset_cases(at: Snapshot, relpath: str) -> list:
    """A version's embedded cases run through the compiled rules (`rules.casebook.CaseSummary`, in file order)."""
    from dashboard.core.rules.casebook import summarize
    from dashboard.core.rules.diff import resolve
    from dashboard.core.rules.loader import load

    return summarize(load(resolve(relpath)).ruleset)


@scoped_cache("rules", max_entries=64)
def version_diff(at: Snapshot, old: str, new: str):
    """Two version files compared (`rules.diff.VersionDiff`): unified text diff and the rules added/removed/changed."""
    from dashboard.core.rules.diff import diff, resolve

    return diff(resolve(old), resolve(new))


@scoped_cache("marts", "rules", max_entries=32)
def scores_file(at: Snapshot, relpath: str, period: str,
                scope: Scope) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(results, score_items, score_lines) of one version file over a period, in force then or not (what-if)."""
    from dashboard.core import whatif

    s = whatif.score_file(at.warehouse(), relpath, period, scope)
    return pl.from_arrow(s.results), pl.from_arrow(s.items), pl.from_arrow(s.lines)


# ----------------------------------------------------------------------------- window page and data page

def _empty_histogram() -> pl.DataFrame:
    return pl.DataFrame(schema={"handling_days": pl.Int32, "cases": pl.Int64})


def _empty_load() -> pl.DataFrame:
    return pl.DataFrame(schema={"weekday": pl.Int32, "hour": pl.Int32, "n": pl.Int64})


@scoped_cache("marts", max_entries=256, needs_marts=True, empty=_empty_histogram)
def window_histogram(at: Snapshot, period: str, unit: str, window: str, scope: Scope) -> pl.DataFrame:
    """(handling_days, cases) of the window's completed 承诺件 in the period, from the facts; empty before a build."""
    from dashboard.core import windows

    return pl.from_arrow(windows.handling_histogram(at.warehouse(), period, unit, window, scope))


@scoped_cache("marts", max_entries=256, needs_marts=True, empty=list)
def window_bad_tags(at: Snapshot, period: str, unit: str, window: str, scope: Scope) -> list[str | None]:
    """The tag text of each counted bad rating (1–2) of the window in the period (None: no tag chosen)."""
    from dashboard.core import windows

    return windows.bad_rating_tags(at.warehouse(), period, unit, window, scope)


@scoped_cache("marts", max_entries=256, needs_marts=True, empty=_empty_load)
def window_load(at: Snapshot, source: str, period: str, unit: str, window: str, scope: Scope) -> pl.DataFrame:
    """(weekday 1–7, hour, n) of cases accepted or tickets issued at the window in the period, Beijing time."""
    from dashboard.core import windows

    return pl.from_arrow(windows.load_bins(at.warehouse(), source, period, unit, window, scope))


@scoped_cache("lake", max_entries=32)
def freshness(at: Snapshot, scope: Scope) -> list[dict]:
    """Per input table: rows in the warehouse (latest versions), newest month, files, last accepted file."""
    from dashboard.core import freshness as core_freshness

    return core_freshness.table_freshness(at.lake_warehouse(), scope)


@scoped_cache("marts", max_entries=8)
def build_info(at: Snapshot) -> dict:
    """What the last `hall build` recorded (built_at, seconds, rows per fact and mart, options); {} before one."""
    return marts.build_info(Lake(Path(at.root)))


def _admin(scope: Scope) -> bool:
    # The gate's log and quarantine are the hall's, not a unit's: only the hall office and the auditor see them.
    return _may("view_operations") and _norm(scope) is None


@scoped_cache("lake", max_entries=8, allowed=_admin, empty=list)
def ingest_log(at: Snapshot, scope: Scope) -> list[dict]:
    """The gate's outcomes, newest first (file, table, status, rows in/accepted/quarantined); whole-hall scope only."""
    from dashboard.core import freshness as core_freshness

    return core_freshness.ingest_log(at.lake_warehouse())


@scoped_cache("lake", max_entries=8, allowed=_admin, empty=lambda: ([], []))
def quarantine(at: Snapshot, scope: Scope, reason: str | None = None) -> tuple[list[dict], list[dict]]:
    """(counts per level, table and reason; a sample of quarantined rows without their values), optionally of one
    reason; whole-hall scope only."""
    from dashboard.core import freshness as core_freshness

    wh = at.lake_warehouse()
    return core_freshness.quarantine_counts(wh), core_freshness.quarantine_sample(wh, reason=reason)


def ingest_uploads(files: list[tuple[str, bytes]], scope: Scope = None, progress=None, waiting=None):
    """Run the gate over uploaded exports: each saved under the lake's demo/uploads in its own folder (names kept,
    so the gate can tell the table), ingested, then deleted (exports carry applicants' details). Clears the data
    caches. Not cached: it acts. Returns the gate's RunReport."""
    import secrets
    import shutil

    from dashboard.core import ingest
    from dashboard.core.ingest.personal import clean_name

    lake = Lake.default()
    who = _act("upload", files=[clean_name(name) for name, _ in files])
    folder = lake.root / "demo" / "uploads" / f"{secrets.token_hex(6)}"
    try:
        for i, (name, content) in enumerate(files):
            # Only the file's own name: a browser-supplied path must not climb out of the folder.
            safe = Path(name.replace("\\", "/")).name or f"upload_{i}"
            target = folder / f"{i:03d}" / safe
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        report = ingest.ingest([folder], lake, progress=progress, waiting=waiting)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    d = report.to_dict()
    audit.record(lake, who, "upload", files=[f.source_file for f in report.files], statuses=d["statuses"],
                 rows_in=d["rows_in"], rows_accepted=d["rows_accepted"], rows_quarantined=d["rows_quarantined"])
    st.cache_data.clear()
    return report


def build_marts(scope: Scope = None, progress=None, waiting=None):
    """Rebuild facts and marts from the warehouse (`hall build`), then clear the data caches; the hall office only.
    One build at a time: a second request waits for the running one (`waiting` hears who holds the folder)."""
    lake = Lake.default()
    who = _act("rebuild")
    summary = marts.build(lake, progress=progress, waiting=waiting)
    audit.record(lake, who, "rebuild", seconds=round(summary.seconds, 1), marts=len(summary.marts))
    st.cache_data.clear()
    return summary


def lake_root() -> Path:
    """The data folder this server reads."""
    return Lake.default().root


def clear_caches() -> None:
    """Empty every data cache (for all users); the hall office only, recorded in the audit log."""
    who = _act("clear_cache")
    st.cache_data.clear()
    audit.record(Lake.default(), who, "clear_cache")


def audit_entries(limit: int = 500) -> list[dict]:
    """The audit log, newest first; for the hall office and the auditor only (others get nothing)."""
    return audit.entries(Lake.default(), limit) if _may("view_operations") else []


# --- rankings and trends ---------------------------------------------------------------------------------------------


@scoped_cache("rules", max_entries=64)
def ruleset_meta(at: Snapshot, ruleset: str, period: str) -> dict:
    """The version of a ruleset in force for the period, summarised: names, subject, maximum, pass line, grades (a
    roll-up's own when the period is longer than the ruleset's), its own period and how its parts combine."""
    from dashboard.core.metrics import period_of
    from dashboard.core.rankings import pass_line
    from dashboard.core.rules.loader import find
    from dashboard.core.scoring import parts_of

    loaded = find(ruleset, period)
    rs = loaded.ruleset
    top = rs.model.max if rs.model.kind == "scorecard" else (rs.model.total_cap or rs.model.base)
    grades, ranking, combine = rs.grades, rs.ranking, None
    if period_of(period).kind != rs.period:  # rolled up: the roll-up's own grades and ranking; a sum's maximum grows
        spec = next((r for r in rs.rollups if r.period == period_of(period).kind), None)
        combine = spec.combine if spec else "mean"
        grades, ranking = (spec.grades, spec.ranking) if spec else ([], None)
        if combine == "sum":
            top = top * len(parts_of(rs.period, period))
    return {"id": rs.id, "name_zh": rs.name.zh, "name_en": rs.name.en, "subject": rs.subject,
            "version": loaded.path.stem, "max": top, "pass_line": pass_line(grades),
            "grades": [(g.name.zh, g.name.en) for g in grades],
            "bands": [(g.name.zh, g.min, g.min_inclusive) for g in grades],
            "ranking_within": ranking.within if ranking else None,
            "own_period": rs.period, "combine": combine}


@scoped_cache("rules", max_entries=128)
def rule_lines(at: Snapshot, ruleset: str, period: str, metric: str) -> list:
    """The values the ruleset in force for the period compares `metric` with (`rankings.RuleLine`)."""
    from dashboard.core import rankings
    from dashboard.core.rules.loader import find

    return rankings.rule_lines(find(ruleset, period).ruleset, metric)


@scoped_cache("marts", "rules", max_entries=32)
def score_history(at: Snapshot, ruleset: str, months: list[str], scope: Scope) -> pl.DataFrame:
    """(period, subject, total, rank) of a monthly ruleset in each month given (months it was not in force are
    left out), limited to the scope; each month is the same cached scoring the other pages use."""
    from dashboard.core import scoring
    from dashboard.core.metrics import MetricsError
    from dashboard.core.rules.loader import RulesError

    schema = {"period": pl.String, "subject": pl.String, "total": pl.Decimal(18, 2), "rank": pl.Int64}
    try:  # every month in one compiled pass per version; months before the ruleset came into force are left out
        results = pl.from_arrow(scoring.score_months(at.warehouse(), ruleset, list(months), scope))
    except (RulesError, MetricsError):
        return pl.DataFrame(schema=schema)
    if results.is_empty() or "total" not in results.columns:
        return pl.DataFrame(schema=schema)
    return results.select(["period", "subject", "total", "rank"]).cast(schema)


@scoped_cache("marts", max_entries=64)
def mart_months(at: Snapshot, grain: str, months: list[str], scope: Scope) -> pl.DataFrame:
    """A grain's rows for each of several months, one block per month (for trends), limited to the scope."""
    frames = [mart_slice.at(at, grain, month, scope, None) for month in months]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


# Fewer units than this in a 圈层 and its average would be (nearly) one unit's own figures: it is not shown.
MIN_GROUP_UNITS = 3


@scoped_cache("marts", max_entries=64, needs_marts=True, empty=dict)
def group_average(at: Snapshot, months: list[str], num: str,
                  den: str | None) -> dict[tuple[str, str], tuple[int, int | None]]:
    """(month, 圈层) → pooled (Σnum, Σden) over every unit of the group in the hall, whoever asks: an aggregate, not
    any unit's figures (groups of fewer than MIN_GROUP_UNITS units are left out for that reason)."""
    from dashboard.core.rankings import group_average as pooled_by_group

    # Every unit of the hall, whoever asks: the cache is called directly, past the scope narrowing.
    rows = mart_months.at(at, "unit_month", months, None).to_dicts()
    members: dict[tuple, int] = {}
    for r in rows:
        members[(r["period"], r["unit_group"])] = members.get((r["period"], r["unit_group"]), 0) + 1
    return {k: v for k, v in pooled_by_group(rows, num, den, "unit_group").items()
            if members.get(k, 0) >= MIN_GROUP_UNITS}


# --- unit page: a unit's recorded events ------------------------------------------------------------------------------


@scoped_cache("marts", max_entries=256)
def unit_events(at: Snapshot, unit: str, period: str, scope: Scope) -> pl.DataFrame:
    """The hall office's records about a unit in the period, newest first: occurred_at (Beijing, text), event_type,
    name_zh, name_en, kind, level, severity, count, status — never the note or who recorded it."""
    from dashboard.core import unit_detail

    return pl.from_arrow(unit_detail.unit_events(at.warehouse(), unit, period, scope))


# --- who may see what ---------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=4)
def _roles_file(path: str, mtime_ns: int):
    import hashlib

    from dashboard.core.access import load_roles

    roles = load_roles(Path(path))
    # Who may see what changed (or the server started): the audit log says when and which file, by its hash.
    audit.record(Lake.default(), None, "roles_loaded", file=path, grants=len(roles.grants),
                 sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest())
    return roles


def roles_file():
    """The roles file in force (re-read when it changes), or None when there is none: then nobody has a role."""
    from dashboard.core.access import roles_path

    path = roles_path()
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    return _roles_file(str(path), mtime)


@scoped_cache("marts", max_entries=4, needs_marts=True, empty=dict)
def unit_directory(at: Snapshot) -> dict[str, str]:
    """Every unit's code and name, for the demo-mode role switcher only (demo mode is loopback-only)."""
    wh = at.warehouse()
    latest = marts.latest_period(wh, None)
    if latest is None:
        return {}
    rows = marts.unit_month(wh, latest, None).select(["unit_code", "unit_name"]).to_pylist()
    return {r["unit_code"]: r["unit_name"] for r in sorted(rows, key=lambda r: r["unit_code"])}
