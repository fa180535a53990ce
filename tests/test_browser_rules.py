"""The rules page in a real browser (Debian's Chromium): the card, the cases and a what-if table draw without error."""

from __future__ import annotations

from conftest import ARTIFACTS


def test_rules_page_in_a_real_browser(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/rules?lang=zh&card=yuanling_units&whatif_period=2024"
              "&whatif_b=jiange_departments/2018.yaml")
    page.get_by_role("heading", name="考核细则").first.wait_for(timeout=30_000)
    page.get_by_role("heading", name="沅陵县县直单位政务公开政务服务考核").wait_for(timeout=30_000)
    page.get_by_role("tab", name="试算").click()
    page.get_by_role("heading", name="变化原因").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid=stException]").count() == 0
    page.get_by_role("tab", name="规则卡").click()
    page.wait_for_timeout(1000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rules_zh.png"), full_page=True)
    page.get_by_role("tab", name="试算").click()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "rules_whatif_zh.png"), full_page=True)
    page.close()
