"""Many POST /api/v1/orders written in one transaction (storeops.orders.channel_batch and the
API's batcher): each request gets the answer it gets alone — an order short of stock its 409
while the batch's others are written, a key sent twice one order, an order id sent twice with
two keys a duplicate_order — and nothing is ever oversold."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from channel_seed import STORE, auth, order_body, seed_channel_store, stock_of
from sqlalchemy import func, select
from web_seed import fast_hashing  # noqa: F401

from storeops.accounts.models import User
from storeops.db.engine import unit_of_work
from storeops.inventory.service import check
from storeops.orders import channel
from storeops.orders.channel import (
    ChannelAnswer,
    ChannelBuyer,
    ChannelLine,
    ChannelOrder,
    DuplicateOrder,
    KeyReused,
    OutOfStockRefused,
)
from storeops.orders.channel_batch import write_many
from storeops.orders.models import ChannelRequest, Order, OrderEvent, Shipment, ShipmentLine

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def shop(db_url: str) -> dict[str, Any]:
    # A1: 10 units, B2: 3 units (channel_seed), C3: 5
    found = seed_channel_store(db_url, stock={"C3": 5})
    with unit_of_work(db_url) as s:
        user_id = s.scalar(select(User.id).where(User.username == "integration-u"))
    return {"url": db_url, "user_id": user_id, **found}


def _order(oid: str, *lines: tuple[str, int], account: str = "buyer-1",
           remark: str | None = None) -> ChannelOrder:
    return ChannelOrder(STORE, oid, ChannelBuyer(account, "张三", "13812345678",
                                                 "上海市上海市浦东新区世纪大道100号"),
                        tuple(ChannelLine(sku, qty, Decimal("19.90")) for sku, qty in lines),
                        freight=Decimal("5"), remark=remark)


def _prepare(shop: dict[str, Any], key: str, order: ChannelOrder) -> Any:
    return channel.prepare(shop["url"], user_id=shop["user_id"], key=key, request=order)


def _count(url: str, model: Any) -> int:
    with unit_of_work(url) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_short_order_in_a_batch_gets_its_409_and_the_others_are_written(
        shop: dict[str, Any]) -> None:
    # B2 has 3 units: O1 takes 2, O2 asks 2 (1 left: refused), O3 takes the last 1.
    # A1 has 10: O1 1, O3 4, O4 5 → 0 left. O2 is answered alone after the batch's commit,
    # so its 409 tells what is left then: 0 of B2.
    items = [_prepare(shop, "k1", _order("O1", ("A1", 1), ("B2", 2))),
             _prepare(shop, "k2", _order("O2", ("B2", 2))),
             _prepare(shop, "k3", _order("O3", ("A1", 4), ("B2", 1))),
             _prepare(shop, "k4", _order("O4", ("A1", 5)))]
    results = write_many(items, actor="api:integration-u")
    assert [type(r).__name__ for r in results] == [
        "ChannelAnswer", "OutOfStockRefused", "ChannelAnswer", "ChannelAnswer"]
    assert [r.status for r in results if isinstance(r, ChannelAnswer)] == [201, 201, 201]
    assert [r.body["channel_order_id"] for r in results if isinstance(r, ChannelAnswer)] == [
        "O1", "O3", "O4"]
    short = results[1]
    assert isinstance(short, OutOfStockRefused)
    assert short.body()["skus"] == [{"sku": "B2", "requested": 2, "available": 0}]
    o1 = results[0].body
    assert o1["stage"] == "allocated" and o1["total"] == "64.70"  # 19.90 × 3 + 5
    assert stock_of(shop["url"], shop["store_id"], "A1") == {
        "on_hand": 10, "reserved": 10, "available": 0}
    assert stock_of(shop["url"], shop["store_id"], "B2") == {
        "on_hand": 3, "reserved": 3, "available": 0}
    assert _count(shop["url"], Order) == 3 and _count(shop["url"], ChannelRequest) == 3
    # an order written alone, for comparison (of C3, which none of the above takes)
    solo = channel.submit(shop["url"], user_id=shop["user_id"], actor="api:integration-u",
                          key="solo", request=_order("SOLO", ("C3", 1), remark=None))
    assert solo.status == 201
    with unit_of_work(shop["url"]) as s:
        assert check(s) == []
        solo_kinds = list(s.scalars(select(OrderEvent.kind).where(
            OrderEvent.order_id == solo.order_id).order_by(OrderEvent.id)))
        # each written order as alone: its events, one parcel with its lines, named by the
        # "allocated" event
        for answer in (r for r in results if isinstance(r, ChannelAnswer)):
            kinds = list(s.scalars(select(OrderEvent.kind).where(
                OrderEvent.order_id == answer.order_id).order_by(OrderEvent.id)))
            assert kinds == solo_kinds
            data = json.loads(s.scalar(select(OrderEvent.data_json).where(
                OrderEvent.order_id == answer.order_id, OrderEvent.kind == "allocated")))
            parcels = list(s.scalars(select(Shipment.id).join(
                ShipmentLine, ShipmentLine.shipment_id == Shipment.id).where(
                ShipmentLine.order_id == answer.order_id).distinct()))
            assert data["shipments"] == parcels and len(parcels) == 1
        stored = s.scalar(select(ChannelRequest.response_json).where(
            ChannelRequest.idempotency_key == "k3"))
        assert json.loads(stored) == results[2].body


def test_keys_and_order_ids_sent_twice_in_a_batch(shop: dict[str, Any]) -> None:
    same = _order("D1", ("A1", 1))
    items = [_prepare(shop, "dup", same),
             _prepare(shop, "dup", same),                          # the same request again
             _prepare(shop, "dup", _order("D2", ("A1", 1))),      # the key, another body
             _prepare(shop, "other", _order("D1", ("A1", 1))),    # the order id, another key
             _prepare(shop, "fine", _order("D3", ("A1", 1)))]
    results = write_many(items, actor="api:integration-u")
    first, again, reused, duplicate, fine = results
    assert isinstance(first, ChannelAnswer) and first.status == 201 and not first.replayed
    assert isinstance(again, ChannelAnswer) and again.replayed
    assert again.body == first.body and again.order_id == first.order_id
    assert isinstance(reused, KeyReused) and reused.http_status == 422
    assert isinstance(duplicate, DuplicateOrder)
    assert isinstance(fine, ChannelAnswer) and fine.status == 201
    assert _count(shop["url"], Order) == 2  # D1 and D3
    assert stock_of(shop["url"], shop["store_id"], "A1")["reserved"] == 2


def test_a_held_order_in_a_batch_holds_its_stock_as_alone(shop: dict[str, Any]) -> None:
    # a buyer remark holds the order for a person; its stock is held all the same
    items = [_prepare(shop, "h1", _order("H1", ("A1", 2), remark="请开发票")),
             _prepare(shop, "h2", _order("H2", ("A1", 3)))]
    held, plain = write_many(items, actor="api:integration-u")
    assert held.status == 201 and held.body["stage"] == "under_review"
    assert held.body["hold_reason"]
    assert plain.status == 201 and plain.body["stage"] == "allocated"
    assert stock_of(shop["url"], shop["store_id"], "A1")["reserved"] == 5


def test_flash_orders_in_a_batch_take_the_quota_and_no_more(shop: dict[str, Any]) -> None:
    # a flash sale of 2 units of A1 at 99.00 (no Redis: the database's quota); 4 buyers in
    # one batch: the first two get it at 99.00, the others are answered sold out
    from datetime import timedelta

    from storeops.catalog.models import Store
    from storeops.common.timeutil import utcnow
    from storeops.inventory.flash import create_flash_sale
    from storeops.inventory.models import FlashClaim, FlashSale

    now = utcnow()
    with unit_of_work(shop["url"]) as s:
        store = s.get(Store, shop["store_id"])
        sale_id = create_flash_sale(s, store, "A1", 2, Decimal("99"), now - timedelta(
            minutes=1), now + timedelta(hours=1), per_buyer=1).id
    items = [_prepare(shop, f"f{n}", _order(f"F{n}", ("A1", 1), account=f"fan-{n}"))
             for n in range(4)]
    results = write_many(items, actor="api:integration-u")
    won = [r for r in results if isinstance(r, ChannelAnswer)]
    lost = [r for r in results if not isinstance(r, ChannelAnswer)]
    assert [r.body["channel_order_id"] for r in won] == ["F0", "F1"]
    assert all(r.body["lines"][0]["price"] == "99.00" for r in won)
    assert all(r.body["lines"][0]["flash_sale_id"] == sale_id for r in won)
    assert [r.body()["error"] for r in lost] == ["flash_sold_out", "flash_sold_out"]
    with unit_of_work(shop["url"]) as s:
        assert s.scalar(select(FlashSale.sold).where(FlashSale.id == sale_id)) == 2
        assert _count(shop["url"], FlashClaim) == 2
        assert check(s) == []
    assert stock_of(shop["url"], shop["store_id"], "A1")["reserved"] == 2


async def _post_many(url: str, token: str, bodies: list[dict[str, Any]]) -> list[Any]:
    from storeops.api.app import create_app
    from storeops.api.order_batcher import _batchers

    app = create_app(url, secret_key="test-secret")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = await asyncio.gather(*[
            client.post("/api/v1/orders", json=body, headers=auth(token, f"key-{i}"))
            for i, body in enumerate(bodies)])
    batcher = _batchers[asyncio.get_running_loop()]
    return [answers, batcher.largest]


def test_concurrent_requests_are_batched_and_never_oversell(shop: dict[str, Any]) -> None:
    # 30 buyers at once want 1 unit of A1 each; 10 in stock: exactly 10 orders
    token = shop["tokens"]["integration"]
    bodies = [order_body(f"C-{i}", lines=[{"sku": "A1", "qty": 1, "price": "199"}],
                         buyer={"account": f"buyer-{i}", "name": "李四",
                                "phone": "13800000000",
                                "address": "上海市上海市浦东新区世纪大道100号"})
              for i in range(30)]
    answers, largest = asyncio.run(_post_many(shop["url"], token, bodies))
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 10 and statuses.count(409) == 20, statuses
    assert all(a.json()["error"] == "out_of_stock" for a in answers if a.status_code == 409)
    assert largest > 1  # written in batches, not one by one
    made = {a.json()["channel_order_id"] for a in answers if a.status_code == 201}
    with unit_of_work(shop["url"]) as s:
        assert set(s.scalars(select(Order.platform_order_id))) == made
        assert check(s) == []
    assert stock_of(shop["url"], shop["store_id"], "A1") == {
        "on_hand": 10, "reserved": 10, "available": 0}
