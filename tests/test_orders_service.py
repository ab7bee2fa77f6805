"""The order service on SQLite and PostgreSQL: upsert (create, update with one event naming
what changed, unchanged touches nothing), review → allocate, holds, cancel, shipping, JD's
state changes, and the errors a user reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storeops.catalog.models import Product, Store
from storeops.catalog.stores import get_or_create_store
from storeops.common.errors import localise
from storeops.db.engine import unit_of_work
from storeops.members.models import Customer
from storeops.orders import service as svc
from storeops.orders.incoming import IncomingLine, IncomingOrder
from storeops.orders.lifecycle import IllegalTransition
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

T0 = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def incoming(oid: str = "J1", *, status: OrderStatus = OrderStatus.WAIT_STOCK_OUT,
             lines: list[tuple[str, int, str]] | None = None, **kw: object) -> IncomingOrder:
    data: dict = dict(
        platform_order_id=oid, channel="jd", status=status, placed_at=T0,
        paid_at=T0 + timedelta(minutes=5) if status is not OrderStatus.WAIT_PAY else None,
        lines=[IncomingLine(sku, qty, Decimal(price), title=f"商品{sku}")
               for sku, qty, price in (lines or [("A", 1, "99.00")])],
        freight=Decimal("0"), buyer_account="buyer1", buyer_name="张三丰",
        buyer_phone="13812345678", address="广东省深圳市南山区科技园路1号",
    )
    data.update(kw)
    return IncomingOrder(**data)


def stock(session: Session, store: Store, **units: int) -> None:
    from storeops.inventory import service as inv

    inv.ensure_default_warehouse(session, store.id)
    for sku, qty in units.items():
        if session.scalar(select(Product.id).where(Product.store_id == store.id,
                                                   Product.platform_sku_id == sku)) is None:
            session.add(Product(store_id=store.id, platform_sku_id=sku, status="on_sale"))
            session.flush()
        inv.receive(session, store.id, sku, qty, actor="user:test")


def new_store(session: Session, name: str = "旗舰店", **units: int) -> Store:
    store, _ = get_or_create_store(session, name)
    stock(session, store, **units)
    return store


def events(session: Session, order: Order) -> list[OrderEvent]:
    return svc.timeline(session, order.id)


def kinds(session: Session, order: Order) -> list[str]:
    return [e.kind for e in events(session, order)]


def test_paid_order_is_received_reviewed_approved_and_allocated(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        order, outcome = svc.upsert_order(s, store, incoming(lines=[("A", 2, "50.00")]),
                                          actor="connector:jd")
        assert outcome == "created"
        assert order.stage == "allocated" and order.hold_reason is None
        assert kinds(s, order) == ["received", "under_review", "approved", "allocated"]
        first = events(s, order)[0]
        assert (first.actor_kind, first.actor, first.to_stage) == ("connector", "jd",
                                                                   "received")
        assert order.status == "wait_stock_out"  # JD's state kept for the figures
        assert order.receiver_phone == "138****5678" and order.receiver_name == "张**"
        assert "科技园路1号" not in (order.ship_address or "")
        assert order.ship_address.startswith("广东省深圳市南山区")
        assert order.due_at == T0 + timedelta(minutes=5, hours=24)
        assert order.placed_date.isoformat() == "2026-11-11"
        assert order.goods_cents == 10_000 and order.paid_cents == 10_000
        assert order.row_version == s.get(Store, store.id).data_version
        shipments = s.scalars(select(Shipment)).all()
        assert len(shipments) == 1 and shipments[0].state == "open"
        from storeops.inventory import service as inv
        assert inv.availability(s, store.id, ["A"]) == {"A": 3}


def test_unknown_skus_and_buyer_are_created_and_contact_masked(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s)
        order, _ = svc.upsert_order(s, store, incoming(status=OrderStatus.WAIT_PAY,
                                                       lines=[("NEW1", 1, "9.90")]),
                                    actor="connector:jd")
        product = s.scalar(select(Product).where(Product.platform_sku_id == "NEW1"))
        assert product is not None and product.title == "商品NEW1"
        customer = s.get(Customer, order.customer_id)
        assert customer.platform_account == "buyer1"
        assert customer.masked_contact == "138****5678"
        assert order.stage == "received"  # unpaid: stays received
        assert kinds(s, order) == ["received"]


def test_same_order_twice_is_unchanged(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        svc.upsert_order(s, store, incoming(), actor="connector:jd")
        version = s.get(Store, store.id).data_version
        order, outcome = svc.upsert_order(s, store, incoming(), actor="connector:jd")
        assert outcome == "unchanged"
        assert s.get(Store, store.id).data_version == version
        assert s.scalar(select(func.count()).select_from(Order)) == 1
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 1
        assert s.scalar(select(func.count()).select_from(Customer)) == 1
        assert s.scalar(select(func.count()).select_from(Shipment)) == 1
        assert len(events(s, order)) == 4


def test_an_update_is_one_event_naming_what_changed(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        order, _ = svc.upsert_order(s, store, incoming(seller_remark=None), actor="connector:jd")
        before = len(events(s, order))
        order, outcome = svc.upsert_order(
            s, store, incoming(seller_remark="加急", freight=Decimal("6")),
            actor="connector:jd")
        assert outcome == "updated"
        new = events(s, order)[before:]
        assert [e.kind for e in new] == ["updated"]
        data = json.loads(new[0].data_json)
        assert data["fields"] == ["freight_cents", "paid_cents", "seller_remark"]
        assert data["changed"]["seller_remark"] == [None, "加急"]
        assert data["changed"]["freight_cents"] == [0, 600]
        assert order.row_version == s.get(Store, store.id).data_version
        assert order.stage == "allocated"  # nothing about its stage changed


def test_remark_holds_the_order_with_the_rule_as_actor(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        order, _ = svc.upsert_order(s, store, incoming(buyer_remark="请发顺丰"),
                                    actor="connector:jd")
        assert order.stage == "under_review"
        assert order.hold_reason == "买家留言：请发顺丰"
        held = events(s, order)[-1]
        assert (held.kind, held.actor_kind, held.actor) == ("held", "rule", "remark")
        assert json.loads(held.data_json)["reasons"] == [
            {"code": "remark", "params": {"remark": "请发顺丰"}}]
        # a person approves: stock reserved, allocated
        svc.approve(s, order, actor="user:alice")
        assert order.stage == "allocated" and order.hold_reason is None
        assert kinds(s, order)[-2:] == ["approved", "allocated"]
        before = len(events(s, order))
        assert len(svc.approve(s, order, actor="user:alice")) == 1  # again: nothing new
        assert len(events(s, order)) == before


@pytest.mark.parametrize(("settings", "change", "code"), [
    ({}, {"address": "广东省"}, "address"),
    ({}, {"buyer_phone": None}, "address"),
    ({"max_amount_cents": 5_000}, {}, "amount"),
    ({"max_quantity": 1}, {"lines": [("A", 2, "10")]}, "quantity"),
    ({"auto_approve": False}, {}, "manual"),
])
def test_review_rules_through_the_service(sqlite_db_url: str, settings: dict, change: dict,
                                          code: str) -> None:
    db_url = sqlite_db_url  # the rule, not the database, is under test
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        if settings:
            s.add(ReviewSettings(store_id=store.id, **settings))
            s.flush()
        order, _ = svc.upsert_order(s, store, incoming(**change), actor="connector:jd")
        assert order.stage == "under_review" and order.hold_reason
        held = events(s, order)[-1]
        assert held.kind == "held" and held.actor == code


def test_blacklisted_buyer_is_held(sqlite_db_url: str) -> None:
    db_url = sqlite_db_url  # the rule, not the database, is under test
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        s.add(BuyerBlacklist(store_id=store.id, platform_account="buyer1", reason="拒收多次"))
        s.flush()
        order, _ = svc.upsert_order(s, store, incoming(), actor="connector:jd")
        assert order.hold_reason == "买家在黑名单中"


def test_brushing_n_orders_to_one_address_within_h_hours(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, A=20)
        s.add(ReviewSettings(store_id=store.id, brushing_orders=3, brushing_hours=24))
        s.flush()
        stages = []
        for i in range(4):
            # the same address written differently: spaces, punctuation, case
            addr = "广东省 深圳市南山区 科技园路1号" if i % 2 else "广东省深圳市南山区，科技园路1号"
            o, _ = svc.upsert_order(
                s, store, incoming(f"B{i}", buyer_account=f"b{i}", address=addr,
                                   placed_at=T0 + timedelta(hours=i)), actor="connector:jd")
            stages.append((o.stage, events(s, o)[-1].actor))
        assert stages[:2] == [("allocated", "auto"), ("allocated", "auto")]
        assert stages[2:] == [("under_review", "brushing")] * 2
        # outside the window: fine again
        o, _ = svc.upsert_order(s, store, incoming("B9", placed_at=T0 + timedelta(days=3)),
                                actor="connector:jd")
        assert o.stage == "allocated"


def test_out_of_stock_holds_with_the_shortage(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, A=1)
        order, _ = svc.upsert_order(s, store, incoming(lines=[("A", 3, "10")]),
                                    actor="connector:jd")
        assert order.stage == "under_review"
        assert order.hold_reason == "缺货 / out of stock：SKU A 需 3 件，可用 1 件"
        held = events(s, order)[-1]
        assert held.actor == "out_of_stock"
        assert json.loads(held.data_json)["reasons"][0]["params"]["skus"] == [
            {"sku": "A", "requested": 3, "available": 1}]
        assert s.scalar(select(func.count()).select_from(Shipment)) == 0
        # stock arrives, a person approves
        stock(s, store, A=5)
        svc.approve(s, order, actor="user:alice")
        assert order.stage == "allocated"


def test_hold_cancel_release_stock(db_url: str) -> None:
    from storeops.inventory import service as inv

    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        order, _ = svc.upsert_order(s, store, incoming(lines=[("A", 2, "10")]),
                                    actor="connector:jd")
        assert inv.availability(s, store.id, ["A"]) == {"A": 3}
        svc.hold(s, order, "客户要求改地址", actor="user:alice")
        assert order.stage == "under_review" and order.hold_reason == "客户要求改地址"
        assert inv.availability(s, store.id, ["A"]) == {"A": 5}
        assert s.scalars(select(Shipment.state)).all() == ["cancelled"]
        svc.cancel(s, order, "客户取消", actor="user:alice")
        assert order.stage == "cancelled"
        assert order.status == "wait_stock_out"  # a JD order's state is JD's
        last = events(s, order)[-1]
        assert (last.kind, last.reason, last.from_stage, last.to_stage) == (
            "cancelled", "客户取消", "under_review", "cancelled")
        with pytest.raises(IllegalTransition) as info:
            svc.approve(s, order, actor="user:alice")
        assert "J1" in str(info.value) and "cancelled" in str(info.value)
        with pytest.raises(IllegalTransition):
            svc.cancel(s, order, "again", actor="user:alice")


def test_own_channel_cancel_changes_the_status(sqlite_db_url: str) -> None:
    db_url = sqlite_db_url  # the rule, not the database, is under test
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        order, _ = svc.upsert_order(s, store, incoming("W1", channel="own"), actor="api:shop")
        svc.cancel(s, order, "unpaid", actor="system")
        assert order.status == "cancelled" and order.cancelled_at is not None


def test_jd_cancel_releases_stock(db_url: str) -> None:
    from storeops.inventory import service as inv

    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        svc.upsert_order(s, store, incoming(lines=[("A", 2, "10")]), actor="connector:jd")
        order, outcome = svc.upsert_order(
            s, store, incoming(lines=[("A", 2, "10")], status=OrderStatus.CANCELLED),
            actor="connector:jd")
        assert outcome == "updated" and order.stage == "cancelled"
        assert order.status == "cancelled"
        assert inv.availability(s, store.id, ["A"]) == {"A": 5}
        assert kinds(s, order)[-2:] == ["updated", "cancelled"]


def test_mark_shipped_and_jd_finishing(db_url: str) -> None:
    from storeops.inventory import service as inv

    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        order, _ = svc.upsert_order(s, store, incoming(lines=[("A", 2, "10")]),
                                    actor="connector:jd")
        svc.mark_shipped(s, order, carrier_id="467", waybill="SF100", actor="user:alice")
        assert order.stage == "shipped" and order.status == "shipped"
        shipment = s.scalars(select(Shipment)).one()
        assert (shipment.state, shipment.carrier_id, shipment.waybill) == (
            "shipped", "467", "SF100")
        rows = {r["sku"]: r for r in inv.stock_rows(s, store.id)}
        assert (rows["A"]["on_hand"], rows["A"]["reserved"]) == (3, 0)
        with pytest.raises(IllegalTransition):
            svc.mark_shipped(s, order, carrier_id="467", waybill="SF100", actor="user:alice")
        order, _ = svc.upsert_order(s, store, incoming(lines=[("A", 2, "10")],
                                                       status=OrderStatus.FINISHED),
                                    actor="connector:jd")
        assert order.stage == "finished"


def test_jd_ships_what_we_still_hold(sqlite_db_url: str) -> None:
    """JD says shipped (from its own back office): the held stock leaves the warehouse."""
    db_url = sqlite_db_url  # the rule, not the database, is under test
    from storeops.inventory import service as inv

    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        svc.upsert_order(s, store, incoming(lines=[("A", 2, "10")]), actor="connector:jd")
        order, _ = svc.upsert_order(s, store, incoming(lines=[("A", 2, "10")],
                                                       status=OrderStatus.FINISHED),
                                    actor="connector:jd")
        assert order.stage == "finished"
        assert kinds(s, order)[-3:] == ["updated", "shipped", "finished"]
        rows = {r["sku"]: r for r in inv.stock_rows(s, store.id)}
        assert (rows["A"]["on_hand"], rows["A"]["reserved"]) == (3, 0)


def test_payment_arriving_later_starts_review(sqlite_db_url: str) -> None:
    db_url = sqlite_db_url  # the rule, not the database, is under test
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        order, _ = svc.upsert_order(s, store, incoming(status=OrderStatus.WAIT_PAY),
                                    actor="connector:jd")
        assert order.stage == "received" and order.due_at is None
        order, outcome = svc.upsert_order(s, store, incoming(), actor="connector:jd")
        assert outcome == "updated" and order.stage == "allocated"
        assert order.due_at == T0 + timedelta(minutes=5, hours=24)
        assert kinds(s, order) == ["received", "updated", "under_review", "approved",
                                   "allocated"]


def test_locked_and_back(sqlite_db_url: str) -> None:
    db_url = sqlite_db_url  # the rule, not the database, is under test
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        svc.upsert_order(s, store, incoming(), actor="connector:jd")
        order, _ = svc.upsert_order(s, store, incoming(status=OrderStatus.LOCKED),
                                    actor="connector:jd")
        assert order.stage == "locked"
        order, _ = svc.upsert_order(s, store, incoming(), actor="connector:jd")
        assert order.stage == "allocated"  # it still holds its stock: back where it was
        assert s.scalar(select(func.count()).select_from(ShipmentLine)) == 1


def test_changed_lines_are_allocated_again(db_url: str) -> None:
    from storeops.inventory import service as inv

    with unit_of_work(db_url) as s:
        store = new_store(s, A=5, B=5)
        svc.upsert_order(s, store, incoming(lines=[("A", 2, "10")]), actor="connector:jd")
        order, _ = svc.upsert_order(s, store, incoming(lines=[("A", 1, "10"), ("B", 1, "5")]),
                                    actor="connector:jd")
        assert order.stage == "allocated"
        assert inv.availability(s, store.id, ["A", "B"]) == {"A": 4, "B": 4}
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 2


def test_unknown_order_names_order_and_store(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s)
        with pytest.raises(svc.OrderError) as info:
            svc.order_by_platform_id(s, store.id, "NOPE")
        assert str(info.value) == "no order 'NOPE' in store '旗舰店'"
        assert localise(info.value, "zh-CN") == "店铺「旗舰店」中没有订单 NOPE"
