"""User-facing strings in Chinese and English, looked up by dotted key from `locales/<lang>.toml`."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"
LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"
# Each language names itself, so the switch is readable whichever language is showing.
LANG_NAMES: dict[str, str] = {"zh": "中文", "en": "English"}


def normalize_lang(value: object) -> str:
    """The language code for `value` if it is one we ship, else the default (Chinese)."""
    return value if isinstance(value, str) and value in LANGS else DEFAULT_LANG


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = str(value)
    return out


@cache
def messages(lang: str) -> dict[str, str]:
    """Every string of one locale, keyed by dotted path (e.g. `overview.kpi.on_time`)."""
    with (LOCALES_DIR / f"{lang}.toml").open("rb") as f:
        return _flatten(tomllib.load(f))


def t(key: str, lang: str, **fmt: object) -> str:
    """The string for `key` in `lang` (unknown languages fall back to Chinese), formatted with `fmt`."""
    text = messages(normalize_lang(lang))[key]
    return text.format(**fmt) if fmt else text
