"""How fresh the data is and what the gate did: rows and newest month per input table, the ingest log, the
quarantine by reason (never the quarantined rows' contents), and whether the marts predate the last ingest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dashboard.core import text as catalog
from dashboard.core.contract import TABLES, reason_text
from dashboard.core.db import Warehouse
from dashboard.core.marts import scope_clause
from dashboard.core.period import BEIJING, BEIJING_ZONE

# Gate outcomes of a file, in the order a summary lists them.
STATUSES = ("accepted", "partial", "quarantined", "skipped")
# Columns of the quarantine a page may show: where a row came from and why it was held — not `raw`, which
# keeps the row's values (scrubbed, but still the applicant's case).
QUARANTINE_COLUMNS = ("table", "source_file", "source_row", "reason", "column", "detail")
# Quarantined rows listed at most (the counts by reason cover them all).
SAMPLE_LIMIT = 200


def table_freshness(wh: Warehouse, scope: tuple[str, ...] | None) -> list[dict]:
    """One row per contract table: rows stored in the warehouse (every version of every record, as the gate kept
    them), the newest month of its partition timestamp (Beijing time), files accepted and when a file of it was
    last accepted.

    Read from the stored versions, not the latest-version views: counting those would deduplicate the whole
    warehouse (minutes and gigabytes at 50M cases) to answer "how fresh is it". A scope limits tables that carry a
    unit code to those units; tables without one are hall-wide."""
    log = {r["table"]: r for r in wh.query(
        "SELECT \"table\", max(ingested_at) AS last_ingested, count(DISTINCT source_file)::BIGINT AS files "
        "FROM ingest_log WHERE status IN ('accepted', 'partial') GROUP BY ALL").to_pylist()}
    out = []
    for t in TABLES.values():
        has_unit = "unit_code" in t.names
        clause, params = scope_clause(scope) if has_unit else ("", [])
        newest = (f"strftime(timezone('{BEIJING_ZONE}', max(\"{t.partition_by}\")), '%Y-%m')"
                  if t.partition_by else "NULL::VARCHAR")
        row = wh.query(
            f"SELECT count(*)::BIGINT AS rows, {newest} AS newest_month FROM \"{t.name}_versions\" WHERE true{clause}",
            params or None).to_pylist()[0]
        row["files"] = log.get(t.name, {}).get("files", 0)
        out.append({"table": t.name, "zh": t.zh, "en": t.en, "dimension": t.dimension,
                    "partition_by": t.partition_by, "rows": row["rows"], "newest_month": row["newest_month"],
                    "files": row["files"], "last_ingested": log.get(t.name, {}).get("last_ingested"), "scoped": has_unit and scope is not None})
    return out


def build_rows(info: dict) -> list[dict]:
    """The last build's outputs as rows (kind "fact" or "mart", name, rows), facts first, in build order."""
    return ([{"kind": "fact", "name": k, "rows": v} for k, v in info.get("facts", {}).items()]
            + [{"kind": "mart", "name": k, "rows": v} for k, v in info.get("marts", {}).items()])


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    # Naive times are Beijing time by the input contract.
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def needs_build(last_ingested: Iterable[dt.datetime | str | None], built_at: dt.datetime | str | None) -> bool:
    """True when a file was accepted after the marts were built (or data exist and nothing was ever built)."""
    times = [a for a in (_aware(x) for x in last_ingested) if a is not None]
    if not times:
        return False
    built = _aware(built_at)
    return built is None or max(times) > built


def ingest_log(wh: Warehouse, limit: int = 500) -> list[dict]:
    """The newest gate outcomes first, one row per file per run: file, table, status, reason, rows in / accepted /
    quarantined, notes and when. Holds no personal data (file names, counts, reason codes and scrubbed details)."""
    return wh.query(
        "SELECT ingested_at, run_id, source_file, \"table\", format, status, reason, detail, rows_in, rows_accepted, "
        "rows_quarantined, notes, seconds FROM ingest_log ORDER BY ingested_at DESC, run_id DESC, source_file "
        "LIMIT ?", [limit]).to_pylist()


def status_counts(rows: Iterable[dict]) -> dict[str, int]:
    """Files per gate status, every status present (0 where none), in STATUSES order."""
    out = dict.fromkeys(STATUSES, 0)
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def quarantine_counts(wh: Warehouse) -> list[dict]:
    """Quarantined rows per (table, reason) and whole quarantined files per (table, reason), most first."""
    rows = wh.query(
        "SELECT 'row' AS level, \"table\", reason, count(*)::BIGINT AS n FROM quarantine_rows GROUP BY ALL "
        "UNION ALL "
        "SELECT 'file' AS level, \"table\", reason, count(*)::BIGINT AS n FROM quarantine_files GROUP BY ALL "
        "ORDER BY n DESC, level DESC, \"table\", reason").to_pylist()
    return rows


def quarantine_sample(wh: Warehouse, limit: int = SAMPLE_LIMIT, reason: str | None = None) -> list[dict]:
    """Up to `limit` quarantined rows — table, file, row number, reason, column, detail — never their values."""
    cols = ", ".join(f'"{c}"' for c in QUARANTINE_COLUMNS)
    where, params = ("WHERE reason = ?", [reason]) if reason else ("", [])
    return wh.query(f"SELECT {cols} FROM quarantine_rows {where} ORDER BY source_file, source_row LIMIT ?",
                    [*params, limit]).to_pylist()




def notes_text(notes: str | None, lang: str) -> str:
    """The ingest log's '; '-joined notes ("extra_columns_dropped: a, b; units_not_loaded") in words."""
    if not notes:
        return ""
    out = []
    for part in notes.split("; "):
        code, _, rest = part.partition(": ")
        text = reason_text(code, lang)
        out.append(catalog.t("common.labelled", lang, label=text, value=rest) if rest else text)
    return catalog.join(out, lang, "clauses")
