"""The data-as-of line every page shows under its title: when the marts were built, the newest month, case rows."""

from __future__ import annotations

import datetime as dt

from dashboard import data
from dashboard.ui.format import num
from dashboard.ui.i18n import t

_CST = dt.timezone(dt.timedelta(hours=8))


def as_of_line(lang: str, scope: tuple[str, ...] | None) -> str | None:
    """"数据截至 …" for the scope, or None before the first build."""
    info = data.data_as_of(scope)
    if not info.get("built_at"):
        return None
    built = info["built_at"]
    try:
        stamp = dt.datetime.fromisoformat(built)
        # Naive stamps are Asia/Shanghai by the input contract; aware ones are shown in it.
        built = (stamp.astimezone(_CST) if stamp.tzinfo else stamp).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        pass
    return t("overview.as_of", lang, built_at=built, latest_period=info.get("latest_period") or "–",
             cases=num(info.get("cases_rows")))
