"""The SLA board in a real browser: the on-time chart is drawn under the strict CSP with
percentages on its axis, and an overdue order's link opens its order page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from browser_support import NEEDS_CHROMIUM, drawn_charts, launch, logged_in_page
from test_sla_page import NOW, add_order
from web_seed import PASSWORD, seed_store, serving

from storeops.db.engine import unit_of_work
from storeops.web import sla_page

pytestmark = NEEDS_CHROMIUM

AXIS = """
() => {
  const chart = echarts.getInstanceByDom(document.querySelector('[data-chart=sla]'));
  const option = chart.getOption();
  return {label: option.yAxis[0].axisLabel.formatter(0.98),
          rates: option.series[0].data.slice(-2).map(d => d.value)};
}
"""


@pytest.fixture
def board(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(sla_page, "now", lambda: NOW)
    store_id = seed_store(sqlite_db_url)
    h = timedelta(hours=1)
    with unit_of_work(sqlite_db_url) as s:
        late = add_order(s, store_id, "SLA-LATE", paid=NOW - 26 * h, due=NOW - 2 * h)
        add_order(s, store_id, "SLA-OK", paid=NOW - 30 * h, due=NOW - 6 * h, status="shipped",
                  stage="shipped", shipped=NOW - 7 * h)
    from storeops.api.app import create_app

    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url, late


def test_chart_drawn_and_order_link(board: tuple[str, int]) -> None:
    from playwright.sync_api import sync_playwright

    server, late_id = board
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, f"{server}/sla", "operator", PASSWORD,
                                            viewport={"width": 1300, "height": 1400})
            page.wait_for_function("() => document.querySelector('[data-chart=sla] canvas')")
            charts = drawn_charts(page)
            assert [s["type"] for s in charts["sla"]["series"]] == ["bar", "line"]
            assert charts["sla"]["series"][0]["points"] == 30
            state = page.evaluate(AXIS)
            assert state["label"] == "98.00%" and state["rates"] == [None, 0.5]
            assert page.locator(".sla-rate .value").inner_text() == "50.00%"
            page.click("#overdue-orders a:text('SLA-LATE')")
            page.wait_for_url(f"{server}/orders/{late_id}")
            assert not problems, problems  # no CSP refusal, no script error
        finally:
            browser.close()
