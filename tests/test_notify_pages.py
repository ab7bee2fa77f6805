"""The notification pages: /alerts/channels (add, test, enable/disable, remove, the last
success and the last error, waiting and failed messages with "send again") and the in-app
inbox /alerts/inbox (unread count, mark as read per user); who may see and do what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from notify_robot import Robot
from sqlalchemy import select
from test_notify_delivery import SECRET, make_alert
from web_seed import PASSWORD, PageClient, fast_hashing, login  # noqa: F401

from storeops.accounts.users import create_user
from storeops.alerts import delivery
from storeops.alerts.models import NotifyChannel, NotifyDelivery
from storeops.catalog.models import Store
from storeops.db.engine import unit_of_work

pytestmark = pytest.mark.usefixtures("fast_hashing")
NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("STOREOPS_CONNECTOR_KEY", Fernet.generate_key().decode())


@pytest.fixture(scope="module")
def robot() -> Iterator[Robot]:
    with Robot(secret=SECRET) as r:
        yield r


@pytest.fixture
def app_db(sqlite_db_url: str) -> tuple[str, int]:
    with unit_of_work(sqlite_db_url) as s:
        store = Store(name="旗舰店", timezone="Asia/Shanghai", currency="CNY", data_version=0)
        s.add(store)
        s.add(Store(name="二店", timezone="Asia/Shanghai", currency="CNY", data_version=0))
        s.flush()
        for name in ("operator", "analyst", "owner"):
            create_user(s, name, PASSWORD, name)
        return sqlite_db_url, store.id


@pytest.fixture
def client(app_db: tuple[str, int]) -> Iterator[Any]:
    from storeops.api.app import create_app

    with PageClient(create_app(app_db[0], secret_key="test-secret")) as c:
        yield c


Q = "?store=%E6%97%97%E8%88%B0%E5%BA%97"  # 旗舰店


def test_add_test_disable_remove_a_channel(client: Any, app_db: tuple[str, int],
                                           robot: Robot) -> None:
    db_url, store_id = app_db
    robot.mode, robot.received[:] = "ok", []
    login(client, "operator")
    page = client.get("/alerts/channels" + Q)
    assert page.status_code == 200 and "还没有通知渠道" in page.text
    assert 'data-action="add"' in page.text
    r = client.post("/alerts/channels" + Q, data={
        "kind": "dingtalk", "target": robot.dingtalk_url("tok-secret-987654"),
        "secret": SECRET, "name": "运营群", "lang": "zh-CN", "min_severity": ""})
    assert r.status_code == 200 and "已添加通知渠道" in r.text  # after the 303
    assert "运营群" in r.text and "加签" in r.text
    assert "tok-secret-987654" not in r.text and SECRET not in r.text  # masked
    assert "access_token=to…54" in r.text
    with unit_of_work(db_url) as s:
        ch = s.scalars(select(NotifyChannel)).one()
        assert "tok-secret" not in ch.target_enc and SECRET not in (ch.secret_enc or "")
        cid = ch.id
    # A test message: signed as DingTalk checks it, the answer on the page.
    r = client.post(f"/alerts/channels/{cid}/test" + Q)
    assert r.status_code == 200 and "测试消息已发送到「运营群」" in r.text
    assert robot.received[-1].problems == []
    assert "storeops 通知测试" in robot.received[-1].body["markdown"]["title"]
    # A robot refusing: the failure shows on the page, on the channel's row.
    robot.mode = "errcode"
    r = client.post(f"/alerts/channels/{cid}/test" + Q)
    assert "发送失败" in r.text or "失败" in r.text
    assert "errcode 130101" in r.text
    row = re.search(rf'<tr data-channel="{cid}"[^>]*class="([^"]*)"', r.text)
    assert row and "channel-failing" in row.group(1)
    robot.mode = "ok"
    # Disable, enable, remove.
    r = client.post(f"/alerts/channels/{cid}/disable" + Q)
    assert "已停用" in r.text and f'/alerts/channels/{cid}/enable' in r.text
    r = client.post(f"/alerts/channels/{cid}/enable" + Q)
    assert f'/alerts/channels/{cid}/disable' in r.text
    r = client.post(f"/alerts/channels/{cid}/remove" + Q)
    assert "已删除" in r.text and "还没有通知渠道" in r.text
    assert client.post(f"/alerts/channels/{cid}/remove" + Q).status_code == 404


def test_bad_input_is_marked_and_keeps_what_was_typed(client: Any, app_db: Any) -> None:
    login(client, "operator")
    r = client.post("/alerts/channels" + Q, data={
        "kind": "email", "target": "not-an-address", "name": "老板", "secret": ""})
    assert r.status_code == 422
    assert "不是有效的邮箱地址：not-an-address" in r.text
    assert 'aria-invalid="true"' in r.text and 'value="老板"' in r.text
    r = client.post("/alerts/channels" + Q, data={
        "kind": "wecom", "target": "ftp://example.com/hook", "secret": "SECxyz"})
    assert r.status_code == 422 and "Webhook" in r.text
    assert "SECxyz" not in r.text  # a secret is never sent back
    r = client.post("/alerts/channels" + Q + "&lang=en", data={
        "kind": "wecom", "target": "https://qyapi.weixin.qq.com/x?key=1", "secret": "SECxyz"})
    assert r.status_code == 422 and "only a DingTalk robot takes a signing secret" in r.text


def test_failed_messages_are_listed_and_sent_again(client: Any, app_db: tuple[str, int],
                                                   robot: Robot) -> None:
    db_url, store_id = app_db
    robot.mode, robot.received[:] = "http500", []
    login(client, "operator")
    client.post("/alerts/channels" + Q, data={"kind": "wecom", "target": robot.wecom_url(),
                                              "name": "企微群"})
    with unit_of_work(db_url) as s:
        alert = make_alert(s, store_id, "critical")
        delivery.enqueue_alert(s, alert)
        alert_id = alert.id
    at = NOW
    for _ in range(delivery.MAX_ATTEMPTS):  # a day of a robot answering 500
        delivery.send_due(db_url, at)
        at += timedelta(hours=1)
    with unit_of_work(db_url) as s:
        d = s.scalars(select(NotifyDelivery)).one()
        assert d.status == "failed"
    page = client.get("/alerts/channels" + Q)
    assert f'data-delivery="{d.id}" data-status="failed"' in page.text
    assert "已放弃" in page.text and "HTTP 500" in page.text and "1 条失败" in page.text
    assert f'href="/alerts/{alert_id}?' in page.text
    robot.mode = "ok"
    r = client.post(f"/alerts/channels/deliveries/{d.id}/resend" + Q)
    assert r.status_code == 200 and "消息已重新发送" in r.text
    assert "没有待发送或失败的消息" in r.text
    assert "访客数下降" in robot.received[-1].body["markdown"]["content"]


def test_an_email_channel_without_smtp_is_flagged(client: Any, app_db: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREOPS_SMTP_HOST", raising=False)
    login(client, "operator")
    assert 'data-warning="smtp"' not in client.get("/alerts/channels" + Q).text
    r = client.post("/alerts/channels" + Q, data={"kind": "email", "target": "a@example.com"})
    assert 'data-warning="smtp"' in r.text and "服务器没有设置 STOREOPS_SMTP_HOST" in r.text
    monkeypatch.setenv("STOREOPS_SMTP_HOST", "smtp.example.com")
    assert 'data-warning="smtp"' not in client.get("/alerts/channels" + Q).text


def test_who_may_see_and_change_channels(client: Any, app_db: Any) -> None:
    login(client, "analyst")
    page = client.get("/alerts/channels" + Q)
    assert page.status_code == 200 and 'data-action="add"' not in page.text
    r = client.post("/alerts/channels" + Q, data={"kind": "email", "target": "a@example.com"})
    assert r.status_code == 403


def test_inbox_unread_count_and_mark_read_per_user(client: Any,
                                                   app_db: tuple[str, int]) -> None:
    db_url, store_id = app_db
    with unit_of_work(db_url) as s:
        first = make_alert(s, store_id, "warning")
        delivery.enqueue_alert(s, first)
        second = make_alert(s, store_id, "critical")
        delivery.enqueue_alert(s, second)
    login(client, "operator")
    page = client.get("/alerts/inbox" + Q)
    assert page.status_code == 200 and 'data-unread="2"' in page.text
    assert page.text.count('class="inbox-item unread') == 2
    assert "访客数下降" in page.text and f'href="/alerts/{second.id}?' in page.text
    ids = re.findall(r'data-message="(\d+)"', page.text)
    r = client.post(f"/alerts/inbox/{ids[0]}/read" + Q, data={"page": "1"})
    assert r.status_code == 200 and 'data-unread="1"' in r.text
    r = client.get("/alerts/inbox" + Q + "&unread=1")
    assert re.findall(r'data-message="(\d+)"', r.text) == [ids[1]]
    # English: worded again from the alert.
    en = client.get("/alerts/inbox" + Q + "&lang=en")
    assert "1 unread" in en.text and "Traffic down" in en.text and "2,000" in en.text
    r = client.post("/alerts/inbox/read-all" + Q)
    assert 'data-unread="0"' in r.text
    # Another user has read nothing.
    client.post("/logout")
    login(client, "analyst")
    assert 'data-unread="2"' in client.get("/alerts/inbox" + Q).text
    # Another store's inbox is its own.
    assert 'data-unread="0"' in client.get("/alerts/inbox?store=二店").text
