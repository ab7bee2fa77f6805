"""A promotion's results page in a real browser: the daily GMV chart (during vs baseline) is
drawn under the strict CSP with ¥ on its axis, the cards and table show the seeded figures, and
the page logs no console error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import NEEDS_CHROMIUM, drawn_charts, launch, logged_in_page
from promo_results_seed import PromoSeed, seed_promo
from web_seed import PASSWORD, seed_store, serving

pytestmark = NEEDS_CHROMIUM

AXIS = """
() => {
  const chart = echarts.getInstanceByDom(document.querySelector('[data-chart=promo_results]'));
  const option = chart.getOption();
  return {label: option.yAxis[0].axisLabel.formatter(20000),
          during: option.series[0].data, baseline: option.series[1].data};
}
"""


@pytest.fixture
def served(sqlite_db_url: str) -> Iterator[tuple[str, PromoSeed]]:
    seed_store(sqlite_db_url)  # the users
    seed = seed_promo(sqlite_db_url)
    from storeops.api.app import create_app

    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url, seed


def test_results_chart_drawn(served: tuple[str, PromoSeed]) -> None:
    from playwright.sync_api import sync_playwright

    server, seed = served
    url = f"{server}/promotions/{seed.ended_id}/results"
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, url, "analyst", PASSWORD)
            page.wait_for_function(
                "() => document.querySelector('[data-chart=promo_results] canvas')")
            charts = drawn_charts(page)
            series = charts["promo_results"]["series"]
            assert [s["type"] for s in series] == ["bar", "bar"]
            assert [s["nonzero"] for s in series] == [1, 1]
            state = page.evaluate(AXIS)
            assert state["label"] == "¥2.00万"
            assert state["during"] == [375] and state["baseline"] == [112.5]
            assert page.locator("[data-metric=gmv] .value").inner_text() == "¥375.00"
            assert page.locator("#results-skus tr[data-sku=A] td.roi").inner_text() == "0.88"
            assert not problems, problems  # no CSP refusal, no script error
        finally:
            browser.close()
