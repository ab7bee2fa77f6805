"""The targets page in a real browser: typing a month's GMV and leaving the cell sends it
(HTMX, with the CSRF header) and the table comes back rebalanced, under the strict CSP and
without a console error."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlencode

import pytest
from browser_support import NEEDS_CHROMIUM, launch, logged_in_page
from web_seed import PASSWORD, STORE, seed_store, serving

from storeops.metrics.target_plan_store import make_plan
from storeops.web import targets_page

pytestmark = NEEDS_CHROMIUM
TODAY = date(2026, 11, 11)


@pytest.fixture
def served(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[str]:  # noqa: ANN001
    from storeops.api.app import create_app

    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    store_id = seed_store(sqlite_db_url)
    make_plan(sqlite_db_url, store_id, 2026, "1200000", today=TODAY, by_category=True)
    monkeypatch.setattr(targets_page, "today_of", lambda sc: TODAY)
    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url


def test_inline_edit_rebalances_the_quarter(served: str) -> None:
    from playwright.sync_api import sync_playwright

    url = f"{served}/targets?{urlencode({'store': STORE, 'year': 2026})}"
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, url, "operator", PASSWORD)
            march = page.locator('input[name=gmv][data-cell="2026-03"]')
            march.fill("150000")
            march.press("Tab")  # leaving the cell: its form posts on change
            page.wait_for_function(
                """() => document.querySelector('input[data-cell="2026-01"]').value
                         === '75000.00'""")
            cell = page.locator('input[name=gmv][data-cell="2026-02"]')
            assert cell.input_value() == "75000.00"
            assert page.locator('input[name=gmv][data-cell="2026-Q1"]').input_value() \
                == "300000.00"
            assert "pinned" in (page.locator('input[data-cell="2026-03"]')
                                .get_attribute("class") or "")
            assert page.locator('.unpin button').count() == 1
            if os.environ.get("STOREOPS_SCREENSHOTS"):
                page.screenshot(path=os.environ["STOREOPS_SCREENSHOTS"], full_page=True)
            assert not problems, problems  # no CSP refusal, no script error
        finally:
            browser.close()
