"""``storeops notify add|list|test|disable|enable|remove|send``: channels from the terminal,
the secret never printed, a test message to every channel with each one's answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from notify_robot import Mailbox, Robot
from test_notify_delivery import SECRET, make_alert, make_store
from web_seed import run_cli

from storeops.alerts import delivery
from storeops.db.engine import unit_of_work


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("STOREOPS_CONNECTOR_KEY", Fernet.generate_key().decode())


@pytest.fixture(scope="module")
def robot() -> Iterator[Robot]:
    with Robot(secret=SECRET) as r:
        yield r


def cli(db: str, monkeypatch: Any, capsys: Any, *args: str, lang: str | None = None
        ) -> tuple[int, str, str]:
    return run_cli(["notify", *args, "--db", db], monkeypatch, capsys, lang=lang)


def test_add_list_test_and_remove(sqlite_db_url: str, robot: Robot, monkeypatch: Any,
                                  capsys: Any) -> None:
    db = sqlite_db_url
    make_store(db)
    robot.mode, robot.received[:] = "ok", []
    code, out, err = cli(db, monkeypatch, capsys, "add", "--store", "旗舰店", "--kind",
                         "dingtalk", "--target", robot.dingtalk_url("tok-abcdef-99"),
                         "--secret", SECRET, "--name", "运营群")
    assert code == 0, err
    assert "已为店铺“旗舰店”添加通知渠道 #1" in out and "（已加签）" in out
    assert SECRET not in out and "tok-abcdef-99" not in out
    code, out, _ = cli(db, monkeypatch, capsys, "add", "--store", "旗舰店", "--kind", "wecom",
                       "--target", robot.wecom_url(), "--lang", "en", "--min-severity",
                       "critical", "--json")
    assert code == 0
    added = json.loads(out)
    assert added["kind"] == "wecom" and added["lang"] == "en"
    assert added["min_severity"] == "critical" and "key=ke…ef" in added["target"]
    code, out, err = cli(db, monkeypatch, capsys, "add", "--store", "旗舰店", "--kind", "wecom",
                         "--target", robot.wecom_url())
    assert code == 2 and "本店铺已有发往该地址的渠道（编号 2）" in err
    with Mailbox() as box:
        for k, v in box.env().items():
            monkeypatch.setenv(k, v)
        assert cli(db, monkeypatch, capsys, "add", "--store", "旗舰店", "--kind", "email",
                   "--target", "boss@example.com")[0] == 0
        code, out, _ = cli(db, monkeypatch, capsys, "list", "--store", "旗舰店", "--json")
        listed = json.loads(out)["channels"]
        assert [c["kind"] for c in listed] == ["dingtalk", "wecom", "email"]
        assert listed[2]["target"] == "b***@example.com"
        assert SECRET not in out and "tok-abcdef-99" not in out
        code, out, _ = cli(db, monkeypatch, capsys, "list", "--store", "旗舰店")
        assert "运营群" in out and "钉钉群机器人" in out
        # A test message to every channel now, each one's answer.
        code, out, _ = cli(db, monkeypatch, capsys, "test", "--store", "旗舰店", "--json")
        assert code == 0, out
        results = json.loads(out)["channels"]
        assert [r["ok"] for r in results] == [True, True, True]
        assert all(r.problems == [] for r in robot.received)  # signed as DingTalk checks
        assert len(box.messages) == 1 and "测试" in box.messages[0][1]["Subject"]
        # A channel that refuses: exit 1 and its error; the others still tested.
        robot.mode = "errcode"
        code, out, _ = cli(db, monkeypatch, capsys, "test", "--store", "旗舰店")
        assert code == 1
        assert "#1 钉钉群机器人「运营群」：发送失败：DingTalk: errcode 130101" in out
        assert "#3 邮件「b***@example.com」：测试消息已送达" in out
        robot.mode = "ok"
    code, out, _ = cli(db, monkeypatch, capsys, "list", "--store", "旗舰店", "--json")
    first = json.loads(out)["channels"][0]
    assert "errcode 130101" in first["last_error"] and first["last_ok_at"]
    # Tests are not retried by themselves.
    with unit_of_work(db) as s:
        from sqlalchemy import select

        from storeops.alerts.models import NotifyDelivery

        assert not s.scalars(select(NotifyDelivery).where(
            NotifyDelivery.status == "pending")).all()
    code, out, _ = cli(db, monkeypatch, capsys, "disable", "--store", "旗舰店", "--channel",
                       "2")
    assert code == 0 and "已停用" in out
    code, out, _ = cli(db, monkeypatch, capsys, "remove", "--store", "旗舰店", "--channel", "3")
    assert code == 0 and "已删除" in out
    code, out, err = cli(db, monkeypatch, capsys, "remove", "--store", "旗舰店", "--channel",
                         "3")
    assert code == 2 and "没有编号为 3 的通知渠道" in err


def test_send_sends_what_is_due(sqlite_db_url: str, robot: Robot, monkeypatch: Any,
                                capsys: Any) -> None:
    db = sqlite_db_url
    store_id = make_store(db)
    robot.mode, robot.received[:] = "ok", []
    cli(db, monkeypatch, capsys, "add", "--store", "旗舰店", "--kind", "wecom", "--target",
        robot.wecom_url())
    with unit_of_work(db) as s:
        delivery.enqueue_alert(s, make_alert(s, store_id))
    code, out, _ = cli(db, monkeypatch, capsys, "send", "--json")
    assert code == 0 and json.loads(out) == {"sent": 1}
    code, out, _ = cli(db, monkeypatch, capsys, "send", lang="en")
    assert out.strip() == "Sent 0 notification(s)"


@pytest.mark.parametrize("args, message", [
    (["--kind", "sms", "--target", "x"], "未知的渠道类型：sms"),
    (["--kind", "email", "--target", "boss@"], "不是有效的邮箱地址：boss@"),
    (["--kind", "dingtalk", "--target", "oapi.dingtalk.com/robot/send"],
     "dingtalk 机器人的地址必须是 http(s) Webhook 网址"),
    (["--kind", "wecom", "--target", "https://qyapi.weixin.qq.com/x", "--secret", "S"],
     "只有钉钉机器人需要加签密钥"),
    (["--kind", "email", "--target", "a@b.cn", "--lang", "fr"], "未知的语言：fr"),
    (["--kind", "email", "--target", "a@b.cn", "--min-severity", "loud"], "未知的级别：loud"),
])
def test_bad_channels_are_refused(sqlite_db_url: str, monkeypatch: Any, capsys: Any,
                                  args: list[str], message: str) -> None:
    make_store(sqlite_db_url)
    code, out, err = cli(sqlite_db_url, monkeypatch, capsys, "add", "--store", "旗舰店", *args)
    assert code == 2 and message in err, err
    code, out, _ = cli(sqlite_db_url, monkeypatch, capsys, "list", "--store", "旗舰店")
    assert "还没有通知渠道" in out


def test_english_and_an_unknown_store(sqlite_db_url: str, monkeypatch: Any,
                                      capsys: Any) -> None:
    make_store(sqlite_db_url)
    code, out, err = cli(sqlite_db_url, monkeypatch, capsys, "add", "--store", "旗舰店",
                         "--kind", "email", "--target", "x", lang="en")
    assert code == 2 and "not an email address: x" in err
    code, out, err = cli(sqlite_db_url, monkeypatch, capsys, "list", "--store", "nope")
    assert code == 2 and "nope" in err
