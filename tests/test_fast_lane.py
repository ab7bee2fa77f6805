"""The fast lane of POST /api/v1/orders (storeops.api.fast_lane): a flash sale's sold-out
buyers are answered without the route, with exactly the route's answer, and nothing the route
decides otherwise (a replay, a reused key, authentication, permissions, invalid bodies, limits,
a take that may succeed) is answered by the lane."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from channel_seed import STORE, auth, order_body, seed_channel_store
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from test_flash_sales import own_redis
from web_seed import fast_hashing  # noqa: F401

from storeops.accounts import tokens
from storeops.accounts.models import ApiToken, User
from storeops.api import fast_lane
from storeops.api.app import create_app
from storeops.catalog.models import Store
from storeops.common.timeutil import utcnow
from storeops.db.engine import unit_of_work
from storeops.inventory import flash
from storeops.orders import channel
from storeops.orders.models import Order

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def shop(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with own_redis(monkeypatch, "lane"):
        flash.clear_cache()
        fast_lane.forget()
        try:
            yield {"url": db_url, **seed_channel_store(db_url, stock={"A1": 40, "B2": 1})}
        finally:
            fast_lane.forget()


@pytest.fixture
def api(shop: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(shop["url"], secret_key="test-secret")) as c:
        yield c


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Idempotency-Keys of the requests the route worked on (channel.prepare)."""
    keys: list[str] = []
    real = channel.prepare

    def counting(*args: Any, **kwargs: Any) -> Any:
        keys.append(kwargs["key"])
        return real(*args, **kwargs)

    monkeypatch.setattr(channel, "prepare", counting)
    return keys


def _sale(shop: dict[str, Any], qty: int, per_buyer: int | None = 1, sku: str = "A1") -> int:
    now = datetime.now(UTC)
    with unit_of_work(shop["url"]) as s:
        store = s.scalar(select(Store).where(Store.name == STORE))
        return flash.create_flash_sale(s, store, sku, qty, Decimal("99"),
                                       now - timedelta(minutes=1), now + timedelta(hours=1),
                                       per_buyer).id


def _body(buyer: str, qty: int = 1, sku: str = "A1") -> dict[str, Any]:
    body = order_body(lines=[{"sku": sku, "qty": qty, "price": "199"}])
    body["buyer"]["account"] = buyer
    return body


def _post(api: TestClient, token: str, key: str, body: Any, **kw: Any) -> Any:
    return api.post("/api/v1/orders", json=body, headers=auth(token, key), **kw)


def _lane_answers(api: TestClient, token: str, routed: list[str]) -> None:
    """Sold-out requests until the lane answers one itself (it looks the sale up in a
    thread after the first)."""
    for n in range(100):
        key = f"warm-{n}"
        r = _post(api, token, key, _body(f"warm-{n}"))
        assert r.status_code == 409 and r.json()["error"] == "flash_sold_out"
        if key not in routed:
            return
        time.sleep(0.02)
    raise AssertionError("the fast lane never answered")


def test_the_lane_gives_the_routes_sold_out_answer_byte_for_byte(
        api: TestClient, shop: dict[str, Any], routed: list[str]) -> None:
    _sale(shop, qty=1)
    token = shop["tokens"]["integration"]
    assert _post(api, token, "a1", _body("alice")).status_code == 201
    _lane_answers(api, token, routed)
    # a query string (the app's query checks) is left to the route
    by_route = api.post("/api/v1/orders?via=route", json=_body("bob", qty=3),
                        headers=auth(token, "b1"))
    assert "b1" in routed
    by_lane = _post(api, token, "c1", _body("carol", qty=3))
    assert "c1" not in routed
    assert (by_lane.status_code, by_lane.content) == (409, by_route.content)
    assert by_lane.json() == {"error": "flash_sold_out", "detail": "the flash sale of SKU 'A1' "
                              "is sold out", "code": "flash.sold_out",
                              "skus": [{"sku": "A1", "requested": 3, "available": 0}]}
    assert dict(by_lane.headers) == dict(by_route.headers)
    assert by_lane.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in by_lane.headers["content-security-policy"]
    with unit_of_work(shop["url"]) as s:
        assert len(s.scalars(select(Order)).all()) == 1  # alice's


def test_a_key_answered_before_gets_its_first_answer_after_sell_out(
        api: TestClient, shop: dict[str, Any], routed: list[str]) -> None:
    _sale(shop, qty=1)
    seen = _sold_out_setup(api, shop, routed)
    again = _post(api, seen["token"], "a1", seen["first"])
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == seen["answer"]
    other = _post(api, seen["token"], "a1", _body("alice", qty=2))
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    assert routed.count("a1") == 3


def _sold_out_setup(api: TestClient, shop: dict[str, Any], routed: list[str]
                    ) -> dict[str, Any]:
    token = shop["tokens"]["integration"]
    first = _body("alice")
    r = _post(api, token, "a1", first)
    assert r.status_code == 201, r.text
    _lane_answers(api, token, routed)
    return {"token": token, "first": first, "answer": r.json()}


def test_who_may_order_is_decided_as_by_the_route(
        api: TestClient, shop: dict[str, Any], routed: list[str]) -> None:
    _sale(shop, qty=1)
    _sold_out_setup(api, shop, routed)
    body = _body("dave")
    r = api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "d0"})
    assert r.status_code == 401 and r.headers["x-frame-options"] == "DENY"
    r = _post(api, "sop_not-a-token", "d1", body)
    assert r.status_code == 401 and "no such token" in r.json()["detail"]
    analyst = shop["tokens"]["analyst"]
    assert _post(api, analyst, "d2", body).status_code == 403
    assert _post(api, analyst, "d3", body).status_code == 403  # cached now: still refused


def test_a_token_revoked_elsewhere_stops_within_the_cache_time(
        api: TestClient, shop: dict[str, Any], routed: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "TOKEN_CACHE_S", 0.3)
    tokens.forget_tokens()
    _sale(shop, qty=1)
    seen = _sold_out_setup(api, shop, routed)
    with unit_of_work(shop["url"]) as s:  # as another process would: no ORM event here
        s.execute(update(ApiToken).values(revoked_at=utcnow()))
    time.sleep(0.4)
    r = _post(api, seen["token"], "e1", _body("erin"))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_what_the_route_refuses_the_lane_leaves_to_it(
        api: TestClient, shop: dict[str, Any], routed: list[str]) -> None:
    _sale(shop, qty=1)
    seen = _sold_out_setup(api, shop, routed)
    token = seen["token"]
    # an invalid body: 422 naming the field
    bad = _body("frank")
    bad["lines"][0]["qty"] = 0
    r = _post(api, token, "f1", bad)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "lines", "0",
                                                                       "qty"]
    # an unknown SKU in a second line: 422 before any sold-out answer
    two = _body("frank")
    two["lines"].append({"sku": "NOPE", "qty": 1, "price": "1"})
    r = _post(api, token, "f2", two)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "lines", "1",
                                                                       "sku"]
    # a blank key, a key too long, a query string
    assert _post(api, token, "  ", _body("frank")).status_code == 422
    assert _post(api, token, "k" * 256, _body("frank")).status_code == 422
    r = api.post("/api/v1/orders?x=" + "y" * 300, json=_body("frank"),
                 headers=auth(token, "f3"))
    assert r.status_code == 422
    # a body over the limit: 413 before a byte is read
    r = api.post("/api/v1/orders", content=b"{" + b" " * (1 << 20) + b"}",
                 headers={**auth(token, "f4"), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert routed.count("f2") == 1 and "f1" not in routed


def test_fewer_units_left_than_asked_refuses_only_that_order(
        api: TestClient, shop: dict[str, Any], routed: list[str]) -> None:
    """3 units, 2 sold: an order of 2 is sold out, an order of 1 still buys the last."""
    _sale(shop, qty=3, per_buyer=None)
    token = shop["tokens"]["integration"]
    assert _post(api, token, "g1", _body("gina", qty=2)).status_code == 201
    for n in range(5):  # by the route first, then by the lane
        r = _post(api, token, f"h{n}", _body("hank", qty=2))
        assert r.status_code == 409 and r.json()["error"] == "flash_sold_out"
        time.sleep(0.02)
    r = _post(api, token, "i1", _body("ivy", qty=1))
    assert r.status_code == 201, r.text
    r = _post(api, token, "j1", _body("jack", qty=1))
    assert r.status_code == 409 and r.json()["error"] == "flash_sold_out"


def test_quota_given_back_sells_again(api: TestClient, shop: dict[str, Any],
                                      routed: list[str]) -> None:
    _sale(shop, qty=1)
    seen = _sold_out_setup(api, shop, routed)
    with unit_of_work(shop["url"]) as s:
        order = s.get(Order, seen["answer"]["id"])
        assert flash.return_quota(s, order) == 1
    r = _post(api, seen["token"], "k1", _body("kate"))
    assert r.status_code == 201, r.text
    assert _post(api, seen["token"], "k2", _body("kim")).status_code == 409


def test_redis_unsure_leaves_the_answer_to_the_route(
        api: TestClient, shop: dict[str, Any], routed: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _sale(shop, qty=1)
    seen = _sold_out_setup(api, shop, routed)

    async def failing(self: Any, keys: list[str]) -> list[Any]:
        raise ConnectionError("Redis went away")

    monkeypatch.setattr(fast_lane._Mget, "get", failing)
    r = _post(api, seen["token"], "l1", _body("liam"))
    assert r.status_code == 409 and r.json()["error"] == "flash_sold_out"
    assert "l1" in routed


def test_a_crowd_at_a_new_sale_waits_at_its_gate_instead_of_the_route(
        api: TestClient, shop: dict[str, Any], routed: list[str]) -> None:
    """40 buyers at once for 3 units: exactly 3 are sold, and the route sees few more than
    the buyers who could win (the others wait at the sale's gate, then hear sold out)."""
    from concurrent.futures import ThreadPoolExecutor

    _sale(shop, qty=3)
    token = shop["tokens"]["integration"]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda n: _post(api, token, f"m{n}", _body(f"m{n}")),
                                range(40)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] * 3 + [409] * 37
    assert {r.json()["error"] for r in answers if r.status_code == 409} == {"flash_sold_out"}
    assert len(routed) <= 10, routed
    with unit_of_work(shop["url"]) as s:
        assert len(s.scalars(select(Order)).all()) == 3


def test_a_token_past_its_remembered_time_is_read_again_by_the_lane(
        api: TestClient, shop: dict[str, Any], routed: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When a busy token's remembered check runs out, its requests do not all take the
    route: the lane reads the token once and answers."""
    monkeypatch.setattr(tokens, "TOKEN_CACHE_S", 0.2)
    tokens.forget_tokens()
    _sale(shop, qty=1)
    seen = _sold_out_setup(api, shop, routed)
    time.sleep(0.3)
    assert tokens.remembered(shop["url"], seen["token"]) is None
    r = _post(api, seen["token"], "n1", _body("nina"))
    assert r.status_code == 409 and r.json()["error"] == "flash_sold_out"
    assert "n1" not in routed


def test_an_ordinary_order_is_prepared_without_io_once_its_store_and_skus_are_known(
        shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """channel.prepare_cached (the API's event loop) answers only from what the process has
    looked up lately; anything else (a store, SKU or the flash sales not looked up, a line on
    a flash sale, an expired lookup) is left to channel.prepare (a thread)."""
    import time as real_time

    url = shop["url"]
    monkeypatch.setattr(channel, "_stores", {})
    monkeypatch.setattr(channel, "_skus", {})
    flash.clear_cache()
    with unit_of_work(url) as s:
        user_id = s.scalar(select(User.id).where(User.username == "integration-u"))

    def request(sku: str, oid: str) -> channel.ChannelOrder:
        return channel.ChannelOrder(STORE, oid, channel.ChannelBuyer(
            "b-1", "张三", "13812345678", "上海市上海市浦东新区世纪大道100号"),
            (channel.ChannelLine(sku, 1, Decimal("19.90")),), freight=Decimal("0"))

    assert channel.prepare_cached(url, user_id=user_id, key="k0", request=request("B2", "P0")) \
        is None  # nothing looked up yet
    by_thread = channel.prepare(url, user_id=user_id, key="k1", request=request("B2", "P1"))
    cached = channel.prepare_cached(url, user_id=user_id, key="k1", request=request("B2", "P1"),
                                    now=by_thread.now)
    assert isinstance(by_thread, channel.Prepared) and cached == by_thread
    # a SKU not looked up yet
    assert channel.prepare_cached(url, user_id=user_id, key="k2",
                                  request=request("C3", "P2")) is None
    # a line on an active flash sale: its quota is taken first (not without I/O)
    _sale(shop, 5, sku="A1")
    flash.clear_cache()
    channel.prepare(url, user_id=user_id, key="k3", request=request("B2", "P3"))
    channel.prepare(url, user_id=user_id, key="k4", request=request("A1", "P4"))
    assert channel.prepare_cached(url, user_id=user_id, key="k5",
                                  request=request("A1", "P5")) is None
    assert channel.prepare_cached(url, user_id=user_id, key="k6",
                                  request=request("B2", "P6")) is not None
    # lookups older than their TTL are not used
    for cache in (channel._stores, channel._skus):
        for k, (_expiry, value) in list(cache.items()):
            cache[k] = (real_time.monotonic() - 1, value)
    assert channel.prepare_cached(url, user_id=user_id, key="k7",
                                  request=request("B2", "P7")) is None
