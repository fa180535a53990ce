"""The input contract (输入数据约定): every table an export may carry, one source of truth."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

import pyarrow as pa
from ruamel.yaml import YAML

from dashboard import resources
from dashboard.core import text as catalog
from dashboard.core.period import BEIJING_ZONE

TZ = BEIJING_ZONE
TIMESTAMP = pa.timestamp("us", tz=TZ)


@dataclass(frozen=True)
class Column:
    """One column of an input table: name, Arrow type, whether required, allowed values, meaning."""

    name: str
    type: pa.DataType
    required: bool
    zh: str
    en: str
    allowed: tuple = ()
    # "drop": never stored; "hmac": stored only as a keyed hash in `hmac_to`.
    pii: str | None = None
    hmac_to: str | None = None
    min: float | None = None
    max: float | None = None
    # The quarantine reason for a value outside [min, max].
    range_reason: str = "out_of_range"
    # The longest text a cell may hold, in characters after NFKC (text columns only; `too_long` beyond it).
    max_chars: int | None = None


@dataclass(frozen=True)
class Before:
    """A cross-column row rule: `later` may not come before `earlier`; a row where it does is quarantined with
    `reason`, on column `later` (compared as Beijing days when `by_day`: a bare-date deadline is a whole day)."""

    earlier: str
    later: str
    reason: str
    by_day: bool = False


@dataclass(frozen=True)
class Table:
    """One input table: its columns, key, version column and the timestamp that partitions it by month."""

    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partition_by: str | None = None
    version_by: str | None = "updated_at"
    dimension: bool = False
    # Columns added by the gate itself (e.g. the HMAC key of an applicant); not expected in exports.
    derived: tuple[Column, ...] = field(default_factory=tuple)
    # Row rules across columns, checked in this order after each column's own rules.
    rules: tuple[Before, ...] = ()

    def column(self, name: str) -> Column:
        """Return the column called `name` (KeyError when the contract has none)."""
        for c in (*self.columns, *self.derived):
            if c.name == name:
                return c
        raise KeyError(f"{self.name}.{name}")

    @property
    def names(self) -> list[str]:
        """Column names as exports carry them."""
        return [c.name for c in self.columns]

    @property
    def stored_columns(self) -> list[Column]:
        """Columns written to the warehouse: contract columns minus personal data, plus derived keys."""
        return [c for c in self.columns if c.pii not in ("drop", "hmac")] + list(self.derived)

    @property
    def max_columns(self) -> int:
        """The most columns a file of this table may carry."""
        return len(self.columns) + EXTRA_COLUMNS_ALLOWED

    def arrow_schema(self) -> pa.Schema:
        """Arrow schema of the stored columns (without lineage)."""
        return pa.schema([pa.field(c.name, c.type, nullable=True) for c in self.stored_columns])


# Text limits by the kind of column: a code or identifier, a name, a free note. A 10 MiB unit name would
# otherwise reach every page that shows it.
CODE_CHARS, NAME_CHARS, NOTE_CHARS = 64, 200, 2000
NOTE_COLUMNS = ("note", "reason", "bad_tags")
# The instants the working-day calendar and the marts can serve; earlier or later ones are typing errors that
# would otherwise block every build (`date_out_of_range`).
INSTANTS_FROM, INSTANTS_BEFORE = dt.date(2000, 1, 1), dt.date(2101, 1, 1)
# Columns a file may carry beyond its table's contract before the file is refused (`too_many_columns`).
EXTRA_COLUMNS_ALLOWED = 200


def text_limit(name: str) -> int:
    """The default maximum length of a text column, from its name: codes 64, notes 2,000, names and words 200."""
    if name in NOTE_COLUMNS:
        return NOTE_CHARS
    if name.endswith(("_id", "_code", "_number", "_by")) or name in ("parent", "assessor", "period"):
        return CODE_CHARS
    return NAME_CHARS


def _c(name, type_, required, zh, en, **kw) -> Column:
    if pa.types.is_string(type_):
        kw.setdefault("max_chars", text_limit(name))
    return Column(name=name, type=type_, required=required, zh=zh, en=en, **kw)


S, I32, BOOL, D = pa.string(), pa.int32(), pa.bool_(), pa.date32()
DEC = pa.decimal128(9, 4)

ITEM_KINDS = ("即办件", "承诺件", "联办件", "上报件")
CASE_STATUSES = ("办结", "不予受理", "退件", "终止", "在办", "挂起")
CHANNELS = ("窗口", "网上", "自助", "移动端", "电话", "邮寄", "其他")
UNIT_KINDS = ("部门", "乡镇", "派驻单位")
SIGNALS = ("预警", "黄牌", "红牌")
TICKET_STATUSES = ("served", "no_show")
APPEALS = ("有效", "误评", "恶意")
EVENT_LEVELS = ("县级", "市级", "省级", "国家级")
CATALOG = resources.ROOT / "rulesets" / "_catalog.yaml"


@cache
def load_catalog() -> dict:
    """The rules catalog (rulesets/_catalog.yaml): event types, flags, metric options and metrics, read once."""
    return YAML(typ="safe").load(CATALOG.read_text(encoding="utf-8"))


def event_types() -> dict[str, dict]:
    """Event types (事件类型) from the rules catalog, by code."""
    return {e["code"]: e for e in load_catalog()["event_types"]}


EVENT_TYPES = tuple(event_types())


def catalog_flags() -> dict[str, dict]:
    """Flags a rule can set besides points (e.g. 取消当季评优评先资格), by code, with their scope."""
    return {f["code"]: f for f in load_catalog().get("flags", [])}

UPDATED_AT = _c("updated_at", TIMESTAMP, False, "记录更新时间；同一记录多次导出时以最新为准",
                "When the source record last changed; the latest version wins")

CASES = Table(
    name="cases", zh="办件", en="Cases", key=("case_id",), partition_by="accepted_at",
    columns=(
        _c("case_id", S, True, "办件编号", "Case identifier"),
        _c("item_code", S, True, "事项编码", "Service item code"),
        _c("item_name", S, False, "事项名称", "Service item name"),
        _c("item_kind", S, True, "办件类型", "Case kind", allowed=ITEM_KINDS),
        _c("unit_code", S, True, "受理单位编码", "Unit code"),
        _c("window_code", S, False, "窗口编号", "Window code"),
        _c("staff_id", S, False, "经办人员编号（工号，非身份证）", "Staff number (not an ID-card number)"),
        _c("hall_code", S, False, "大厅编码", "Hall code"),
        _c("channel", S, False, "受理渠道", "Channel", allowed=CHANNELS),
        _c("accepted_at", TIMESTAMP, True, "受理时间", "Accepted at"),
        _c("legal_days", I32, False, "法定时限（工作日）", "Legal time limit (working days)", min=0, max=3650),
        _c("promised_days", I32, False, "承诺时限（工作日）", "Promised time limit (working days)", min=0, max=3650),
        _c("deadline_at", TIMESTAMP, False, "办理期限；缺失时按承诺时限和工作日历计算",
           "Deadline; computed from promised_days and the calendar when absent"),
        _c("completed_at", TIMESTAMP, False, "办结时间；在办为空", "Completed at (null while open)"),
        _c("status", S, True, "办件状态", "Status", allowed=CASE_STATUSES),
        _c("suspended_days", I32, False, "特别程序/挂起时长（工作日），不计入办理时长",
           "Suspended working days, excluded from elapsed time", min=0, max=3650),
        _c("full_online", BOOL, False, "是否全程网办", "Fully online"),
        _c("secondary_entry", BOOL, False, "是否二次录入", "Entered twice (secondary entry)"),
        _c("archived", BOOL, False, "是否归档", "Archived"),
        # Cases are re-exported as they progress, so their versions must say which is newer.
        _c("updated_at", TIMESTAMP, True, "记录更新时间；同一办件多次导出时以最新为准（必填）",
           "When the case record last changed; the latest version wins (required)"),
        _c("applicant_name", S, False, "申请人姓名：入库前丢弃", "Applicant name: dropped at the gate", pii="drop"),
        _c("applicant_id_number", S, False, "申请人身份证号：仅以 HMAC 密钥摘要保存为 applicant_key",
           "Applicant ID-card number: kept only as an HMAC key in applicant_key", pii="hmac",
           hmac_to="applicant_key"),
        _c("applicant_phone", S, False, "申请人电话：入库前丢弃", "Applicant phone: dropped at the gate", pii="drop"),
    ),
    rules=(
        Before(earlier="accepted_at", later="completed_at", reason="completed_before_accepted"),
        Before(earlier="accepted_at", later="deadline_at", reason="deadline_before_accepted", by_day=True),
    ),
    derived=(
        _c("applicant_key", S, False, "申请人匿名键（HMAC），用于统计同一申请人，不可还原",
           "Pseudonymous applicant key (HMAC); counts repeat applicants, cannot be reversed"),
    ),
)

EVALUATIONS = Table(
    name="evaluations", zh="好差评", en="Evaluations", key=("eval_id",), partition_by="rated_at",
    columns=(
        _c("eval_id", S, True, "评价编号", "Evaluation identifier"),
        _c("case_id", S, False, "办件编号；现场评价可为空", "Case identifier; empty for walk-in ratings"),
        _c("unit_code", S, True, "单位编码", "Unit code"),
        _c("window_code", S, False, "窗口编号", "Window code"),
        _c("staff_id", S, False, "人员工号", "Staff number"),
        _c("rated_at", TIMESTAMP, True, "评价时间", "Rated at"),
        _c("rating", I32, True, "评价等级：5 非常满意 4 满意 3 基本满意 2 不满意 1 非常不满意",
           "Rating: 5 very satisfied … 1 very dissatisfied (1–2 are bad ratings)", min=1, max=5,
           range_reason="rating_out_of_range"),
        _c("channel", S, False, "评价渠道", "Channel", allowed=CHANNELS),
        _c("is_default", BOOL, False, "是否默认评价", "Default rating (not given by the applicant)"),
        _c("bad_tags", S, False, "差评标签，以“;”分隔", "Bad-rating tags, ';'-separated"),
        _c("rectified_at", TIMESTAMP, False, "差评整改完成时间", "Bad rating rectified at"),
        _c("appeal", S, False, "申诉结果", "Appeal outcome", allowed=APPEALS),
        UPDATED_AT,
        _c("rater_phone", S, False, "评价人电话：入库前丢弃", "Rater phone: dropped at the gate", pii="drop"),
    ),
)

SUPERVISION = Table(
    name="supervision", zh="电子监察", en="E-supervision signals", key=("signal_id",), partition_by="issued_at",
    columns=(
        _c("signal_id", S, True, "监察信号编号", "Signal identifier"),
        _c("case_id", S, False, "办件编号", "Case identifier"),
        _c("unit_code", S, True, "单位编码", "Unit code"),
        _c("signal", S, True, "信号类型", "Signal", allowed=SIGNALS),
        _c("issued_at", TIMESTAMP, True, "发出时间", "Issued at"),
        UPDATED_AT,
    ),
)

TICKETS = Table(
    name="tickets", zh="排队叫号", en="Queue tickets", key=("ticket_id",), partition_by="issued_at",
    columns=(
        _c("ticket_id", S, True, "取号编号", "Ticket identifier"),
        _c("hall_code", S, False, "大厅编码", "Hall code"),
        _c("window_code", S, False, "窗口编号", "Window code"),
        _c("unit_code", S, False, "单位编码", "Unit code"),
        _c("item_code", S, False, "事项编码", "Service item code"),
        _c("issued_at", TIMESTAMP, True, "取号时间", "Issued at"),
        _c("called_at", TIMESTAMP, False, "叫号时间", "Called at"),
        _c("finished_at", TIMESTAMP, False, "办理结束时间", "Finished at"),
        _c("status", S, True, "状态：served 已办理，no_show 过号", "Status", allowed=TICKET_STATUSES),
        UPDATED_AT,
    ),
    rules=(
        Before(earlier="issued_at", later="called_at", reason="called_before_issued"),
        Before(earlier="called_at", later="finished_at", reason="finished_before_called"),
    ),
)

EVENTS = Table(
    name="events", zh="中心日常管理事件", en="Hall-office events", key=("event_id",), partition_by="occurred_at",
    columns=(
        _c("event_id", S, True, "事件编号", "Event identifier"),
        _c("occurred_at", TIMESTAMP, True, "发生时间", "Occurred at"),
        _c("unit_code", S, True, "单位编码", "Unit code"),
        _c("window_code", S, False, "窗口编号", "Window code"),
        _c("staff_id", S, False, "人员工号", "Staff number"),
        _c("event_type", S, True, "事件类型（见 rulesets/_catalog.yaml）", "Event type (rulesets/_catalog.yaml)",
           allowed=EVENT_TYPES),
        _c("level", S, False, "级别", "Level", allowed=EVENT_LEVELS),
        _c("severity", I32, False, "严重程度（1 轻微 … 3 严重）", "Severity (1 minor … 3 serious)", min=1, max=3),
        _c("duration_min", I32, False, "持续时长（分钟）", "Duration (minutes)", min=0, max=100000),
        _c("count", I32, False, "次数，默认 1", "Count, default 1", min=0, max=100000),
        _c("source", S, False, "来源：巡查/通知单/12345/媒体/…", "Source: inspection, notice, 12345 hotline, media, …"),
        _c("verified", BOOL, False, "是否核实", "Verified"),
        _c("status", S, False, "状态", "Status"),
        _c("note", S, False, "说明（入库时去除身份证号和手机号）", "Note (ID and phone numbers scrubbed at the gate)"),
        _c("recorded_by", S, False, "记录人工号", "Recorded by (staff number)"),
        UPDATED_AT,
    ),
)

MANUAL_SCORES = Table(
    name="manual_scores", zh="人工评分", en="Manual scores",
    key=("ruleset_id", "item_id", "subject_code", "period"),
    partition_by=None,
    columns=(
        _c("ruleset_id", S, True, "考核方案编号", "Ruleset id"),
        _c("item_id", S, True, "考核项编号", "Rule item id"),
        _c("unit_code", S, True, "单位编码", "Unit code"),
        _c("subject_code", S, True, "考核对象：单位编码、窗口编号或人员工号（按考核方案的对象）",
           "Who is assessed: the unit code, window code or staff number (as the ruleset assesses)"),
        _c("period", S, True, "考核期（2025-06 / 2025-Q2 / 2025）", "Period (2025-06, 2025-Q2 or 2025)"),
        _c("value", DEC, True, "评分值", "Value"),
        _c("reason", S, True, "评分理由", "Reason"),
        _c("assessor", S, True, "评分人工号", "Assessor (staff number)"),
        UPDATED_AT,
    ),
)

UNITS = Table(
    name="units", zh="单位", en="Units", key=("unit_code",), dimension=True,
    columns=(
        _c("unit_code", S, True, "单位编码", "Unit code"),
        _c("name", S, True, "单位名称", "Unit name"),
        _c("kind", S, True, "单位类型", "Unit kind", allowed=UNIT_KINDS),
        _c("group", S, False, "圈层/分组", "Group (圈层)"),
        _c("parent", S, False, "上级单位编码", "Parent unit code"),
        _c("hall_code", S, False, "所在大厅", "Hall code"),
        _c("active_from", D, False, "启用日期", "Active from"),
        _c("active_to", D, False, "停用日期", "Active to"),
        UPDATED_AT,
    ),
)

WINDOWS = Table(
    name="windows", zh="窗口", en="Windows", key=("window_code",), dimension=True,
    columns=(
        _c("window_code", S, True, "窗口编号", "Window code"),
        _c("name", S, True, "窗口名称", "Window name"),
        _c("unit_code", S, True, "所属单位编码", "Unit code"),
        _c("hall_code", S, False, "所在大厅", "Hall code"),
        _c("kind", S, False, "窗口类型（综合/专窗/帮办）", "Window kind"),
        _c("active_from", D, False, "启用日期", "Active from"),
        _c("active_to", D, False, "停用日期", "Active to"),
        UPDATED_AT,
    ),
)

STAFF = Table(
    name="staff", zh="工作人员", en="Staff", key=("staff_id",), dimension=True,
    columns=(
        _c("staff_id", S, True, "人员工号", "Staff number"),
        _c("name", S, True, "姓名（工作人员公开信息）", "Name (public staff information)"),
        _c("unit_code", S, True, "所属单位编码", "Unit code"),
        _c("window_code", S, False, "所在窗口", "Window code"),
        _c("role", S, False, "岗位", "Role"),
        _c("active_from", D, False, "入岗日期", "Active from"),
        _c("active_to", D, False, "离岗日期", "Active to"),
        UPDATED_AT,
    ),
)

ITEMS = Table(
    name="items", zh="事项目录", en="Service items", key=("item_code",), dimension=True,
    columns=(
        _c("item_code", S, True, "事项编码", "Service item code"),
        _c("item_name", S, True, "事项名称", "Service item name"),
        _c("unit_code", S, True, "实施单位编码", "Unit code"),
        _c("kind", S, True, "办件类型", "Case kind", allowed=ITEM_KINDS),
        _c("legal_days", I32, True, "法定时限（工作日）", "Legal time limit (working days)", min=0, max=3650),
        _c("promised_days", I32, True, "承诺时限（工作日）", "Promised time limit (working days)", min=0, max=3650),
        UPDATED_AT,
    ),
)

CALENDAR_OVERRIDES = Table(
    name="calendar_overrides", zh="工作日历调整", en="Calendar overrides", key=("date",), dimension=True,
    columns=(
        _c("date", D, True, "日期", "Date"),
        _c("is_workday", BOOL, True, "是否工作日", "Working day"),
        _c("note", S, False, "说明", "Note"),
        UPDATED_AT,
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (UNITS, WINDOWS, STAFF, ITEMS, CALENDAR_OVERRIDES,
              CASES, EVALUATIONS, SUPERVISION, TICKETS, EVENTS, MANUAL_SCORES)
}

# Row rules beyond types: the reason codes a quarantined row can carry. Codes are data (the quarantine tables
# store them); what each means is text, in the catalog as `gate.reason.<code>` (both languages).
ROW_REASON_CODES: tuple[str, ...] = (
    "missing_id", "missing_required", "bad_value", "not_allowed", "out_of_range", "rating_out_of_range",
    "completed_before_accepted", "deadline_before_accepted", "called_before_issued", "finished_before_called",
    "unknown_unit", "pii_in_identifier", "malformed_row", "too_long", "date_out_of_range",
)

# Whole-file outcomes: why a file was not read at all (`gate.reason.<code>`).
FILE_REASON_CODES: tuple[str, ...] = (
    "empty_file", "unreadable", "encoding_error", "unknown_table", "missing_column", "column_type",
    "unsupported_format", "worker_crashed", "mapping_error", "too_many_columns", "too_many_rows",
)

# What the gate notes about a file it did read (`gate.note.<code>`).
FILE_NOTE_CODES: tuple[str, ...] = (
    "extra_columns_dropped", "already_ingested", "units_not_loaded",
)


def reason_text(code: str | None, lang: str) -> str:
    """A row reason, file reason or file note in the reader's language (the code itself when unknown, "" for none)."""
    if not code:
        return ""
    if code in ROW_REASON_CODES or code in FILE_REASON_CODES:
        return catalog.t(f"gate.reason.{code}", lang)
    if code in FILE_NOTE_CODES:
        return catalog.t(f"gate.note.{code}", lang)
    return code


def _meanings(codes: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    return {code: (reason_text(code, "zh"), reason_text(code, "en")) for code in codes}


# Each code with its meaning (Chinese, English), read from the catalog.
REASONS = _meanings(ROW_REASON_CODES)
FILE_REASONS = _meanings(FILE_REASON_CODES)
FILE_NOTES = _meanings(FILE_NOTE_CODES)


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "timestamp (Asia/Shanghai)"
    return str(t)


def render_markdown() -> str:
    """Render data/README.md from the contract (a test keeps the committed file equal to this)."""
    out = [
        "# Data: the input contract / 输入数据约定",
        "",
        "<!-- Generated from dashboard/core/contract.py by `hall contract-doc`; do not edit by hand. -->",
        "",
        "Exports from the approval systems arrive as Parquet (or as CSV/XLSX with Chinese headers through a",
        "mapping in `data/mappings/*.toml`). Identifiers are strings. Timestamps are instants; a value",
        "without a time zone means Asia/Shanghai. Strings are NFKC-normalised at the gate.",
        "",
        "导出文件为 Parquet（或带中文表头的 CSV/XLSX，经 `data/mappings/*.toml` 映射）。编号均为字符串；",
        "时间为时刻，未带时区的按北京时间（Asia/Shanghai）理解；字符串入库前做 NFKC 规范化。",
        "",
        "Personal data (申请人姓名、身份证号、电话) never reaches the warehouse: it is dropped, or kept only",
        "as a keyed hash (HMAC) that cannot be reversed. In every other text column, ID-card and mobile",
        "numbers are replaced by `[已脱敏]`; a code or identifier column holding one sends its row to",
        "quarantine (`pii_in_identifier`), with the number scrubbed there too.",
        "",
        "A file is recognised by its name: it starts with the table name (`cases_2025-06.parquet`), or",
        "matches a mapping's `match` patterns.",
        "",
    ]
    for t in TABLES.values():
        part = f"partitioned by month of `{t.partition_by}`" if t.partition_by else "not partitioned"
        out += [
            f"## `{t.name}` — {t.zh} / {t.en}",
            "",
            f"Key: `{', '.join(t.key)}`; {part}; "
            + ("every version is kept; the latest `updated_at` wins (ties: the greater source-file SHA-256, then "
               "the later row)" + ("." if t.column("updated_at").required else
                                   "; a version without `updated_at` loses to one with it, so supply it when "
                                   "records are revised.") if t.version_by else ""),
            "",
            "| column | type | required | allowed | 含义 | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for c in t.columns:
            allowed = " / ".join(c.allowed)
            if c.min is not None or c.max is not None:
                allowed = f"{c.min:g} – {c.max:g}"
            flag = {"drop": " (PII: dropped)", "hmac": f" (PII: → `{c.hmac_to}`)"}.get(c.pii or "", "")
            out.append(
                f"| `{c.name}`{flag} | {_type_name(c.type)} | {'yes' if c.required else ''} | {allowed} "
                f"| {c.zh} | {c.en} |"
            )
        for c in t.derived:
            out.append(f"| `{c.name}` (added by the gate) | {_type_name(c.type)} |  |  | {c.zh} | {c.en} |")
        out.append("")
    out += ["## Quarantine reasons / 隔离原因", "", "| code | 含义 | meaning |", "|---|---|---|"]
    for code, (zh, en) in {**REASONS, **FILE_REASONS}.items():
        out.append(f"| `{code}` | {zh} | {en} |")
    out += ["", "## File notes / 文件提示", "", "| code | 含义 | meaning |", "|---|---|---|"]
    for code, (zh, en) in FILE_NOTES.items():
        out.append(f"| `{code}` | {zh} | {en} |")
    out.append("")
    return "\n".join(out)
