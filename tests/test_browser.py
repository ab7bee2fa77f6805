"""A real browser (Debian's chromium through Playwright) logs in and sees the charts drawn."""

from __future__ import annotations

import re
from pathlib import Path

from browser_support import NEEDS_CHROMIUM, drawn_charts, launch
from web_seed import PASSWORD

SCREENSHOT = Path("/tmp/overview.png")

pytestmark = NEEDS_CHROMIUM


def test_login_and_overview_charts_are_drawn(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
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
            charts = drawn_charts(page)
            assert set(charts) == {"trend", "traffic"}
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


def test_phone_wide_table_keeps_its_first_column_in_view(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            # A phone: the SKU table is wider than the screen and scrolls inside its card.
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                    is_mobile=True, has_touch=True)
            page.goto(f"{server}/skus?from=2026-10-02&to=2026-10-31")
            page.fill("input[name=username]", "owner")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#sku-table table.data tbody tr")
            state = page.evaluate("""() => {
              const table = document.querySelector('#sku-table table.data');
              const box = table.closest('.card');
              const row = table.querySelector('tbody tr');
              const [first, second] = [row.cells[0], row.cells[1]];
              const before = [first.getBoundingClientRect().left,
                              second.getBoundingClientRect().left];
              box.scrollLeft = 250;
              const r = first.getBoundingClientRect();
              const y = r.top + r.height / 2;
              const boxLeft = box.getBoundingClientRect().left;
              return {
                overflow: box.scrollWidth - box.clientWidth, scrolled: box.scrollLeft,
                firstMoved: r.left - before[0],
                secondMoved: second.getBoundingClientRect().left - before[1],
                firstAtEdge: Math.abs(r.left - boxLeft - box.clientLeft) < 2,
                // what the reader sees at the first column's place: the cell itself, not a
                // scrolled cell drawn over it
                onTop: document.elementFromPoint(r.left + 4, y) === first ||
                       first.contains(document.elementFromPoint(r.left + 4, y)),
                headOnTop: (() => {
                  const th = table.querySelector('thead th');
                  const h = th.getBoundingClientRect();
                  const hit = document.elementFromPoint(h.left + 4, h.top + h.height / 2);
                  return th === hit || th.contains(hit);
                })(),
              };
            }""")
            assert state["overflow"] > 250 and state["scrolled"] == 250, state
            assert state["secondMoved"] < -200, state  # the other columns scrolled away
            # This one stayed, at the card's edge: nothing scrolled shows on its left.
            assert -20 < state["firstMoved"] <= 0 and state["firstAtEdge"], state
            assert state["onTop"] and state["headOnTop"], state
        finally:
            browser.close()
