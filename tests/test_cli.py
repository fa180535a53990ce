"""The `hall` command line: summaries, JSON output, exit codes."""

from __future__ import annotations

import json

from conftest import case_row, write_export
from typer.testing import CliRunner

from dashboard.cli import app

runner = CliRunner()


def test_ingest_json_reports_each_file_and_the_accounting(lake, units_file):
    write_export(units_file.parent / "cases_2025-06.parquet", "cases", [case_row(1), case_row(2, unit_code="U999")])
    (units_file.parent / "cases_empty.parquet").write_bytes(b"")
    res = runner.invoke(app, ["ingest", str(units_file.parent), "--json"])
    assert res.exit_code == 1, res.output  # a whole file was quarantined
    d = json.loads(res.output)
    assert d["rows_in"] == d["rows_accepted"] + d["rows_quarantined"] == 4
    by = {f["source_file"]: f for f in d["file_reports"]}
    assert by["cases_empty.parquet"]["reason"] == "empty_file"
    assert by["cases_2025-06.parquet"]["reasons"] == {"unknown_unit": 1}


def test_ingest_prints_a_one_line_summary(lake, units_file):
    write_export(units_file.parent / "cases_2025-06.parquet", "cases", [case_row(1)])
    res = runner.invoke(app, ["ingest", str(units_file.parent)])
    assert res.exit_code == 0, res.output
    assert "rows in 3 = accepted 3 + quarantined 0" in res.output.splitlines()[-1]


def test_ingest_of_a_missing_path_is_a_clear_error(lake, tmp_path):
    res = runner.invoke(app, ["ingest", str(tmp_path / "nope")])
    assert res.exit_code == 2
    assert "no such file or folder" in res.output


def test_contract_doc_check_passes_on_the_committed_readme():
    res = runner.invoke(app, ["contract-doc", "--check"])
    assert res.exit_code == 0, res.output


def test_build_then_json(lake, units_file):
    write_export(units_file.parent / "cases_2025-06.parquet", "cases", [case_row(1)])
    assert runner.invoke(app, ["ingest", str(units_file.parent)]).exit_code == 0
    res = runner.invoke(app, ["build", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["marts"] == {"unit_month": 1}  # one unit, one month
