"""User-facing text in Chinese and English: one catalog per language (`locales/<lang>.toml`), looked up by dotted key.

An entry is a string, or a plural table `{one = "…", other = "…"}` chosen by `t(key, lang, count=n)`. Chinese has no
plural, so its entry may be a plain string; an English table needs both forms. Core, the CLI and the pages all read
this one catalog (`dashboard.ui.i18n` re-exports it), so no layer spells its own text.

Text produced before anyone knows the reader's language (an error found while reading a ruleset or the roles file, a
case that does not come out as its document says) is a `Message`: a key and its arguments, put into words by
`render(lang)`. An argument that is itself a `Message` is rendered in the same language, a tuple is joined as that
language writes a list, and a name the data carries in both languages (a `Text`, anything with `zh` and `en`) is
picked.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"
LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"
# Each language names itself, so the switch is readable whichever language is showing.
LANG_NAMES: dict[str, str] = {"zh": "中文", "en": "English"}
# The plural categories the catalog uses (CLDR names): English needs one and other, Chinese only other.
PLURAL_FORMS: tuple[str, ...] = ("one", "other")

Entry = str | dict[str, str]


class TextError(KeyError):
    """A catalog key that does not exist, or a plural entry looked up without a count."""


def normalize_lang(value: object) -> str:
    """The language code for `value` if it is one we ship, else the default (Chinese)."""
    return value if isinstance(value, str) and value in LANGS else DEFAULT_LANG


def _is_plural(table: dict[str, Any]) -> bool:
    return "other" in table and set(table) <= set(PLURAL_FORMS) and all(isinstance(v, str) for v in table.values())


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and not _is_plural(value):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = dict(value) if isinstance(value, dict) else str(value)
    return out


@cache
def messages(lang: str) -> dict[str, Entry]:
    """Every entry of one locale, keyed by dotted path (e.g. `overview.kpi.on_time`); plural tables stay tables."""
    with (LOCALES_DIR / f"{lang}.toml").open("rb") as f:
        return _flatten(tomllib.load(f))


def plural_form(lang: str, count: int) -> str:
    """The plural category of `count` in `lang`: English says "1 file" but "0 files", "2 files"; Chinese never
    inflects."""
    return "one" if lang == "en" and count == 1 else "other"


def placeholders(entry: Entry) -> set[str]:
    """The names an entry formats (`{n}`, `{count:,}` → n, count), over every plural form."""
    forms = entry.values() if isinstance(entry, dict) else [entry]
    return {name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name}


def t(key: str, lang: str, count: int | None = None, **fmt: object) -> str:
    """The text for `key` in `lang` (unknown languages fall back to Chinese), formatted with `fmt`; a plural entry
    picks its form by `count`, which it may also print as `{count}`."""
    lang = normalize_lang(lang)
    try:
        entry = messages(lang)[key]
    except KeyError:
        raise TextError(f"no text {key!r} in {lang}.toml") from None
    if isinstance(entry, dict):
        if count is None:
            raise TextError(f"{key!r} has plural forms: pass count=")
        entry = entry.get(plural_form(lang, count), entry["other"])
    if count is not None:
        fmt["count"] = count
    return entry.format(**fmt) if fmt else entry


def both(key: str, *, count: int | None = None, **fmt: object) -> tuple[str, str]:
    """The text for `key` in Chinese and in English, for rows that store both (a score line's name_zh, name_en)."""
    zh, en = (t(key, lang, count, **fmt) for lang in LANGS)
    return zh, en


def pick(zh: str, en: str, lang: str) -> str:
    """Of a name the data carries in both languages (a ruleset's, an indicator's), the one in `lang`."""
    return zh if lang == "zh" else en


def join(items: list[str] | tuple[str, ...], lang: str, sep: str = "list") -> str:
    """Items joined as the language writes a list: `"、"`/`", "` for short names (`sep="list"`), `"；"`/`"; "` for
    clauses (`sep="clauses"`)."""
    return t(f"common.sep.{sep}", lang).join(items)


def _arg(value: object, lang: str) -> object:
    if isinstance(value, Message):
        return value.render(lang)
    if isinstance(value, tuple):
        return join([str(_arg(v, lang)) for v in value], lang)
    zh, en = getattr(value, "zh", None), getattr(value, "en", None)
    if isinstance(zh, str) and isinstance(en, str):
        return pick(zh, en, lang)
    return value


class Message:
    """Catalog key plus format arguments (`Message("rules.error.negative", field="target")`)."""

    __slots__ = ("key", "args")

    def __init__(self, key: str, **fmt: object):
        self.key = key
        self.args = tuple(sorted(fmt.items()))

    def render(self, lang: str) -> str:
        """The message in `lang` (zh or en), every argument rendered in the same language."""
        fmt = {name: _arg(value, lang) for name, value in self.args}
        count = fmt.pop("count", None)  # a plural entry's count, which picks its form
        return t(self.key, lang, count if isinstance(count, int) else None, **fmt)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.key, self.args) == (other.key, other.args)

    def __hash__(self) -> int:
        # Arguments may be unhashable (the list a file wrote where a number belongs); their repr identifies them.
        return hash((self.key, repr(self.args)))

    def __repr__(self) -> str:
        return f"Message({self.key!r}, {', '.join(f'{k}={v!r}' for k, v in self.args)})"
