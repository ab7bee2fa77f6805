"""The batched order intake (``upsert_orders``, ``reserve_orders``) against the single path:
the same incoming pages taken one order at a time into one store and as pages into another
give the same orders, lines, events, stages, holds, reservations, stock and movements — new
paid orders, orders short of stock, held ones, unpaid ones paid later, changed lines, a
cancel, an order twice in one page and unchanged repeats — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storeops.catalog.models import Product, Store
from storeops.catalog.stores import get_or_create_store
from storeops.db.engine import unit_of_work
from storeops.inventory import service as inv
from storeops.inventory.batch_reserve import reserve_orders
from storeops.inventory.locking import lock_for_stock_write
from storeops.inventory.models import StockLevel, StockMovement, StockReservation, Warehouse
from storeops.members.models import Customer
from storeops.orders import service as svc
from storeops.orders.batch_intake import upsert_orders
from storeops.orders.incoming import IncomingLine, IncomingOrder
from storeops.orders.models import (
    BuyerBlacklist,
    Order,
    OrderEvent,
    OrderLine,
    ReviewSettings,
    Shipment,
    ShipmentLine,
)
from storeops.orders.states import OrderStatus

T0 = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)
PAID = OrderStatus.WAIT_STOCK_OUT


def order(oid: str, lines: list[tuple[str, int]], *, status: OrderStatus = PAID,
          buyer: str = "b1", phone: str = "13812345678", minute: int = 0,
          **kw: Any) -> IncomingOrder:
    data: dict[str, Any] = dict(
        platform_order_id=oid, channel="jd", status=status,
        placed_at=T0 + timedelta(minutes=minute),
        paid_at=None if status is OrderStatus.WAIT_PAY else T0 + timedelta(minutes=minute + 1),
        lines=[IncomingLine(sku, qty, Decimal("10.00"), title=f"商品{sku}")
               for sku, qty in lines],
        buyer_account=buyer, buyer_name="张三丰", buyer_phone=phone,
        address=f"广东省深圳市南山区科技园路{oid}号",
        modified_at=T0 + timedelta(minutes=minute + 2),
    )
    data.update(kw)
    return IncomingOrder(**data)


PAGES = [
    [  # new orders: stock runs out in the middle of the page
        order("1", [("A", 2), ("B", 1)]),
        order("2", [("A", 3)], buyer="b2"),
        order("3", [("A", 2)], buyer="b3"),  # A is short now: held with the shortage
        order("4", [("B", 1)], buyer_remark="请周五送", buyer="b4"),  # held for the remark
        order("5", [("NEW", 1)], buyer="b5"),  # an unknown SKU: created, short of stock
        order("6", [("B", 1)], status=OrderStatus.WAIT_PAY, buyer="b1", phone="13900001111"),
        order("7", [("B", 1)], buyer="black"),  # blacklisted buyer
        order("8", [("C", 1)], status=OrderStatus.WAIT_PAY, buyer="b8"),
        order("8", [("C", 2)], buyer="b8", minute=3),  # again in the same page, now paid
        order("9", [("C", 1), ("B", 1)], buyer="b9", address=None),  # incomplete address
    ],
    [  # the next page: repeats, payments, changes, a cancel
        order("1", [("A", 2), ("B", 1)]),  # unchanged
        order("6", [("B", 1)], buyer="b1", phone="13900001111", minute=10),  # paid now
        order("2", [("A", 2)], buyer="b2", minute=11),  # lines changed: reviewed again
        order("4", [("B", 1)], status=OrderStatus.CANCELLED, buyer_remark="请周五送",
              buyer="b4", cancelled_at=T0 + timedelta(minutes=12), minute=12),
        order("10", [("C", 1)], buyer="b10", address="广东省深圳市南山区科技园路1号"),
        order("3", [("A", 2)], buyer="b3", seller_remark="补货后发", minute=13),
    ],
]


def setup(session: Session, name: str, strict: bool = False) -> Store:
    store, _ = get_or_create_store(session, name)
    if strict:  # brushing (2 orders to one address in 24 h) and at most 2 units an order
        session.add(ReviewSettings(store_id=store.id, brushing_orders=2, brushing_hours=24,
                                   max_quantity=2))
    inv.ensure_default_warehouse(session, store.id)
    inv.add_warehouse(session, store.id, "south", "南仓", priority=1)
    for sku in ("A", "B", "C"):
        session.add(Product(store_id=store.id, platform_sku_id=sku, status="on_sale"))
    session.flush()
    inv.receive(session, store.id, "A", 4, actor="user:test")
    inv.receive(session, store.id, "A", 1, warehouse="south", actor="user:test")
    inv.receive(session, store.id, "B", 3, actor="user:test")
    inv.receive(session, store.id, "C", 2, warehouse="south", actor="user:test")
    session.add(BuyerBlacklist(store_id=store.id, platform_account="black"))
    session.flush()
    return store


def _data(text: str | None, wh: dict[int, str], accounts: dict[int, str]) -> Any:
    """An event's data with row ids (differing between stores) made names."""
    data = json.loads(text) if text else None
    if isinstance(data, dict):
        data.pop("shipments", None)
        if "warehouses" in data:
            data["warehouses"] = [wh[w] for w in data["warehouses"]]
        customer = data.get("changed", {}).get("customer_id")
        if customer:
            data["changed"]["customer_id"] = [accounts.get(c) for c in customer]
    return data


def snapshot(session: Session, store_id: int) -> dict[str, Any]:
    """Everything a user could see of the store's orders and stock, without row ids."""
    pid = dict(session.execute(select(Order.id, Order.platform_order_id)
                               .where(Order.store_id == store_id)).all())
    sku = dict(session.execute(select(Product.id, Product.platform_sku_id)
                               .where(Product.store_id == store_id)).all())
    wh = dict(session.execute(select(Warehouse.id, Warehouse.code)
                              .where(Warehouse.store_id == store_id)).all())
    accounts = dict(session.execute(select(Customer.id, Customer.platform_account)
                                    .where(Customer.store_id == store_id)).all())
    line_no = dict(session.execute(select(OrderLine.id, OrderLine.line_no)
                                   .where(OrderLine.store_id == store_id)).all())
    orders = {}
    for o in session.scalars(select(Order).where(Order.store_id == store_id)):
        orders[o.platform_order_id] = (
            o.stage, o.status, o.hold_reason, accounts.get(o.customer_id), o.receiver_name,
            o.receiver_phone, o.ship_address, o.address_key, o.paid_cents, o.goods_cents,
            o.due_at, o.cancelled_at, o.content_hash, o.row_version, o.buyer_remark,
            o.seller_remark)
    return {
        "orders": orders,
        "lines": sorted((pid[r.order_id], r.line_no, sku[r.product_id], r.quantity,
                         r.unit_price_e4, r.amount_cents)
                        for r in session.scalars(select(OrderLine)
                                                 .where(OrderLine.store_id == store_id))),
        "events": sorted((pid[e.order_id], e.id - 0, e.kind, e.from_stage, e.to_stage,
                          e.actor_kind, e.actor, e.reason,
                          _data(e.data_json, wh, accounts))
                         for e in session.scalars(select(OrderEvent)
                                                  .where(OrderEvent.store_id == store_id))),
        "products": sorted((p.platform_sku_id, p.title, p.seller_code, p.stock, p.row_version)
                           for p in session.scalars(select(Product)
                                                    .where(Product.store_id == store_id))),
        "customers": sorted((c.platform_account, c.masked_contact)
                            for c in session.scalars(select(Customer)
                                                     .where(Customer.store_id == store_id))),
        "levels": sorted((sku[lv.product_id], wh[lv.warehouse_id], lv.on_hand, lv.reserved)
                         for lv in session.scalars(select(StockLevel)
                                                   .where(StockLevel.store_id == store_id))),
        "movements": [(sku[m.product_id], wh[m.warehouse_id], m.on_hand_delta,
                       m.reserved_delta, m.reason, m.actor, m.reference, m.note)
                      for m in session.scalars(select(StockMovement).where(
                          StockMovement.store_id == store_id).order_by(StockMovement.id))],
        "reservations": sorted((pid[r.order_id], line_no[r.order_line_id], wh[r.warehouse_id],
                                sku[r.product_id], r.quantity, r.state, r.expires_at)
                               for r in session.scalars(select(StockReservation).where(
                                   StockReservation.store_id == store_id))),
        "parcels": sorted(
            (pid[sl.order_id], line_no[sl.order_line_id], sl.quantity, s.state,
             wh.get(s.warehouse_id))
            for s, sl in session.execute(
                select(Shipment, ShipmentLine).join(ShipmentLine,
                                                    ShipmentLine.shipment_id == Shipment.id)
                .where(Shipment.store_id == store_id))),
    }


def _events_in_order(snap: dict[str, Any]) -> dict[str, Any]:
    """Each order's timeline in order (event ids differ between stores)."""
    out: dict[str, list[Any]] = {}
    for row in snap["events"]:
        out.setdefault(row[0], []).append(row[2:])
    return {**snap, "events": out}


@pytest.mark.parametrize("strict", [False, True], ids=["default-rules", "brushing-rules"])
def test_pages_batched_give_what_one_by_one_gives(db_url: str, strict: bool) -> None:
    with unit_of_work(db_url) as s:
        one, two = setup(s, "one", strict), setup(s, "two", strict)
        ids = one.id, two.id
    outcomes: dict[str, list[list[str]]] = {"single": [], "batch": []}
    for page in PAGES:
        with unit_of_work(db_url) as s:
            lock_for_stock_write(s)
            store = s.get(Store, ids[0])
            outcomes["single"].append(
                [svc.upsert_order(s, store, o, actor="connector:jd")[1] for o in page])
        with unit_of_work(db_url) as s:
            lock_for_stock_write(s)
            store = s.get(Store, ids[1])
            outcomes["batch"].append(
                [outcome for _o, outcome in upsert_orders(s, store, page, actor="connector:jd")])
    assert outcomes["single"] == outcomes["batch"]
    assert outcomes["batch"][1][0] == "unchanged"
    with unit_of_work(db_url) as s:
        single, batch = (_events_in_order(snapshot(s, i)) for i in ids)
        if strict:
            assert "刷单" in single["orders"]["10"][2] or "地址" in single["orders"]["10"][2]
            assert single["orders"]["2"][0] == "under_review"  # 3 units: over the limit
        else:
            assert single["orders"]["3"][2] and "A" in single["orders"]["3"][2]  # short of A
            assert single["orders"]["1"][0] == "allocated"
        assert single["orders"]["4"][0] == "cancelled"
        for part in single:
            assert single[part] == batch[part], part
        assert inv.check(s, ids[1]) == []


def test_reserve_orders_all_or_nothing_per_order(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = setup(s, "one")
        made = [svc.upsert_order(s, store, o, actor="connector:jd")[0] for o in (
            order("1", [("A", 3)], status=OrderStatus.WAIT_PAY),
            order("2", [("A", 3), ("B", 1)], status=OrderStatus.WAIT_PAY, buyer="b2"),
            order("3", [("B", 2)], status=OrderStatus.WAIT_PAY, buyer="b3"))]
        result = reserve_orders(s, made, actor="api:test")
        assert [len(result[o.id]) for o in made[::2]] == [1, 1]  # type: ignore[arg-type]
        refused = result[made[1].id]
        assert isinstance(refused, inv.OutOfStock)
        assert [(x.sku, x.requested, x.available) for x in refused.shortages] == [("A", 3, 2)]
        assert inv.availability(s, store.id, ["A", "B"]) == {"A": 2, "B": 1}
        assert s.scalar(select(Product.stock).where(Product.store_id == store.id,
                                                    Product.platform_sku_id == "A")) == 2
        again = reserve_orders(s, made[:1], actor="api:test")  # held already: nothing more
        assert [r.quantity for r in again[made[0].id]] == [3]  # type: ignore[union-attr]
        assert inv.check(s, store.id) == []
