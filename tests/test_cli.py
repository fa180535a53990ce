"""The `hall` command line: summaries, JSON output, exit codes."""

from __future__ import annotations

import json

from conftest import case_row, ts, write_export
from typer.testing import CliRunner

from dashboard.cli import app
from dashboard.core.db import connect

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


def test_build_then_metrics_in_every_format(lake, units_file):
    # AJ…1 accepted 06-03, due 06-10, done 06-05: on time. AJ…2 accepted 07-01 makes June's deadlines past.
    later = case_row(2, accepted_at=ts(2025, 7, 1, 9), completed_at=None, status="在办", updated_at=ts(2025, 7, 1, 9))
    write_export(units_file.parent / "cases_2025-06.parquet", "cases", [case_row(1), later])
    assert runner.invoke(app, ["ingest", str(units_file.parent)]).exit_code == 0
    res = runner.invoke(app, ["build", "--json"])
    assert res.exit_code == 0, res.output
    built = json.loads(res.output)
    # Two units listed for two months (U002 had nothing, and is still listed: counts 0, rates "no data").
    assert built["marts"]["unit_month"] == 4 and built["facts"]["fact_cases"] == 2
    assert built["options"]["on_time_denominator"] == "due"

    res = runner.invoke(app, ["metrics", "--period", "2025-06", "--unit", "U001", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["metric"]: r for r in json.loads(res.output)["rows"]}
    assert (rows["on_time_rate"]["value"], rows["on_time_rate"]["numerator"], rows["on_time_rate"]["denominator"]) \
        == ("1.000000", 1, 1)
    assert rows["satisfaction_rate"]["value"] is None  # no ratings: no data, not 0%
    assert rows["handling_days_median"]["value"] == "2.00"  # 06-04, 06-05

    res = runner.invoke(app, ["metrics", "--period", "2025-Q2", "--metric", "on_time_rate", "--format", "csv"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0] == "period,unit_code,metric,name,value,numerator,denominator"
    assert lines[1:] == ["2025-Q2,U001,on_time_rate,按时办结率,100.00%,1,1", "2025-Q2,U002,on_time_rate,按时办结率,无数据,0,0"]

    res = runner.invoke(app, ["metrics", "--period", "2025-06", "--unit", "U001", "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "On-time" in res.output and "100.00%" in res.output
    assert "On-time rate denominator: cases due in the period" in " ".join(res.output.split())

    res = runner.invoke(app, ["metrics", "--period", "2025-6"])
    assert res.exit_code == 2 and "write a month (2025-06)" in res.output
    res = runner.invoke(app, ["metrics", "--period", "2025-06", "--metric", "ontime"])
    assert res.exit_code == 2 and "unknown indicator ontime" in res.output


def test_metrics_doc_check_passes_on_the_committed_page():
    res = runner.invoke(app, ["metrics-doc", "--check"])
    assert res.exit_code == 0, res.output


def test_done_when_folder_reports_every_file_with_its_reason_and_loses_no_row(lake, units_file):
    """The issue's acceptance folder: truncated Parquet, empty file, GB18030 CSV, extra column, rating 9."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from conftest import export_schema, ts

    folder = units_file.parent
    good = write_export(folder / "cases_tmp.parquet", "cases", [case_row(i) for i in range(40)])
    (folder / "cases_2025-05.parquet").write_bytes(good.read_bytes()[:-200])  # truncated: footer gone
    good.unlink()
    (folder / "supervision_2025-06.parquet").write_bytes(b"")
    csv = ("评价编号,办件编号,单位编码,评价时间,评价等级,是否默认评价,差评标签\n"
           "E1,AJ00000000000001,U001,2025-06-03 10:00:00,非常满意,否,\n"
           "E2,AJ00000000000002,U002,2025-06-03 11:00:00,不满意,否,等待时间长\n")
    (folder / "好差评明细_2025-06.csv").write_bytes(csv.encode("gb18030"))
    extra = pa.Table.from_pylist([case_row(1), case_row(2)], schema=export_schema("cases"))
    pq.write_table(extra.append_column("经办备注", pa.array(["a", "b"])), folder / "cases_2025-06.parquet")
    write_export(folder / "evaluations_2025-06.parquet", "evaluations", [
        {"eval_id": "E10", "unit_code": "U001", "rated_at": ts(2025, 6, 4, 9), "rating": 5},
        {"eval_id": "E11", "unit_code": "U001", "rated_at": ts(2025, 6, 4, 9), "rating": 9},
    ])
    res = runner.invoke(app, ["ingest", str(folder)])
    lines = res.output.splitlines()
    assert res.exit_code == 1  # whole files were quarantined

    def line(name: str) -> str:
        [hit] = [x for x in lines if f" {name} " in x]
        return hit

    assert "quarantined (unreadable: Parquet" in line("cases_2025-05.parquet")
    assert line("cases_2025-05.parquet").endswith("; rows: unknown")
    assert "quarantined; 0 in = 0 accepted + 0 quarantined (empty_file" in line("supervision_2025-06.parquet")
    assert "accepted; 2 in = 2 accepted + 0 quarantined" in line("好差评明细_2025-06.csv")
    assert "extra_columns_dropped: 经办备注" in line("cases_2025-06.parquet")
    assert "2 in = 1 accepted + 1 quarantined (rating_out_of_range 1)" in line("evaluations_2025-06.parquet")
    assert lines[-1].startswith("ingest: 6 files")
    # units 2 + CSV 2 + extra-column cases 2 + evaluations 2; the truncated file has no footer to count from.
    assert "rows in 8 + unknown (1 file not counted) = accepted 7 + quarantined 1 + unknown" in lines[-1]
    ratings = connect(lake).query("SELECT eval_id, rating FROM evaluations ORDER BY eval_id").to_pylist()
    assert ratings == [{"eval_id": "E1", "rating": 5}, {"eval_id": "E10", "rating": 5}, {"eval_id": "E2", "rating": 2}]


def test_the_grain_choices_are_the_marts():
    import typing

    from dashboard import cli
    from dashboard.core.marts import MARTS

    assert set(typing.get_args(cli.Grain)) == set(MARTS)


def _words(output: str) -> str:
    """The output without rich's panel borders and line breaks."""
    return " ".join(output.replace("│", " ").split())


def test_a_choice_outside_its_list_is_refused_before_anything_runs(tmp_path):
    out = tmp_path / "b.doc"
    res = runner.invoke(app, ["report", "--period", "2025-06", "--format", "doc", "--out", str(out)])
    assert res.exit_code == 2 and "'doc' is not one of 'xlsx', 'pdf'" in _words(res.output)
    assert not out.exists()
    res = runner.invoke(app, ["rules", "card", "anshan_stationed", "--lang", "fr"])
    assert res.exit_code == 2 and "'fr' is not one of 'zh', 'en'" in _words(res.output)


def test_expected_errors_are_one_line_and_bugs_keep_their_traceback(monkeypatch, tmp_path):
    from dashboard.core.metrics import MetricsError
    from dashboard.core.rules import loader
    from dashboard.core.text import Message

    # A missing secrets file: the command's own refusal, verbatim (brackets are not rich markup).
    res = runner.invoke(app, ["serve", "--secrets", str(tmp_path / "[auth].toml")])
    assert (res.exit_code, res.output.strip()) == (2, f"error: {tmp_path / '[auth].toml'}: no such secrets file")

    # A rules error is rendered in the command's language (file:line:col: message).
    problem = loader.Problem("r.yaml", 3, 5, Message("rules.error.missing_key", name="kind"))
    monkeypatch.setattr(loader, "find", lambda *a: (_ for _ in ()).throw(loader.RulesError([problem])))
    res = runner.invoke(app, ["rules", "card", "x", "--lang", "zh"])
    assert (res.exit_code, res.output.strip()) == (2, "error: r.yaml:3:5: 缺少 'kind'")
    res = runner.invoke(app, ["rules", "card", "x", "--lang", "en"])
    assert (res.exit_code, res.output.strip()) == (2, "error: r.yaml:3:5: missing key 'kind'")

    monkeypatch.setattr(loader, "find", lambda *a: (_ for _ in ()).throw(MetricsError("period [2025-13]")))
    res = runner.invoke(app, ["rules", "card", "x"])
    assert (res.exit_code, res.output.strip()) == (2, "error: period [2025-13]")

    # Anything else is a bug: not dressed up as a set-up error.
    monkeypatch.setattr(loader, "find", lambda *a: (_ for _ in ()).throw(ZeroDivisionError("oops")))
    res = runner.invoke(app, ["rules", "card", "x"])
    assert res.exit_code == 1 and isinstance(res.exception, ZeroDivisionError) and "error:" not in res.output
