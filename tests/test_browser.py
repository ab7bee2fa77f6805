"""A real browser (Debian's chromium through Playwright) logs in and sees the charts drawn."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_seed import PASSWORD, seed_store, serving

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path("/tmp/overview.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium package"),
]


@pytest.fixture
def server(sqlite_db_url: str) -> Iterator[str]:
    """Uvicorn serving a seeded store on a free localhost port, in a thread."""
    from storeops.api.app import create_app

    seed_store(sqlite_db_url)
    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url


CHART_STATE = """
() => Array.from(document.querySelectorAll('[data-chart]')).map(el => {
  const canvas = el.querySelector('canvas');
  const chart = echarts.getInstanceByDom(el);
  const series = chart ? chart.getOption().series : [];
  return {
    name: el.dataset.chart,
    canvas: canvas ? [canvas.width, canvas.height] : null,
    series: series.map(s => ({type: s.type, points: (s.data || []).length,
                              nonzero: (s.data || []).filter(d => (d.value ?? d) > 0).length})),
  };
})
"""


def test_login_and_overview_charts_are_drawn(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1700}, locale="zh-CN")
            page.goto(f"{server}/?from=2026-10-02&to=2026-10-31")
            assert "/login" in page.url  # not logged in yet
            page.fill("input[name=username]", "owner")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/?from=2026-10-02&to=2026-10-31")
            page.wait_for_function(
                "() => document.querySelectorAll('[data-chart] canvas').length === 2")
            assert page.locator("h3", has_text="成交金额").count() == 1
            charts = {c["name"]: c for c in page.evaluate(CHART_STATE)}
            assert set(charts) == {"trend", "traffic"}
            for chart in charts.values():
                assert chart["canvas"] and min(chart["canvas"]) > 0, chart
            trend = charts["trend"]["series"]
            assert [s["type"] for s in trend] == ["bar", "line"]
            assert trend[0]["points"] == 30 and trend[0]["nonzero"] > 20
            pie = charts["traffic"]["series"][0]
            assert pie["type"] == "pie" and pie["nonzero"] == 4
            assert page.locator(".funnel-steps li.weakest").count() == 1
            # Money on the axis in 万 and in the tooltip exact, with ¥ and two decimals.
            axis, tip = page.evaluate("""() => {
              const el = document.querySelector('[data-chart=trend]');
              const chart = echarts.getInstanceByDom(el);
              chart.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 29});
              const y = chart.getOption().yAxis;
              return [[y[0].axisLabel.formatter(150000), y[1].minInterval], el.innerText];
            }""")
            assert axis == ["¥15.00万", 1]  # and the orders axis ticks whole numbers
            assert "2026-10-31" in tip and re.search(r"¥[\d,]+\.\d\d\b", tip), tip
            page.wait_for_timeout(800)  # let the short entry animation end before the picture
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # The SKU table filters through HTMX without a page load.
            page.goto(f"{server}/skus?from=2026-10-02&to=2026-10-31")
            page.evaluate("window.__same_page = true")
            page.fill("input[name=q]", "耳机")
            page.wait_for_function(
                "() => document.querySelector('#sku-table').textContent.includes('共 1 个商品')")
            assert page.evaluate("window.__same_page") is True
            assert "q=" in page.url  # the filter is in the address for a reload or a link

            # Language switch.
            page.click("a.lang-switch")
            page.wait_for_selector("html[lang=en]")
            assert page.locator("h2", has_text="SKUs").count() == 1
        finally:
            browser.close()
