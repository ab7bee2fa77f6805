"""The eligibility and price-protection pages in a real browser: the eligibility form is
filled and sent, each requirement comes back with its verdict and reason; the 价保 page lists
the claim and its Excel link downloads a workbook; no console error under the strict CSP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from browser_support import NEEDS_CHROMIUM, launch, logged_in_page
from openpyxl import load_workbook
from promo_checks_support import app_client
from test_price_protection import seed as seed_protection
from test_promo_eligibility import seed as seed_eligibility
from web_seed import PASSWORD, serving

from storeops.api.app import create_app

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def server(sqlite_db_url: str) -> Iterator[str]:
    seed_eligibility(sqlite_db_url)  # 旗舰店: 1001 and 1002 at 99.00, promotion F2
    seed_protection(sqlite_db_url)  # 价保店: order A may claim 40.00
    with app_client(sqlite_db_url, {"owner": "owner"}):
        pass
    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url


def test_eligibility_form_and_protection_export(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            url = f"{server}/promotions/eligibility?store={quote('旗舰店')}"
            page, problems = logged_in_page(browser, url, "owner", PASSWORD,
                                            viewport={"width": 1300, "height": 1400})
            page.select_option("select[name=kind]", "flash_sale")
            page.fill("input[name=sku]", "1001")
            page.fill("input[name=price]", "89.00")
            page.fill("input[name=start]", "2026-11-11 10:00")
            page.fill("input[name=end]", "2026-11-11 12:00")
            page.fill("input[name=product_score]", "4.8")
            page.click("#eligibility-form button[type=submit]")
            page.wait_for_selector(".eligibility-result")
            row = page.locator("tr[data-requirement=flash_price]")
            assert row.get_attribute("data-status") == "fail"
            assert "秒杀价 89.00 高于参考价 99.00 的 70%（69.30）" in row.inner_text()
            assert page.locator("tr[data-requirement=violations]").get_attribute(
                "data-status") == "unknown"
            assert page.input_value("input[name=price]") == "89.00"  # kept
            page.goto(f"{server}/promotions/protection?store={quote('价保店')}&from=2026-10-01"
                      "&to=2026-11-30")
            claim = page.locator("#protection-claims tr[data-order=A]")
            assert "¥40.00" in claim.inner_text()
            with page.expect_download() as download:
                page.click("#protection-xlsx")
            target = tmp_path / "claims.xlsx"
            download.value.save_as(target)
            assert load_workbook(target).active["K2"].value == 40.0
            assert not problems, problems
        finally:
            browser.close()
