"""The ERP pages in a real browser (Debian's chromium), under the strict CSP: from the orders
list to an order, approve it and see its timeline gain the event; tick an order in the review
queue and approve it in bulk; the stock page with its low-stock rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import NEEDS_CHROMIUM, launch, logged_in_page
from erp_seed import Erp, seed_erp
from web_seed import PASSWORD, seed_store, serving

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def shop(sqlite_db_url: str) -> Iterator[tuple[str, Erp]]:
    from storeops.api.app import create_app

    erp = seed_erp(sqlite_db_url, seed_store(sqlite_db_url))
    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url, erp


def test_orders_review_and_stock_in_the_browser(shop: tuple[str, Erp]) -> None:
    from playwright.sync_api import sync_playwright

    server, erp = shop
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, f"{server}/orders?q=ERP", "operator",
                                            PASSWORD,
                                            viewport={"width": 1300, "height": 1000})
            assert page.locator("tr[data-order]").count() == 5

            # Filter by step through the form, then open an order from the list.
            page.select_option("select[name=stage]", "under_review")
            page.click("form.filters button[type=submit]")
            page.wait_for_url("**stage=under_review**")
            assert page.locator("tr[data-order]").count() == 2
            page.click("tr[data-order=ERP002] a.order-link")
            page.wait_for_url(f"{server}/orders/{erp.ids['ERP002']}")
            assert page.locator("li[data-event=approved]").count() == 0
            page.click("form[data-action=approve] button")
            page.wait_for_url(f"**/orders/{erp.ids['ERP002']}?done=approve")
            assert page.locator("li[data-event=approved]").count() == 1
            assert "operator" in page.locator("li[data-event=approved]").inner_text()
            assert page.locator("h1 .stage").get_attribute("data-stage") == "allocated"

            # The review queue: tick ERP001 and approve it in bulk.
            page.click("nav.nav a[href^='/review']")
            page.wait_for_url("**/review**")
            assert page.locator("tr[data-order]").count() == 1
            page.check("tr[data-order=ERP001] input[name=ids]")
            page.click("#bulk-form button[value=approve]")
            page.wait_for_selector("li.ok[data-result=ERP001]")
            assert page.locator("tr[data-order]").count() == 0

            # Stock: the order's units are reserved now; low and out rows are marked.
            page.click("nav.nav a[href^='/stock']")
            page.wait_for_url("**/stock**")
            first = page.locator("tr[data-sku='1001'][data-warehouse=default] td.num")
            assert first.nth(1).inner_text() == "3"  # reserved: ERP001 (2) + ERP002 (1)
            assert page.locator("tr.stock-out[data-sku='2001']").count() == 1
            color = page.locator("tr[data-sku='2001'] td.available").evaluate(
                "el => getComputedStyle(el).color")
            assert color == "rgb(225, 37, 27)"  # var(--rise): the stylesheet applies
            assert problems == []
        finally:
            browser.close()
