"""The alerts pages (/alerts, /alerts/{id}) and the overview's open-alerts card: rows in 商智
formats (critical red, ¥/万, %), the filters and their refusals (422, the field marked, no
crash), the lifecycle through the forms (acknowledge, assign, note, resolve, reopen; an illegal
move beside its form), an analyst who sees but cannot act (403)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from web_seed import fast_hashing, login  # noqa: F401

from storeops.alerts import lifecycle
from storeops.alerts.models import Alert, AlertEvent
from storeops.db.engine import unit_of_work

pytestmark = pytest.mark.usefixtures("fast_hashing")

RAISED = datetime(2026, 10, 31, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def make_alert(db_url: str, store_id: int, **kw: Any) -> int:
    """An Alert row as the check service would write it, with its "raised" event."""
    detail = kw.pop("detail", {})
    fields = dict(rule_code="traffic_drop", metric="uv", scope_key="store", scope_label="全店",
                  severity="warning", status="open", value="100", baseline="120",
                  period_key="2026-10-30", raised_at=RAISED, last_seen_at=RAISED, since=RAISED)
    fields.update(kw)
    with unit_of_work(db_url) as s:
        alert = Alert(store_id=store_id, detail_json=json.dumps(detail, ensure_ascii=False),
                      **fields)
        s.add(alert)
        s.flush()
        lifecycle.record_event(s, alert, "raised", "system", at=fields["raised_at"])
        return alert.id


@pytest.fixture
def shop(seeded: tuple[str, int]) -> dict[str, int]:
    db_url, sid = seeded
    return {
        "gmv": make_alert(db_url, sid, rule_code="gmv_anomaly", metric="gmv", severity="critical",
                          value="123456.78", baseline="150000.00",
                          detail={"rule_name": "成交金额异常", "unit": "money",
                                  "change": "-0.1769",
                                  "series": [["10-28", "150000"], ["10-29", "149000"],
                                             ["10-30", "123456.78"]]}),
        "cvr": make_alert(db_url, sid, rule_code="low_conversion", metric="conversion_rate",
                          scope_key="sku:1001", scope_label="1001 无线蓝牙耳机",
                          status="acknowledged", value="0.021", baseline="0.025",
                          raised_at=RAISED - timedelta(days=3),
                          last_seen_at=RAISED - timedelta(days=3),
                          detail={"rule_name": "转化率低于 2.5%", "unit": "rate"}),
        "src": make_alert(db_url, sid, rule_code="source_share", metric="source_share",
                          scope_key="source:search", scope_label="搜索", severity="info",
                          status="resolved", value="0.65", baseline="0.60",
                          raised_at=RAISED - timedelta(days=40),
                          last_seen_at=RAISED - timedelta(days=40),
                          detail={"rule_name": "单一来源占比过高", "unit": "rate"}),
    }


def rows(html: str) -> list[tuple[str, str, str]]:
    """(alert id, severity, status) of the list's rows, in order."""
    return re.findall(r'<tr data-alert="(\d+)" data-severity="(\w+)" data-status="(\w+)"', html)


def test_list_rows_filters_and_refusals(client: Any, shop: dict[str, int]) -> None:
    login(client, "analyst")
    page = client.get("/alerts")
    assert page.status_code == 200
    # unresolved by default, newest first; critical in red, money in 万 with the exact title
    assert rows(page.text) == [(str(shop["gmv"]), "critical", "open"),
                               (str(shop["cvr"]), "warning", "acknowledged")]
    assert 'class="sev sev-critical">严重<' in page.text
    assert 'title="¥123,456.78">¥12.35万<' in page.text and "¥15.00万" in page.text
    assert "▼ 17.7%" in page.text and '"num fall"' in page.text
    assert ">2.10%<" in page.text and ">2.50%<" in page.text
    assert "成交金额异常" in page.text and "1001 无线蓝牙耳机" in page.text
    for nav in ("/alerts/rules", "/alerts/channels", "/alerts/inbox"):
        assert nav in page.text
    assert len(rows(client.get("/alerts?status=all").text)) == 3
    assert rows(client.get("/alerts?status=resolved").text)[0][0] == str(shop["src"])
    assert [r[0] for r in rows(client.get("/alerts?severity=critical").text)] == [
        str(shop["gmv"])]
    assert [r[0] for r in rows(client.get("/alerts?status=all&q=蓝牙").text)] == [
        str(shop["cvr"])]
    assert [r[0] for r in rows(client.get("/alerts?status=all&q=sku:10").text)] == [
        str(shop["cvr"])]
    assert rows(client.get("/alerts?status=all&q=100%25").text) == []  # % taken literally
    assert [r[0] for r in rows(client.get("/alerts?status=all&rule=source_share").text)] == [
        str(shop["src"])]
    # dates are store-local days of the time raised
    dated = client.get("/alerts?status=all&from=2026-10-28&to=2026-10-28")
    assert [r[0] for r in rows(dated.text)] == [str(shop["cvr"])]
    # refusals: 422, the field marked with its reason, the other filters still applied
    bad = client.get("/alerts?status=bogus&severity=critical")
    assert bad.status_code == 422 and 'af-status-error' in bad.text
    assert "无效的选项：bogus" in bad.text
    assert [r[0] for r in rows(bad.text)] == [str(shop["gmv"])]
    bad = client.get("/alerts?from=2026-13-01")
    assert bad.status_code == 422 and 'id="af-from-error"' in bad.text
    assert 'value="2026-13-01"' in bad.text and len(rows(bad.text)) == 2
    long = client.get("/alerts?from=2025-01-01&to=2026-10-31")
    assert long.status_code == 422 and "日期范围最长 366 天" in long.text
    backwards = client.get("/alerts?from=2026-10-31&to=2026-10-01")
    assert backwards.status_code == 422 and "开始日期晚于结束日期" in backwards.text
    assert client.get("/alerts?rule=nope").status_code == 422
    for page_no in ("abc", "0", "201", "-1"):
        r = client.get(f"/alerts?page={page_no}")
        assert r.status_code == 422 and "页码应为 1 到 200 的整数" in r.text, page_no
    assert client.get("/alerts?q=" + "x" * 101).status_code == 422
    en = client.get("/alerts?lang=en&status=all")
    client.cookies.delete("lang")
    assert "Critical" in en.text and "3 alerts" in en.text and "¥12.35万" not in en.text


def test_lifecycle_through_the_pages(client: Any, seeded: tuple[str, int],
                                     shop: dict[str, int]) -> None:
    db_url, _ = seeded
    aid = shop["gmv"]
    login(client, "operator")
    page = client.get(f"/alerts/{aid}")
    assert page.status_code == 200
    assert "【严重】成交金额异常：全店" in page.text and "¥12.35万" in page.text
    assert 'data-chart="series"' in page.text  # the series the detail carries
    assert 'data-action="acknowledge"' in page.text and 'data-action="reopen"' not in page.text

    def post(action: str, **data: str) -> Any:
        return client.post(f"/alerts/{aid}/{action}", data=data, follow_redirects=False)

    r = post("acknowledge", note="看一下")
    assert r.status_code == 303 and r.headers["location"] == f"/alerts/{aid}?done=acknowledge"
    # acknowledging twice is an illegal move, said beside the form; nothing changes
    r = post("acknowledge")
    assert r.status_code == 422 and "状态为「acknowledged」的预警不能执行「acknowledge」" in r.text
    assert 'id="act-acknowledge-error"' in r.text
    assert post("assign", assignee="小王").status_code == 303
    r = post("note", note="   ")
    assert r.status_code == 422 and "备注不能为空" in r.text and 'id="act-note-error"' in r.text
    assert post("note", note="流量下降，检查推广计划").status_code == 303
    r = post("note", note="x" * 1001)
    assert r.status_code == 422 and "最多 1000 个字符" in r.text
    assert post("resolve", note="已恢复").status_code == 303
    assert post("reopen").status_code == 303
    with unit_of_work(db_url) as s:
        lifecycle.record_event(s, s.get(Alert, aid), "escalated", None,
                               data={"from": "warning", "to": "critical"})
    page = client.get(f"/alerts/{aid}?done=reopen")
    assert 'data-done="reopen"' in page.text and "已重新打开" in page.text
    events = re.findall(r'<li data-event="(\w+)">', page.text)
    assert events == ["raised", "acknowledged", "assigned", "noted", "resolved", "reopened",
                      "escalated"]
    assert "级别升高</strong> · 系统 · 警告 → 严重" in page.text
    assert "负责人：小王" in page.text and "流量下降，检查推广计划" in page.text
    with unit_of_work(db_url) as s:
        alert = s.get(Alert, aid)
        assert (alert.status, alert.assignee) == ("open", "小王")
        actors = s.scalars(select(AlertEvent.actor).where(AlertEvent.alert_id == aid)
                           .order_by(AlertEvent.id)).all()
        assert actors == ["system"] + ["user:operator"] * 5 + ["system"]
    assert client.post("/alerts/999999/acknowledge", data={}).status_code == 404
    assert client.post(f"/alerts/{aid}/delete", data={}).status_code == 404  # no such action
    assert client.get("/alerts/999999").status_code == 404
    assert client.get("/alerts/99999999999999999999").status_code == 404
    assert client.post("/alerts/99999999999999999999/note", data={"note": "x"}
                       ).status_code == 404


def test_analyst_sees_but_cannot_act(client: Any, seeded: tuple[str, int],
                                     shop: dict[str, int]) -> None:
    db_url, _ = seeded
    aid = shop["cvr"]
    login(client, "analyst")
    page = client.get(f"/alerts/{aid}")
    assert page.status_code == 200 and 'data-action=' not in page.text
    assert "转化率低于 2.5%" in page.text
    assert 'href="/sku/1001?store=%E6%97%97%E8%88%B0%E5%BA%97" data-link="sku"' in page.text
    for action in ("acknowledge", "assign", "note", "resolve", "reopen"):
        r = client.post(f"/alerts/{aid}/{action}", data={"note": "x", "assignee": "me"},
                        follow_redirects=False)
        assert r.status_code == 403, action
    with unit_of_work(db_url) as s:
        assert s.get(Alert, aid).status == "acknowledged"


def test_overview_card(client: Any, shop: dict[str, int]) -> None:
    login(client, "analyst")
    page = client.get("/?from=2026-10-01&to=2026-10-31")
    assert page.status_code == 200
    card = page.text[page.text.index('id="alerts-card"'):]
    card = card[:card.index("</section>")]
    assert 'data-open="2"' in card
    assert 'data-count="critical">严重 1<' in card and 'data-count="warning">警告 1<' in card
    assert f'href="/alerts/{shop["gmv"]}"' in card and f'/alerts/{shop["src"]}"' not in card
    assert "未解决预警" in card


def test_page_words_exist_in_both_languages() -> None:
    from storeops.web.i18n import catalog

    zh = {k for k in catalog("zh-CN") if k.startswith("alert_pages.")}
    en = {k for k in catalog("en") if k.startswith("alert_pages.")}
    assert zh == en and len(zh) > 100
