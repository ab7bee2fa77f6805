"""ERP rows on top of web_seed's store: warehouses and stock, a few orders at each step of
their lifecycle (one held, one due soon, one overdue …), their events, flash sales and a JD
connection with its sync runs. The pages' tests and browser tests read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from storeops.accounts.users import create_user
from storeops.catalog.models import Product
from storeops.common.timeutil import utcnow
from storeops.connectors.jd.models import JdConnection, SyncRun
from storeops.db.engine import unit_of_work
from storeops.inventory import service as stock
from storeops.inventory.models import FlashSale
from storeops.members.models import Customer
from storeops.orders.models import Order, OrderEvent, OrderLine

BUYER_A = "jd_buyer_alpha"
BUYER_B = "jd_buyer_beta"
HELD_REASON = "买家留言：请周末送货"
APP_KEY = "APPKEY1234567890"
SECRET = "sealed-secret-never-shown"


@dataclass(frozen=True)
class Erp:
    ids: dict[str, int]  # platform order id → order id


def _order(s: Any, store_id: int, products: dict[str, int], poid: str, *, stage: str,
           status: str, customer: int | None, hours_ago: float, due_in: float | None,
           lines: list[tuple[str, int, int]], hold: str | None = None,
           address_key: str | None = "addr-1") -> Order:
    now = utcnow()
    placed = now - timedelta(hours=hours_ago)
    goods = sum(q * price for _, q, price in lines)
    o = Order(store_id=store_id, platform_order_id=poid, status=status, deleted=False,
              customer_id=customer, placed_at=placed, placed_date=placed.date(),
              paid_at=None if status == "wait_pay" else placed, goods_cents=goods,
              seller_discount_cents=0, freight_cents=600, paid_cents=goods + 600,
              content_hash=poid, stage=stage, channel="jd", hold_reason=hold,
              receiver_name="张*", receiver_phone="138****5678",
              ship_address="北京市 朝阳区 ****", address_key=address_key,
              due_at=None if due_in is None else now + timedelta(hours=due_in))
    s.add(o)
    s.flush()
    for n, (sku, q, price) in enumerate(lines, 1):
        s.add(OrderLine(order_id=o.id, store_id=store_id, line_no=n, product_id=products[sku],
                        quantity=q, unit_price_e4=price * 100, amount_cents=q * price))
    s.add(OrderEvent(store_id=store_id, order_id=o.id, at=placed, kind="received",
                     to_stage="received", actor_kind="connector", actor="jd"))
    if hold:
        s.add(OrderEvent(store_id=store_id, order_id=o.id, at=placed + timedelta(minutes=1),
                         kind="held", from_stage="received", to_stage="under_review",
                         actor_kind="rule", actor="remark", reason=hold,
                         data_json='{"reasons": [{"code": "remark", '
                                   '"params": {"remark": "请周末送货"}}]}'))
    s.flush()
    return o


def seed_erp(db_url: str, store_id: int) -> Erp:
    """Stock in two warehouses, five orders (ERP001 … ERP005), three flash sales, a JD
    connection with 25 sync runs, and a user of the integration role."""
    now = utcnow()
    with unit_of_work(db_url) as s:
        products = dict(s.execute(select(Product.platform_sku_id, Product.id)
                                  .where(Product.store_id == store_id)).all())
        stock.ensure_default_warehouse(s, store_id)
        stock.add_warehouse(s, store_id, "north", "北京仓")
        stock.receive(s, store_id, "1001", 50, actor="user:owner")
        stock.receive(s, store_id, "1001", 5, warehouse="north", actor="user:owner")
        stock.receive(s, store_id, "1002", 3, actor="user:owner")
        stock.receive(s, store_id, "2001", 1, actor="user:owner")
        stock.adjust(s, store_id, "2001", -1, actor="user:owner", note="破损")
        a = Customer(store_id=store_id, platform_account=BUYER_A, masked_contact="138****5678")
        b = Customer(store_id=store_id, platform_account=BUYER_B)
        s.add_all([a, b])
        s.flush()
        ids = {}
        for poid, kw in {
            "ERP001": dict(stage="under_review", status="wait_stock_out", customer=a.id,
                           hours_ago=22, due_in=2, lines=[("1001", 2, 19900)],
                           hold=HELD_REASON),
            "ERP002": dict(stage="under_review", status="wait_stock_out", customer=a.id,
                           hours_ago=5, due_in=19, lines=[("1002", 1, 12900),
                                                          ("1001", 1, 19900)]),
            "ERP003": dict(stage="allocated", status="wait_stock_out", customer=b.id,
                           hours_ago=27, due_in=-3, lines=[("1001", 1, 19900)],
                           address_key="addr-2"),
            "ERP004": dict(stage="shipped", status="shipped", customer=b.id, hours_ago=30,
                           due_in=-6, lines=[("2001", 1, 5900)], address_key="addr-2"),
            "ERP005": dict(stage="received", status="wait_pay", customer=None, hours_ago=1,
                           due_in=None, lines=[("2002", 1, 29900)], address_key=None),
        }.items():
            ids[poid] = _order(s, store_id, products, poid, **kw).id
        for n, (start, end) in enumerate([(-2, -1), (-1, 5), (24, 26)]):
            s.add(FlashSale(store_id=store_id, product_id=products["1002"],
                            price_cents=9900 + n, quota=100, sold=40 if n < 2 else 0,
                            per_buyer=2, starts_at=now + timedelta(hours=start),
                            ends_at=now + timedelta(hours=end)))
        s.add(JdConnection(store_id=store_id, app_key=APP_KEY, app_secret_enc=SECRET,
                           access_token_enc=SECRET, gateway="http://127.0.0.1:9/routerjson",
                           synced_until=now - timedelta(minutes=7),
                           last_sync_at=now - timedelta(minutes=5),
                           last_error="JOS error 19: token expired"))
        for n in range(25):
            s.add(SyncRun(store_id=store_id, started_at=now - timedelta(minutes=5 * (25 - n)),
                          finished_at=now - timedelta(minutes=5 * (25 - n) - 1),
                          status="failed" if n == 24 else "done", fetched=100 + n,
                          created=n, updated=2, unchanged=98, skipped=1 if n == 23 else 0,
                          error="JOS error 19: token expired" if n == 24 else None))
        create_user(s, "integ", "pass-word-1", "integration")
    return Erp(ids=ids)
