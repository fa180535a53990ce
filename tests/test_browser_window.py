"""The window page in a real browser (Debian's Chromium): it renders its charts without an error; screenshot."""

from __future__ import annotations

from conftest import ARTIFACTS


def test_window_page_in_a_real_browser(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/window?lang=zh&period=2025-06")
    page.get_by_role("heading", name="窗口", exact=True).wait_for(timeout=60_000)
    page.get_by_role("heading", name="按星期 × 小时的业务量").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert "window=" in page.url and "unit=" in page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(1000)  # let the charts finish drawing before the screenshot
    page.screenshot(path=str(ARTIFACTS / "window_zh.png"), full_page=True)
    page.close()
