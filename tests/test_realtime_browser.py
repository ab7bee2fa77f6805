"""今日实时 in a real browser: the chart is drawn under the strict CSP, and the page refreshes
itself through HTMX, chart included, when an order comes in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from browser_support import NEEDS_CHROMIUM, launch, logged_in_page
from test_metric_facts import Facts
from web_seed import PASSWORD, serving

from storeops.accounts.users import create_user
from storeops.db.engine import unit_of_work
from storeops.metrics import realtime_query
from storeops.web import realtime_page

NOW = datetime(2026, 12, 4, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai

pytestmark = NEEDS_CHROMIUM

TODAY_SERIES = """
() => {
  const chart = echarts.getInstanceByDom(document.querySelector('[data-chart=realtime]'));
  if (!chart) return null;
  const option = chart.getOption();
  return {today: option.series[0].data, label: option.yAxis[0].axisLabel.formatter(25000)};
}
"""


@pytest.fixture
def shop(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Facts]]:
    monkeypatch.setattr(realtime_query, "now", lambda: NOW)
    monkeypatch.setattr(realtime_page, "REFRESH_SECONDS", 1)  # not a minute's wait
    f = Facts(sqlite_db_url, name="旗舰店")
    product = f.product("P")
    f.order("2026-12-04 07:30", [(product, 1, 10000)])  # store-local times
    with unit_of_work(sqlite_db_url) as s:
        create_user(s, "owner", PASSWORD, "owner")
    from storeops.api.app import create_app

    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url, f


def test_chart_drawn_and_refreshed_with_a_new_order(shop: tuple[str, Facts]) -> None:
    from playwright.sync_api import sync_playwright

    server, f = shop
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, f"{server}/realtime", "owner", PASSWORD,
                                            viewport={"width": 1300, "height": 1400})
            page.wait_for_function("() => document.querySelector('[data-chart] canvas')")
            state = page.evaluate(TODAY_SERIES)
            assert state["today"][7] == 100 and state["today"][10] == 100
            assert state["today"][11:] == [None] * 13  # the line stops at the current hour
            assert state["label"] == "¥2.50万"
            assert page.locator(".kpi[data-metric=gmv] .value").inner_text() == "¥100.00"

            product = f.product("Q")
            f.order("2026-12-04 10:10", [(product, 1, 5000)])
            page.wait_for_function(
                "() => document.querySelector('.kpi[data-metric=gmv] .value')"
                ".textContent.trim() === '¥150.00'", timeout=15_000)
            # The new part's chart is drawn again with the new order in its 10 o'clock point.
            page.wait_for_function(
                "() => { const el = document.querySelector('[data-chart=realtime]');"
                " const c = echarts.getInstanceByDom(el);"
                " return c && c.getOption().series[0].data[10] === 150; }", timeout=15_000)
            assert page.locator("[data-chart=realtime] canvas").count() == 1
            assert not problems, problems  # no CSP refusal, no script error
        finally:
            browser.close()
