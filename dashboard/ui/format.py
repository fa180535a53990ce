"""Display formatting: counts with thousands separators, rates as half-up percentages with their fractions."""

from __future__ import annotations

import html
import re
from fractions import Fraction

from dashboard.core.metrics import half_up
from dashboard.ui.i18n import t


def rate(num: int | None, den: int | None) -> Fraction | None:
    """The exact rate num/den, or None when the denominator is zero or missing (“no data”, never 0%)."""
    if num is None or not den:
        return None
    return Fraction(int(num), int(den))


def percent(value: Fraction | None, lang: str) -> str:
    """A rate as a percentage rounded half-up to two decimals, e.g. "98.52%", or the localized “no data”."""
    if value is None:
        return t("common.no_data", lang)
    return f"{half_up(value * 100)}%"


def pct(num: int | None, den: int | None, lang: str) -> str:
    """A rate with its fraction, e.g. "98.52% (1,330/1,350)"; a zero denominator gives the localized “no data”."""
    r = rate(num, den)
    if r is None:
        return t("common.no_data", lang)
    return f"{percent(r, lang)} ({_count(num)}/{_count(den)})"


def pp_delta(current: Fraction | None, previous: Fraction | None, lang: str) -> str | int | None:
    """The change between two rates in percentage points, signed ("+0.12 pp"), 0 when equal, None if either is missing."""
    if current is None or previous is None:
        return None
    diff = half_up((current - previous) * 100)
    if diff == 0:
        # st.metric greys only a numeric zero; "+0.00" would show as a rise.
        return 0
    return t("common.pp", lang, value=f"{diff:+}")


def count_delta(current: int, previous: int | None) -> str | int | None:
    """The signed change in a count ("+1,234"), 0 when equal, None without a previous value."""
    if previous is None:
        return None
    diff = int(current) - int(previous)
    return 0 if diff == 0 else f"{diff:+,}"


def _count(n: int | None) -> str:
    return "–" if n is None else f"{int(n):,}"


def num(n: int | None) -> str:
    """A count with thousands separators, e.g. "1,330"; a missing count shows as "–"."""
    return _count(n)


# Every ASCII punctuation character: CommonMark lets any of them be backslash-escaped, and escaping all of them
# also takes the meaning out of Streamlit's own syntax (:red[…], :material/…:, $…$ math, emoji :shortcodes:).
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
# GitHub-flavoured Markdown turns bare "http://…", "www.…" and "name@host.tld" into links even when their
# punctuation is escaped (the renderer looks for them in the text after unescaping): an invisible word joiner after
# the scheme, the "www" or the "@" keeps them text.
_AUTOLINK = re.compile(r"(?i)(https?(?=://)|www(?=\.)|@)")
_WORD_JOINER = "\u2060"


def plain(text: object) -> str:
    """Text from the data (a unit's, window's or person's name, a file name, a reason) made safe to put into
    anything Streamlit renders as Markdown — st.markdown, titles, headers, captions, alerts, metric and widget
    labels, expander and tab labels: every ASCII punctuation character is backslash-escaped, so the text shows as
    it is written and never as a link, an image, emphasis, a colour directive, an icon or a formula; line breaks
    become spaces, so it cannot start a block of its own; a bare web or mail address stays unlinked (an invisible
    word joiner follows its "http", "www" or "@"). None gives ""."""
    if text is None:
        return ""
    one_line = _AUTOLINK.sub("\\1" + _WORD_JOINER, _LINE_BREAKS.sub(" ", str(text)))
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", one_line)


def chart_text(text: object) -> str:
    """Text from the data made safe for a Plotly chart (category labels, legend and trace names, titles,
    annotations, hover text): Plotly renders a subset of HTML there (<a href>, <b>, <br>, <span style>), so `<`,
    `>` and `&` are written as entities, which Plotly shows as the characters themselves (no tag can open, so
    quotes stay as they are: Plotly would print "&quot;" literally). None gives ""."""
    if text is None:
        return ""
    return html.escape(str(text), quote=False)
