"""The dashboard's pages, in the order the sidebar lists them: (file, title key, icon)."""

from __future__ import annotations

PAGES: list[tuple[str, str, str]] = [
    ("app_pages/overview.py", "nav.overview", ":material/dashboard:"),
    ("app_pages/bulletin.py", "nav.bulletin", ":material/article:"),
]
