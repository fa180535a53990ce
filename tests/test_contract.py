"""The input contract and its generated documentation stay one thing."""

from __future__ import annotations

import pyarrow as pa

from dashboard.core.contract import (
    CASES,
    FILE_NOTES,
    FILE_REASONS,
    REASONS,
    TABLES,
    reason_text,
    render_markdown,
)
from dashboard.core.db import REPO_ROOT


def test_data_readme_is_generated_from_the_contract():
    committed = (REPO_ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "run `hall contract-doc` to regenerate data/README.md"


def test_readme_names_every_table_and_column():
    text = render_markdown()
    for t in TABLES.values():
        assert f"## `{t.name}`" in text
        for c in t.columns:
            assert f"`{c.name}`" in text


def test_every_design_table_is_in_the_contract():
    # DESIGN.md §3 lists these inputs; dimensions include calendar overrides.
    assert set(TABLES) == {"cases", "evaluations", "supervision", "tickets", "events", "manual_scores",
                           "units", "windows", "staff", "items", "calendar_overrides"}


def test_personal_data_never_has_a_stored_column():
    for t in TABLES.values():
        stored = {c.name for c in t.stored_columns}
        for c in t.columns:
            if c.pii in ("drop", "hmac"):
                assert c.name not in stored
            if c.pii == "hmac":
                assert c.hmac_to in stored
    assert {"applicant_name", "applicant_id_number", "applicant_phone"} <= set(CASES.names)
    assert CASES.arrow_schema().field("applicant_key").type == pa.string()


def test_columns_are_complete_and_keys_exist():
    for t in TABLES.values():
        names = [c.name for c in t.columns]
        assert len(names) == len(set(names)), t.name
        assert set(t.key) <= set(names)
        if t.partition_by:
            assert pa.types.is_timestamp(t.column(t.partition_by).type)
        for c in t.columns:
            assert c.zh and c.en, (t.name, c.name)
    assert set(REASONS).isdisjoint(FILE_REASONS)


def test_declared_row_rules_name_known_reasons_and_instant_columns():
    """Reasons the checks module reads from the contract are documented ones, on columns the table has."""
    for t in TABLES.values():
        for c in t.columns:
            assert c.range_reason in REASONS, (t.name, c.name)
        for rule in t.rules:
            assert rule.reason in REASONS, (t.name, rule)
            for name in (rule.earlier, rule.later):
                assert pa.types.is_timestamp(t.column(name).type), (t.name, name)
    # The reasons the gate gave before they were declared, table by table (tests/test_ingest.py pins the counts).
    declared = {(t.name, r.reason) for t in TABLES.values() for r in t.rules}
    assert declared == {("cases", "completed_before_accepted"), ("cases", "deadline_before_accepted"),
                        ("tickets", "called_before_issued"), ("tickets", "finished_before_called")}
    assert {(t.name, c.name) for t in TABLES.values() for c in t.columns if c.range_reason != "out_of_range"} == \
        {("evaluations", "rating")}


def test_reason_codes_are_data_and_their_meanings_come_from_the_catalog():
    from dashboard.core.text import t

    # Each code's (zh, en) is the catalog's gate.reason / gate.note entry, typed here from the old tables.
    assert REASONS["unknown_unit"] == ("单位编码不在单位表中", "Unit code is not in the units table")
    assert FILE_REASONS["empty_file"] == ("文件为空", "The file is empty")
    assert FILE_NOTES["already_ingested"][1] == t("gate.note.already_ingested", "en")
    assert reason_text("worker_crashed", "zh") == t("gate.reason.worker_crashed", "zh") == "解析进程异常退出"
    assert reason_text("something_new", "en") == "something_new"
    assert set(REASONS).isdisjoint(FILE_NOTES) and set(FILE_REASONS).isdisjoint(FILE_NOTES)
