"""The promotions calendar in a real browser: its bars are drawn in their status colours with
promotions.js wired under the strict CSP (no console error), and a bar opens its promotion."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import NEEDS_CHROMIUM, launch, logged_in_page
from web_seed import PASSWORD, seed_store, serving

from storeops.db.engine import unit_of_work
from storeops.pricing import service

pytestmark = NEEDS_CHROMIUM

FILE = {"promotions": [
    {"id": "MJ-JUNE", "kind": "full_reduction", "name": "618 满减", "skus": "all",
     "tiers": [{"threshold": "199.00", "off": "30.00"}],
     "start": "2026-06-01T00:00", "end": "2026-06-19T00:00"},
    {"id": "CUT-1002", "kind": "direct", "name": "手环直降", "skus": ["1002"],
     "price": "119.00", "start": "2026-06-15T00:00", "end": "2026-07-03T00:00"},
]}

BARS = """
() => Array.from(document.querySelectorAll('td.promo-bar')).map(td => ({
  id: td.dataset.promo, status: td.dataset.status, span: td.colSpan,
  width: td.getBoundingClientRect().width, colour: getComputedStyle(td).backgroundColor}))
"""


@pytest.fixture
def served(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(service, "run_audit", lambda *a: type("R", (), {"breaches": []})())
    store_id = seed_store(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as s:
        service.import_offers(s, store_id, FILE, "f.json", "user:operator")
        service.schedule(s, store_id, "CUT-1002", "user:operator")
        cut = service.find_promotion(s, store_id, "CUT-1002").id
    from storeops.api.app import create_app

    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url, cut


def test_calendar_bars_drawn_without_console_errors(served: tuple[str, int]) -> None:
    from playwright.sync_api import sync_playwright

    server, cut = served
    url = f"{server}/promotions?month=2026-06"
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, url, "operator", PASSWORD)
            page.wait_for_function("() => document.querySelector('[data-calendar]')"
                                   ".dataset.ready === '2'")
            bars = page.evaluate(BARS)
            # June: MJ-JUNE 06-01 .. 06-18 (18 days, draft, grey); CUT-1002 06-15 .. 06-30
            # (16 days, scheduled, blue)
            assert [(b["status"], b["span"]) for b in bars] == [("draft", 18),
                                                                ("scheduled", 16)]
            assert bars[0]["colour"] == "rgb(139, 148, 158)"
            assert bars[1]["colour"] == "rgb(31, 111, 235)"
            assert bars[0]["width"] > bars[1]["width"] > 100
            page.hover(f"td.promo-bar[data-promo='{cut}']")
            assert "hover" in page.get_attribute(f"[data-promo-row='{cut}']", "class")
            page.click(f"td.promo-bar[data-promo='{cut}'] a")
            page.wait_for_url(f"{server}/promotions/{cut}?*")
            assert page.locator("[data-status=scheduled]").count() == 1
            assert not problems, problems  # no CSP refusal, no script error
        finally:
            browser.close()
