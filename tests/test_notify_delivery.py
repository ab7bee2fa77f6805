"""Alerts and reports reach the store's DingTalk and WeCom robots and email: the DingTalk
signature as documented, the message shapes, retries with back-off, failures shown on the
channel and never a lost alert. Times are passed in: no test sleeps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from notify_robot import Mailbox, Robot, expected_sign
from sqlalchemy import func, select

from storeops.alerts import channels, delivery
from storeops.alerts.models import Alert, AlertEvent, InboxMessage, NotifyChannel, NotifyDelivery
from storeops.alerts.senders import dingtalk_sign
from storeops.catalog.models import Store
from storeops.db.engine import unit_of_work

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
SECRET = "SEC0123456789abcdef-secret"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("STOREOPS_CONNECTOR_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("STOREOPS_PUBLIC_URL", "https://ops.example.com/")


@pytest.fixture(scope="module")
def robot() -> Robot:
    with Robot(secret=SECRET) as r:
        yield r


@pytest.fixture
def fresh_robot(robot: Robot) -> Robot:
    robot.received.clear()
    robot.mode = "ok"
    return robot


def make_store(db_url: str, name: str = "旗舰店") -> int:
    with unit_of_work(db_url) as s:
        store = Store(name=name, timezone="Asia/Shanghai", currency="CNY", data_version=0)
        s.add(store)
        s.flush()
        return store.id


def make_alert(session, store_id: int, severity: str = "warning", **kw) -> Alert:  # noqa: ANN001
    detail = {"rule_name": "访客数下降", "rule_name_en": "Traffic down",
              "condition": {"kind": "change", "direction": "down", "threshold": "0.15",
                            "baseline": "previous_period"},
              "unit": "count", "period": "2026-11-01", "change": "-0.32"}
    fields = dict(store_id=store_id, rule_code="traffic_drop", metric="uv", scope_key="store",
                  scope_label="全店", severity=severity, status="open", value="1360",
                  baseline="2000", period_key="2026-11-01", detail_json=json.dumps(detail),
                  since=NOW - timedelta(hours=2), raised_at=NOW, last_seen_at=NOW)
    alert = Alert(**{**fields, **kw})
    session.add(alert)
    session.flush()
    return alert


def add(db_url: str, store_id: int, kind: str, target: str, **kw) -> int:  # noqa: ANN003
    with unit_of_work(db_url) as s:
        return channels.add_channel(s, db_url, store_id, kind=kind, target=target, **kw).id


def test_dingtalk_signature_matches_the_documented_algorithm() -> None:
    # DingTalk's documented example shape: Base64 of HMAC-SHA256, then URL-encoded.
    sign = dingtalk_sign(1700000000000, "SECabc")
    from urllib.parse import unquote_plus

    assert unquote_plus(sign) == expected_sign("1700000000000", "SECabc")
    assert "+" not in sign and "/" not in sign and "=" not in sign  # URL-encoded


def test_alert_reaches_dingtalk_and_wecom_signed_and_shaped(db_url: str,
                                                            fresh_robot: Robot) -> None:
    store_id = make_store(db_url)
    add(db_url, store_id, "dingtalk", fresh_robot.dingtalk_url(), secret=SECRET, name="运营群")
    add(db_url, store_id, "wecom", fresh_robot.wecom_url(), lang="en")
    with unit_of_work(db_url) as s:
        alert = make_alert(s, store_id)
        assert delivery.enqueue_alert(s, alert) == 2
        alert_id = alert.id
    assert delivery.send_due(db_url, NOW) == 2
    assert len(fresh_robot.received) == 2
    for rec in fresh_robot.received:
        assert rec.problems == []
    ding = next(r for r in fresh_robot.received if r.path.startswith("/dingtalk"))
    assert ding.query["access_token"] == "tok-dd-123456"
    text = ding.body["markdown"]["text"]
    assert "访客数下降" in text and "旗舰店" in text and "1,360" in text and "2,000" in text
    assert f"https://ops.example.com/alerts/{alert_id}" in text
    wecom = next(r for r in fresh_robot.received if r.path.startswith("/wecom"))
    content = wecom.body["markdown"]["content"]
    assert "Store: 旗舰店" in content and "Traffic down" in content and "2,000" in content
    assert f"(https://ops.example.com/alerts/{alert_id})" in content
    # Sent once: nothing more is due; the alert's history says where it went.
    assert delivery.send_due(db_url, NOW + timedelta(hours=1)) == 0
    with unit_of_work(db_url) as s:
        rows = s.scalars(select(NotifyDelivery)).all()
        assert {r.status for r in rows} == {"sent"}
        notified = s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id,
                                                      AlertEvent.action == "notified")).all()
        assert len(notified) == 2
        inbox = s.scalars(select(InboxMessage)).all()
        assert len(inbox) == 1 and inbox[0].link == f"/alerts/{alert_id}"
        assert all(c.last_ok_at is not None for c in s.scalars(select(NotifyChannel)))


def test_a_wrong_secret_is_refused_retried_and_shown(sqlite_db_url: str,
                                                     fresh_robot: Robot) -> None:
    db_url = sqlite_db_url
    store_id = make_store(db_url)
    cid = add(db_url, store_id, "dingtalk", fresh_robot.dingtalk_url(), secret="wrong")
    with unit_of_work(db_url) as s:
        delivery.enqueue_alert(s, make_alert(s, store_id))
    assert delivery.send_due(db_url, NOW) == 0
    assert fresh_robot.received[0].problems == ["bad sign"]
    with unit_of_work(db_url) as s:
        d = s.scalars(select(NotifyDelivery)).one()
        assert d.status == "pending" and d.attempts == 1
        assert "errcode 310000" in d.last_error
        assert d.next_attempt_at == NOW + timedelta(minutes=1)
        ch = s.get(NotifyChannel, cid)
        assert "errcode 310000" in ch.last_error and ch.last_error_at == NOW


def test_failures_back_off_and_are_never_dropped(sqlite_db_url: str,
                                                 fresh_robot: Robot) -> None:
    db_url = sqlite_db_url
    store_id = make_store(db_url)
    add(db_url, store_id, "wecom", fresh_robot.wecom_url())
    with unit_of_work(db_url) as s:
        delivery.enqueue_alert(s, make_alert(s, store_id))
    fresh_robot.mode = "http500"
    at = NOW
    waits = []
    for _ in range(delivery.MAX_ATTEMPTS):
        assert delivery.send_due(db_url, at) == 0
        # Not due again before its back-off ends.
        with unit_of_work(db_url) as s:
            d = s.scalars(select(NotifyDelivery)).one()
        if d.status == "failed":
            break
        waits.append(d.next_attempt_at - at)
        assert delivery.send_due(db_url, d.next_attempt_at - timedelta(seconds=1)) == 0
        at = d.next_attempt_at
    minutes = [int(w.total_seconds() // 60) for w in waits]
    assert minutes[:7] == [1, 2, 4, 8, 16, 32, 60] and max(minutes) == 60
    assert d.status == "failed" and d.attempts == delivery.MAX_ATTEMPTS
    assert "HTTP 500" in d.last_error
    # Still there, and sent when asked again once the robot is back.
    fresh_robot.mode = "ok"
    with unit_of_work(db_url) as s:
        delivery.resend(s, d.id)
    assert delivery.send_due(db_url, at + timedelta(days=1)) == 1
    with unit_of_work(db_url) as s:
        assert s.get(NotifyDelivery, d.id).status == "sent"


def test_errcode_and_a_robot_that_is_down_are_retried(sqlite_db_url: str,
                                                      fresh_robot: Robot) -> None:
    from notify_robot import free_port

    db_url = sqlite_db_url
    store_id = make_store(db_url)
    add(db_url, store_id, "wecom", fresh_robot.wecom_url())
    add(db_url, store_id, "dingtalk",
        f"http://127.0.0.1:{free_port()}/robot/send?access_token=x")  # nobody listens
    fresh_robot.mode = "errcode"
    with unit_of_work(db_url) as s:
        delivery.enqueue_alert(s, make_alert(s, store_id))
    assert delivery.send_due(db_url, NOW) == 0
    with unit_of_work(db_url) as s:
        errors = {c.kind: c.last_error for c in s.scalars(select(NotifyChannel))}
    assert "errcode 130101" in errors["wecom"] and "send too fast" in errors["wecom"]
    assert "cannot reach 127.0.0.1" in errors["dingtalk"]
    assert "access_token" not in errors["dingtalk"]  # the address is a secret
    fresh_robot.mode = "ok"
    assert delivery.send_due(db_url, NOW + timedelta(minutes=1)) == 1  # wecom only
    with unit_of_work(db_url) as s:
        pending = s.scalars(select(NotifyDelivery).where(NotifyDelivery.status == "pending")
                            ).all()
    assert len(pending) == 1 and pending[0].attempts == 2


def test_min_severity_disabled_channels_and_resolution(sqlite_db_url: str,
                                                       fresh_robot: Robot) -> None:
    db_url = sqlite_db_url
    store_id = make_store(db_url)
    add(db_url, store_id, "wecom", fresh_robot.wecom_url("all"))
    add(db_url, store_id, "wecom", fresh_robot.wecom_url("critical"), min_severity="critical")
    off = add(db_url, store_id, "wecom", fresh_robot.wecom_url("off"))
    with unit_of_work(db_url) as s:
        channels.set_enabled(s, store_id, off, False)
    with unit_of_work(db_url) as s:
        warning = make_alert(s, store_id, "warning")
        assert delivery.enqueue_alert(s, warning) == 1
        critical = make_alert(s, store_id, "critical")
        assert delivery.enqueue_alert(s, critical) == 2
        from storeops.alerts.lifecycle import resolve

        resolve(s, warning, None, at=NOW + timedelta(hours=1))
        assert delivery.enqueue_alert(s, warning, event="resolved") == 1
    assert delivery.send_due(db_url, NOW + timedelta(hours=1)) == 4
    keys = [r.query["key"] for r in fresh_robot.received]
    assert sorted(keys) == ["all", "all", "all", "critical"]
    resolved = next(r.body["markdown"]["content"] for r in fresh_robot.received
                    if "已恢复" in r.body["markdown"]["content"])
    assert "已恢复" in resolved and "自动恢复" in resolved
    assert resolved.count("已恢复") == 1


def test_email_with_text_html_and_the_report_attached(sqlite_db_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from storeops.reports.models import Report

    db_url = sqlite_db_url
    store_id = make_store(db_url)
    add(db_url, store_id, "email", "ops@example.com")
    xlsx = tmp_path / "weekly.xlsx"
    xlsx.write_bytes(b"PK\x03\x04 fake workbook")
    with Mailbox() as box:
        for k, v in box.env().items():
            monkeypatch.setenv(k, v)
        with unit_of_work(db_url) as s:
            report = Report(store_id=store_id, kind="weekly", period="2026-W44", lang="zh-CN",
                            status="built", xlsx_path=str(xlsx),
                            pdf_path=str(tmp_path / "missing.pdf"),
                            figures_json=json.dumps({"kpis": {
                                "gmv": {"value": "123456.78", "previous": "100000.00",
                                        "change": 0.2346},
                                "conversion_rate": {"value": "0.0235", "change": -0.05}}}))
            s.add(report)
            s.flush()
            assert delivery.enqueue_report(s, report) == 1
            delivery.enqueue_alert(s, make_alert(s, store_id))
            report_id = report.id
        assert delivery.send_due(db_url, NOW) == 2
        assert len(box.messages) == 2
        rcpts, msg = box.messages[0]
        assert rcpts == ["ops@example.com"]
        assert "周报" in msg["Subject"] and "2026-W44" in msg["Subject"]
        plain = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert f"https://ops.example.com/reports/{report_id}" in plain
        assert f'href="https://ops.example.com/reports/{report_id}"' in html
        assert "成交金额：¥12.35万（较上期 ▲23.5%）" in plain
        assert "成交转化率：2.35%（较上期 ▼5.0%）" in plain
        names = [p.get_filename() for p in msg.iter_attachments()]
        assert names == ["weekly.xlsx"]  # the PDF was not there: the link still is
        with unit_of_work(db_url) as s:
            sent = s.get(Report, report_id)
            assert sent.status == "sent" and sent.sent_at == NOW
        _, alert_msg = box.messages[1]
        assert "访客数下降" in alert_msg["Subject"]
        # A refusing server: retried later, the failure on the channel.
        box.fail = True
        with unit_of_work(db_url) as s:
            delivery.enqueue_alert(s, make_alert(s, store_id))
        assert delivery.send_due(db_url, NOW) == 0
        with unit_of_work(db_url) as s:
            ch = s.scalars(select(NotifyChannel)).one()
        assert "451" in ch.last_error
        box.fail = False
        assert delivery.send_due(db_url, NOW + timedelta(minutes=1)) == 1


def test_a_burst_is_one_message_and_a_failing_channel_is_probed_once_per_run(
        sqlite_db_url: str, fresh_robot: Robot) -> None:
    db_url = sqlite_db_url
    store_id = make_store(db_url)
    add(db_url, store_id, "dingtalk", fresh_robot.dingtalk_url(), secret=SECRET)
    with unit_of_work(db_url) as s:
        ids = [make_alert(s, store_id, scope_label=f"SKU {i}").id for i in range(3)]
        for alert_id in ids:
            delivery.enqueue_alert(s, s.get(Alert, alert_id))
    fresh_robot.mode = "http500"
    assert delivery.send_due(db_url, NOW) == 0
    assert len(fresh_robot.received) == 1  # the others wait for the next run
    fresh_robot.mode = "ok"
    assert delivery.send_due(db_url, NOW + timedelta(seconds=30)) == 2  # three: not a burst
    with unit_of_work(db_url) as s:
        for i in range(40):
            delivery.enqueue_alert(s, make_alert(s, store_id, scope_label=f"SKU 1{i:02d}"))
    fresh_robot.received.clear()
    # 41 due: one message of 30, then one of the other 11.
    assert delivery.send_due(db_url, NOW + timedelta(minutes=1)) == delivery.DIGEST_MAX
    assert delivery.send_due(db_url, NOW + timedelta(minutes=2)) == 11
    assert len(fresh_robot.received) == 2 and all(not r.problems for r in fresh_robot.received)
    first = fresh_robot.received[0].body["markdown"]
    assert first["title"] == "【预警汇总】旗舰店 30 条预警通知"
    assert first["text"].count("[详情](https://ops.example.com/alerts/") == 30
    assert "SKU 0" in first["text"] and "SKU 100" in first["text"]
    assert "[查看全部预警](https://ops.example.com/alerts?store=%E6%97%97%E8%88%B0%E5%BA%97)" \
        in first["text"]
    with unit_of_work(db_url) as s:
        assert {d.status for d in s.scalars(select(NotifyDelivery))} == {"sent"}
        # Each alert's history says it was notified.
        assert s.scalar(select(func.count()).select_from(AlertEvent)
                        .where(AlertEvent.action == "notified")) == 43


def test_a_failed_burst_is_retried_whole(sqlite_db_url: str, fresh_robot: Robot) -> None:
    db_url = sqlite_db_url
    store_id = make_store(db_url)
    add(db_url, store_id, "wecom", fresh_robot.wecom_url(), lang="en")
    with unit_of_work(db_url) as s:
        for i in range(8):
            delivery.enqueue_alert(s, make_alert(s, store_id, scope_label=f"SKU {i}"))
    fresh_robot.mode = "errcode"
    assert delivery.send_due(db_url, NOW) == 0
    with unit_of_work(db_url) as s:
        rows = s.scalars(select(NotifyDelivery)).all()
    assert {(d.status, d.attempts) for d in rows} == {("pending", 1)}
    assert all("errcode 130101" in d.last_error for d in rows)
    fresh_robot.mode = "ok"
    assert delivery.send_due(db_url, NOW + timedelta(minutes=1)) == 8
    content = fresh_robot.received[-1].body["markdown"]["content"]
    assert content.startswith("**[Alerts] 8 alert notifications for 旗舰店**")
    assert content.count("[details](https://ops.example.com/alerts/") == 8


def test_a_lost_key_is_a_failure_on_the_channel_not_a_lost_alert(
        sqlite_db_url: str, fresh_robot: Robot, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    db_url = sqlite_db_url
    store_id = make_store(db_url)
    add(db_url, store_id, "wecom", fresh_robot.wecom_url())
    with unit_of_work(db_url) as s:
        delivery.enqueue_alert(s, make_alert(s, store_id))
    monkeypatch.setenv("STOREOPS_CONNECTOR_KEY", Fernet.generate_key().decode())
    assert delivery.send_due(db_url, NOW) == 0
    assert fresh_robot.received == []
    with unit_of_work(db_url) as s:
        d = s.scalars(select(NotifyDelivery)).one()
        ch = s.scalars(select(NotifyChannel)).one()
    assert d.status == "pending" and "cannot decrypt" in d.last_error
    assert "remove the channel and add it again" in ch.last_error


def test_a_resolution_never_arrives_before_its_alert(db_url: str, fresh_robot: Robot) -> None:
    from storeops.alerts.lifecycle import resolve

    store_id = make_store(db_url)
    add(db_url, store_id, "wecom", fresh_robot.wecom_url())
    with unit_of_work(db_url) as s:
        alert = make_alert(s, store_id)
        delivery.enqueue_alert(s, alert)
    fresh_robot.mode = "http500"
    assert delivery.send_due(db_url, NOW) == 0  # the alert backs off for a minute
    fresh_robot.mode = "ok"
    with unit_of_work(db_url) as s:
        alert = s.get(Alert, alert.id)
        resolve(s, alert, None, at=NOW + timedelta(seconds=20))
        delivery.enqueue_alert(s, alert, event="resolved")
    # The resolution is due, but waits for the alert.
    assert delivery.send_due(db_url, NOW + timedelta(seconds=30)) == 0
    assert delivery.send_due(db_url, NOW + timedelta(minutes=1)) == 2
    contents = [r.body["markdown"]["content"] for r in fresh_robot.received[1:]]
    assert "已恢复" not in contents[0] and "已恢复" in contents[1]


def test_two_workers_send_each_message_once(db_url: str, fresh_robot: Robot) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store_id = make_store(db_url)
    for key in ("a", "b", "c"):
        add(db_url, store_id, "wecom", fresh_robot.wecom_url(key))
    with unit_of_work(db_url) as s:
        for i in range(4):
            delivery.enqueue_alert(s, make_alert(s, store_id, scope_label=f"SKU {i}"))
    with ThreadPoolExecutor(2) as pool:
        sent = sum(pool.map(lambda _: delivery.send_due(db_url, NOW), range(2)))
    assert sent == 12 and len(fresh_robot.received) == 12
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(AlertEvent)) == 12
