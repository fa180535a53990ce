"""The data page in a real browser (Debian's Chromium): freshness, log, quarantine and the upload box render
without an error; screenshot."""

from __future__ import annotations

from conftest import ARTIFACTS


def test_data_page_in_a_real_browser(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/data?lang=zh&as=office")
    page.get_by_role("heading", name="数据", exact=True).wait_for(timeout=60_000)
    page.get_by_role("heading", name="隔离区").wait_for(timeout=60_000)
    page.locator("[data-testid=stFileUploader]").wait_for(timeout=30_000)
    assert page.locator("[data-testid=stException]").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "data_zh.png"), full_page=True)
    page.close()
