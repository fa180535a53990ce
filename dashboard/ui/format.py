"""Display formatting: counts with thousands separators, rates as half-up percentages with their fractions."""

from __future__ import annotations

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
