"""Small stores with figures made to cross (or not) each default alert rule; shared by the
alert check tests (no tests here).

Every store has two SKUs and 63 days of orders, traffic, ads, a November GMV target and
stock, ending on ``LAST_DAY`` (checked as of ``AS_OF``, 09:00 Shanghai the day after):

* the *calm* store keeps every figure inside the rules: 1,600 GMV and 400 visitors a day
  (conversion 5%, search 50% of visitors), no refunds, ROAS 4, CPC ¥10, on target pace,
  20 days of stock, no order near its ship deadline;
* the *edge* store keeps every figure just inside its line: visitors down 14% on the same
  weekday (344), conversion 2.5% then 2.6%, search 58%, refunds 1.36–1.38% three days
  running, ROAS 3.1, CPC exactly ¥15, 92% of the target's pace, 8.0 and 44.3 days of stock,
  an order due in 5 h, GMV down 12.5% and a SKU's 17% (inside the anomaly check's spread);
* the *hot* store has the same history, then on its last day GMV falls to 250 and visitors
  to 200 (80% from search, conversion 1.5%), refunds run over 1.5% for 3 days, ROAS is 1,
  three new campaigns pay ¥20/¥30/¥40 a click, the target is 200,000 (pace ~0.24), SKU A has
  under 2 days of stock and SKU B 250 days, and two open orders are due within 4 h / late.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storeops.ads.models import AdSpendDaily
from storeops.aftersales.models import Refund
from storeops.catalog.models import Product, Store
from storeops.catalog.stores import bump_data_version
from storeops.db.bulk import bulk_insert
from storeops.db.engine import unit_of_work
from storeops.metrics.models import MonthlyTarget, TrafficDaily
from storeops.orders.models import Order, OrderLine

SH = ZoneInfo("Asia/Shanghai")
LAST_DAY = date(2026, 11, 19)  # a Thursday
AS_OF = datetime(2026, 11, 20, 9, 0, tzinfo=SH)
DAYS = 63
SKUS = (("A100", "保温杯 500ml", "家居", 10000), ("B200", "数据线 1m", "数码", 5000))
ORDER_COLS = ("store_id", "platform_order_id", "status", "deleted", "placed_at",
              "placed_date", "paid_at", "goods_cents", "seller_discount_cents",
              "freight_cents", "paid_cents", "source", "content_hash", "updated_at")


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=SH).astimezone(UTC)


def build_store(db_url: str, name: str, *, hot: bool = False, edge: bool = False,
                uv_by_day: dict[date, int] | None = None, orders: bool = True) -> int:
    """Insert a store as the module says (``edge``: every figure just inside its rule's line,
    see :data:`EDGE`); ``uv_by_day`` overrides the store's visitors of given days (split 50/50
    over the SKUs, all from search). Returns its id."""
    with unit_of_work(db_url) as s:
        store = Store(name=name, timezone="Asia/Shanghai", currency="CNY", data_version=0)
        s.add(store)
        s.flush()
        pids = []
        for no, (sku, title, cat, _price) in enumerate(SKUS):
            stock = (240, 160)[no]
            if hot:
                stock = (20, 2000)[no]
            if edge:
                stock = (48, 177)[no]
            p = Product(store_id=store.id, platform_sku_id=sku, title=title, category=cat,
                        status="on_sale", list_price_cents=_price, stock=stock)
            s.add(p)
            s.flush()
            pids.append(p.id)
        order_rows, lines, refunds, traffic, ads = [], [], [], [], []
        n = 0
        for back in range(DAYS):
            day = LAST_DAY - timedelta(days=back)
            last = back == 0
            at = _noon(day)
            counts = (2, 1) if hot and last else (12, 8)
            if edge:
                counts = (5, 4) if last else (6, 4)
            if orders:
                for i, pid in enumerate(pids):
                    price = SKUS[i][3]
                    for _ in range(counts[i]):
                        n += 1
                        oid = f"{name}-{n:06d}"
                        order_rows.append((store.id, oid, "finished", False, at, day, at, price,
                                           0, 0, price, "app", f"h{oid}", at))
                        lines.append((oid, store.id, 1, pid, 1, price * 100, price))
                if (hot or edge) and back < 3:
                    oid = f"{name}-{n:06d}"
                    cents = 5000 if hot else (950 if last else 1100)
                    refunds.append((store.id, f"R{name}{back}", 1, oid, oid, pids[1], 1, cents,
                                    at + timedelta(hours=2), day))
            if uv_by_day is not None and day in uv_by_day:
                per = uv_by_day[day] // 2
                for pid in pids:
                    traffic.append((store.id, day, pid, "search", per, per * 3, per * 20,
                                    per, per // 5, per // 3))
            else:
                mix = ({"search": 80, "campaign": 10, "recommend": 5, "category": 5}
                       if hot and last else
                       {"search": 100, "campaign": 50, "recommend": 30, "category": 20})
                if edge and last:
                    mix = {"search": 100, "campaign": 40, "recommend": 20, "category": 12}
                for pid in pids:
                    for src, uv in mix.items():
                        traffic.append((store.id, day, pid, src, uv, uv * 3, uv * 20, uv,
                                        uv // 5, uv // 3))
            if orders:
                if edge:
                    ads.append((store.id, day, "快车-A", 45000, 5000, 30, 3, 139500))
                elif hot and last:
                    ads.append((store.id, day, "快车-A", 30000, 5000, 30, 1, 30000))
                    for camp, spend in (("快车-B", 40000), ("快车-C", 60000), ("快车-D", 80000)):
                        ads.append((store.id, day, camp, spend, 2000, 20, 1, 10000))
                else:
                    ads.append((store.id, day, "快车-A", 30000, 5000, 30, 3, 120000))
        conn = s.connection()
        if order_rows:
            bulk_insert(conn, Order.__table__, ORDER_COLS, order_rows)
            ids = dict(s.execute(select(Order.platform_order_id, Order.id)
                                 .where(Order.store_id == store.id)).all())
            bulk_insert(conn, OrderLine.__table__, (
                "order_id", "store_id", "line_no", "product_id", "quantity", "unit_price_e4",
                "amount_cents"), [(ids[r[0]], *r[1:]) for r in lines])
            if refunds:
                bulk_insert(conn, Refund.__table__, (
                    "store_id", "platform_refund_id", "line_no", "order_id",
                    "platform_order_id", "product_id", "quantity", "amount_cents",
                    "refunded_at", "refund_date"),
                    [(*r[:3], ids[r[3]], *r[4:]) for r in refunds])
        bulk_insert(conn, TrafficDaily.__table__, (
            "store_id", "day", "product_id", "source", "uv", "pv", "exposure", "clicks",
            "cart_users", "bounce_visits"), traffic)
        if ads:
            bulk_insert(conn, AdSpendDaily.__table__, (
                "store_id", "day", "campaign", "spend_cents", "impressions", "clicks",
                "attributed_orders", "attributed_gmv_cents"), ads)
        if orders:
            s.add(MonthlyTarget(store_id=store.id, month="2026-11", metric="gmv",
                                value=Decimal(200000 if hot else 26000 if edge else 48000)))
        if hot or edge:
            now = AS_OF.astimezone(UTC)
            late = (("DUE-SOON", now + timedelta(hours=2)), ("LATE", now - timedelta(hours=1)))
            for oid, due in late if hot else (("DUE-LATER", now + timedelta(hours=5)),):
                paid = now - timedelta(minutes=30)
                o = Order(store_id=store.id, platform_order_id=f"{name}-{oid}",
                          status="wait_stock_out", deleted=False, placed_at=paid,
                          placed_date=AS_OF.date(), paid_at=paid, goods_cents=10000,
                          seller_discount_cents=0, freight_cents=0, paid_cents=10000,
                          source="app", content_hash=oid, updated_at=paid, stage="allocated",
                          due_at=due)
                s.add(o)
        bump_data_version(s, store.id)
        return store.id


def only_rules(db_url: str, store_id: int, rules: list[dict]) -> None:
    """Turn the store's default rules off and save ``rules`` (rule-file entries)."""
    from storeops.alerts.defaults import DEFAULT_CODES
    from storeops.alerts.rules import parse_rule
    from storeops.alerts.rules_store import ensure_default_rules, save_rule, set_enabled

    with unit_of_work(db_url) as s:
        ensure_default_rules(s, store_id)
        for code in DEFAULT_CODES:
            set_enabled(s, store_id, code, False, "test")
        for rule in rules:
            save_rule(s, store_id, parse_rule(rule), "test")
