"""The rankings and trends pages in a real browser (Debian's Chromium): table with sparklines, 红黑榜, a trend
chart and small multiples render without an error; screenshots."""

from __future__ import annotations

from conftest import ARTIFACTS


def _shot(page, name: str) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(1500)  # let tables and charts finish drawing before the screenshot
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_rankings_page_in_a_real_browser(server, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.goto(f"{server}/rankings?lang=zh&period=2025-06")
    page.get_by_role("heading", name="考核排名").wait_for(timeout=60_000)
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
    assert "grain=unit" in page.url and "ruleset=" in page.url
    _shot(page, "rankings_zh.png")
    page.goto(f"{server}/rankings?lang=zh&period=2025-06&view=red_black&top_n=3")
    page.get_by_text("红榜（前列）").wait_for(timeout=60_000)
    _shot(page, "rankings_red_black_zh.png")
    page.close()


def test_trends_page_in_a_real_browser(server, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.goto(f"{server}/trends?lang=zh&period=2025-06&metric=satisfaction_rate&units=U001,U012")
    page.get_by_role("heading", name="指标趋势").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    assert "units=U001" in page.url
    _shot(page, "trends_zh.png")
    page.goto(f"{server}/trends?lang=zh&period=2025-06&grain=window&metric=same_day_rate"
              "&windows=W001,W002,W003,W004,W005,W006")
    page.get_by_role("heading", name="指标趋势").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    _shot(page, "trends_facets_zh.png")
    page.close()


def test_rankings_period_switch_to_a_year_in_a_real_browser(server, browser):
    """月 → 年 on the granularity control: the URL's period becomes the year, the ruleset picker names an annual
    scheme or a roll-up by its name (never its id), and a year's table draws; then a quarter of windows in English."""
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.goto(f"{server}/rankings?lang=zh&period=2025-06")
    page.get_by_role("heading", name="考核排名").wait_for(timeout=60_000)
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
    page.locator("[data-testid=stButtonGroup] button", has_text="年").first.click()
    page.wait_for_url(lambda url: "period=2025&" in url + "&", timeout=60_000)
    page.get_by_text("年度", exact=True).first.wait_for(timeout=60_000)
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
    box = page.locator("[data-testid=stSelectbox]").filter(has_text="考核方案").first
    shown = box.inner_text()
    ruleset = next(p.split("=", 1)[1] for p in page.url.split("?", 1)[1].split("&") if p.startswith("ruleset="))
    assert ruleset and ruleset not in shown  # the id stays in the URL; the picker shows a name
    _shot(page, "rankings_year_zh.png")
    page.goto(f"{server}/rankings?lang=en&period=2025-Q2&grain=window")
    page.get_by_role("heading", name="Rankings").wait_for(timeout=60_000)
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
    page.get_by_text("Huozhou service hall — windows").first.wait_for(timeout=60_000)
    assert "period=2025-Q2" in page.url and "ruleset=huozhou_windows" in page.url
    _shot(page, "rankings_quarter_en.png")
    page.close()
