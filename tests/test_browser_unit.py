"""The unit page in a real browser (Debian's Chromium): opened from a link, waterfall and history drawn; screenshot."""

from __future__ import annotations

from conftest import ARTIFACTS


def test_unit_page_in_a_real_browser(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/unit?lang=zh&period=2025-06&unit=U003")
    page.get_by_role("heading", name="单位详情").wait_for(timeout=60_000)
    page.get_by_role("heading", name="不动产登记中心（U003）· 2025-06").wait_for(timeout=60_000)
    page.get_by_text("合计：").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot").count() >= 2  # waterfall and history
    assert page.locator("[data-testid=stException]").count() == 0
    assert "unit=U003" in page.url and "period=2025-06" in page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(1500)  # let the charts finish drawing before the screenshot
    page.screenshot(path=str(ARTIFACTS / "unit_zh.png"), full_page=True)
    page.close()
