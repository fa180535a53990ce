"""Every page of the registry, reached the way a user reaches it (entrypoint → switch_page), in both languages:
it renders without an exception and keeps the period the URL carried — a month, and also a quarter and a year on the
pages that show them; the pages that show months only open on the period's newest month and say so."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core.db import REPO_ROOT
from dashboard.core.text import t
from dashboard.ui.nav import PAGES

APP = str(REPO_ROOT / "dashboard" / "app.py")
# Pages that show a month only: the window's distributions and load, the breaches' consecutive months, the monthly
# bulletin (月度通报). Every other page offers 月/季/年.
MONTHLY_ONLY = {"app_pages/window.py", "app_pages/breaches.py", "app_pages/bulletin.py"}


def _open(demo_lake, monkeypatch, path: str, **params: str) -> AppTest:
    monkeypatch.setenv("HALL_DATA", str(demo_lake.root))
    at = AppTest.from_file(APP, default_timeout=180)
    # The hall office may open every page (demo mode: the role switcher stands in for sign-in).
    at.session_state["auth_demo_role"] = "office"
    at.query_params.update(params)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, (path, [e.value for e in at.exception])
    return at


def _period(at: AppTest) -> str | None:
    got = at.query_params.get("period")
    return got[0] if isinstance(got, list) else got


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", [p for p, _, _ in PAGES])
def test_every_page_renders(demo_lake, monkeypatch, path, lang):
    at = _open(demo_lake, monkeypatch, path, lang=lang, period="2025-03")
    # The period the URL carried survived the page switch (which drops the query string).
    assert _period(at) == "2025-03"


@pytest.mark.parametrize("period", ["2025-Q1", "2024"])
@pytest.mark.parametrize("path", [p for p, _, _ in PAGES if p not in ("app_pages/data.py", "app_pages/rules.py")])
def test_every_page_takes_a_quarter_or_a_year(demo_lake, monkeypatch, path, period):
    at = _open(demo_lake, monkeypatch, path, lang="zh", period=period)
    if path in MONTHLY_ONLY:
        month = "2025-03" if period == "2025-Q1" else "2024-12"  # the period's newest month with data
        assert _period(at) == month
        assert any(c.value == t("period.monthly_only", "zh", period=period, month=month) for c in at.caption)
    else:
        assert _period(at) == period
        name = path.split("/")[-1].removesuffix(".py")
        assert at.segmented_control(key=f"w_{name}_granularity").value == ("quarter" if "Q" in period else "year")
