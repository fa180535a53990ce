"""Mapping files are checked like rulesets: an unknown key, table, column or encoding is refused, the message
naming the file, the line and column of the key (counted by hand in each test's text) and the key itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.core.db import REPO_ROOT
from dashboard.core.ingest import IngestError, load_mapping, load_mappings

GOOD = """\
# a comment line
table = "evaluations"
match = ["评价明细*.csv"]
encoding = "gb18030"

[columns]
"评价编号" = "eval_id"
"评价等级" = "rating"

[values.rating]
"满意" = "4"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "evaluations_zh.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(IngestError) as e:
        load_mapping(path)
    return str(e.value)


def test_a_good_mapping_loads_with_what_it_says(tmp_path):
    m = load_mapping(_write(tmp_path, GOOD))
    assert (m.table, m.match, m.encoding, m.sheet) == ("evaluations", ("评价明细*.csv",), "gb18030", 0)
    assert m.columns == {"评价编号": "eval_id", "评价等级": "rating"}
    assert m.values == {"rating": {"满意": "4"}}


def test_the_repository_mappings_load():
    tables = sorted(m.table for m in load_mappings(REPO_ROOT / "data" / "mappings"))
    assert tables == ["cases", "evaluations"]


def test_an_unknown_top_level_key_is_refused_naming_file_line_and_key(tmp_path):
    path = _write(tmp_path, GOOD.replace('encoding = "gb18030"\n', 'encoding = "gb18030"\nsheets = 1\n'))
    # Line 5 (after the comment, table, match and encoding lines), column 1.
    assert _refusal(path) == f"{path}:5:1: unknown key 'sheets' (did you mean 'sheet'?)"


def test_a_header_mapped_to_a_column_the_table_lacks_is_refused(tmp_path):
    path = _write(tmp_path, GOOD.replace('"评价等级" = "rating"', '"评价等级" = "ratings"'))
    # [columns] is line 6; the offending header is on line 8.
    assert _refusal(path) == (f"{path}:8:1: [columns] '评价等级' maps to 'ratings', not a column of evaluations "
                              "(did you mean 'rating'?)")


def test_values_for_a_column_the_table_lacks_are_refused(tmp_path):
    path = _write(tmp_path, GOOD.replace("[values.rating]", "[values.score]"))
    assert _refusal(path) == f"{path}:10:1: [values.score] is not a column of evaluations"


def test_an_unknown_table_and_an_unknown_encoding_are_refused(tmp_path):
    path = _write(tmp_path, GOOD.replace('table = "evaluations"', 'table = "evaluation"'))
    msg = _refusal(path)
    assert msg.startswith(f"{path}:2:1: table = 'evaluation' is not one of [")
    assert msg.endswith("(did you mean 'evaluations'?)")
    path = _write(tmp_path, GOOD.replace("gb18030", "gb-nonsense"))
    assert _refusal(path) == f"{path}:4:1: unknown encoding 'gb-nonsense'"


def test_a_missing_table_and_a_wrong_type_are_refused(tmp_path):
    path = _write(tmp_path, GOOD.replace('table = "evaluations"\n', ""))
    assert _refusal(path) == f"{path}:1:1: missing key 'table'"
    path = _write(tmp_path, GOOD.replace('match = ["评价明细*.csv"]', 'match = "评价明细*.csv"'))
    assert _refusal(path).startswith(f"{path}:3:1: match: ")


def test_broken_toml_is_refused_at_its_line(tmp_path):
    path = _write(tmp_path, GOOD.replace('"评价等级" = "rating"', '"评价等级" = rating'))
    assert _refusal(path).startswith(f"{path}:8:")


def test_a_broken_mapping_in_the_lake_stops_the_run_before_any_file(lake, tmp_path):
    from dashboard.core.ingest import ingest

    _write(lake.root / "mappings", GOOD.replace("[columns]", "[column]"))
    with pytest.raises(IngestError, match=r"evaluations_zh\.toml:6:1: unknown key 'column'"):
        ingest([tmp_path], lake)
    assert not lake.ingest_log.exists()
