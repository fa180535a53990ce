"""Rule-engine test helpers: a one-item probe ruleset, its input tables, a valid ruleset file, two versions of
the Anshan rules, and queries on one shared in-memory DuckDB."""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa
from hypothesis import strategies as st

from dashboard.core.db import REPO_ROOT
from dashboard.core.rules import model as m
from dashboard.core.rules.cases import EVENTS, IMPORTED, MANUAL

TEXT = {"zh": "测试", "en": "test"}


def probe_ruleset(item: dict, pool: str = "deduction", **extra) -> m.Ruleset:
    """A unit ruleset with one section holding `item`, from base 0 and no floor, so its total is the item's line."""
    return m.Ruleset.model_validate({
        "id": "probe", "name": TEXT, "source": "test", "subject": "unit", "period": "month",
        "effective": {"from_period": "2025-01"}, "model": {"kind": "base_bonus_deduction", "base": 0,
                                                          "total_floor": None},
        "sections": [{"id": "s", "name": TEXT, "pool": pool, "items": [item]}], **extra,
    })


def input_tables(subjects: dict[str, list], events: list[dict] | None = None, manual: list[dict] | None = None,
                 imported: list[dict] | None = None) -> dict[str, pa.Table]:
    """The four relations a compiled ruleset reads, all in period P and group g unless `subjects` names a grp."""
    n = len(subjects["subject"])
    cols = {"period": ["P"] * n, "grp": subjects.pop("grp", ["g"] * n), **subjects}
    return {
        "subjects": pa.table({k: pa.array(v, pa.string() if k in ("period", "subject", "grp") else pa.int64())
                              for k, v in cols.items()}),
        "subject_events": pa.Table.from_pylist([{"period": "P", **e} for e in events or []], schema=EVENTS),
        "manual_scores": pa.Table.from_pylist([{"period": "P", **e} for e in manual or []], schema=MANUAL),
        "imported": pa.Table.from_pylist([{"period": "P", **e} for e in imported or []], schema=IMPORTED),
    }


def subject_names(n: int) -> list[str]:
    """n subject codes that sort in the order they are made."""
    return [f"s{i:04d}" for i in range(n)]


RATES = st.lists(st.tuples(st.integers(0, 2_000), st.integers(0, 2_000)), min_size=30, max_size=120).map(
    lambda ps: [(min(n, d), d) for n, d in ps] + [(9999, 10000), (98, 100), (995, 1000), (8, 10), (0, 0)])


def rate_subjects(pairs: list[tuple[int, int]], metric: str = "satisfaction_rate") -> dict[str, list]:
    """One subject per (numerator, denominator) pair of `metric`."""
    return {"subject": subject_names(len(pairs)), f"{metric}_num": [n for n, _ in pairs],
            f"{metric}_den": [d for _, d in pairs]}


def query(db: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table], sql: str) -> list[dict]:
    """`sql` over `tables`, as `rules.cases.run` does, but on a cursor of the shared `db`: opening a database
    costs more than most examples, and the tables registered on the cursor go when it closes."""
    cur = db.cursor()
    try:
        for name, table in tables.items():
            cur.register(name, table)
        return cur.sql(sql).to_arrow_table().to_pylist()
    finally:
        cur.close()


VALID = """\
id: demo_monthly
name: {zh: 示例月度考核, en: Example monthly assessment}
source: 测试用
subject: unit
period: month
effective: {from_period: 2025-01}
model: {kind: scorecard, max: 100}
sections:
  - id: efficiency
    name: {zh: 办件效率, en: Efficiency}
    max: 60
    items:
      - id: on_time
        name: {zh: 按时办结率, en: On-time rate}
        kind: threshold_slope
        metric: on_time_rate
        target: 1.0
        step: 0.001
        points_per_step: -0.2
        max: 60
  - id: discipline
    name: {zh: 纪律, en: Discipline}
    max: 40
    items:
      - id: late
        name: {zh: 迟到早退, en: Late}
        kind: per_event
        event_type: late
        points: -2
        max: 40
grades:
  - {name: {zh: 优秀, en: Excellent}, min: 90, min_inclusive: false}
  - {name: {zh: 良好, en: Good}, min: 80, max: 90}
  - {name: {zh: 合格, en: Pass}, min: 60, max: 80, max_inclusive: false}
  - {name: {zh: 不合格, en: Fail}, max: 60, max_inclusive: false}
"""

ANSHAN = REPO_ROOT / "rulesets" / "anshan_stationed" / "2023-04.yaml"
SMOKING = """      - id: smoking
        name: {zh: 大厅内吸烟, en: Smoking in the hall}
        kind: per_event
        event_type: misconduct
        points: -1
        source: 新增条款
"""


def write_two_versions(folder) -> None:
    """Into `folder` (rulesets/anshan_stationed): 2023-04 as shipped but ending 2024-12, and a 2025-01 version
    where 迟到 costs 3 instead of 2, 着装 is gone, 吸烟 is new and the bonus cap is 15 instead of 20."""
    text = ANSHAN.read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    old = text.replace("effective: {from_period: 2023-04}", "effective: {from_period: 2023-04, to_period: 2024-12}")
    new = text.replace("effective: {from_period: 2023-04}", "effective: {from_period: 2025-01}")
    new = new.replace("        points: -2\n        source: 三(一)1\n", "        points: -3\n        source: 三(一)1\n")
    new = re.sub(r"      - id: dress\n(?:        .*\n)+?(?=      - id: badge)", "", new)
    new = new.replace("      - id: badge\n", SMOKING + "      - id: badge\n")
    new = new.replace("  bonus_cap: 20 ", "  bonus_cap: 15 ")
    assert old != text and new.count("id: dress") == 0 and "id: smoking" in new and "bonus_cap: 15" in new
    (folder / "2023-04.yaml").write_text(old, encoding="utf-8")
    (folder / "2025-01.yaml").write_text(new, encoding="utf-8")
