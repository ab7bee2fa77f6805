"""The channels page in a real browser: add a WeCom robot through the form, send it a test
message (the local robot receives it), remove it through the confirm step, with no console
error or CSP refusal on the way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import NEEDS_CHROMIUM, launch, logged_in_page
from notify_robot import Robot
from web_seed import PASSWORD, serving

from storeops.accounts.users import create_user
from storeops.catalog.models import Store
from storeops.db.engine import unit_of_work

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def served(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from cryptography.fernet import Fernet

    from storeops.api.app import create_app

    monkeypatch.setenv("STOREOPS_CONNECTOR_KEY", Fernet.generate_key().decode())
    with unit_of_work(sqlite_db_url) as s:
        s.add(Store(name="旗舰店", timezone="Asia/Shanghai", currency="CNY", data_version=0))
        create_user(s, "operator", PASSWORD, "operator")
    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url


def test_add_test_and_remove_a_channel(served: str) -> None:
    from playwright.sync_api import sync_playwright

    with Robot() as robot, sync_playwright() as p:
        browser = launch(p)
        try:
            page, problems = logged_in_page(browser, f"{served}/alerts/channels",
                                            "operator", PASSWORD)
            form = page.locator("form[data-action=add]")
            form.locator("select[name=kind]").select_option("wecom")
            form.locator("input[name=target]").fill(robot.wecom_url("key-browser-123456"))
            form.locator("input[name=name]").fill("企微运营群")
            form.locator("button[type=submit]").click()
            page.wait_for_selector("[data-done=added]")
            row = page.locator("tr[data-kind=wecom]")
            assert "企微运营群" in row.inner_text()
            assert "key-browser-123456" not in page.content()  # masked
            row.locator("form[data-action=test] button").click()
            page.wait_for_selector("[data-done=test_ok]")
            assert len(robot.received) == 1 and robot.received[0].problems == []
            assert page.locator("tr[data-kind=wecom] td.last-ok").inner_text() != "—"
            remove = page.locator("tr[data-kind=wecom] details.remove")
            remove.locator("summary").click()
            remove.locator("button.danger").click()
            page.wait_for_selector("[data-done=removed]")
            assert page.locator("tr[data-kind=wecom]").count() == 0
            assert not problems, problems
        finally:
            browser.close()
