"""In a real browser (Debian's chromium through Playwright, strict CSP): the comparison is
chosen in the period form, a KPI card opens its trend, and a click on a day of the trend
opens that day's SKUs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from browser_support import NEEDS_CHROMIUM, launch
from web_seed import PASSWORD

pytestmark = NEEDS_CHROMIUM
PERIOD = "from=2026-10-02&to=2026-10-31"


# The page position of the trend's n-th bar: where a reader clicks.
BAR_POINT = """(n) => {
  const el = document.querySelector('[data-chart=trend]');
  const chart = echarts.getInstanceByDom(el);
  const x = chart.convertToPixel({xAxisIndex: 0}, n);
  const box = el.getBoundingClientRect();
  return [box.left + x, box.top + box.height * 0.6];
}"""


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_compare_choice_card_trend_and_a_day_opening_its_skus(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1700}, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" else None)
            page.goto(f"{server}/?{PERIOD}")
            page.fill("input[name=username]", "owner")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/?{PERIOD}")
            # The comparison, chosen in the period form.
            page.select_option("select[name=compare]", "wow")
            page.click("form.period button[type=submit]")
            page.wait_for_url("**compare=wow**")
            assert page.locator(".kpi .change", has_text="较上周同期").count() > 10
            # A card opens its metric's trend, the baseline as a second line.
            page.click("article[data-metric=uv] a.kpi-link")
            page.wait_for_url("**metric=uv**")
            page.wait_for_function(
                "() => document.querySelectorAll('[data-chart] canvas').length === 2")
            names = page.evaluate("""() => echarts.getInstanceByDom(
                document.querySelector('[data-chart=trend]')).getOption().series
                .map(s => s.name)""")
            assert names == ["访客数", "访客数（上周同期）"]
            assert page.locator("a.kpi-link[aria-current=true]").count() == 1
            # A click on the first day of the trend opens that day's SKUs.
            page.wait_for_timeout(400)  # the entry animation
            x, y = page.evaluate(BAR_POINT, 0)
            page.mouse.click(x, y)
            page.wait_for_url("**/skus?**")
            query = _query(page.url)
            assert (query["from"], query["to"], query["compare"]) == (
                "2026-10-02", "2026-10-02", "wow")
            page.wait_for_selector("#sku-table table.data tbody tr")
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()
