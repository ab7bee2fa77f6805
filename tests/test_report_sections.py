"""The report's sections from the other areas: the period's promotions with their results
(storeops.pricing), stock below its safety line or out (the stock ledger), shipping on time
(storeops.orders.sla), refunds by reason, and what moved GMV."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from promo_results_seed import seed_promo, sh
from sqlalchemy import select

from storeops.aftersales.models import Refund
from storeops.catalog.models import Product
from storeops.catalog.stores import bump_data_version
from storeops.db.engine import unit_of_work
from storeops.inventory.models import StockLevel, Warehouse
from storeops.orders.models import Order
from storeops.reports.data import gather
from storeops.reports.service import build_report

WEEK = "2026-W46"  # Monday 9 to Sunday 15 November 2026: the 双11 promotion


@pytest.fixture
def store(sqlite_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    seed = seed_promo(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as s:
        ids = dict(s.execute(select(Product.platform_sku_id, Product.id)
                             .where(Product.store_id == seed.store_id)).all())
        wh = Warehouse(store_id=seed.store_id, code="default", name="默认仓", is_default=True)
        s.add(wh)
        s.flush()
        for sku, on_hand, reserved, safety in (("A", 0, 0, 5), ("B", 12, 9, 5), ("C", 50, 0, 5)):
            s.add(StockLevel(store_id=seed.store_id, warehouse_id=wh.id, product_id=ids[sku],
                             on_hand=on_hand, reserved=reserved, safety_buffer=safety))
        orders = {o.platform_order_id: o for o in s.scalars(
            select(Order).where(Order.store_id == seed.store_id))}
        for ref, late in (("D1", False), ("D2", True)):
            o = orders[ref]
            o.due_at = o.paid_at + timedelta(hours=24)
            o.shipped_at = o.due_at + (timedelta(hours=4) if late else -timedelta(hours=2))
        for n, (ref, cents, reason) in enumerate((("D1", 3000, "质量问题"),
                                                  ("D2", 4500, "七天无理由退货"),
                                                  ("D3", 1500, "质量问题"))):
            o = orders[ref]
            s.add(Refund(store_id=seed.store_id, platform_refund_id=f"R{n}", line_no=1,
                         order_id=o.id, platform_order_id=ref, product_id=None,
                         amount_cents=cents, refunded_at=sh(11, 13, 10),
                         refund_date=date(2026, 11, 13), reason=reason))
        bump_data_version(s, seed.store_id)
    return sqlite_db_url, seed.store_id


def test_promotions_stock_shipping_and_refunds(store: tuple[str, int], tmp_path: Path) -> None:
    url, store_id = store
    moment = datetime(2026, 11, 16, 1, 0, tzinfo=sh(11, 16, 9).tzinfo)
    data = gather(url, store_id, "weekly", WEEK, now=moment)
    promos = {p["code"]: p for p in data.promotions}
    assert set(promos) == {"P1111", "LIVE"}
    ended = promos["P1111"]
    assert ended["gmv"] == Decimal("375.00") and ended["incremental_gmv"] == Decimal("262.50")
    assert round(ended["roi"], 4) == Decimal("1.4760")
    assert data.stock["source"] == "ledger"
    assert [(r["sku"], r["status"], r["available"]) for r in data.stock["rows"]] == [
        ("A", "out", 0), ("B", "below_safety", 3)]
    ship = data.shipping
    assert (ship["due"], ship["on_time"], ship["rate"]) == (2, 1, Decimal("0.5000"))
    refunds = data.refunds
    assert refunds["amount"] == Decimal("90.00") == data.summary["refund_amount"]
    assert [(r["reason"], r["count"], r["amount"]) for r in refunds["reasons"]] == [
        ("七天无理由退货", 1, Decimal("45.00")), ("质量问题", 2, Decimal("45.00"))]
    # What moved GMV: the week before had the two baseline orders of 4 November.
    skus = {m["key"]: m for m in data.movers if m["dimension"] == "sku"}
    assert skus["A"]["delta"] == data.top_skus[0]["gmv"] - data.top_skus[0]["previous_gmv"]
    total = sum(m["delta"] for m in data.movers if m["dimension"] == "category")
    assert total == data.summary["goods_gmv"] - data.previous["goods_gmv"]

    build_report(url, store_id, "weekly", WEEK, "en", tmp_path / "w.xlsx", pdf=False,
                 now=moment)
    wb = openpyxl.load_workbook(tmp_path / "w.xlsx")
    promo_rows = list(wb["Promotions"].iter_rows(min_row=4, values_only=True))
    assert {r[0] for r in promo_rows} == {"P1111", "LIVE"}
    p1111 = next(r for r in promo_rows if r[0] == "P1111")
    assert p1111[6] == 375 and p1111[7] == 262.5 and p1111[4] == datetime(2026, 11, 11, 10)
    assert wb["Promotions"]["E4"].number_format == "yyyy-mm-dd hh:mm"
    stock = list(wb["Stock"].iter_rows(min_row=4, values_only=True))
    assert stock == [("A", "蓝牙耳机", 0, 5, "Out of stock"),
                     ("B", "保温杯", 3, 5, "Below safety stock")]
    shipping = wb["Shipping on time"]
    assert "On-time shipping 50.00% (target 98%)" in shipping["A2"].value
    day = next(r for r in shipping.iter_rows(min_row=4, values_only=True)
               if r[0] == datetime(2026, 11, 12))
    assert day[1:] == (2, 2, 1, 0, 0.5)
    reasons = list(wb["Refunds"].iter_rows(min_row=8, values_only=True))
    assert reasons[:2] == [("七天无理由退货", 1, 45, 0.5), ("质量问题", 2, 45, 0.5)]


def test_a_failing_area_leaves_its_section_out(store: tuple[str, int], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    from storeops.reports import data as report_data

    def broken(*args: object) -> None:
        raise RuntimeError("stock ledger unreadable")

    monkeypatch.setattr(report_data, "_stock", broken)
    url, store_id = store
    build_report(url, store_id, "weekly", WEEK, "zh-CN", tmp_path / "w.xlsx", pdf=False)
    wb = openpyxl.load_workbook(tmp_path / "w.xlsx")
    assert wb["库存"]["A3"].value == "本期无数据。"
    assert wb["促销"]["A4"].value == "P1111" or wb["促销"]["A4"].value == "LIVE"
    assert "report section stock could not be read" in caplog.text
