"""The data-as-of line every page shows under its title: the instant the data runs to (and where it comes from), when
the marts were built, the newest month, whether any month is still provisional (数据未完结), and the case rows."""

from __future__ import annotations

import datetime as dt

from dashboard import data
from dashboard.core.period import BEIJING
from dashboard.ui.format import num, plain
from dashboard.ui.i18n import t


def _minute(stamp: str) -> str:
    """An ISO instant as Beijing time to the minute; naive stamps are Beijing time by the input contract."""
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return plain(stamp)  # not an instant: whatever the export said, shown as text
    return (when.astimezone(BEIJING) if when.tzinfo else when).strftime("%Y-%m-%d %H:%M")


def provisional_mark(months: list[str], lang: str) -> str:
    """" · 暂定（数据未完结）：2026-10" for the provisional months, or "" when every month is final."""
    if not months:
        return ""
    return t("as_of.provisional", lang, months=t("common.sep.list", lang).join(months))


def as_of_line(lang: str, scope: tuple[str, ...] | None) -> str | None:
    """"数据截至 …" for the scope, or None before the first build."""
    info = data.data_as_of(scope)
    if not info.get("built_at"):
        return None
    built = _minute(info["built_at"])
    latest = info.get("latest_period") or "–"
    cases = num(info.get("cases_rows"))
    if not info.get("as_of"):  # marts built before the as-of instant was recorded
        return t("overview.as_of", lang, built_at=built, latest_period=latest, cases=cases)
    source = t("as_of.source_option" if info.get("as_of_source") == "option" else "as_of.source_auto", lang)
    return t("as_of.line", lang, as_of=_minute(info["as_of"]), source=source, built_at=built, latest_period=latest,
             cases=cases) + provisional_mark(list(info.get("provisional") or []), lang)
