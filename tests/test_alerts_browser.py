"""The alerts pages in a real browser: the list (critical in red), an alert's page with its
recent series drawn under the strict CSP and the acknowledge form, the rules page's HTMX
on/off toggle (the row swapped in place, no reload), and no console error anywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from browser_support import NEEDS_CHROMIUM, drawn_charts, launch, logged_in_page
from web_seed import PASSWORD, seed_store, serving

from storeops.alerts import lifecycle
from storeops.alerts.models import Alert
from storeops.db.engine import unit_of_work

pytestmark = NEEDS_CHROMIUM

RAISED = datetime(2026, 10, 31, 1, 0, tzinfo=UTC)


@pytest.fixture
def served(sqlite_db_url: str) -> Iterator[tuple[str, int]]:
    store_id = seed_store(sqlite_db_url)
    detail = {"rule_name": "成交金额异常", "unit": "money", "change": "-0.1769",
              "series": [[f"10-{d}", str(150000 - (d == 30) * 26543)] for d in range(17, 31)]}
    with unit_of_work(sqlite_db_url) as s:
        alert = Alert(store_id=store_id, rule_code="gmv_anomaly", metric="gmv",
                      scope_key="store", scope_label="全店", severity="critical", status="open",
                      value="123457.00", baseline="150000.00", period_key="2026-10-30",
                      raised_at=RAISED, last_seen_at=RAISED, since=RAISED,
                      detail_json=json.dumps(detail, ensure_ascii=False))
        s.add(alert)
        s.flush()
        lifecycle.record_event(s, alert, "raised", "system", at=RAISED)
        alert_id = alert.id
    from storeops.api.app import create_app

    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url, alert_id


def test_list_detail_acknowledge_and_rule_toggle(served: tuple[str, int]) -> None:
    from playwright.sync_api import sync_playwright

    server, alert_id = served
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, f"{server}/alerts", "operator", PASSWORD)
            chip = page.locator(f"tr[data-alert='{alert_id}'] .sev-critical")
            assert chip.inner_text() == "严重"
            assert chip.evaluate("e => getComputedStyle(e).backgroundColor") == \
                "rgb(225, 37, 27)"
            page.click(f"tr[data-alert='{alert_id}'] a.alert-link")
            page.wait_for_url(f"{server}/alerts/{alert_id}")
            page.wait_for_function(
                "() => document.querySelector('[data-chart=series] canvas')")
            series = drawn_charts(page)["series"]["series"]
            assert [s["type"] for s in series] == ["line", "line"]
            assert series[0]["points"] == 14
            label = page.evaluate("""() => echarts.getInstanceByDom(
                document.querySelector('[data-chart=series]')).getOption()
                .yAxis[0].axisLabel.formatter(150000)""")
            assert label == "¥15.00万"
            page.fill("form[data-action=acknowledge] input[name=note]", "在看")
            page.click("form[data-action=acknowledge] button")
            page.wait_for_url(f"{server}/alerts/{alert_id}?done=acknowledge")
            assert page.locator("[data-status]").first.get_attribute("data-status") == \
                "acknowledged"
            assert page.locator("li[data-event=acknowledged]").inner_text().endswith("在看")
            # the rules page: the toggle swaps its row, the page itself stays
            page.goto(f"{server}/alerts/rules")
            page.evaluate("() => { window.notReloaded = true; }")
            row = page.locator("tr#rule-conversion_low")
            assert row.get_attribute("data-enabled") == "1"
            row.locator(".rule-toggle button").click()
            page.wait_for_selector("tr#rule-conversion_low[data-enabled='0']")
            assert page.evaluate("() => window.notReloaded") is True
            assert page.locator("tr#rule-conversion_low .rule-toggle button").inner_text() \
                == "已关闭"
            page.locator("tr#rule-conversion_low .rule-toggle button").click()
            page.wait_for_selector("tr#rule-conversion_low[data-enabled='1']")
            assert not problems, problems  # no CSP refusal, no script error
        finally:
            browser.close()
