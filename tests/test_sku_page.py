"""The SKU page: one SKU's identity, stock, cards against the previous period, trend, traffic
by source, funnel and refunds; an unknown SKU is a 404 page in the page's language."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from web_seed import SOURCES, fast_hashing, login  # noqa: F401

from storeops.aftersales.models import Refund
from storeops.catalog.models import Product
from storeops.db.engine import session_factory, unit_of_work
from storeops.metrics import service

# Logins check passwords with cheap Argon2 parameters: hashing is not what is tested here.
pytestmark = pytest.mark.usefixtures("fast_hashing")

PERIOD = "store=旗舰店&from=2026-10-02&to=2026-10-31"
FIRST, LAST = date(2026, 10, 2), date(2026, 10, 31)
PREV_FIRST, PREV_LAST = date(2026, 9, 2), date(2026, 10, 1)


def _charts(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="chart-options">(.*?)</script>',
                      page, re.S)
    assert found, "no chart options on the page"
    return json.loads(html.unescape(found.group(1)))


def _card(page: str, key: str) -> tuple[str, str, str]:
    """(value, change's css class, change text) of a card."""
    found = re.search(rf'data-metric="{key}">.*?<div class="value"[^>]*>([^<]*)</div>\s*'
                      r'<div class="change (\w+)">[^<]*<span>([^<]*)</span>', page, re.S)
    assert found, key
    return found.group(1), found.group(2), found.group(3)


def _product_id(db_url: str, store_id: int, sku: str) -> int:
    with session_factory(db_url)() as s:
        return s.execute(select(Product.id).where(Product.store_id == store_id,
                                                  Product.platform_sku_id == sku)).scalar_one()


def test_per_sku_figures_are_that_skus_share_of_the_store(seeded: tuple[str, int]) -> None:
    db, sid = seeded
    by_sku = {r["platform_sku_id"]: r for r in service.kpi_by(db, sid, FIRST, LAST,
                                                                dimension="sku")}
    total = {k: Decimal(0) for k in ("gmv", "uv", "refund_amount")}
    for sku in ("1001", "1002", "2001", "2002"):
        pid = _product_id(db, sid, sku)
        one = service.kpi_summary(db, sid, FIRST, LAST, product_id=pid)
        for key in ("gmv", "orders", "units", "uv", "pv", "refund_amount", "conversion_rate"):
            assert one[key] == by_sku[sku][key], (sku, key)
        series = service.kpi_series(db, sid, FIRST, LAST, by="day", product_id=pid)
        assert len(series) == 30 and sum(r["gmv"] for r in series) == one["gmv"]
        sources = service.traffic_by_source(db, sid, FIRST, LAST, product_id=pid)
        assert {s["source"]: s["uv"] for s in sources} == {k: v * 2 * 30
                                                           for k, v in SOURCES.items()}
        steps = service.funnel(db, sid, FIRST, LAST, product_id=pid)["steps"]
        assert steps[-1]["value"] == one["orders"] and steps[0]["value"] == one["exposure"]
        for key in total:
            total[key] += one[key]
    store = service.kpi_summary(db, sid, FIRST, LAST)
    # Goods only per SKU: the store's GMV adds the orders' freight (none in this store).
    assert total == {k: Decimal(store[k]) for k in total}
    assert service.kpi_summary(db, sid, FIRST, LAST, product_id=_product_id(db, sid, "3001"))[
        "gmv"] == 0


def test_sku_page_shows_the_skus_figures(client: TestClient, seeded: tuple[str, int]) -> None:
    db, sid = seeded
    pid = _product_id(db, sid, "1001")
    with unit_of_work(db) as s:
        s.execute(update(Product).where(Product.id == pid).values(stock=0, seller_code="EJ-01"))
        s.execute(update(Refund).where(Refund.product_id == pid).values(reason="尺码不合适"))
    login(client, "analyst")
    r = client.get(f"/sku/1001?{PERIOD}")
    assert r.status_code == 200
    page = r.text
    assert "<title>无线蓝牙耳机 降噪版" in page and '<dd class="sku-id">1001</dd>' in page
    assert "EJ-01" in page and "数码" in page and "¥199.00" in page
    assert re.search(r'data-stock="out"[^>]*>缺货</span>', page)
    assert 'class="period"' in page and 'action="/sku/1001"' in page  # the period form
    current = service.kpi_summary(db, sid, FIRST, LAST, product_id=pid)
    previous = service.kpi_summary(db, sid, PREV_FIRST, PREV_LAST, product_id=pid)
    assert current["gmv"] == Decimal("5572.00") and previous["gmv"] > current["gmv"]
    value, css, change = _card(page, "gmv")
    assert value == "¥5,572.00" and css == "fall"
    assert change == f"▼ {(1 - current['gmv'] / previous['gmv']) * 100:.1f}%"
    assert _card(page, "pv")[0] == "18,000" and _card(page, "uv")[0] == "6,000"
    assert _card(page, "units")[0] == "28" and _card(page, "add_to_cart_rate")[0] == "19.50%"
    for key in ("orders", "conversion_rate", "refund_amount"):
        _card(page, key)
    charts = _charts(page)
    trend = charts["trend"]
    assert [s["type"] for s in trend["series"]] == ["bar", "line"]
    assert trend["series"][1]["name"] == "访客数" and trend["storeops"]["yAxis"] == ["money",
                                                                                   "count"]
    assert len(trend["xAxis"]["data"]) == 30 and sum(trend["series"][0]["data"]) == 5572.0
    assert sum(trend["series"][1]["data"]) == 6000
    ring = charts["traffic"]["series"][0]
    assert ring["type"] == "pie"
    assert {d["name"]: d["value"] for d in ring["data"]} == {
        "搜索": 3180, "活动": 1320, "推荐": 900, "类目/导航": 600}
    # This SKU's funnel: 20 orders placed from 1,170 cart users is its weakest step.
    assert re.search(r'<li class="weakest" data-step="order">', page)
    assert "最薄弱环节：下单" in page
    # Refunds of the period: amount, count, rate (refunds / GMV) and the latest ones.
    assert 'data-refund="amount">¥398.00<' in page and 'data-refund="count">2<' in page
    assert f'data-refund="rate">{398 / 5572 * 100:.2f}%<' in page
    latest = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td><td>(O\d+)</td><td class=\"num\">"
                        r"([^<]+)</td><td>([^<]*)</td></tr>", page)
    assert latest == [("2026-10-27", "O00011", "¥199.00", "尺码不合适"),
                      ("2026-10-23", "O00022", "¥199.00", "尺码不合适")]


def test_sku_page_in_english_and_a_sku_without_sales(client: TestClient) -> None:
    login(client, "analyst")
    page = client.get(f"/sku/3001?{PERIOD}&lang=en").text
    assert '<html lang="en">' in page and "SKU details" in page
    assert "No refund of this SKU in the period." in page
    assert "No traffic data for this SKU in the period." in page
    assert re.search(r'data-stock="unknown"[^>]*>Unknown</span>', page)
    assert _card(page, "gmv")[0] == "¥0.00" and _card(page, "uv")[0] == "—"
    assert "Funnel" in page and "Traffic by source" in page


def test_unknown_sku_is_a_404_page_with_the_nav(client: TestClient) -> None:
    login(client, "analyst")
    r = client.get(f"/sku/no-such-sku?{PERIOD}")
    assert r.status_code == 404
    assert "没有编号为“no-such-sku”的商品。" in r.text
    assert 'class="nav' in r.text or "<nav" in r.text
    assert "logout" in r.text  # the nav's logout form, as on every page
    english = client.get(f"/sku/no%2Fsuch?{PERIOD}&lang=en")
    assert english.status_code == 404 and "No SKU with the id “no/such”." in english.text


def test_sku_page_needs_a_login(client: TestClient) -> None:
    r = client.get(f"/sku/1001?{PERIOD}", follow_redirects=False)
    assert r.status_code in (303, 307) and "/login" in r.headers["location"]
