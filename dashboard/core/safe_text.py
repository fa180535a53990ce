"""Text from the data made safe to hand over in a spreadsheet (CSV or XLSX) — the one place that decides it.

A spreadsheet program reads a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab or a carriage return)
as a formula: a unit named `=HYPERLINK("http://…","…")` or `=cmd|' /C calc'!A0` would run when a leader opens the
download (CSV injection, OWASP). Such a text gets a leading apostrophe, which every spreadsheet program shows as
text. Only texts are touched: a number stays a number, and so does a text that is one — "-5", "-1,234.50",
"+0.12%", "-0.50 个百分点" (a signed number with a unit word cannot call anything).
"""

from __future__ import annotations

import re
from typing import overload

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A signed number as the app prints it (thousands separators, decimals, a percent sign), optionally followed by
# unit words made of letters only ("pp", "个百分点"): nothing in it can open a function call or a DDE link.
_SIGNED_NUMBER = re.compile(r"[+-](?=\.?\d)\d*(?:,\d{3})*(?:\.\d+)?%?(?: [^\W\d_]+)*")


@overload
def safe_cell(value: str) -> str: ...
@overload
def safe_cell(value: object) -> object: ...
def safe_cell(value: object) -> object:
    """`value` as it may go into a spreadsheet cell: a text that a spreadsheet would take for a formula gets a
    leading "'"; anything else (numbers, None, dates, ordinary texts) is returned as it is."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _SIGNED_NUMBER.fullmatch(value):
        return value
    return "'" + value
