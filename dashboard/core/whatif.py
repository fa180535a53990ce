"""What-if rescoring (试算): a period scored under two ruleset versions side by side — who moves, and why.

A version is named by its file relative to the rulesets folder ("anshan_stationed/2023-04.yaml"), so an older or a
draft version can be applied to any period; nothing outside that folder is ever read.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from dashboard.core import scoring
from dashboard.core.db import Warehouse
from dashboard.core.period import Period
from dashboard.core.rules.diff import Version, resolve
from dashboard.core.rules.loader import RULESETS, RulesError, load


def score_file(wh: Warehouse, relpath: str, period: str, scope: tuple[str, ...] | None = None,
               root: Path = RULESETS) -> scoring.Scores:
    """Score the period with one version file, whatever periods it is in force for; ranks hall-wide, rows in scope.

    The same steps as `scoring.score`, which always takes the version in force.
    """
    loaded = load(resolve(relpath, root))
    rs = loaded.ruleset
    parts = scoring.parts_of(rs.period, period)
    subjects, names = scoring._subjects(wh, rs, parts)
    inputs = {"subjects": subjects, "subject_events": scoring._events(wh, rs, parts),
              "manual_scores": scoring._manual(wh, rs, parts),
              "imported": scoring._imported(wh, rs, parts, (rs.id,))}
    s = scoring.tables(scoring.compute(loaded, period, inputs, names, wh.query_with))
    s = scoring.Scores(s.ruleset, s.period, scoring._with_ranked_of(s.results, rs, period), s.items, s.lines)
    if scope is None:
        return s
    if rs.subject == "unit":
        keep = set(scope)
    else:
        grain, key, _ = scoring.GRAINS[rs.subject]
        got = wh.query(f"SELECT DISTINCT {key} AS k FROM mart_{grain} WHERE unit_code IN (SELECT unnest(?::VARCHAR[]))",
                       [list(scope)])
        keep = set(got.column("k").to_pylist())
    return scoring.Scores(s.ruleset, s.period, scoring._scoped(s.results, keep), scoring._scoped(s.items, keep),
                          scoring._scoped(s.lines, keep))


def complete(period: str, months: list[str]) -> bool:
    """Whether every month of the period has data."""
    have = set(months)
    return all(mo in have for mo in Period.parse(period).months)


def default_period(options: list[str], months: list[str]) -> str | None:
    """The newest period with every month's data, else the newest."""
    return next((p for p in options if complete(p, months)), options[0] if options else None)


def rollups_of(versions: list[Version]) -> dict[str, tuple[str, ...]]:
    """Each version file's roll-ups: the longer periods it says how to score (quarter, year), by relpath."""
    out: dict[str, tuple[str, ...]] = {}
    for v in versions:
        try:
            out[v.relpath] = tuple(r.period for r in load(resolve(v.relpath)).ruleset.rollups)
        except (RulesError, ValueError):  # a file that stopped loading scores nothing longer
            out[v.relpath] = ()
    return out


def granularities(v: Version, rollups: dict[str, tuple[str, ...]]) -> list[str]:
    """The kinds of period a version scores: its own, and the longer ones it rolls up to (month → quarter → year)."""
    return [g for g in ("month", "quarter", "year") if g == v.period or g in rollups.get(v.relpath, ())]


def compatible(versions: list[Version], of: Version, kind: str | None = None,
               rollups: dict[str, tuple[str, ...]] | None = None) -> list[Version]:
    """Versions that score the same subjects as `of` over the same kind of period (so their totals compare): `of`'s
    own period by default; with `kind` and the versions' `rollups`, every version that scores that kind of period,
    directly or rolled up."""
    if kind is None:
        return [v for v in versions if v.subject == of.subject and v.period == of.period]
    return [v for v in versions if v.subject == of.subject and kind in granularities(v, rollups or {})]


def covers(v: Version, period: str) -> bool:
    """Whether the version is in force for the period (by its first month, as `loader.find` decides)."""
    first = Period.parse(period).start
    return Period.parse(v.from_period).start <= first and (v.to_period is None or first < Period.parse(v.to_period).end)


def in_force(versions: list[Version], ruleset_id: str, period: str) -> Version | None:
    """The ruleset's version in force for the period; else its newest; None for an unknown ruleset."""
    own = [v for v in versions if v.ruleset_id == ruleset_id]
    return next((v for v in reversed(own) if covers(v, period)), own[-1] if own else None)


def _rank_change(a: int | None, b: int | None) -> int | None:
    # Positive when the subject moves up (a smaller rank number under B).
    return None if a is None or b is None else a - b


def compare(a: list[dict], b: list[dict]) -> list[dict]:
    """Each subject's total, grade and rank under A and B and the change (B − A), biggest moves first.

    A subject scored by only one side keeps its row with no change; those come last.
    """
    by_a = {r["subject"]: r for r in a}
    by_b = {r["subject"]: r for r in b}
    rows = []
    for subject in sorted(by_a.keys() | by_b.keys()):
        ra, rb = by_a.get(subject, {}), by_b.get(subject, {})
        ta, tb = ra.get("total"), rb.get("total")
        rows.append({
            "subject": subject, "name": ra.get("name") or rb.get("name") or subject, "grp": ra.get("grp") or rb.get("grp"),
            "total_a": ta, "grade_a": ra.get("grade"), "rank_a": ra.get("rank"),
            "total_b": tb, "grade_b": rb.get("grade"), "rank_b": rb.get("rank"),
            "change": None if ta is None or tb is None else Decimal(tb) - Decimal(ta),
            "rank_change": _rank_change(ra.get("rank"), rb.get("rank")),
        })
    rows.sort(key=lambda r: (r["change"] is None, -abs(r["change"] or 0), -(r["change"] or 0), r["subject"]))
    return rows


def _points(lines: list[dict], subject: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for ln in lines:
        if ln["subject"] != subject:
            continue
        row = out.setdefault(ln["line"], {"name_zh": ln["name_zh"], "name_en": ln["name_en"],
                                          "order": ln["order"], "points": Decimal(0)})
        row["points"] += Decimal(ln["points"])
    return out


def why(a_lines: list[dict], b_lines: list[dict], subject: str) -> list[dict]:
    """The subject's score lines that differ between A and B (matched by line id), biggest difference first.

    Their changes sum to the change of the total, because each side's lines sum exactly to its total.
    """
    pa_, pb = _points(a_lines, subject), _points(b_lines, subject)
    rows = []
    for line in pa_.keys() | pb.keys():
        la, lb = pa_.get(line), pb.get(line)
        points_a = la["points"] if la else Decimal(0)
        points_b = lb["points"] if lb else Decimal(0)
        if points_a == points_b:
            continue
        named = lb or la
        assert named is not None
        rows.append({"line": line, "name_zh": named["name_zh"], "name_en": named["name_en"],
                     "points_a": points_a if la else None, "points_b": points_b if lb else None,
                     "change": points_b - points_a})
    rows.sort(key=lambda r: (-abs(r["change"]), -r["change"], r["line"]))
    return rows
