"""The alert rules page (/alerts/rules, /alerts/rules/{code}): the defaults listed, enable and
disable (HTMX swaps the row), editing threshold, severity, quiet hours and cooldown (a refused
value named beside its field, nothing saved), and the test against past data ("would have
fired on these days") with its bounded date range."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update
from web_seed import fast_hashing, login  # noqa: F401

from storeops.alerts import service
from storeops.alerts.models import AlertRule
from storeops.db.engine import unit_of_work

pytestmark = pytest.mark.usefixtures("fast_hashing")


def rule_row(db_url: str, code: str) -> AlertRule:
    with unit_of_work(db_url) as s:
        row = s.scalars(select(AlertRule).where(AlertRule.code == code)).one()
        s.expunge(row)
        return row


def test_rules_list_toggle_and_edit(client: Any, seeded: tuple[str, int]) -> None:
    db_url, _ = seeded
    login(client, "operator")
    page = client.get("/alerts/rules")
    assert page.status_code == 200
    codes = re.findall(r'<tr id="rule-([\w.\-]+)" data-rule', page.text)
    assert codes[:3] == ["uv_drop", "conversion_low", "source_concentration"]
    assert "访客数下降超过15%" in page.text and "较上周同日下降超过 15%" in page.text
    assert "低于 2.5%" in page.text and "22:00–08:00" in page.text
    # the HTMX toggle answers the row alone, turned off
    r = client.post("/alerts/rules/conversion_low/enabled", data={"enabled": "0"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.text.lstrip().startswith('<tr id="rule-conversion_low"')
    assert 'data-enabled="0"' in r.text and "已关闭" in r.text and "<html" not in r.text
    assert rule_row(db_url, "conversion_low").enabled is False
    r = client.post("/alerts/rules/conversion_low/enabled", data={"enabled": "1"},
                    follow_redirects=False)
    assert r.status_code == 303 and rule_row(db_url, "conversion_low").enabled is True
    assert client.post("/alerts/rules/conversion_low/enabled",
                       data={"enabled": "maybe"}).status_code == 422
    assert client.post("/alerts/rules/nope/enabled", data={"enabled": "1"}).status_code == 404
    # edit: the form shows the rule's values, rates as percentages
    page = client.get("/alerts/rules/conversion_low")
    assert page.status_code == 200 and 'name="threshold" value="2.5%"' in page.text
    good = {"threshold": "3%", "periods": "2", "severity": "critical", "quiet_start": "23:00",
            "quiet_end": "07:30", "cooldown_hours": "12"}
    before = rule_row(db_url, "conversion_low").version
    r = client.post("/alerts/rules/conversion_low", data=good, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("saved=1")
    row = rule_row(db_url, "conversion_low")
    assert row.version == before + 1 and row.updated_by == "user:operator"
    page = client.get(r.headers["location"])
    assert "规则已保存" in page.text and "低于 3%，连续 2 期" in page.text
    assert "23:00–07:30" in page.text and "12 小时" in page.text
    # refusals: the field at fault marked, its reason beside it, nothing saved
    for field, value, fragment in (("threshold", "abc", "rule-threshold-error"),
                                   ("periods", "0", "rule-periods-error"),
                                   ("severity", "loud", "rule-severity-error"),
                                   ("quiet_start", "25:00", "rule-quiet_start-error"),
                                   ("cooldown_hours", "-1", "rule-cooldown_hours-error")):
        r = client.post("/alerts/rules/conversion_low", data={**good, field: value})
        assert r.status_code == 422 and f'id="{fragment}"' in r.text, (field, r.text[-2000:])
        assert f'value="{value}"' in r.text or f'"{value}"' in r.text or value == "loud"
    r = client.post("/alerts/rules/conversion_low", data={**good, "quiet_end": "23:00"})
    assert r.status_code == 422 and 'id="rule-quiet_start-error"' in r.text
    assert rule_row(db_url, "conversion_low").version == before + 1
    en = client.get("/alerts/rules?lang=en")
    client.cookies.delete("lang")
    assert "Traffic down more than 15%" in en.text and "Below 3%, 2 periods running" in en.text
    assert client.get("/alerts/rules/nope").status_code == 404
    # the rule file: exported, imported back unchanged, an edit replaces one rule, a bad one
    # is refused naming the file, the rule and the field, and writes nothing
    exported = client.get("/alerts/rules.yaml")
    assert exported.status_code == 200 and "alert_rules.yaml" in \
        exported.headers["content-disposition"]
    assert "code: conversion_low" in exported.text

    def upload(text: str, name: str = "rules.yaml") -> Any:
        return client.post("/alerts/rules", files={"file": (name, text.encode(),
                                                           "application/yaml")})

    n = exported.text.count("- code:")
    r = upload(exported.text)
    assert r.status_code == 200 and f"新增 0，修改 0，未变 {n}" in r.text
    edited = exported.text.replace("threshold: '0.15'", "threshold: '0.2'", 1)
    assert edited != exported.text
    r = upload(edited)
    assert r.status_code == 200 and f"新增 0，修改 1，未变 {n - 1}" in r.text
    bad = edited.replace("threshold: '0.2'", "threshold: lots", 1)
    r = upload(bad, "我的规则.yaml")
    error = re.search(r'data-error="import">([^<]+)<', r.text).group(1)
    assert r.status_code == 422 and "我的规则.yaml" in error and "uv_drop" in error
    assert "condition.threshold" in error
    assert upload("x.yaml", "path.yaml").status_code == 422  # text, never a path
    assert client.post("/alerts/rules", data={"x": "1"}).status_code == 422
    assert "threshold: '0.2'" in client.get("/alerts/rules.yaml").text
    # a stored rule that no longer reads (written around the checks) is shown marked, and the
    # rest of the page works
    with unit_of_work(db_url) as s:
        s.execute(update(AlertRule).where(AlertRule.code == "roas_low")
                  .values(spec_json='{"code": "roas_low", "metric": "nope"}'))
    page = client.get("/alerts/rules")
    assert page.status_code == 200 and 'data-rule="roas_low"' in page.text
    assert "roas_low" in re.search(r'<tr id="rule-roas_low".*?</tr>', page.text, re.S).group(0)
    assert 'class="field-error"' in page.text
    assert client.get("/alerts/rules/roas_low").status_code == 200
    r = client.get("/alerts/rules.yaml")
    assert r.status_code == 422 and "roas_low" in r.text


@pytest.fixture
def fake_backtest(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """service.backtest replaced: records its calls, fires on two days."""
    calls: list[Any] = []

    class Firing:
        def __init__(self, day: date, key: str, label: str, value: str, base: str) -> None:
            self.day, self.scope_key, self.scope_label = day, key, label
            self.value, self.baseline = value, base

    def backtest(db_url: str, store_id: int, spec: Any, first: date, last: date) -> list[Any]:
        calls.append((spec.code, first, last))
        return [Firing(date(2026, 10, 3), "store", "全店", "0.021", "0.025"),
                Firing(date(2026, 10, 9), "store", "全店", "0.019", "0.025")]

    monkeypatch.setattr(service, "backtest", backtest)
    return calls


def test_analyst_sees_and_tests_rules_but_cannot_change_them(
        client: Any, seeded: tuple[str, int], fake_backtest: list[Any]) -> None:
    db_url, _ = seeded
    login(client, "analyst")
    page = client.get("/alerts/rules")
    assert page.status_code == 200 and "hx-post" not in page.text
    assert 'data-form="rule"' not in client.get("/alerts/rules/uv_drop").text
    assert client.post("/alerts/rules/uv_drop/enabled", data={"enabled": "0"}
                       ).status_code == 403
    assert client.post("/alerts/rules/uv_drop", data={"threshold": "1%"}).status_code == 403
    assert rule_row(db_url, "uv_drop").enabled is True
    assert client.get("/alerts/rules.yaml").status_code == 200
    assert 'data-action="import"' not in page.text
    assert client.post("/alerts/rules", files={"file": ("r.yaml", b"rules: []\n")}
                       ).status_code == 403
    from storeops.common.timeutil import local_date, utcnow

    today = local_date(utcnow(), "Asia/Shanghai").isoformat()
    page = client.get("/alerts/rules/conversion_low?test=1&test_from=2026-10-01"
                      "&test_to=2026-10-31")
    assert page.status_code == 200
    assert fake_backtest == [("conversion_low", date(2026, 10, 1), date(2026, 10, 31))]
    assert "2026-10-01 至 2026-10-31 期间，这条规则会在 2 天触发" in page.text
    assert re.findall(r'data-fired="([\d-]+)"', page.text) == ["2026-10-03", "2026-10-09"]
    assert ">2.10%<" in page.text and 'data-chart="backtest"' in page.text
    for query, message in (("test_from=2025-01-01&test_to=2026-10-31", "日期范围最长 366 天"),
                           ("test_from=2026-10-31&test_to=2026-10-01", "开始日期晚于结束日期"),
                           ("test_from=2026-02-30", "test-test_from-error"),
                           (f"test_from={today}&test_to={today}", "测试只能用已结束的日期")):
        r = client.get(f"/alerts/rules/conversion_low?test=1&{query}")
        assert r.status_code == 422 and message in r.text, query
    assert len(fake_backtest) == 1  # a refused range runs nothing


def test_rule_against_past_data_with_the_check_service(client: Any,
                                                       seeded: tuple[str, int]) -> None:
    """The real backtest over the seeded store: its conversion (a few buyers among ~800
    visitors a day) is below 2.5% every day it has traffic."""
    login(client, "operator")
    page = client.get("/alerts/rules/conversion_low?test=1&test_from=2026-10-25"
                      "&test_to=2026-10-31")
    assert page.status_code == 200, page.text[-1500:]
    fired = re.findall(r'data-fired="([\d-]+)"', page.text)
    assert fired == [f"2026-10-{d}" for d in range(25, 32)]
    assert "这条规则会在 7 天触发" in page.text and "全店" in page.text
    quiet = client.get("/alerts/rules/conversion_low?test=1&test_from=2026-11-10"
                       "&test_to=2026-11-20")  # no data after 10-31: nothing to fire on
    assert quiet.status_code == 200 and "一次也不会触发" in quiet.text
