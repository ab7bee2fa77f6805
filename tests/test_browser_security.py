"""In a real browser, under the content security policy: the cockpit's pages and the API docs
work, nothing is blocked, and nothing is fetched from another host."""

from __future__ import annotations

from urllib.parse import urlparse

from browser_support import NEEDS_CHROMIUM, launch
from web_seed import PASSWORD

pytestmark = NEEDS_CHROMIUM

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_pages_and_api_docs_work_under_the_policy(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
            hosts: set[str] = set()
            page.on("request", lambda r: hosts.add(urlparse(r.url).netloc))
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text)
                    if "Content Security Policy" in m.text else None)
            page.add_init_script(WATCH_CSP)

            page.goto(f"{server}/login")
            page.fill("input[name=username]", "owner")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/")
            page.goto(f"{server}/?from=2026-10-02&to=2026-10-31")
            page.wait_for_function(
                "() => document.querySelectorAll('[data-chart] canvas').length === 2")
            assert page.evaluate("window.__csp") == []

            page.goto(f"{server}/skus?from=2026-10-02&to=2026-10-31")
            page.fill("input[name=q]", "耳机")
            page.wait_for_function(
                "() => document.querySelector('#sku-table').textContent.includes('共 1 个商品')")
            assert page.evaluate("window.__csp") == []

            page.goto(f"{server}/api/v1/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            assert page.locator(".opblock").count() >= 11
            assert page.locator(".swagger-ui .info .title").inner_text().startswith(
                "storeops API")
            assert page.evaluate("window.__csp") == []
            assert violations == []
            assert hosts == {urlparse(server).netloc}, hosts  # no CDN, no other host
        finally:
            browser.close()
