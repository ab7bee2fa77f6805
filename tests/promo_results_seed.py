"""A store with an ended promotion and orders before and during it, for the promotion results
tests (database, CLI, page, browser). The numbers mirror the worked example of
tests/test_promo_results.py, whose comments compute them by hand:

promotion P1111 (direct 20% off A and B), Wednesday 2026-11-11 10:00–12:00 Shanghai, ended:
during GMV 375.00, units 6, orders 4, buyers 3, AOV 93.75, discount cost 75.00, margin 172.20;
baseline GMV 112.50, margin 61.50; incremental GMV 262.50, incremental margin 110.70,
ROI 1.4760. A: GMV 240, ROI 0.8833; B: GMV 135, ROI 3.8467.
Commissions: 数码 (A) 5% from category_commissions, 家居 (B, C) the store's 8%.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storeops.catalog.models import Product, Store
from storeops.catalog.stores import bump_data_version
from storeops.common.timeutil import zone
from storeops.db.engine import unit_of_work
from storeops.members.models import Customer
from storeops.orders.models import Order, OrderLine
from storeops.pricing.models import CategoryCommission, PromotionRecord

PROMO_STORE = "促销店"
SH = zone("Asia/Shanghai")
PRODUCTS = [  # sku, title, category, list price cents, cost cents
    ("A", "蓝牙耳机", "数码", 10000, 4000),
    ("B", "保温杯", "家居", 5000, 2000),
    ("C", "抹布", "家居", 3000, 1000),
]


def sh(m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, m, d, hh, mm, tzinfo=SH)


# order id, customer, status, paid (None: unpaid), cancelled, lines (sku, qty, amount yuan)
ORDERS = [
    ("D1", "c1", "finished", sh(11, 11, 10, 30), None, [("A", 2, 160), ("C", 1, 30)]),
    ("D2", "c2", "finished", sh(11, 11, 11), None, [("B", 1, 45)]),
    ("D3", "c1", "finished", sh(11, 11, 11, 59), None, [("A", 1, 80)]),
    ("D4", "c6", "cancelled", sh(11, 11, 10, 40), None, [("A", 5, 400)]),
    ("D5", "c6", "wait_pay", None, None, [("A", 1, 80)]),
    ("D6", "c6", "finished", sh(11, 11, 12), None, [("A", 1, 80)]),
    ("D7", None, "cancelled", sh(11, 11, 10, 10), sh(11, 12, 9), [("B", 2, 90)]),
    ("D8", "c6", "cancelled", sh(11, 11, 10, 15), sh(11, 11, 18), [("B", 1, 50)]),
    ("B1", "c3", "finished", sh(11, 4, 10, 5), None, [("A", 1, 100)]),
    ("B2", "c4", "finished", sh(11, 4, 11), None, [("B", 1, 50)]),
    ("B3", "c3", "finished", sh(10, 28, 11), None, [("A", 1, 100)]),
    ("B4", "c5", "finished", sh(10, 14, 11, 30), None, [("A", 2, 200)]),
    ("B5", "c6", "finished", sh(10, 14, 12, 30), None, [("A", 3, 300)]),
    ("B6", "c6", "finished", sh(10, 15, 10, 30), None, [("A", 3, 300)]),
]
PROMO_SPEC = {"id": "P1111", "kind": "direct", "skus": ["A", "B"], "percent": 20,
              "start": "2026-11-11T10:00:00+08:00", "end": "2026-11-11T12:00:00+08:00"}
LIVE_SPEC = {"id": "LIVE", "kind": "direct", "skus": "all", "off": 5,
             "start": "2026-11-11T10:00:00+08:00", "end": "2099-01-01T00:00:00+08:00"}


@dataclass(frozen=True)
class PromoSeed:
    store_id: int
    ended_id: int  # P1111
    live_id: int  # LIVE: still running


def seed_promo(db_url: str) -> PromoSeed:
    with unit_of_work(db_url) as s:
        store = Store(name=PROMO_STORE, timezone="Asia/Shanghai", currency="CNY",
                      commission_rate=Decimal("0.08"), data_version=0)
        s.add(store)
        s.flush()
        s.add(CategoryCommission(store_id=store.id, category="数码", rate=Decimal("0.05")))
        products = {}
        for sku, title, cat, price, cost in PRODUCTS:
            p = Product(store_id=store.id, platform_sku_id=sku, title=title, category=cat,
                        list_price_cents=price, cost_cents=cost)
            s.add(p)
            s.flush()
            products[sku] = p.id
        customers: dict[str, int] = {}
        for poid, who, status, paid, cancelled, lines in ORDERS:
            if who is not None and who not in customers:
                c = Customer(store_id=store.id, platform_account=who)
                s.add(c)
                s.flush()
                customers[who] = c.id
            placed = paid or sh(11, 11, 10, 50)
            goods = sum(amount for _, _, amount in lines) * 100
            o = Order(store_id=store.id, platform_order_id=poid, status=status,
                      customer_id=customers.get(who) if who else None, placed_at=placed,
                      placed_date=placed.date(), paid_at=paid, cancelled_at=cancelled,
                      goods_cents=goods, freight_cents=600,
                      paid_cents=None if paid is None else goods + 600, content_hash=poid,
                      stage="finished" if status == "finished" else "received")
            s.add(o)
            s.flush()
            for n, (sku, qty, amount) in enumerate(lines, 1):
                s.add(OrderLine(order_id=o.id, store_id=store.id, line_no=n,
                                product_id=products[sku], quantity=qty,
                                unit_price_e4=amount * 10000 // qty, amount_cents=amount * 100))
        records = []
        for spec, status in ((PROMO_SPEC, "ended"), (LIVE_SPEC, "live")):
            r = PromotionRecord(
                store_id=store.id, code=spec["id"], kind=spec["kind"], name=f"双11 {spec['id']}",
                status=status, spec_json=json.dumps(spec, ensure_ascii=False),
                start_at=datetime.fromisoformat(spec["start"]),
                end_at=datetime.fromisoformat(spec["end"]), created_by="owner")
            s.add(r)
            s.flush()
            records.append(r.id)
        bump_data_version(s, store.id)
        return PromoSeed(store.id, records[0], records[1])
