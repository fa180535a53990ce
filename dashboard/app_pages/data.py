"""Data page (数据): how fresh each input table is, what the last build made, the gate's log, the quarantine with
its reasons (never the held rows' values), and uploading exports through the gate."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import streamlit as st

from dashboard import data
from dashboard.core.contract import reason_text
from dashboard.core.db import REPO_ROOT
from dashboard.core.freshness import (
    SAMPLE_LIMIT,
    build_rows,
    needs_build,
    notes_text,
    status_counts,
)
from dashboard.core.period import BEIJING
from dashboard.core.table import Column
from dashboard.ui import state
from dashboard.ui.banner import as_of_line
from dashboard.ui.downloads import download_buttons
from dashboard.ui.format import num, plain
from dashboard.ui.i18n import t
from dashboard.ui.state import current_lang, current_principal, current_scope

PAGE = "data"
_RESULT = "data_upload_result"
_BUILT = "data_build_result"
_ALL = "all"
_AUDIT_ACTIONS = ("upload", "rebuild", "clear_cache", "record_events", "publish", "edit_rules", "roles_loaded")


def _without_paths(message: str) -> str:
    """An error as the user needs it, without the server's folders (they tell an outsider where things live)."""
    for folder in (str(data.lake_root()), str(REPO_ROOT)):
        message = message.replace(folder + "/", "").replace(folder, ".")
    return message


def _statuses(lang: str) -> dict[str, str]:
    return {"accepted": t("data_page.status.accepted", lang), "partial": t("data_page.status.partial", lang),
            "quarantined": t("data_page.status.quarantined", lang), "skipped": t("data_page.status.skipped", lang)}


def _when(value: dt.datetime | str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return (value.astimezone(BEIJING) if value.tzinfo else value).strftime("%Y-%m-%d %H:%M")


def _table(key: str, title: str, columns: list[Column], rows: list[dict], lang: str, height: int | None = None) -> None:
    """A table of display rows (already text where it matters) with its CSV and XLSX buttons."""
    schema = {c.header: (pl.Int64 if c.kind == "int" else pl.String) for c in columns}
    shown = pl.DataFrame([{c.header: r.get(c.key) for c in columns} for r in rows], schema=schema)
    kw = {"height": height} if height else {}
    st.dataframe(shown, hide_index=True, column_config={
        c.header: st.column_config.NumberColumn(format="localized") for c in columns if c.kind == "int"}, **kw)
    download_buttons(key, title, columns, rows, lang)


def _freshness(scope, lang: str) -> list[dict]:
    st.subheader(t("data_page.fresh.title", lang))
    rows = data.freshness(scope)
    out = [{"table": f"{r['zh'] if lang == 'zh' else r['en']} ({r['table']})", "rows": r["rows"],
            "newest": r["newest_month"] or ("–" if r["partition_by"] else t("data_page.fresh.not_monthly", lang)),
            "files": r["files"], "last": _when(r["last_ingested"])} for r in rows]
    cols = [Column("table", t("data_page.fresh.table", lang)), Column("rows", t("data_page.fresh.rows", lang), "int"),
            Column("newest", t("data_page.fresh.newest", lang)), Column("files", t("data_page.fresh.files", lang), "int"),
            Column("last", t("data_page.fresh.last", lang))]
    _table("data_fresh", t("data_page.fresh.title", lang), cols, out, lang)
    st.caption(t("data_page.fresh.note", lang))
    return rows


def _build(fresh: list[dict], scope, lang: str) -> None:
    st.subheader(t("data_page.build.title", lang))
    info = data.build_info()
    if not info:
        st.info(t("data_page.build.never", lang))
    else:
        st.caption(t("data_page.build.line", lang, built_at=_when(info.get("built_at")),
                     seconds=f"{info.get('seconds', 0):.1f}",
                     reused=t("data_page.build.reused", lang) if info.get("facts_reused") else ""))
        kinds = {"fact": t("data_page.build.fact", lang), "mart": t("data_page.build.mart", lang)}
        rows = [{**r, "kind": kinds[r["kind"]]} for r in build_rows(info)]
        with st.expander(t("data_page.build.outputs", lang)):
            _table("data_build", t("data_page.build.outputs", lang),
                   [Column("kind", t("data_page.build.kind", lang)), Column("name", t("data_page.build.name", lang)),
                    Column("rows", t("data_page.fresh.rows", lang), "int")], rows, lang)
    if needs_build([r["last_ingested"] for r in fresh], info.get("built_at")):
        st.warning(t("data_page.build.stale", lang))
    who = current_principal()
    if who is not None and who.can("rebuild") and st.button(t("data_page.build.run", lang), key="data_build_run",
                                                            icon=":material/build:"):
        bar = st.progress(0.0, text=t("data_page.build.running", lang))

        def waiting(holder: str) -> None:
            bar.progress(0.0, text=t("data_page.build.waiting", lang, holder=plain(holder)))

        def progress(name: str, done: int, total: int) -> None:
            bar.progress(done / total if total else 1.0, text=t("data_page.build.step", lang, step=plain(name),
                                                                 done=done, total=total))

        try:
            summary = data.build_marts(scope, progress, waiting)
        except Exception as e:  # noqa: BLE001 - the message (e.g. a calendar year missing) is what the user needs
            st.session_state[_BUILT] = {"error": _without_paths(str(e))}
        else:
            st.session_state[_BUILT] = {"seconds": summary.seconds, "marts": len(summary.marts)}
        st.rerun()
    done = st.session_state.get(_BUILT)
    if done:
        if "error" in done:
            st.error(t("data_page.build.failed", lang, error=plain(done["error"])))
        else:
            st.success(t("data_page.build.done", lang, marts=done["marts"], seconds=f"{done['seconds']:.1f}"))


def _audit(lang: str) -> None:
    """The audit log: who uploaded, rebuilt or cleared caches, and what was refused."""
    st.subheader(t("data_page.audit.title", lang))
    rows = [{"at": _when(e.get("at")), "subject": e.get("subject") or "–",
             "role": t(f"auth.role.{e['role']}", lang) if e.get("role") else "–",
             "action": t(f"data_page.audit.action.{e['action']}", lang) if e.get("action") in _AUDIT_ACTIONS
             else str(e.get("action")),
             "outcome": t(f"data_page.audit.outcome.{e['outcome']}", lang) if e.get("outcome") in ("done", "refused")
             else str(e.get("outcome")),
             "detail": json.dumps(e.get("detail") or {}, ensure_ascii=False)} for e in data.audit_entries()]
    if not rows:
        st.caption(t("data_page.audit.empty", lang))
        return
    _table("data_audit", t("data_page.audit.title", lang),
           [Column("at", t("data_page.audit.at", lang)), Column("subject", t("data_page.audit.subject", lang)),
            Column("role", t("data_page.audit.role", lang)), Column("action", t("data_page.audit.action_col", lang)),
            Column("outcome", t("data_page.audit.outcome_col", lang)),
            Column("detail", t("data_page.audit.detail", lang))], rows, lang, height=240)
    who = current_principal()
    if who is not None and who.can("clear_cache") and st.button(t("data_page.audit.clear_cache", lang),
                                                                key="data_clear_cache", icon=":material/mop:"):
        data.clear_caches()
        st.rerun()


def _upload(scope, lang: str) -> None:
    st.subheader(t("data_page.upload.title", lang))
    st.caption(t("data_page.upload.help", lang))
    files = st.file_uploader(t("data_page.upload.label", lang), type=["parquet", "csv", "xlsx"],
                             accept_multiple_files=True, key="data_upload")
    if st.button(t("data_page.upload.run", lang), key="data_upload_run", disabled=not files, type="primary",
                 icon=":material/upload:"):
        bar = st.progress(0.0, text=t("data_page.upload.running", lang, n=len(files)))

        def progress(rep, done: int, total: int) -> None:
            bar.progress(done / total if total else 1.0,
                         text=t("data_page.upload.step", lang, file=plain(rep.source_file), done=done, total=total))

        try:
            report = data.ingest_uploads([(f.name, f.getvalue()) for f in files], scope, progress)
        except Exception as e:  # noqa: BLE001 - a broken mapping file or the like: say so, keep the page
            st.session_state[_RESULT] = {"error": _without_paths(str(e))}
        else:
            st.session_state[_RESULT] = report.to_dict()
        st.session_state.pop(_BUILT, None)
        st.rerun()
    result = st.session_state.get(_RESULT)
    if not result:
        return
    if "error" in result:
        st.error(t("data_page.upload.failed", lang, error=plain(result["error"])))
        return
    statuses = _statuses(lang)
    counts = status_counts(result["file_reports"])
    cols = st.columns(len(counts) + 1)
    for col, (status, n) in zip(cols, counts.items(), strict=False):
        col.metric(statuses[status], num(n))
    cols[-1].metric(t("data_page.upload.rows", lang), num(result["rows_accepted"]),
                    help=t("data_page.upload.rows_help", lang, rows_in=num(result["rows_in"]),
                           quarantined=num(result["rows_quarantined"])))
    rows = [{"file": f["source_file"], "table": f["table"] or "–", "status": statuses.get(f["status"], f["status"]),
             "rows_in": f["rows_in"], "accepted": f["rows_accepted"], "quarantined": f["rows_quarantined"],
             "why": _why(f.get("reason"), f.get("reasons") or {}, "; ".join(f.get("notes") or []), lang)}
            for f in result["file_reports"]]
    _table("data_upload_result", t("data_page.upload.result", lang), _log_columns(lang, with_time=False), rows, lang)
    st.info(t("data_page.upload.next", lang))


def _why(reason: str | None, reasons: dict, notes: str | None, lang: str) -> str:
    parts = [reason_text(reason, lang)] if reason else []
    parts += [f"{reason_text(code, lang)} × {n:,}" for code, n in sorted(reasons.items(), key=lambda kv: -kv[1])]
    if notes:
        parts.append(notes_text(notes, lang))
    return t("common.sep.clauses", lang).join(p for p in parts if p)


def _log_columns(lang: str, with_time: bool = True) -> list[Column]:
    cols = [Column("when", t("data_page.log.when", lang))] if with_time else []
    return cols + [Column("file", t("data_page.log.file", lang)), Column("table", t("data_page.log.table", lang)),
                   Column("status", t("data_page.log.status", lang)),
                   Column("rows_in", t("data_page.log.rows_in", lang), "int"),
                   Column("accepted", t("data_page.log.accepted", lang), "int"),
                   Column("quarantined", t("data_page.log.quarantined", lang), "int"),
                   Column("why", t("data_page.log.why", lang))]


def _log(scope, lang: str) -> None:
    st.subheader(t("data_page.log.title", lang))
    log = data.ingest_log(scope)
    if not log:
        st.caption(t("data_page.log.none", lang))
        return
    statuses = _statuses(lang)
    rows = []
    for r in log:
        reasons = {}
        if r["status"] == "partial" and r["detail"]:
            try:
                reasons = json.loads(r["detail"])
            except ValueError:
                reasons = {}
        rows.append({"when": _when(r["ingested_at"]), "file": r["source_file"], "table": r["table"] or "–",
                     "status": statuses.get(r["status"], r["status"]), "rows_in": r["rows_in"],
                     "accepted": r["rows_accepted"], "quarantined": r["rows_quarantined"],
                     "why": _why(r["reason"], reasons, r["notes"], lang)})
    _table("data_log", t("data_page.log.title", lang), _log_columns(lang), rows, lang, height=320)


def _quarantine(scope, lang: str) -> None:
    st.subheader(t("data_page.quarantine.title", lang))
    counts, _ = data.quarantine(scope)
    if not counts:
        st.caption(t("data_page.quarantine.none", lang))
        return
    levels = {"row": t("data_page.quarantine.row", lang), "file": t("data_page.quarantine.file", lang)}
    rows = [{"level": levels[r["level"]], "table": r["table"] or "–", "code": r["reason"],
             "reason": reason_text(r["reason"], lang), "n": r["n"]} for r in counts]
    _table("data_quarantine_counts", t("data_page.quarantine.by_reason", lang),
           [Column("level", t("data_page.quarantine.level", lang)), Column("table", t("data_page.log.table", lang)),
            Column("reason", t("data_page.quarantine.reason", lang)), Column("code", t("data_page.quarantine.code", lang)),
            Column("n", t("data_page.quarantine.count", lang), "int")], rows, lang)
    row_reasons = sorted({r["reason"] for r in counts if r["level"] == "row"})
    if not row_reasons:
        return
    st.markdown(f"**{t('data_page.quarantine.sample', lang)}**")
    reason = state.select(t("data_page.quarantine.filter", lang), [_ALL, *row_reasons], "reason", page=PAGE,
                          format_func=lambda c: t("data_page.quarantine.all", lang) if c == _ALL
                          else f"{reason_text(c, lang)} ({c})")
    _, sample = data.quarantine(scope, None if reason == _ALL else reason)
    shown = [{"table": r["table"], "file": r["source_file"], "row": r["source_row"],
              "reason": reason_text(r["reason"], lang), "column": r["column"] or "", "detail": r["detail"] or ""}
             for r in sample]
    _table("data_quarantine_sample", t("data_page.quarantine.sample", lang),
           [Column("table", t("data_page.log.table", lang)), Column("file", t("data_page.log.file", lang)),
            Column("row", t("data_page.quarantine.source_row", lang), "int"),
            Column("reason", t("data_page.quarantine.reason", lang)),
            Column("column", t("data_page.quarantine.column", lang)),
            Column("detail", t("data_page.quarantine.detail", lang))], shown, lang, height=320)
    st.caption(t("data_page.quarantine.note", lang, n=num(len(sample)), limit=num(SAMPLE_LIMIT)))


def render() -> None:
    """Draw the page for the session's language and scope."""
    lang, scope = current_lang(), current_scope()
    st.title(t("data_page.title", lang))
    as_of = as_of_line(lang, scope)
    st.caption(as_of or t("data_page.no_build", lang))
    fresh = _freshness(scope, lang)
    _build(fresh, scope, lang)
    who = current_principal()
    if scope is not None or who is None or not who.can("view_operations"):
        st.info(t("data_page.admin_only", lang))
        return
    if who.can("upload"):
        _upload(scope, lang)
    _log(scope, lang)
    _quarantine(scope, lang)
    _audit(lang)


render()
