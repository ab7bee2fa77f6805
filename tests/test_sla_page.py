"""The SLA board (/sla) and the overview's on-time card: due-soon and overdue orders with
links to the order page, how late, the on-time rate by day against 98%, Chinese and English,
and who may see it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
from web_seed import PASSWORD, STORE, fast_hashing, login  # noqa: F401

from storeops.accounts.users import create_user
from storeops.common.timeutil import local_date
from storeops.db.engine import unit_of_work
from storeops.orders.models import Order
from storeops.web import sla_page

pytestmark = pytest.mark.usefixtures("fast_hashing")
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TZ = "Asia/Shanghai"
STORE_Q = quote_plus(STORE)


def add_order(s: Any, store_id: int, ref: str, *, paid: datetime, due: datetime | None,
              status: str = "wait_stock_out", stage: str = "allocated",
              shipped: datetime | None = None, ship_error: str | None = None) -> int:
    o = Order(store_id=store_id, platform_order_id=ref, status=status, placed_at=paid,
              placed_date=local_date(paid, TZ), paid_at=paid, due_at=due, stage=stage,
              shipped_at=shipped, goods_cents=1000, paid_cents=1000, content_hash=ref,
              ship_error=ship_error, channel="jd")
    s.add(o)
    s.flush()
    return o.id


@pytest.fixture
def sla_store(seeded: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    db_url, store_id = seeded
    monkeypatch.setattr(sla_page, "now", lambda: NOW)
    h = timedelta(hours=1)
    yesterday_due = datetime(2026, 11, 19, 4, 0, tzinfo=UTC)  # 12:00 yesterday, local
    with unit_of_work(db_url) as s:
        ids = {
            "soon": add_order(s, store_id, "SLA-SOON", paid=NOW - 21 * h, due=NOW + 3 * h),
            "late": add_order(s, store_id, "SLA-LATE", paid=NOW - 26 * h, due=NOW - 2 * h,
                              stage="received", ship_error="运单号不存在"),
            # imported from a file: no due time, paid 30 hours ago → 6 hours late
            "old": add_order(s, store_id, "SLA-NODUE", paid=NOW - 30 * h, due=None,
                             stage="received"),
            "later": add_order(s, store_id, "SLA-LATER", paid=NOW - 14 * h, due=NOW + 10 * h),
            "on_time": add_order(s, store_id, "SLA-OK", paid=yesterday_due - 24 * h,
                                 due=yesterday_due, status="shipped", stage="shipped",
                                 shipped=yesterday_due - 3 * h),
            "shipped_late": add_order(s, store_id, "SLA-SLOW", paid=yesterday_due - 24 * h,
                                      due=yesterday_due, status="shipped", stage="shipped",
                                      shipped=yesterday_due + 2 * h),
            "cancelled": add_order(s, store_id, "SLA-CXL", paid=NOW - 30 * h, due=NOW - 6 * h,
                                   status="cancelled", stage="cancelled"),
        }
        create_user(s, "robot", PASSWORD, "integration")
    return ids


def section(html: str, ident: str) -> str:
    found = re.search(rf'<section class="card" id="{ident}">(.*?)</section>', html, re.S)
    assert found, ident
    return found.group(1)


def test_board_lists_due_soon_and_overdue_with_links(client: Any,
                                                     sla_store: dict[str, int]) -> None:
    login(client, "operator")
    r = client.get("/sla")
    assert r.status_code == 200
    html = r.text
    assert "发货时效" in html and "店铺承诺付款后 24 小时内发货" in html
    soon, late = section(html, "due-soon"), section(html, "overdue")
    assert f'href="/orders/{sla_store["soon"]}"' in soon and "SLA-SOON" in soon
    assert "3 小时 00 分" in soon
    assert "SLA-LATER" not in html  # due in 10 hours
    assert "SLA-CXL" not in html  # cancelled: nothing owed
    assert f'href="/orders/{sla_store["late"]}"' in late
    assert "2 小时 00 分" in late and "运单号不存在" in late
    assert "SLA-NODUE" in late and "6 小时 00 分" in late
    assert late.index("SLA-NODUE") < late.index("SLA-LATE")  # the latest first
    assert "已超时未发货（2）" in html and "4 小时内到期（1）" in html


def test_on_time_rate_by_day_against_the_target(client: Any, sla_store: dict[str, int]) -> None:
    login(client, "analyst")
    html = client.get("/sla").text
    # yesterday: 1 of 2 shipped on time; today: one order late and not shipped
    rate_card = re.search(r'class="kpi card sla-rate">.*?<div class="value ([\w-]*)">([^<]+)<',
                          html, re.S)
    assert rate_card and rate_card.groups() == ("sla-bad", "33.33%")
    assert "目标 98.00%" in html and "按时 1 / 应发 3" in html
    days = section(html, "rate")
    row = re.search(r"<tr><td>2026-11-19</td>(.*?)</tr>", days, re.S)
    assert row and re.findall(r'<td class="num[^"]*">([^<]*)</td>', row.group(1)) == [
        "2", "2", "1", "0", "50.00%"]
    options = json.loads(re.search(r'<script type="application/json" id="chart-options">'
                                   r"(.*?)</script>", html, re.S).group(1))
    chart = options["sla"]
    assert len(chart["xAxis"]["data"]) == 30 and chart["xAxis"]["data"][-1] == "11-20"
    rates = [bar["value"] for bar in chart["series"][0]["data"]]
    assert rates[-2:] == [0.5, 0.0] and rates[0] is None
    assert chart["series"][1]["data"] == [0.98] * 30
    assert chart["storeops"]["yAxis"] == ["percent"]
    assert 'data-chart="sla"' in html and "<script>" not in html  # no inline script


def test_board_in_english(client: Any, sla_store: dict[str, int]) -> None:
    login(client, "owner")
    html = client.get("/sla?lang=en").text
    assert "Shipping SLA" in html and "Overdue, not shipped" in html
    assert "2 h 00 min" in html and "target 98.00%" in html


def test_board_needs_order_view(client: Any, sla_store: dict[str, int]) -> None:
    login(client, "robot")
    assert client.get("/sla").status_code == 403


def test_unknown_store_is_an_error_page(client: Any, sla_store: dict[str, int]) -> None:
    login(client, "owner")
    r = client.get("/sla?store=nope")
    assert r.status_code in (404, 422) and "nope" in r.text


def test_overview_card_links_to_the_board(client: Any, sla_store: dict[str, int]) -> None:
    login(client, "owner")
    html = client.get("/").text
    card = re.search(r'<article class="kpi card sla-card">(.*?)</article>', html, re.S)
    assert card, "no on-time card on the overview"
    text = card.group(1)
    assert "按时发货率（近30天）" in text and 'class="value sla-bad">33.33%<' in text
    assert "目标 98.00%" in text and "其中超时未发货 1 单" in text
    assert f'href="/sla?store={STORE_Q}"' in text
    english = client.get("/?lang=en").text
    assert "On-time shipping (last 30 days)" in english
    assert "1 of them past due, not shipped" in english
