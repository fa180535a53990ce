"""The ruleset picker every scoring page shares: the rulesets that score a subject over the period, offered by name
in the user's language; the id is what the URL carries (?ruleset=…)."""

from __future__ import annotations

from typing import Any

from dashboard import data
from dashboard.ui import state


def names(subject: str, period: str, lang: str) -> dict[str, str]:
    """{id: name} of the rulesets that score `subject` over the period (a month, quarter or year)."""
    return {c.id: c.name(lang) for c in data.rulesets_for(subject, period)}


def pick(label: str, subject: str, period: str, lang: str, page: str, container: Any = None) -> str | None:
    """A selectbox of the rulesets scoring `subject` over the period, shown by name; it opens on the URL's ruleset,
    else the catalog's default for the subject, else the first. None when no ruleset scores it."""
    offered = names(subject, period, lang)
    if not offered:
        return None
    ids = list(offered)
    return state.select(label, ids, "ruleset", page=page, container=container,
                        default=data.default_ruleset(subject, ids), format_func=lambda i: offered.get(i, i))
