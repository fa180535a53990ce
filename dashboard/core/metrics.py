"""Indicators (指标) and their definition options: read from the rules catalog, applied by the mart queries."""

from __future__ import annotations

import datetime as dt
import difflib
import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from dashboard.core.contract import CATALOG, load_catalog
from dashboard.core.period import BEIJING, Period, PeriodError
from dashboard.core.text import LANGS, pick, t

OPTIONS_FILE = "metric_options.toml"
KINDS = ("count", "rate", "ratio", "mean")
# How a count is combined over several months: summed, or (distinct) counted again over the whole period.
ROLLUPS = ("sum", "distinct")


class MetricsError(ValueError):
    """A metric options file or a metric request that cannot be honoured."""


@dataclass(frozen=True)
class Text:
    """A phrase the indicator catalog (rulesets/_catalog.yaml) writes in both languages."""

    zh: str
    en: str

    def __call__(self, lang: str) -> str:
        return pick(self.zh, self.en, lang)


@dataclass(frozen=True)
class Option:
    """A definition choice (口径) with its default: named choices, an integer range, or an instant (`type: instant`,
    default null = worked out from the data, as `auto` says)."""

    id: str
    name: Text
    default: Any
    choices: dict[str, Text]
    range: tuple[int, int] | None
    type: str | None = None
    auto: Text | None = None
    definition: Text | None = None

    def key(self, value: Any) -> str:
        """The choice key of a value ("3,4,5" for the level list [3, 4, 5]; "false" for False)."""
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        if isinstance(value, bool):
            return str(value).lower()
        return str(value)

    def describe(self, value: Any, lang: str) -> str:
        """The chosen value as a phrase: the choice's text, the automatic rule, or the value itself."""
        if self.type == "instant" and value is None:
            return self.auto(lang) if self.auto else "—"
        return self.choices[self.key(value)](lang) if self.choices else str(value)


def parse_instant(value: Any, source: str, key: str) -> str:
    """An instant option (a TOML datetime or an ISO 8601 string) as an ISO string with its offset; naive values
    mean Beijing time."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            value = None
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = None
    if not isinstance(value, dt.datetime):
        raise MetricsError(f"{source}: {key} must be an instant such as 2026-11-14T18:00:00+08:00")
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return value.isoformat()


@dataclass(frozen=True)
class Metric:
    """One indicator: what it counts, over what, in which month, from which columns."""

    id: str
    name: Text
    kind: str
    period_by: Text
    numerator: Text | dict[str, Text]
    denominator: Text | dict[str, Text] | None
    option: str | None
    definition: Text | None
    no_data: Text | None
    sources: tuple[str, ...]
    unit: str
    scale: int
    distribution: bool
    rollup: str = "sum"

    @property
    def columns(self) -> tuple[str, ...]:
        """Mart columns holding the metric: a count is one column, anything else numerator and denominator."""
        if self.kind == "count":
            return (self.id,)
        return (f"{self.id}_num", f"{self.id}_den")

    def text(self, part: str, options: MetricOptions, lang: str) -> str | None:
        """The numerator's or denominator's description under the options in force."""
        t = getattr(self, part)
        if isinstance(t, dict):
            option = _variant_option(self)
            return t[CATALOG_OPTIONS()[option].key(options[option])](lang)
        return t(lang) if t else None

    def value(self, num: int | None, den: int | None = None) -> Fraction | None:
        """The exact value: a count as is, a rate or ratio num/den, a mean num/den/scale; None when den is 0."""
        if self.kind == "count":
            return None if num is None else Fraction(int(num))
        if num is None or not den:
            return None
        return Fraction(int(num), int(den) * self.scale)


def _phrase(d: dict) -> Text:
    return Text(d["zh"], d["en"])


def _text(d: dict | None) -> Text | None:
    return _phrase(d) if d else None


def _phrase_or_variants(d: dict) -> Text | dict[str, Text]:
    if set(d) == {"zh", "en"}:
        return _phrase(d)
    return {str(k): _phrase(v) for k, v in d.items()}


def _text_or_variants(d: dict | None) -> Text | dict[str, Text] | None:
    return None if d is None else _phrase_or_variants(d)


def _variant_option(m: Metric) -> str:
    """The option whose choice picks among `m`'s variant phrases."""
    if m.option is None:
        raise MetricsError(f"{CATALOG}: metric {m.id}: phrases by choice need an option")
    return m.option


@cache
def CATALOG_OPTIONS() -> dict[str, Option]:  # noqa: N802 - reads as the constant it is
    """The definition options, by id, in catalog order."""
    out = {}
    for o in load_catalog()["metric_options"]:
        rng = tuple(o["range"]) if "range" in o else None
        out[o["id"]] = Option(o["id"], _phrase(o), o["default"],
                              {str(k): _phrase(v) for k, v in o.get("choices", {}).items()}, rng,
                              o.get("type"), _text(o.get("auto")), _text(o.get("definition")))
    return out


@cache
def metrics() -> dict[str, Metric]:
    """Every indicator the marts carry, by id, in catalog order."""
    out = {}
    for m in load_catalog()["metrics"]:
        if m["kind"] not in KINDS:
            raise MetricsError(f"{CATALOG}: metric {m['id']}: kind must be one of {', '.join(KINDS)}")
        if m.get("rollup", "sum") not in ROLLUPS or (m.get("rollup", "sum") != "sum" and m["kind"] != "count"):
            raise MetricsError(f"{CATALOG}: metric {m['id']}: rollup must be one of {', '.join(ROLLUPS)} "
                               "(distinct only for a count)")
        out[m["id"]] = Metric(
            id=m["id"], name=_phrase(m), kind=m["kind"], period_by=_phrase(m["period_by"]),
            numerator=_phrase_or_variants(m["numerator"]), denominator=_text_or_variants(m.get("denominator")),
            option=m.get("option"), definition=_text(m.get("definition")), no_data=_text(m.get("no_data")),
            sources=tuple(m.get("sources", ())), unit=m.get("unit", "percent" if m["kind"] == "rate" else ""),
            scale=int(m.get("scale", 1)), distribution=bool(m.get("distribution", False)),
            rollup=m.get("rollup", "sum"),
        )
    return out


@dataclass(frozen=True)
class Threshold:
    """A line the hall watches (预警): the metric's value should be at least `min` (a fraction for a rate)."""

    metric: str
    min: Fraction
    source: str


def thresholds() -> list[Threshold]:
    """The catalog's watched lines, each checked against a known rate metric."""
    out = []
    for th in load_catalog().get("thresholds", []):
        if th["metric"] not in metrics():
            raise MetricsError(f"{CATALOG}: threshold on unknown metric {th['metric']!r}")
        out.append(Threshold(th["metric"], Fraction(str(th["min"])), th.get("source", "")))
    return out


class MetricOptions(dict):
    """The options in force for one build: every catalog option, at its default unless overridden."""

    @classmethod
    def defaults(cls) -> MetricOptions:
        return cls({k: o.default for k, o in CATALOG_OPTIONS().items()})

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any], source: str = "options") -> MetricOptions:
        """Defaults with `overrides` applied; an unknown key or a value outside the choices names itself."""
        opts = cls.defaults()
        catalog = CATALOG_OPTIONS()
        for key, value in overrides.items():
            if key not in catalog:
                near = difflib.get_close_matches(key, list(catalog), n=1)
                hint = f" (did you mean {near[0]}?)" if near else ""
                raise MetricsError(f"{source}: unknown option {key!r}{hint}; options: {', '.join(catalog)}")
            opt = catalog[key]
            if opt.type == "instant":
                opts[key] = None if value is None else parse_instant(value, source, key)
                continue
            if isinstance(opt.default, bool) and not isinstance(value, bool):
                raise MetricsError(f"{source}: {key} must be true or false, not {value!r}")
            if opt.range:
                if isinstance(value, bool) or not isinstance(value, int) or not opt.range[0] <= value <= opt.range[1]:
                    raise MetricsError(f"{source}: {key} must be a whole number of working days from "
                                       f"{opt.range[0]} to {opt.range[1]}, not {value!r}")
            elif opt.key(value) not in opt.choices:
                allowed = " | ".join(f"[{c}]" if isinstance(opt.default, list) else c for c in opt.choices)
                raise MetricsError(f"{source}: {key} must be one of {allowed}, not {value!r}")
            opts[key] = value
        return opts

    @classmethod
    def load(cls, root: Path) -> MetricOptions:
        """The options of a data folder: its metric_options.toml over the catalog's defaults."""
        path = root / OPTIONS_FILE
        if not path.exists():
            return cls.defaults()
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise MetricsError(f"{path}: {e}") from e
        return cls.from_overrides(doc, str(path))

    def sql_params(self) -> dict[str, Any]:
        """Named parameters for the measures query (the as-of instant is added by the build, once resolved)."""
        return {
            "on_time_denominator": self["on_time_denominator"],
            "satisfaction_levels": [int(v) for v in self["satisfaction_levels"]],
            "same_day_scope": self["same_day_scope"],
            "active_eval_denominator": self["active_eval_denominator"],
            "rectification_days": int(self["rectification_days"]),
            "rejected_cases": self["rejected_cases"],
        }

    def fact_params(self) -> dict[str, Any]:
        """Named parameters for the fact tables that depend on an option (fact_cases and the calendar check)."""
        return {"deadline_includes_suspension": bool(self["deadline_includes_suspension"])}

    def describe(self, lang: str) -> list[str]:
        """Each option in force as "name: choice", for a caption beside the numbers."""
        return [t("common.labelled", lang, label=o.name(lang), value=o.describe(self[k], lang))
                for k, o in CATALOG_OPTIONS().items()]


def half_up(value: Fraction, places: int = 2) -> Decimal:
    """An exact fraction rounded half-up to `places` decimals (0.985 → 0.99), with no float in between."""
    # Enough digits that the division cannot land on the wrong side of a .xx5 boundary: a non-terminating
    # quotient stays at least 1/(2·den) away from it, so integer digits + digits of 2·den suffice.
    whole = abs(value.numerator) // value.denominator
    with localcontext() as ctx:
        ctx.prec = len(str(whole)) + len(str(2 * value.denominator)) + places + 4
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _variants(m: Metric, part: str, lang: str) -> str:
    phrase = getattr(m, part)
    if phrase is None:
        return "—"
    if isinstance(phrase, Text):
        return phrase(lang)
    opt = CATALOG_OPTIONS()[_variant_option(m)]
    default = opt.key(opt.default)
    mark = t("metrics_doc.default_mark", lang)
    return "<br>".join(f"`{k}`{mark if k == default else ''}: {v(lang)}" for k, v in phrase.items())


def render_markdown() -> str:
    """docs/metrics.md: every indicator's numerator, denominator, options, sources and "no data", zh and en."""
    lines = [
        "# 指标口径 · Indicator definitions",
        "",
        "<!-- Generated by `hall metrics-doc` from rulesets/_catalog.yaml; do not edit by hand. -->",
        "",
        "每个指标在每个汇总表（单位/窗口/人员/事项/大厅 × 月，单位 × 日）中都同时保存分子和分母。季度、年度、分组、"
        "大厅的比率一律是 Σ分子 / Σ分母，从不对比率求平均。分母为 0 时显示“无数据”，不是 0% 也不是 100%。"
        "百分比只在显示时四舍五入（half-up）到两位小数。月份按北京时间划分。",
        "",
        "Every mart (unit / window / staff / item / hall × month, unit × day) stores each indicator's numerator and "
        "denominator. A quarter, year, group or hall rate is always Σnumerator / Σdenominator, never an average of "
        "rates. A zero denominator is shown as “no data”, never 0% or 100%. Percentages are rounded half-up to two "
        "decimals only for display. Months are cut in Beijing time (Asia/Shanghai).",
        "",
        "## 口径选项 · Definition options",
        "",
        "各地做法不同之处是一个命名选项；默认值即 DESIGN.md 的默认口径。数据目录中的 `metric_options.toml` 可覆盖默认值，"
        "每次构建都记录所用口径（`lake/marts/_build.json`），显示数字的地方同时显示口径。",
        "",
        "Where published practice differs the definition is a named option, defaulting to DESIGN.md. A data folder's "
        "`metric_options.toml` overrides the defaults; every build records the options it used "
        "(`lake/marts/_build.json`) and they are shown wherever the numbers are.",
        "",
        "| 选项 option | 中文 | English | 默认 default | 可选 choices |",
        "|---|---|---|---|---|",
    ]
    for o in CATALOG_OPTIONS().values():
        if o.choices:
            choices = "<br>".join(f"`{k}`: {v.zh} / {v.en}" for k, v in o.choices.items())
        elif o.type == "instant":
            choices = "时刻（ISO 8601，无时区按北京时间）/ an instant (ISO 8601; no offset means Beijing time)"
        elif o.range is not None:
            choices = f"{o.range[0]}–{o.range[1]}"
        else:
            raise MetricsError(f"{CATALOG}: option {o.id} needs choices, a range or type: instant")
        default = f"{o.auto.zh} / {o.auto.en}" if o.default is None and o.auto else f"`{o.key(o.default)}`"
        lines.append(f"| `{o.id}` | {o.name.zh} | {o.name.en} | {_cell(default)} | {_cell(choices)} |")
    for o in CATALOG_OPTIONS().values():
        if o.definition:
            lines += ["", f"**`{o.id}`** {o.name.zh}：{o.definition.zh}", "", f"{o.name.en}: {o.definition.en}"]
    lines += ["", "## 指标 · Indicators", ""]
    for m in metrics().values():
        cols = " / ".join(f"`{c}`" for c in m.columns)
        if m.distribution:
            cols += f" · `{m.id}_median`, `{m.id}_p90`"
        rows: list[tuple[str, ...]] = [
            ("类型 · kind", t(f"metrics_doc.kind.{m.kind}", "zh"), t(f"metrics_doc.kind.{m.kind}", "en")),
            ("计入月份 · period by", m.period_by.zh, m.period_by.en),
            ("计数 · counts" if m.kind == "count" else "分子 · numerator", _variants(m, "numerator", "zh"),
             _variants(m, "numerator", "en")),
        ]
        if m.kind != "count":
            rows.append(("分母 · denominator", _variants(m, "denominator", "zh"), _variants(m, "denominator", "en")))
        if m.unit in ("minutes", "working_days"):
            rows.append(("单位 · unit", *(t(f"metrics_doc.unit.{m.unit}", lang, scale=m.scale) for lang in LANGS)))
        if m.option:
            o = CATALOG_OPTIONS()[m.option]
            rows.append(("口径选项 · option", f"`{o.id}`（{o.name.zh}）", f"`{o.id}` ({o.name.en})"))
        if m.definition:
            rows.append(("说明 · notes", m.definition.zh, m.definition.en))
        if m.no_data:
            rows.append(("无数据 · no data", f"分母为 0：{m.no_data.zh}", f"zero denominator: {m.no_data.en}"))
        if m.rollup == "distinct":
            rows.append(("多月汇总 · over several months", *(t("metrics_doc.distinct", lang) for lang in LANGS)))
        rows.append(("字段 · columns", cols, cols))
        rows.append(("来源 · sources", ", ".join(f"`{s}`" for s in m.sources), ", ".join(f"`{s}`" for s in m.sources)))
        lines += [f"### {m.name.zh} · {m.name.en} (`{m.id}`)", "", "| | 中文 | English |", "|---|---|---|"]
        lines += [f"| {a} | {_cell(b)} | {_cell(c)} |" for a, b, c in rows]
        lines.append("")
    return "\n".join(lines)


def period_of(text: str) -> Period:
    """The period a spelling names; a bad one is a MetricsError, as every other request that cannot be honoured."""
    try:
        return Period.parse(text)
    except PeriodError as e:
        raise MetricsError(str(e)) from None


def months_of(period: str) -> list[str]:
    """The months a period covers (`Period.months`), a bad spelling being a MetricsError."""
    return period_of(period).months
