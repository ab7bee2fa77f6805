"""The SKU table's 浏览量, 价格, 库存状态 and 较上期 columns, on the page, the overview's top
SKUs and the CSV; stock from the products import and the demo simulator."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from web_seed import fast_hashing, login  # noqa: F401

from storeops.catalog.models import Product
from storeops.catalog.stock import IN_STOCK, LOW, OUT, UNKNOWN, stock_status
from storeops.db.engine import session_factory, unit_of_work
from storeops.metrics import service

# Logins check passwords with cheap Argon2 parameters: hashing is not what is tested here.
pytestmark = pytest.mark.usefixtures("fast_hashing")

PERIOD = "store=旗舰店&from=2026-10-02&to=2026-10-31"
DAYS = 30
ROW = re.compile(r'<tr><td><a class="sku-link" href="([^"]+)"[^>]*>([^<]+)</a></td>(.*?)</tr>',
                 re.S)


def _set_stock(db_url: str, store_id: int, stock: dict[str, int | None]) -> None:
    with unit_of_work(db_url) as s:
        for sku, units in stock.items():
            s.execute(update(Product).where(Product.store_id == store_id,
                                            Product.platform_sku_id == sku).values(stock=units))


def _rows(page: str) -> dict[str, tuple[str, list[str]]]:
    """SKU id → (link, the texts of its other cells), as the reader sees them."""
    out = {}
    for href, sku, rest in ROW.findall(page):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", rest, re.S)]
        out[html.unescape(sku)] = (html.unescape(href), cells)
    return out


def _headers(page: str) -> list[str]:
    thead = page[page.index("<thead>"):page.index("</thead>")]
    return [re.sub(r"\s*[▲▼]$", "", html.unescape(re.sub(r"<[^>]+>", "", h)).strip())
            for h in re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)]


def test_stock_status_rule() -> None:
    # A week of the period's average daily sales is the low line; 10 units without sales.
    assert stock_status(None, 30, DAYS) == UNKNOWN
    assert stock_status(0, 30, DAYS) == OUT
    assert stock_status(6, 30, DAYS) == LOW  # 1 a day: under 7 days left
    assert stock_status(7, 30, DAYS) == IN_STOCK
    assert stock_status(9, 0, DAYS) == LOW and stock_status(10, None, DAYS) == IN_STOCK


def test_sku_table_shows_page_views_price_stock_status_and_change(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    db, sid = seeded
    # 1001 sold 28 units in the 30 days: under 7 days of cover below 6.53 units.
    _set_stock(db, sid, {"1001": 6, "1002": 0, "2001": 500, "2002": None, "3001": 3})
    login(client, "analyst")
    page = client.get(f"/skus?{PERIOD}").text
    headers = _headers(page)
    for name in ("浏览量", "价格", "库存状态", "较上期"):
        assert name in headers, headers
    rows = _rows(page)
    assert set(rows) == {"1001", "1002", "2001", "2002", "3001"}
    at = {name: headers.index(name) - 1 for name in headers[1:]}  # cells after the SKU id
    current = {r["platform_sku_id"]: r for r in service.kpi_by(
        db, sid, date(2026, 10, 2), date(2026, 10, 31), dimension="sku")}
    previous = {r["platform_sku_id"]: r for r in service.kpi_by(
        db, sid, date(2026, 9, 2), date(2026, 10, 1), dimension="sku")}
    assert rows["1001"][1][at["价格"]] == "¥199.00"
    assert rows["1001"][1][at["浏览量"]] == f"{current['1001']['pv']:,}" == "18,000"
    assert {sku: cells[at["库存状态"]] for sku, (_, cells) in rows.items()} == {
        "1001": "库存紧张", "1002": "缺货", "2001": "有货", "2002": "未知",
        "3001": "库存紧张"}  # no sales: under 10 units is low
    # GMV against the 30 days before, with the arrow, red up and green down.
    for sku in ("1001", "2002"):
        change = current[sku]["gmv"] / previous[sku]["gmv"] - 1
        arrow = "▲" if change > 0 else "▼"
        assert rows[sku][1][at["较上期"]] == f"{arrow} {abs(change) * 100:.1f}%"
    assert rows["2002"][1][at["较上期"]].startswith("▲")
    assert re.search(r'<span class="rise"[^>]*>▲ ', page)
    assert re.search(r'<span class="fall"[^>]*>▼ ', page)
    assert rows["3001"][1][at["较上期"]] == "—"  # sold in neither period: nothing to compare


def test_new_columns_sort_and_filters_keep_working(client: TestClient,
                                                  seeded: tuple[str, int]) -> None:
    db, sid = seeded
    _set_stock(db, sid, {"1001": 6, "1002": 0, "2001": 500, "2002": None, "3001": 100})
    login(client, "analyst")

    def order(query: str) -> list[str]:
        part = client.get(f"/skus?{PERIOD}&{query}", headers={"HX-Request": "true"}).text
        return list(_rows(part))

    # Out of stock first, then low, in stock; unknown last in either direction.
    assert order("sort=stock_status") == ["1002", "1001", "2001", "3001", "2002"]
    assert order("sort=stock_status&order=desc")[-1] == "2002"
    assert order("sort=list_price&order=desc") == ["2002", "1001", "1002", "2001", "3001"]
    assert order("sort=pv&order=desc")[-1] == "3001"  # no traffic: last
    by_change = order("sort=gmv_change&order=desc")
    assert by_change[0] == "2002" and by_change[-1] == "3001"
    assert order("sort=stock_status&category=数码") == ["1002", "1001", "3001"]
    assert order("sort=list_price&q=耳机") == ["1001"]
    page = client.get(f"/skus?{PERIOD}").text
    assert "sort=stock_status&amp;order=asc" in page  # a first click: the urgent ones first


def test_previous_period_is_one_query_for_every_sku(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[date, date, tuple[str, ...]]] = []
    real = service.kpi_by

    def counting(db_url, store_id, first, last, **kw):
        calls.append((first, last, tuple(kw.get("metrics") or ())))
        return real(db_url, store_id, first, last, **kw)

    monkeypatch.setattr(service, "kpi_by", counting)
    login(client, "analyst")
    assert client.get(f"/skus?{PERIOD}").status_code == 200
    assert [(c[0], c[1]) for c in calls] == [
        (date(2026, 10, 2), date(2026, 10, 31)), (date(2026, 9, 2), date(2026, 10, 1))]
    assert calls[1][2] == ("gmv",)


def test_sku_ids_link_to_the_sku_page_keeping_store_period_and_language(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    db, sid = seeded
    with unit_of_work(db) as s:
        s.add(Product(store_id=sid, platform_sku_id="A/B?c#d e", title="怪编号", status="on_sale"))
    login(client, "analyst")
    rows = _rows(client.get(f"/skus?{PERIOD}&lang=en").text)
    href = rows["1001"][0]
    assert href.startswith("/sku/1001?") and "from=2026-10-02" in href and "to=2026-10-31" in href
    assert "store=%E6%97%97%E8%88%B0%E5%BA%97" in href and "lang=en" in href
    odd = rows["A/B?c#d e"][0]
    assert odd.startswith("/sku/A%2FB%3Fc%23d%20e?")
    page = client.get(odd)
    assert page.status_code == 200 and "怪编号" in page.text
    # The overview's top SKUs link the same way and carry the same columns.
    top = client.get(f"/?{PERIOD}").text
    top_rows = _rows(top[top.index("<table class=\"data\">"):])
    assert top_rows["2002"][0].startswith("/sku/2002?") and "from=2026-10-02" in top_rows["2002"][0]
    assert {"Page views (PV)", "Price", "Stock status", "vs previous period"} <= set(
        _headers(top[top.index("<table class=\"data\">"):]))


def test_csv_export_carries_the_new_columns(client: TestClient, seeded: tuple[str, int]) -> None:
    db, sid = seeded
    _set_stock(db, sid, {"1001": 6})
    login(client, "analyst")
    r = client.get(f"/skus.csv?{PERIOD}&q=耳机")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    row = dict(zip(lines[0], lines[1], strict=True))
    assert (row["价格"], row["库存"], row["库存状态"], row["浏览量"]) == (
        "199.00", "6", "库存紧张", "18000")
    assert re.fullmatch(r"-\d+\.\d\d%", row["较上期"])  # a fall, as a percentage for Excel


def test_products_import_and_its_template_take_stock(client: TestClient,
                                                     seeded: tuple[str, int]) -> None:
    db, sid = seeded
    login(client, "operator")
    header = client.get("/import/templates/products.csv").content.decode("utf-8-sig")
    assert "库存" in header.strip().split(",")
    body = "商品ID,商品名称,库存\n1001,无线蓝牙耳机 降噪版,42\n9009,新品,\n".encode()
    done = client.post("/import", data={"kind": "products", "format": "jd", "store": "旗舰店"},
                       files={"file": ("products.csv", body, "text/csv")})
    assert done.status_code == 200, done.text
    with session_factory(db)() as s:
        stock = dict(s.execute(select(Product.platform_sku_id, Product.stock)
                               .where(Product.store_id == sid)).all())
    assert stock["1001"] == 42 and stock["9009"] is None
    bad = client.post("/import", data={"kind": "products", "format": "jd", "store": "旗舰店"},
                      files={"file": ("p.csv", "商品ID,库存\n1001,-3\n".encode(), "text/csv")})
    assert bad.status_code == 200 and "数值为负" in bad.text  # rejected, with its reason


def test_demo_store_has_stock_with_a_few_low_and_out() -> None:
    from storeops.sim.model import SimConfig, generate_store
    from storeops.sim.stock import stock_levels

    sim = generate_store(SimConfig(end=date(2026, 10, 31), days=40, skus=120, base_uv=3000))
    levels = stock_levels(sim)
    assert levels == stock_levels(sim)  # the same seed, the same stock
    units = [0] * len(sim.products)
    for order in sim.orders:
        if order.placed_at.date() >= date(2026, 10, 2):
            for line in order.lines:
                units[line.product_index] += line.quantity
    statuses = [stock_status(s, u, 30) for s, u in zip(levels, units, strict=True)]
    share = {k: statuses.count(k) / len(statuses) for k in (OUT, LOW, IN_STOCK)}
    assert 0 < share[OUT] < 0.25 and 0 < share[LOW] < 0.3 and share[IN_STOCK] > 0.5, share
    assert UNKNOWN not in statuses
