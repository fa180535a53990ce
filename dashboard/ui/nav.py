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

# Pages only some roles may open; the others do not see them in the sidebar, and the data layer refuses them anyway.
REQUIRES: dict[str, str] = {
    "app_pages/data.py": "view_operations",
}


def pages_for(principal) -> list[tuple[str, str, str]]:
    """The pages a principal may open, in sidebar order."""
    return [p for p in PAGES if p[0] not in REQUIRES or principal.can(REQUIRES[p[0]])]
