"""POST /api/v1/orders, the store's own channel: what an integration sees (201 with the order,
409 out of stock with nothing written, 422 naming each wrong field), idempotency keys, the
integration role, unpaid orders that hold their stock until their deadline."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from channel_seed import STORE, auth, order_body, seed_channel_store, stock_of
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_seed import fast_hashing, serving  # noqa: F401

from storeops.api.app import create_app
from storeops.common.timeutil import utcnow
from storeops.db.engine import unit_of_work
from storeops.inventory.models import StockReservation
from storeops.orders.models import ChannelRequest, Order, OrderEvent, ReviewSettings

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def shop(db_url: str) -> dict[str, Any]:
    return {"url": db_url, **seed_channel_store(db_url)}


@pytest.fixture
def api(shop: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(shop["url"], secret_key="test-secret")) as c:
        yield c


def _orders(url: str) -> int:
    with unit_of_work(url) as s:
        return int(s.scalar(select(func.count()).select_from(Order)) or 0)


def test_created_order_answers_201_with_the_order_and_holds_its_stock(
        api: TestClient, shop: dict[str, Any]) -> None:
    token = shop["tokens"]["integration"]
    body = order_body("OWN-1", lines=[{"sku": "A1", "qty": 2, "price": 199.9},
                                      {"sku": "B2", "qty": 1, "price": "59"}], freight=8.5)
    r = api.post("/api/v1/orders", json=body, headers=auth(token, "key-1"))
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["store"] == STORE and order["channel_order_id"] == "OWN-1"
    assert order["channel"] == "own" and order["status"] == "wait_stock_out"
    assert order["stage"] == "allocated" and order["paid"] is True
    assert [(x["sku"], x["qty"], x["price"], x["amount"]) for x in order["lines"]] == [
        ("A1", 2, "199.90", "399.80"), ("B2", 1, "59.00", "59.00")]
    # money as decimal strings, exact
    assert (order["goods"], order["freight"], order["total"]) == ("458.80", "8.50", "467.30")
    assert order["pay_deadline"] is None and order["due_at"]
    assert stock_of(shop["url"], shop["store_id"], "A1") == {
        "on_hand": 10, "reserved": 2, "available": 8}
    with unit_of_work(shop["url"]) as s:
        stored = s.scalar(select(Order).where(Order.platform_order_id == "OWN-1"))
        assert stored.receiver_phone == "138****5678"  # masked, as every order
        kinds = s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == stored.id))
        assert "received" in set(kinds)


def test_out_of_stock_is_409_naming_each_short_sku_and_writes_nothing(
        api: TestClient, shop: dict[str, Any]) -> None:
    token = shop["tokens"]["integration"]
    body = order_body(lines=[{"sku": "A1", "qty": 1, "price": "1"},
                             {"sku": "B2", "qty": 5, "price": "1"},
                             {"sku": "C3", "qty": 1, "price": "1"}])
    r = api.post("/api/v1/orders", json=body, headers=auth(token, "short"))
    assert r.status_code == 409, r.text
    answer = r.json()
    assert answer["error"] == "out_of_stock" and answer["detail"]
    assert sorted(answer["skus"], key=lambda x: x["sku"]) == [
        {"sku": "B2", "requested": 5, "available": 3},
        {"sku": "C3", "requested": 1, "available": 0}]
    assert _orders(shop["url"]) == 0
    assert stock_of(shop["url"], shop["store_id"], "A1")["reserved"] == 0
    with unit_of_work(shop["url"]) as s:
        assert s.scalar(select(func.count()).select_from(ChannelRequest)) == 0


def test_invalid_fields_are_422_naming_each(api: TestClient, shop: dict[str, Any]) -> None:
    token = shop["tokens"]["integration"]
    body = order_body(lines=[{"sku": "A1", "qty": 0, "price": "-1"},
                             {"sku": "A1", "qty": 1, "price": "abc"}], freight=1.234)
    body["buyer"] = {"name": "x"}
    body["extra"] = 1
    r = api.post("/api/v1/orders", json=body, headers=auth(token, "bad"))
    assert r.status_code == 422, r.text
    answer = r.json()
    where = {".".join(e["loc"]) for e in answer["errors"]}
    assert {"body.lines.0.qty", "body.lines.0.price", "body.lines.1.price", "body.freight",
            "body.buyer.account", "body.extra"} <= where
    assert "lines.0.qty" in answer["detail"] and "freight" in answer["detail"]
    # well-formed but not the store's: each line named
    body = order_body(lines=[{"sku": "NOPE", "qty": 1, "price": "1"},
                             {"sku": "A1", "qty": 1, "price": "1"},
                             {"sku": "ALSO-NOPE", "qty": 1, "price": "1"}])
    r = api.post("/api/v1/orders", json=body, headers=auth(token, "bad-2"))
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "lines", "0", "sku"],
                                                      ["body", "lines", "2", "sku"]]
    r = api.post("/api/v1/orders", content=b"{not json", headers={
        **auth(token, "bad-3"), "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"]
    r = api.post("/api/v1/orders", json=order_body(store="另一家"), headers=auth(token, "k"))
    assert r.status_code == 404 and "另一家" in r.json()["detail"]
    assert _orders(shop["url"]) == 0


def test_idempotency_key_required_and_bounded(api: TestClient, shop: dict[str, Any]) -> None:
    token = shop["tokens"]["integration"]
    r = api.post("/api/v1/orders", json=order_body(), headers=auth(token))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert "Idempotency-Key" in r.json()["detail"]
    r = api.post("/api/v1/orders", json=order_body(), headers=auth(token, "k" * 256))
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    r = api.post("/api/v1/orders", json=order_body(), headers=auth(token, "   "))
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    assert _orders(shop["url"]) == 0
    assert api.post("/api/v1/orders", json=order_body(),
                    headers=auth(token, "k" * 255)).status_code == 201


def test_same_key_same_body_replays_the_first_answer(
        api: TestClient, shop: dict[str, Any]) -> None:
    token = shop["tokens"]["integration"]
    body = order_body("OWN-R", lines=[{"sku": "A1", "qty": 1, "price": "10.5"}])
    first = api.post("/api/v1/orders", json=body, headers=auth(token, "same"))
    assert first.status_code == 201
    # the same request, keys in another order and the price spelt another way
    again = dict(reversed(list(body.items())))
    again["lines"] = [{"price": 10.50, "qty": 1, "sku": "A1"}]
    second = api.post("/api/v1/orders", json=again, headers=auth(token, "same"))
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert _orders(shop["url"]) == 1
    assert stock_of(shop["url"], shop["store_id"], "A1")["reserved"] == 1
    # another body under the same key is refused, nothing created
    other = order_body("OWN-R2", lines=[{"sku": "A1", "qty": 3, "price": "10.5"}])
    refused = api.post("/api/v1/orders", json=other, headers=auth(token, "same"))
    assert refused.status_code == 422
    assert refused.json()["error"] == "idempotency_key_reused"
    assert "same" in refused.json()["detail"]
    assert _orders(shop["url"]) == 1
    # keys are per user: the owner's "same" is another key
    mine = api.post("/api/v1/orders", json=other, headers=auth(shop["tokens"]["owner"], "same"))
    assert mine.status_code == 201 and _orders(shop["url"]) == 2
    # the order id again under a new key: refused, not duplicated
    dup = api.post("/api/v1/orders", json=body, headers=auth(token, "new-key"))
    assert dup.status_code == 409 and dup.json()["error"] == "duplicate_order"
    assert _orders(shop["url"]) == 2


def test_integration_role_creates_orders_but_sees_no_figures(
        api: TestClient, shop: dict[str, Any]) -> None:
    integration, analyst = shop["tokens"]["integration"], shop["tokens"]["analyst"]
    assert api.post("/api/v1/orders", json=order_body(),
                    headers=auth(integration, "i-1")).status_code == 201
    r = api.get("/api/v1/kpi/summary", params={"store": STORE}, headers=auth(integration))
    assert r.status_code == 403
    r = api.post("/api/v1/orders", json=order_body(), headers=auth(analyst, "a-1"))
    assert r.status_code == 403
    r = api.post("/api/v1/orders", json=order_body(), headers={"Idempotency-Key": "x"})
    assert r.status_code == 401
    assert _orders(shop["url"]) == 1


def test_unpaid_order_holds_stock_until_its_deadline_then_is_cancelled(
        api: TestClient, shop: dict[str, Any]) -> None:
    from storeops.orders.expiry import expire_unpaid

    url, token = shop["url"], shop["tokens"]["integration"]
    with unit_of_work(url) as s:
        s.add(ReviewSettings(store_id=shop["store_id"], unpaid_hold_minutes=15))
    before = utcnow()
    r = api.post("/api/v1/orders", json=order_body("UNPAID", paid=False,
                                                   lines=[{"sku": "B2", "qty": 3, "price": 5}]),
                 headers=auth(token, "u-1"))
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "wait_pay" and order["paid"] is False
    deadline = order["pay_deadline"]
    from datetime import datetime

    assert timedelta(minutes=14) < datetime.fromisoformat(deadline) - before \
        <= timedelta(minutes=15, seconds=30)
    assert stock_of(url, shop["store_id"], "B2")["available"] == 0
    # the stock is held: another buyer cannot have it
    r = api.post("/api/v1/orders", json=order_body(lines=[{"sku": "B2", "qty": 1, "price": 5}]),
                 headers=auth(token, "u-2"))
    assert r.status_code == 409 and r.json()["skus"][0]["available"] == 0
    with unit_of_work(url) as s:
        held = s.scalars(select(StockReservation).where(StockReservation.state == "held")).all()
        assert [h.expires_at.isoformat() for h in held] == [deadline]
        assert expire_unpaid(s, utcnow()) == 0  # not yet
        assert expire_unpaid(s, utcnow() + timedelta(minutes=16)) == 1
    with unit_of_work(url) as s:
        stored = s.get(Order, order["id"])
        assert (stored.stage, stored.status) == ("cancelled", "cancelled")
        assert expire_unpaid(s, utcnow() + timedelta(minutes=16)) == 0  # once
    assert stock_of(url, shop["store_id"], "B2") == {"on_hand": 3, "reserved": 0,
                                                     "available": 3}
    r = api.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(token))
    assert r.status_code == 409 and r.json()["error"] == "not_payable"


def test_paying_an_unpaid_order_keeps_its_stock_and_reviews_it(
        api: TestClient, shop: dict[str, Any]) -> None:
    from storeops.orders.expiry import expire_unpaid

    url, token = shop["url"], shop["tokens"]["integration"]
    r = api.post("/api/v1/orders", json=order_body("TO-PAY", paid=False), headers=auth(token, "p"))
    order_id = r.json()["id"]
    paid = api.post(f"/api/v1/orders/{order_id}/pay", headers=auth(token))
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "wait_stock_out" and paid.json()["pay_deadline"] is None
    assert paid.json()["stage"] == "allocated" and paid.json()["paid"] is True
    assert api.post(f"/api/v1/orders/{order_id}/pay", headers=auth(token)).status_code == 200
    with unit_of_work(url) as s:
        assert expire_unpaid(s, utcnow() + timedelta(days=1)) == 0
        held = s.scalars(select(StockReservation).where(StockReservation.order_id == order_id))
        assert [(h.state, h.expires_at) for h in held] == [("held", None)]
    assert stock_of(url, shop["store_id"], "A1")["reserved"] == 2
    assert api.post("/api/v1/orders/999999/pay", headers=auth(token)).status_code == 404


def test_paying_after_the_deadline_cancels_and_answers_409(
        api: TestClient, shop: dict[str, Any]) -> None:
    url, token = shop["url"], shop["tokens"]["integration"]
    r = api.post("/api/v1/orders", json=order_body("LATE", paid=False), headers=auth(token, "l"))
    order_id = r.json()["id"]
    with unit_of_work(url) as s:
        s.get(Order, order_id).pay_deadline = utcnow() - timedelta(seconds=1)
    late = api.post(f"/api/v1/orders/{order_id}/pay", headers=auth(token))
    assert late.status_code == 409 and late.json()["error"] == "not_payable"
    assert stock_of(url, shop["store_id"], "A1")["reserved"] == 0
    with unit_of_work(url) as s:
        assert s.get(Order, order_id).stage == "cancelled"


def test_held_by_review_still_reserves_or_refuses(api: TestClient, shop: dict[str, Any]) -> None:
    """A remark holds the order for a person (review), but its stock is reserved at once."""
    token = shop["tokens"]["integration"]
    r = api.post("/api/v1/orders", json=order_body("REMARK", remark="请周末送货"),
                 headers=auth(token, "rm"))
    assert r.status_code == 201
    assert r.json()["stage"] == "under_review" and r.json()["hold_reason"]
    assert stock_of(shop["url"], shop["store_id"], "A1")["reserved"] == 2


def test_two_identical_requests_at_once_make_one_order(shop: dict[str, Any]) -> None:
    """Real concurrency: a server and threads sending the same key and body together."""
    url, token = shop["url"], shop["tokens"]["integration"]
    body = json.dumps(order_body("RACE", lines=[{"sku": "A1", "qty": 1, "price": "1"}]))
    answers: list[httpx.Response] = []
    with serving(create_app(url, secret_key="test-secret")) as base:
        barrier = threading.Barrier(6)

        def send() -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                barrier.wait()
                answers.append(c.post("/api/v1/orders", content=body, headers={
                    **auth(token, "race-key"), "content-type": "application/json"}))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert _orders(url) == 1
    assert stock_of(url, shop["store_id"], "A1")["reserved"] == 1


def test_money_never_goes_through_float(api: TestClient, shop: dict[str, Any]) -> None:
    token = shop["tokens"]["integration"]
    raw = ('{"store": "STORE", "channel_order_id": "EXACT", "buyer": {"account": "b"}, '
           '"lines": [{"sku": "A1", "qty": 3, "price": 0.1}], "freight": 0.2}'
           ).replace("STORE", STORE)
    r = api.post("/api/v1/orders", content=raw.encode(), headers={
        **auth(token, "exact"), "content-type": "application/json"})
    assert r.status_code == 201, r.text
    assert Decimal(r.json()["total"]) == Decimal("0.50")
