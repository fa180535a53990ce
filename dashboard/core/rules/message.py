"""A message to the reader kept as a catalog key and its arguments, put into words only when it is shown.

An error found while reading a file (a ruleset, the roles file) does not know the reader's language; it carries a
`Message`, and `render(lang)` looks the key up in the one catalog (`dashboard.core.text`). An argument that is
itself a `Message` is rendered in the same language, a tuple is joined as that language writes a list, and a name
the data carries in both languages (a `Text`, anything with `zh` and `en`) is picked.
"""

from __future__ import annotations

from dashboard.core.text import join, pick, t


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
