"""The demo generator: deterministic bytes, the contract's exact schema, the planted patterns and dirty rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from dashboard.core import demo
from dashboard.core.calendar import CalendarError, WorkCalendar
from dashboard.core.contract import TABLES

REPO_ROOT = Path(__file__).resolve().parents[1]
MAPPING = tomllib.loads((REPO_ROOT / "data" / "mappings" / "cases_zh.toml").read_text(encoding="utf-8"))
END = "2025-06"
CASES = 20_000
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs with the same arguments and one with another seed."""
    calls = []
    a = demo.generate(tmp_path_factory.mktemp("a"), cases=CASES, seed=7, end_month=END,
                      progress=lambda done, total: calls.append((done, total)))
    b = demo.generate(tmp_path_factory.mktemp("b"), cases=CASES, seed=7, end_month=END)
    c = demo.generate(tmp_path_factory.mktemp("c"), cases=CASES, seed=8, end_month=END)
    return a, b, c, calls


@pytest.fixture(scope="module")
def frames(runs):
    """All Parquet exports of the first run as polars frames, one per table, plus the XLSX month's rows."""
    out = runs[0].out_dir
    got = {}
    for name in ("cases", "evaluations", "supervision", "tickets", "events"):
        got[name] = pl.concat([pl.read_parquet(p) for p in sorted(out.glob(f"{name}_*.parquet"))])
    [xlsx] = sorted(out.glob("办件明细_*.xlsx"))
    rows = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()
    header = [MAPPING["columns"][h] for h in rows[0]]
    got["xlsx"] = pl.DataFrame([[None if v == "" else str(v) for v in r] for r in rows[1:]],
                               schema=header, orient="row")
    got["xlsx_header"] = rows[0]
    return got


def test_same_arguments_give_the_same_bytes(runs):
    a, b, _, _ = runs
    assert a.files == b.files
    for f in a.files:
        assert _sha(a.out_dir / f) == _sha(b.out_dir / f), f


def test_another_seed_gives_other_cases(runs):
    a, _, c, _ = runs
    x = pq.read_table(a.out_dir / f"cases_{END}.parquet").column("item_code").to_pylist()
    y = pq.read_table(c.out_dir / f"cases_{END}.parquet").column("item_code").to_pylist()
    assert x != y


def test_summary_names_every_file_month_and_row(runs):
    a, _, _, calls = runs
    assert len(a.months) == 24 and a.months[-1] == END and a.months[0] == "2023-07"
    assert calls == [(i, 24) for i in range(1, 25)]
    assert sorted(a.files) == sorted(p.name for p in a.out_dir.iterdir())
    assert f"办件明细_{a.months[0]}.xlsx" in a.files and f"cases_{a.months[0]}.parquet" not in a.files
    for name in ("evaluations", "supervision", "tickets", "events"):
        n = sum(pq.read_metadata(a.out_dir / f).num_rows for f in a.files if f.startswith(f"{name}_"))
        assert n == a.rows[name]
    # Every case once, plus the later versions of the ones exported while still open.
    assert CASES < a.rows["cases"] < CASES * 1.02


def test_every_parquet_file_has_the_contract_columns_and_types(runs):
    for f in runs[0].files:
        if not f.endswith(".parquet"):
            continue
        name = next(t for t in sorted(TABLES, key=len, reverse=True) if f.startswith(t))
        schema = pq.read_schema(runs[0].out_dir / f)
        assert schema.names == TABLES[name].names, f
        assert [schema.field(c.name).type for c in TABLES[name].columns] == [c.type for c in TABLES[name].columns], f


def test_xlsx_header_is_the_mapping_and_the_mapping_covers_the_contract(frames):
    assert frames["xlsx_header"] == list(MAPPING["columns"])
    assert list(MAPPING["columns"].values()) == TABLES["cases"].names
    assert MAPPING["table"] == "cases"
    for col in ("full_online", "secondary_entry", "archived"):
        assert MAPPING["values"][col] == {"是": "true", "否": "false"}
        assert set(frames["xlsx"][col].unique()) <= {"是", "否"}
    assert frames["xlsx"]["accepted_at"].str.contains(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$").all()


def test_identifiers_and_personal_data_have_their_formats(frames):
    ids = pl.concat([frames["cases"]["applicant_id_number"], frames["xlsx"]["applicant_id_number"]]).to_list()
    digits = np.array([[int(ch) for ch in s[:17]] for s in ids])
    check = np.array(list("10X98765432"))[(digits @ np.array(WEIGHTS)) % 11]
    assert (check == np.array([s[17] for s in ids])).all()
    assert all(len(s) == 18 for s in ids)
    phones = pl.concat([frames["cases"]["applicant_phone"], frames["evaluations"]["rater_phone"]])
    assert phones.str.contains(r"^1[3-9]\d{9}$").all()
    case_ids = pl.concat([frames["cases"]["case_id"], frames["xlsx"]["case_id"]])
    assert case_ids.str.contains(r"^AJ\d{14}$").all()
    # No identifier looks like an ID-card or mobile number to a scrubber.
    for t in ("evaluations", "supervision", "tickets", "events"):
        key = TABLES[t].key[0]
        assert not frames[t][key].str.contains(r"\d{17}|(^|\D)1[3-9]\d{9}(\D|$)").any(), t


def test_dirty_rows_are_exactly_as_documented(frames):
    c, x = frames["cases"], frames["xlsx"]
    before = (c["completed_at"] < c["accepted_at"]).sum() + (x["completed_at"] < x["accepted_at"]).sum()
    unknown = (c["unit_code"] == "U999").sum() + (x["unit_code"] == "U999").sum()
    rating = (~frames["evaluations"]["rating"].is_between(1, 5)).sum()
    t = frames["tickets"]
    called = (t["called_at"] < t["issued_at"]).sum()
    assert {"completed_before_accepted": before, "unknown_unit": unknown, "rating_out_of_range": rating,
            "called_before_issued": called} == demo.DIRTY_COUNTS
    assert demo.DIRTY_COUNTS == {"completed_before_accepted": 32, "unknown_unit": 18, "rating_out_of_range": 24,
                                 "called_before_issued": 12}


def test_clean_rows_keep_their_timestamps_in_order(frames):
    c = frames["cases"].filter(pl.col("completed_at") >= pl.col("accepted_at"))
    assert (c["deadline_at"] >= c["accepted_at"]).all()
    assert (c["updated_at"] >= c["completed_at"]).all()
    assert (frames["cases"]["updated_at"] >= frames["cases"]["accepted_at"]).all()
    open_ = frames["cases"].filter(pl.col("status").is_in(["在办", "挂起"]))
    assert open_.height > 0 and open_["completed_at"].is_null().all()
    e = frames["evaluations"]
    assert (e["updated_at"] >= e["rated_at"]).all()
    assert e.filter(pl.col("rectified_at").is_not_null()).select((pl.col("updated_at") >= pl.col("rectified_at"))
                                                                 .all()).item()
    now = frames["cases"].filter((pl.col("item_kind") == "即办件") & (pl.col("status") == "办结"))
    same_day = (now["completed_at"].dt.date() == now["accepted_at"].dt.date()).mean()
    assert same_day > 0.9
    assert (frames["cases"].filter(pl.col("item_kind") == "即办件")["promised_days"] == 0).all()


def test_re_exports_are_newer_versions(frames):
    c = frames["cases"]
    dup = c.filter(pl.col("case_id").is_duplicated()).sort("case_id", "updated_at")
    assert dup.height > 0
    first = dup.group_by("case_id").first()
    last = dup.group_by("case_id").last()
    joined = first.join(last, on="case_id", suffix="_new")
    assert (joined["updated_at_new"] > joined["updated_at"]).all()
    assert set(joined["status"]) <= {"在办", "挂起"} and joined["completed_at_new"].is_not_null().all()


def _satisfaction(ev: pl.DataFrame) -> pl.DataFrame:
    return (ev.filter(pl.col("rating").is_between(1, 5))
            .with_columns(month=pl.col("rated_at").dt.strftime("%Y-%m"))
            .group_by("unit_code", "month").agg(ok=(pl.col("rating") >= 3).sum(), n=pl.len()))


def test_three_units_stay_below_the_satisfaction_line(frames):
    sat = _satisfaction(frames["evaluations"])
    below = sat.filter(pl.col("ok") < 0.98 * pl.col("n")).group_by("month").len()
    assert (below["len"] >= 3).sum() > 0.5 * sat["month"].n_unique()
    pooled = sat.group_by("unit_code").agg(rate=pl.col("ok").sum() / pl.col("n").sum()).sort("rate")
    assert set(pooled["unit_code"][:4]) >= set(demo.LOW_SATISFACTION_UNITS)
    # A small demo has a few dozen ratings per unit and month: judge each unit by quarter.
    quarter = pl.col("month").str.slice(0, 4) + "Q" + ((pl.col("month").str.slice(5, 2).cast(pl.Int32) - 1) // 3 + 1
                                                       ).cast(pl.String)
    quarters = (sat.with_columns(q=quarter)
                .group_by("unit_code", "q").agg(pl.col("ok").sum(), pl.col("n").sum()))
    for u in demo.LOW_SATISFACTION_UNITS:
        assert pooled.filter(pl.col("unit_code") == u)["rate"].item() < 0.98
        mine = quarters.filter(pl.col("unit_code") == u)
        assert (mine["ok"] < 0.98 * mine["n"]).sum() > 0.5 * mine.height


def test_one_unit_declines_steadily(frames):
    c = frames["cases"].filter((pl.col("unit_code") == demo.DECLINING_UNIT) & (pl.col("status") == "办结"))
    c = c.sort("updated_at").group_by("case_id").last().with_columns(
        month=pl.col("accepted_at").dt.strftime("%Y-%m"), ontime=pl.col("completed_at") <= pl.col("deadline_at"))
    months = sorted(c["month"].unique())
    early = c.filter(pl.col("month").is_in(months[1:7]))["ontime"].mean()
    late = c.filter(pl.col("month").is_in(months[-6:]))["ontime"].mean()
    assert early > 0.9 and late < early - 0.1
    sat = _satisfaction(frames["evaluations"]).filter(pl.col("unit_code") == demo.DECLINING_UNIT).sort("month")
    head, tail = sat.head(6), sat.tail(6)
    assert head["ok"].sum() / head["n"].sum() > tail["ok"].sum() / tail["n"].sum() + 0.03


def test_gap_unit_has_no_rows_in_three_months(runs, frames):
    stamp = {"cases": "accepted_at", "evaluations": "rated_at", "supervision": "issued_at", "tickets": "issued_at",
             "events": "occurred_at"}
    gap = {runs[0].months[i] for i in demo.GAP_MONTHS}
    for name, col in stamp.items():
        months = set(frames[name].filter(pl.col("unit_code") == demo.GAP_UNIT)[col].dt.strftime("%Y-%m"))
        assert not months & gap, name
    case_months = set(frames["cases"].filter(pl.col("unit_code") == demo.GAP_UNIT)["accepted_at"].dt.strftime("%Y-%m"))
    assert case_months | gap == set(runs[0].months[1:])
    assert (frames["xlsx"]["unit_code"] == demo.GAP_UNIT).any()


def test_two_windows_have_long_queues(frames):
    t = frames["tickets"].filter(pl.col("called_at") >= pl.col("issued_at")).with_columns(
        wait=(pl.col("called_at") - pl.col("issued_at")).dt.total_seconds() / 60)
    by = t.group_by("window_code").agg(pl.col("wait").mean(), pl.len()).sort("wait", descending=True)
    assert set(by["window_code"][:2]) == set(demo.LONG_QUEUE_WINDOWS)
    assert (by["wait"][:2] > 40).all() and (by["wait"][:2] < 90).all()
    assert 5 < t.filter(~pl.col("window_code").is_in(demo.LONG_QUEUE_WINDOWS))["wait"].mean() < 20
    assert 0.015 < (frames["tickets"]["status"] == "no_show").mean() < 0.05


def test_first_working_days_after_spring_festival_and_national_day_are_peaks(frames):
    cal = WorkCalendar().table(dt.date(2023, 7, 1), dt.date(2025, 6, 30)).to_pylist()
    firsts = []
    for k in range(1, len(cal)):
        if cal[k]["is_workday"] and not cal[k - 1]["is_workday"]:
            j = k - 1
            while j >= 0 and not cal[j]["is_workday"]:
                j -= 1
            names = " ".join(cal[m]["holiday_name"] for m in range(j + 1, k))
            if "Spring Festival" in names or "National Day" in names:
                firsts.append(cal[k]["date"])
    assert len(firsts) >= 3
    per_day = (pl.concat([frames["cases"].select("case_id", "accepted_at", "channel")])
               .filter(pl.col("channel") == "窗口").unique("case_id")
               .group_by(pl.col("accepted_at").dt.date().alias("d")).len())
    typical = per_day["len"].median()
    peaks = per_day.filter(pl.col("d").is_in(firsts))["len"]
    assert peaks.len() >= 3 and peaks.mean() > 1.5 * typical


def test_events_cover_the_catalog_and_carry_numbers_to_scrub(frames):
    e = frames["events"]
    assert set(e["event_type"]) == set(demo.EVENT_TYPES)
    assert e.filter(pl.col("event_type").is_in(["praise_or_media", "criticized"]))["level"].is_not_null().all()
    assert e["note"].str.contains(r"1[3-9]\d{9}").any()
    assert e["note"].str.contains(re.escape("来电人")).any()


def test_default_end_month_is_last_month_kept_inside_the_calendar():
    cal = WorkCalendar()
    top = max(cal.years)
    assert demo.default_end_month(dt.date(top, 11, 22), cal) == f"{top}-10"
    assert demo.default_end_month(dt.date(top + 1, 3, 1), cal) == f"{top}-10"
    assert demo.default_end_month(dt.date(top, 3, 5), cal) == f"{top}-02"
    assert demo.default_end_month(dt.date(top, 1, 5), cal) == f"{top - 1}-12"


def test_end_month_without_a_holiday_schedule_is_refused(tmp_path):
    top = max(WorkCalendar().years)
    with pytest.raises(CalendarError):
        demo.generate(tmp_path / "x", cases=100, end_month=f"{top}-12")
    with pytest.raises(ValueError):
        demo.generate(tmp_path / "y", cases=100, end_month="June")


def test_a_month_too_big_for_one_worksheet_is_handed_over_in_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "XLSX_ROWS", 40)
    s = demo.generate(tmp_path, cases=2_400, seed=3, end_month=END)
    parts = [f for f in s.files if f.endswith(".xlsx")]
    assert parts == [f"办件明细_{s.months[0]}_{k}.xlsx" for k in range(1, len(parts) + 1)] and len(parts) >= 2
    sizes = [len(CalamineWorkbook.from_path(str(tmp_path / f)).get_sheet_by_index(0).to_python()) - 1 for f in parts]
    assert all(n == 40 for n in sizes[:-1]) and 0 < sizes[-1] <= 40
    parquet = sum(pq.read_metadata(tmp_path / f).num_rows for f in s.files if f.startswith("cases_"))
    assert sum(sizes) + parquet == s.rows["cases"]
