"""How the batched order writes keep their rows until they write them together: a request
alone goes through the batched intake and answers as ``channel.submit`` does; a stock
batch's reservations are written before any read of the session sees the stock; a page's
new orders are in the database before a later order of the page reads, with their final
stage once reviewed — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from channel_seed import STORE, seed_channel_store, stock_of
from sqlalchemy import func, select
from web_seed import fast_hashing  # noqa: F401

from storeops.accounts.models import User
from storeops.catalog.models import Product, Store
from storeops.db.engine import unit_of_work
from storeops.inventory import service as inv
from storeops.inventory.batch_reserve import reserving
from storeops.inventory.models import StockLevel, StockMovement
from storeops.orders import channel
from storeops.orders.batch_intake import upsert_orders
from storeops.orders.channel import ChannelAnswer, ChannelBuyer, ChannelLine, ChannelOrder
from storeops.orders.channel_batch import write_many
from storeops.orders.models import ChannelRequest, Order, OrderEvent, OrderLine

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def shop(db_url: str) -> dict[str, Any]:
    found = seed_channel_store(db_url, stock={"C3": 5})  # A1: 10, B2: 3, C3: 5
    with unit_of_work(db_url) as s:
        user_id = s.scalar(select(User.id).where(User.username == "integration-u"))
    return {"url": db_url, "user_id": user_id, **found}


def _order(oid: str, sku: str, qty: int, remark: str | None = None) -> ChannelOrder:
    return ChannelOrder(STORE, oid, ChannelBuyer("buyer-1", "张三", "13812345678",
                                                 "上海市上海市浦东新区世纪大道100号"),
                        (ChannelLine(sku, qty, Decimal("19.90")),), freight=Decimal("5"),
                        remark=remark)


def _timeline(url: str, order_id: int) -> list[tuple[str, str | None, str | None]]:
    with unit_of_work(url) as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(OrderEvent.kind, OrderEvent.from_stage, OrderEvent.to_stage)
            .where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))]


def test_a_request_alone_is_written_by_the_batch_and_answers_as_submit(
        shop: dict[str, Any]) -> None:
    url, user, now = shop["url"], shop["user_id"], channel.utcnow()
    [alone] = write_many([channel.prepare(url, user_id=user, key="k1", now=now,
                                          request=_order("O1", "A1", 2))], actor="api:u")
    solo = channel.submit(url, user_id=user, actor="api:u", key="k2", now=now,
                          request=_order("O2", "A1", 3))
    assert isinstance(alone, ChannelAnswer) and alone.status == 201
    assert alone.body["stage"] == solo.body["stage"] == "allocated"
    assert {k: v for k, v in alone.body.items() if k not in ("id", "channel_order_id")} == {
        k: v for k, v in solo.body.items() if k not in ("id", "channel_order_id")} | {
        "lines": [{**solo.body["lines"][0], "qty": 2, "amount": "39.80"}],
        "goods": "39.80", "total": "44.80"}
    assert _timeline(url, alone.order_id) == _timeline(url, solo.order_id)
    assert stock_of(url, shop["store_id"], "A1") == {"on_hand": 10, "reserved": 5,
                                                     "available": 5}
    with unit_of_work(url) as s:
        stored = s.scalar(select(ChannelRequest.response_json).where(
            ChannelRequest.idempotency_key == "k1"))
        assert json.loads(stored) == alone.body
        assert inv.check(s) == []
    # the same key again: the first answer, nothing new
    [again] = write_many([channel.prepare(url, user_id=user, key="k1", now=now,
                                          request=_order("O1", "A1", 2))], actor="api:u")
    assert isinstance(again, ChannelAnswer) and again.replayed and again.body == alone.body
    assert stock_of(url, shop["store_id"], "A1")["reserved"] == 5


def test_a_held_order_alone_holds_its_stock(shop: dict[str, Any]) -> None:
    url = shop["url"]
    [held] = write_many([channel.prepare(url, user_id=shop["user_id"], key="k",
                                         request=_order("H1", "B2", 2, remark="请周五送"))],
                        actor="api:u")
    assert isinstance(held, ChannelAnswer) and held.body["stage"] == "under_review"
    assert held.body["hold_reason"]
    assert stock_of(url, shop["store_id"], "B2") == {"on_hand": 3, "reserved": 2,
                                                     "available": 1}


def test_a_stock_batch_writes_what_it_holds_before_any_read(shop: dict[str, Any]) -> None:
    url, store_id = shop["url"], shop["store_id"]
    with unit_of_work(url) as s:  # an unpaid JD order: lines, nothing held
        store = s.get(Store, store_id)
        assert store is not None
        from storeops.orders.incoming import IncomingLine, IncomingOrder
        from storeops.orders.service import upsert_order
        from storeops.orders.states import OrderStatus

        order, _ = upsert_order(s, store, IncomingOrder(
            platform_order_id="J1", channel="jd", status=OrderStatus.WAIT_PAY,
            placed_at=channel.utcnow(), paid_at=None, lines=[IncomingLine("C3", 2, Decimal("10"))],
            buyer_account="jd-buyer", address="上海市上海市浦东新区世纪大道1号"), actor="test")
        order_id = order.id
    with unit_of_work(url) as s:
        order = s.get(Order, order_id)
        line = s.scalar(select(OrderLine).where(OrderLine.order_id == order_id))
        pid = s.scalar(select(Product.id).where(Product.platform_sku_id == "C3"))
        moves = s.scalar(select(func.count()).select_from(StockMovement))
        with reserving(s, store_id, [pid]) as batch:
            batch.reserve_todo(s, order, [(line, 2)], actor="test", expires_at=None)
            # kept by the batch, written before these reads run: they see them
            assert [r.quantity for r in inv.held_reservations(s, order_id)] == [2]
            assert s.scalar(select(StockLevel.reserved).where(
                StockLevel.product_id == pid)) == 2
            assert s.scalar(select(func.count()).select_from(StockMovement)) == moves + 1
            # and nothing twice
            batch.reserve_todo(s, order, [(line, 1)], actor="test", expires_at=None)
        assert s.scalar(select(Product.stock).where(Product.id == pid)) == 2
        assert inv.check(s) == []
    assert stock_of(url, store_id, "C3") == {"on_hand": 5, "reserved": 3, "available": 2}


def test_a_page_writes_its_new_orders_before_a_later_order_reads(
        shop: dict[str, Any]) -> None:
    """A page: two new paid orders, then one already stored that changes (its reads come in
    the middle of the page). Every new order ends reviewed and allocated, in the database
    with its lines, parcels and events, and the ledger agrees."""
    from storeops.orders.incoming import IncomingLine, IncomingOrder
    from storeops.orders.states import OrderStatus

    url, store_id = shop["url"], shop["store_id"]
    now = channel.utcnow()

    def jd(oid: str, qty: int, status: OrderStatus = OrderStatus.WAIT_STOCK_OUT) -> Any:
        return IncomingOrder(
            platform_order_id=oid, channel="jd", status=status, placed_at=now,
            paid_at=None if status is OrderStatus.WAIT_PAY else now,
            lines=[IncomingLine("A1", qty, Decimal("10"))], buyer_account=f"b-{oid}",
            buyer_phone="13812345678", address="上海市上海市浦东新区世纪大道1号",
            modified_at=now)

    with unit_of_work(url) as s:
        store = s.get(Store, store_id)
        upsert_orders(s, store, [jd("S1", 1, OrderStatus.WAIT_PAY)], actor="connector:jd")
    with unit_of_work(url) as s:
        store = s.get(Store, store_id)
        out = upsert_orders(s, store, [jd("N1", 2), jd("N2", 3), jd("S1", 1)],
                            actor="connector:jd")
        assert [outcome for _o, outcome in out] == ["created", "created", "updated"]
        assert [o.stage for o, _ in out] == ["allocated"] * 3
        assert inv.check(s) == []
    with unit_of_work(url) as s:
        stages = dict(s.execute(select(Order.platform_order_id, Order.stage)).all())
        assert stages == {"S1": "allocated", "N1": "allocated", "N2": "allocated"}
        lines = s.scalar(select(func.count()).select_from(OrderLine))
        assert lines == 3
    for oid in ("N1", "N2"):
        with unit_of_work(url) as s:
            order_id = s.scalar(select(Order.id).where(Order.platform_order_id == oid))
        assert [k for k, _f, _t in _timeline(url, order_id)] == [
            "received", "under_review", "approved", "allocated"]
    assert stock_of(url, store_id, "A1") == {"on_hand": 10, "reserved": 6, "available": 4}


def _review(url: str, store_id: int, **settings: Any) -> None:
    from storeops.orders.models import ReviewSettings

    with unit_of_work(url) as s:
        row = s.get(ReviewSettings, store_id)
        if row is None:
            row = ReviewSettings(store_id=store_id, auto_approve=True, hold_on_remark=True,
                                 hold_on_incomplete_address=True)
            s.add(row)
        for name, value in settings.items():
            setattr(row, name, value)


def _blacklist(url: str, store_id: int, account: str) -> None:
    from storeops.orders.models import BuyerBlacklist

    with unit_of_work(url) as s:
        s.add(BuyerBlacklist(store_id=store_id, platform_account=account, reason="刷单"))


def _buyer_order(oid: str, buyer: str, sku: str = "A1", qty: int = 1) -> ChannelOrder:
    return ChannelOrder(STORE, oid, ChannelBuyer(buyer, "张三", "13812345678",
                                                 "上海市上海市浦东新区世纪大道100号"),
                        (ChannelLine(sku, qty, Decimal("19.90")),), freight=Decimal("5"))


def test_a_batch_reviews_by_the_rules_and_blacklist_of_the_moment(
        shop: dict[str, Any]) -> None:
    """The review settings and blacklist a batch reads with its other reads are those of the
    moment: a change between two batches applies to the next one."""
    url, user, store_id = shop["url"], shop["user_id"], shop["store_id"]

    def batch(*orders: ChannelOrder) -> list[Any]:
        answers = write_many([channel.prepare(url, user_id=user, key=f"k-{o.channel_order_id}",
                                              request=o) for o in orders], actor="api:u")
        assert all(isinstance(a, ChannelAnswer) and a.status == 201 for a in answers)
        return [(a.body["stage"], bool(a.body["hold_reason"])) for a in answers]

    assert batch(_buyer_order("R1", "buyer-a"), _buyer_order("R2", "buyer-bad")) == [
        ("allocated", False), ("allocated", False)]
    _blacklist(url, store_id, "buyer-bad")
    _review(url, store_id, max_quantity=2)
    assert batch(_buyer_order("R3", "buyer-a"), _buyer_order("R4", "buyer-bad"),
                 _buyer_order("R5", "buyer-c", qty=3)) == [
        ("allocated", False), ("under_review", True), ("under_review", True)]
    _review(url, store_id, auto_approve=False)
    assert batch(_buyer_order("R6", "buyer-a")) == [("under_review", True)]
    with unit_of_work(url) as s:
        assert inv.check(s) == []


def test_a_batch_allocates_from_the_warehouses_of_the_moment(shop: dict[str, Any]) -> None:
    """A warehouse added since the last batch: once the default one (3 units of B2) cannot
    cover an order, the order comes out of it; new buyers get their customer records."""
    url, user, store_id = shop["url"], shop["user_id"], shop["store_id"]
    with unit_of_work(url) as s:
        wh = inv.add_warehouse(s, store_id, "east", "华东仓", priority=-1)
        wh_id = wh.id
        default_id = inv.ensure_default_warehouse(s, store_id).id
        inv.receive(s, store_id, "B2", 4, warehouse="east", actor="test")
    [a, b] = write_many([channel.prepare(url, user_id=user, key=f"w{n}",
                                         request=_buyer_order(f"W{n}", f"new-buyer-{n}", "B2", 2))
                         for n in (1, 2)], actor="api:u")
    assert isinstance(a, ChannelAnswer) and isinstance(b, ChannelAnswer)
    assert a.body["stage"] == b.body["stage"] == "allocated"
    with unit_of_work(url) as s:
        from storeops.inventory.models import StockReservation
        from storeops.members.models import Customer

        held = s.execute(select(StockReservation.order_id, StockReservation.warehouse_id,
                                StockReservation.quantity)).all()
        assert sorted(held) == [(a.order_id, default_id, 2), (b.order_id, wh_id, 2)]
        customers = {o.platform_order_id: o.customer_id for o in s.scalars(
            select(Order).where(Order.id.in_([a.order_id, b.order_id])))}
        accounts = dict(s.execute(select(Customer.id, Customer.platform_account)).all())
        assert accounts[customers["W1"]] == "new-buyer-1"
        assert accounts[customers["W2"]] == "new-buyer-2"
        assert inv.check(s) == []


def test_another_users_key_is_not_this_users(shop: dict[str, Any]) -> None:
    """Keys are per user: the same Idempotency-Key from two integrations makes two orders."""
    url, user = shop["url"], shop["user_id"]
    with unit_of_work(url) as s:
        other = s.scalar(select(User.id).where(User.username == "owner-u"))
    [first] = write_many([channel.prepare(url, user_id=user, key="same", request=_buyer_order(
        "U1", "buyer-a"))], actor="api:u")
    [second] = write_many([channel.prepare(url, user_id=other, key="same", request=_buyer_order(
        "U2", "buyer-a"))], actor="api:owner")
    assert isinstance(first, ChannelAnswer) and isinstance(second, ChannelAnswer)
    assert first.status == second.status == 201 and not second.replayed
    assert first.order_id != second.order_id
