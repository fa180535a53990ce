"""Every table a page shows can be taken away: CSV and XLSX buttons with the bulletin's formats, in the user's scope."""

from __future__ import annotations

import re

import streamlit as st

from dashboard.core.report import table_csv, table_xlsx
from dashboard.core.table import Column
from dashboard.ui.i18n import t


def _file_stem(title: str) -> str:
    # Keep Chinese and letters; anything a file system could object to becomes "_".
    return re.sub(r"[\\\\/:*?\"<>|\s]+", "_", title).strip("_") or "table"


def download_buttons(key: str, title: str, columns: list[Column], rows: list[dict], lang: str) -> None:
    """CSV and XLSX of exactly the rows given (the page's rows, already limited to the user's scope)."""
    stem = _file_stem(title)
    left, right, _ = st.columns([1, 1, 3])
    # Callables: the files are written when a button is pressed, not on every render of the page.
    left.download_button(t("download.csv", lang), data=lambda: table_csv(columns, rows, lang),
                         file_name=f"{stem}.csv", mime="text/csv", key=f"{key}_csv", icon=":material/download:")
    right.download_button(t("download.xlsx", lang), data=lambda: table_xlsx(title, columns, rows, lang),
                          file_name=f"{stem}.xlsx", key=f"{key}_xlsx", icon=":material/download:",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
