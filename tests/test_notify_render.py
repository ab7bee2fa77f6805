"""The words a channel receives, per kind and language, without a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from storeops.alerts import render
from storeops.alerts.models import Alert

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _public(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREOPS_PUBLIC_URL", "https://ops.example.com/")


def alert(**kw: object) -> Alert:
    detail = {"rule_name": "退款率过高", "rule_name_en": "Refund rate high",
              "condition": {"kind": "above", "threshold": "0.015", "periods": 3},
              "unit": "rate", "period": "2026-11-01"}
    a = Alert(id=42, store_id=1, rule_code="refund_rate", metric="refund_rate",
              scope_key="sku:1001", scope_label="# 无线耳机\n- 降噪", severity="critical",
              status="open", value="0.0213", baseline="0.015", period_key="2026-11-01",
              detail_json=json.dumps(detail), since=NOW, raised_at=NOW, last_seen_at=NOW)
    for k, v in kw.items():
        setattr(a, k, v)
    return a


def test_public_url_and_links() -> None:
    msg = render.alert_message(alert(), "zh-CN", store_name="旗舰店")
    assert msg.link == "https://ops.example.com/alerts/42"
    assert msg.lines[0] == "店铺：旗舰店"
    assert any("2.13%" in line and "1.50%" in line for line in msg.lines)


def test_dingtalk_markdown_keeps_lines_as_text() -> None:
    body = render.payload("dingtalk", render.alert_message(alert(), "zh-CN"))["body"]
    assert body["msgtype"] == "markdown"
    text = body["markdown"]["text"]
    assert text.startswith("#### 【严重】退款率过高")
    # A label with markdown in it cannot open a heading or a list of its own.
    assert "\n# " not in text and "\n- " not in text
    assert text.endswith("— storeops 店铺运营预警")
    assert "[查看详情](https://ops.example.com/alerts/42)" in text


def test_wecom_english_coloured_and_cut_to_4096_bytes() -> None:
    msg = render.alert_message(alert(), "en", store_name="Flagship")
    content = render.payload("wecom", msg)["body"]["markdown"]["content"]
    assert content.startswith('**<font color="warning">[Critical] Refund rate high')
    assert "[View details](https://ops.example.com/alerts/42)" in content
    long = render.Message(title="T", lines=tuple("很长的一行" * 40 for _ in range(20)),
                          link="https://x/alerts/1", link_label="查看", footer="storeops")
    cut = render.payload("wecom", long)["body"]["markdown"]["content"]
    assert len(cut.encode()) <= 4096 and cut.endswith("storeops</font>")
    assert "[查看](https://x/alerts/1)" in cut


def test_resolution_words() -> None:
    a = alert(status="resolved", resolved_at=NOW, resolved_by="user:alice")
    msg = render.alert_message(a, "zh-CN", event="resolved", store_tz="Asia/Shanghai")
    assert msg.title.count("恢复") == 1
    assert "恢复于：2026-11-02 09:30" in msg.lines and "处理人：user:alice" in msg.lines
    en = render.alert_message(a, "en", event="resolved")
    assert "Resolved" in en.title and "Resolved by: user:alice" in en.lines


def test_email_html_is_escaped() -> None:
    body = render.payload("email", render.alert_message(alert(scope_label="<b>x</b>"),
                                                        "zh-CN"))["body"]
    assert "<b>x</b>" in body["subject"] and "&lt;b&gt;x&lt;/b&gt;" in body["html"]
    two_lines = render.payload("email", render.alert_message(alert(), "zh-CN"))["body"]
    assert "\n" not in two_lines["subject"] and "# 无线耳机 - 降噪" in two_lines["subject"]
    assert "<b>x</b>" not in body["html"]
    assert "查看详情: https://ops.example.com/alerts/42" in body["text"]


def test_report_and_test_messages_in_both_languages() -> None:
    report = SimpleNamespace(id=7, kind="monthly", period="2026-10", xlsx_path="/r/a.xlsx",
                             pdf_path=None, figures_json=None)
    zh = render.report_message(report, "zh-CN", store_name="旗舰店")
    assert zh.title == "【月报】旗舰店 2026-10 经营报表"
    assert zh.link == "https://ops.example.com/reports/7" and zh.attachments == ("/r/a.xlsx",)
    en = render.report_message(report, "en", store_name="Flagship")
    assert en.title == "[Monthly report] Flagship 2026-10"
    channel = SimpleNamespace(name=None, target_hint="o***@example.com", kind="email")
    test = render.test_message(channel, "en", store_name="旗舰店")
    assert "o***@example.com" in test.lines[0]
    assert test.link == "https://ops.example.com/alerts/channels?store=%E6%97%97%E8%88%B0%E5%BA%97"


def test_a_digest_per_kind() -> None:
    items = [(f"【警告】访客数下降：SKU {i}", f"https://ops.example.com/alerts/{i}")
             for i in range(1, 8)]
    mail = render.digest_payload("email", "zh-CN", "旗舰店", items)["body"]
    assert mail["subject"] == "【预警汇总】旗舰店 7 条预警通知"
    assert mail["html"].count('<li><a href="https://ops.example.com/alerts/') == 7
    assert "https://ops.example.com/alerts/7" in mail["text"]
    many = [(f"[Warning] Traffic down — SKU {'x' * 200} {i}", f"https://x/alerts/{i}")
            for i in range(30)]
    wecom = render.digest_payload("wecom", "en", "Flagship", many)["body"]["markdown"]
    assert len(wecom["content"].encode()) <= 4096
    assert wecom["content"].endswith("storeops store alerts</font>")
    assert "[All alerts](https://ops.example.com/alerts?store=Flagship)" in wecom["content"]


def test_masked_targets() -> None:
    from storeops.alerts.channels import mask_target

    assert mask_target("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token="
                       "0123456789abcdef") == \
        "https://oapi.dingtalk.com/robot/send?access_token=01…ef"
    assert mask_target("wecom", "https://bot:pw@hooks.example.com:8443/x?key=abc") == \
        "https://hooks.example.com:8443/x?key=…"
    assert mask_target("email", "Boss@Example.com") == "B***@Example.com"
