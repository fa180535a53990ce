"""The dashboard's pages, in the order the sidebar lists them: (file, title key, icon)."""

from __future__ import annotations

PAGES: list[tuple[str, str, str]] = [
    ("app_pages/overview.py", "nav.overview", ":material/dashboard:"),
    ("app_pages/rankings.py", "rankings.nav", ":material/leaderboard:"),
    ("app_pages/trends.py", "trends.nav", ":material/trending_up:"),
    ("app_pages/breaches.py", "breaches_page.nav", ":material/warning:"),
    ("app_pages/unit.py", "unit_page.nav", ":material/apartment:"),
    ("app_pages/window.py", "window_page.nav", ":material/storefront:"),
    ("app_pages/rules.py", "rules_page.nav", ":material/gavel:"),
    ("app_pages/data.py", "data_page.nav", ":material/database:"),
    ("app_pages/bulletin.py", "nav.bulletin", ":material/article:"),
]
