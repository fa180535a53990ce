"""The breaches page in a real browser (Debian's Chromium): the table renders without an error; screenshot."""

from __future__ import annotations

from conftest import ARTIFACTS


def test_breaches_page_in_a_real_browser(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(f"{server}/breaches?lang=zh&period=2025-06")
    page.get_by_role("heading", name="预警：低于预警线的单位").wait_for(timeout=60_000)
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert "period=2025-06" in page.url and "metric=" in page.url and "group=" in page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(1000)  # let the table finish drawing before the screenshot
    page.screenshot(path=str(ARTIFACTS / "breaches_zh.png"), full_page=True)
    page.close()
