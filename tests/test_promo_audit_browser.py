"""The 破价 audit page in a real browser: the cards and the SKU below floor with its stack,
under the strict CSP without script errors; the XLSX link downloads the table."""

from __future__ import annotations

from collections.abc import Iterator

import openpyxl
import pytest
from browser_support import NEEDS_CHROMIUM, launch, logged_in_page
from test_promo_audit_db import AT, add_floors_and_offers
from web_seed import PASSWORD, seed_store, serving

from storeops.web import promo_audit_page

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def server(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(promo_audit_page, "now", lambda: AT)
    add_floors_and_offers(sqlite_db_url, seed_store(sqlite_db_url))
    from storeops.api.app import create_app

    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url


def test_audit_page_and_download(server: str, tmp_path) -> None:  # noqa: ANN001
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, f"{server}/promotions/audit", "analyst",
                                            PASSWORD)
            assert page.locator(".audit-checked .value").inner_text() == "5"
            assert page.locator(".audit-below .value").inner_text() == "1"
            assert page.locator(".audit-no-floor .value").inner_text() == "1"
            row = page.locator("#audit-breaches tbody tr")
            assert row.count() == 1
            text = row.first.inner_text()
            assert "1002" in text and "103.11" in text and "满299减60（凑单至满299）" in text
            with page.expect_download() as info:
                page.click("#audit-xlsx")
            target = tmp_path / "audit.xlsx"
            info.value.save_as(target)
            rows = list(openpyxl.load_workbook(target).active.iter_rows(values_only=True))
            assert rows[1][0] == "1002" and rows[1][4] == 103.11
            assert not problems, problems
        finally:
            browser.close()
