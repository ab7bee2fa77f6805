"""A real browser (Debian's chromium through Playwright) opens a SKU's page from the SKU table,
sees its charts drawn, goes back and downloads the table as XLSX."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import NEEDS_CHROMIUM, drawn_charts, launch
from web_seed import PASSWORD

PERIOD = "from=2026-10-02&to=2026-10-31"

pytestmark = NEEDS_CHROMIUM


def test_sku_page_from_the_table_and_the_xlsx_download(server: str, tmp_path: Path) -> None:
    import openpyxl
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1600},
                                          locale="zh-CN", accept_downloads=True)
            page = context.new_page()
            page.goto(f"{server}/skus?{PERIOD}")
            assert "/login" in page.url
            page.fill("input[name=username]", "analyst")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#sku-table table.data tbody tr")
            # Every SKU id is a link; the earphones' opens its page for the same period.
            assert page.locator("#sku-table a.sku-link").count() == 5
            page.click("#sku-table a.sku-link:text-is('1001')")
            page.wait_for_url(f"{server}/sku/1001?*")
            assert "from=2026-10-02" in page.url and "to=2026-10-31" in page.url
            page.wait_for_function(
                "() => document.querySelectorAll('[data-chart] canvas').length === 2")
            assert page.locator("h1.sku-title").inner_text() == "无线蓝牙耳机 降噪版"
            charts = drawn_charts(page)
            assert set(charts) == {"trend", "traffic"}
            trend = charts["trend"]["series"]
            assert [s["type"] for s in trend] == ["bar", "line"]
            assert trend[0]["points"] == 30 and 0 < trend[0]["nonzero"] < 30
            assert trend[1]["nonzero"] == 30  # visitors every day
            pie = charts["traffic"]["series"][0]
            assert pie["type"] == "pie" and pie["nonzero"] == 4
            assert page.locator("[data-metric=gmv] .value").inner_text() == "¥5,572.00"
            assert page.locator(".funnel-steps li.weakest").count() == 1
            assert page.locator("table.latest-refunds tbody tr").count() == 2

            # Back to the table, then its Excel download.
            page.go_back()
            page.wait_for_selector("#sku-table a.export")
            xlsx = page.locator("#sku-table a.export[data-format=xlsx]")
            if xlsx.count() == 0:
                pytest.skip("the SKU table has no XLSX export link (/skus.xlsx) yet")
            with page.expect_download() as info:
                xlsx.click()
            path = tmp_path / info.value.suggested_filename
            info.value.save_as(path)
            assert path.suffix == ".xlsx"
            sheet = openpyxl.load_workbook(path).active
            rows = list(sheet.iter_rows(values_only=True))
            header = list(rows[0])
            for name in ("SKU", "价格", "库存状态", "浏览量", "较上期"):
                assert name in header, header
            skus = [r[header.index("SKU")] for r in rows[1:]]
            assert sorted(skus) == ["1001", "1002", "2001", "2002", "3001"]  # text, every row
            price = rows[1 + skus.index("1001")][header.index("价格")]
            assert price == 199
        finally:
            browser.close()
