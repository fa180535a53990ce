"""A real browser on the served dashboard: Debian's Chromium driven by Playwright, as a user would see it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ARTIFACTS


@pytest.mark.parametrize(("lang", "title", "kpi"), [("zh", "月度总览", "按时办结率"), ("en", "Monthly overview", "On-time rate")])
def test_overview_in_a_real_browser(server, browser, lang, title, kpi):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/?lang={lang}")
    page.get_by_role("heading", name=title).wait_for(timeout=30_000)
    page.locator("[data-testid=stMetric]").first.wait_for(timeout=30_000)
    # The page draws progressively: wait for the KPI itself rather than count what has arrived so far.
    page.get_by_text(kpi, exact=True).first.wait_for(timeout=30_000)
    assert page.locator("[data-testid=stException]").count() == 0
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)  # the satisfaction chart drew
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(1000)  # let the chart finish drawing before the screenshot
    page.screenshot(path=str(ARTIFACTS / f"overview_{lang}.png"), full_page=True)
    page.close()


def test_language_switch_in_the_sidebar_changes_the_url(server, browser):
    page = browser.new_page()
    page.goto(f"{server}/?lang=zh")
    page.get_by_role("heading", name="月度总览").wait_for(timeout=30_000)
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()  # the language switch
    page.get_by_role("option", name="English").click()
    page.get_by_role("heading", name="Monthly overview").wait_for(timeout=30_000)
    assert "lang=en" in page.url
    page.close()


def test_bulletin_page_in_a_real_browser(server, browser):
    """The 通报 page renders its preview and offers the files; the PDF button really downloads a PDF."""
    page = browser.new_page(viewport={"width": 1400, "height": 1400}, accept_downloads=True)
    page.goto(f"{server}/bulletin?lang=zh")
    page.get_by_role("heading", name="月度考核通报").wait_for(timeout=60_000)
    page.get_by_text("一、考核排名（按分组）").wait_for(timeout=60_000)
    assert page.locator("[data-testid=stException]").count() == 0
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="下载 PDF").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bulletin_zh.png"), full_page=True)
    page.close()
