"""The reports page in a real browser: build a report with the form, come back to the list
with it marked, download its XLSX and PDF (no console error under the strict CSP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from browser_support import NEEDS_CHROMIUM, launch, logged_in_page
from web_seed import PASSWORD, STORE, seed_store, serving

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def site(sqlite_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from storeops.api.app import create_app

    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    seed_store(sqlite_db_url)
    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url


def test_build_and_download(site: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url = f"{site}/reports?store={quote(STORE)}"
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, url, "operator", PASSWORD)
            assert "还没有生成过报表" in page.inner_text("#reports-built")
            page.select_option("#report-build select[name=kind]", "monthly")
            page.fill("#report-build input[name=period]", "2026-10")
            page.click("#report-build button[type=submit]")
            page.wait_for_selector("[data-notice]")
            assert "已生成 月报 2026-10" in page.inner_text("[data-notice]")
            row = page.locator("#reports-list tr[aria-current=true]")
            assert "2026-10" in row.inner_text() and "¥20,053.00" in row.inner_text()
            with page.expect_download() as got:
                row.locator("a[data-download=xlsx]").click()
            download = got.value
            assert download.suggested_filename == f"{STORE}_monthly_2026-10_zh-CN.xlsx"
            saved = tmp_path / "m.xlsx"
            download.save_as(saved)
            assert openpyxl.load_workbook(saved).sheetnames[0] == "核心指标"
            with page.expect_download() as got:
                row.locator("a[data-download=pdf]").click()
            pdf = tmp_path / "m.pdf"
            got.value.save_as(pdf)
            assert pdf.read_bytes().startswith(b"%PDF")
            assert not problems, problems
        finally:
            browser.close()
