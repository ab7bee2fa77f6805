"""``POST /api/v1/price``: a cart priced with inline offers or the store's own (live, and
scheduled at a future time), who may call it, and 422s that name the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from channel_seed import STORE, auth, seed_channel_store
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from web_seed import fast_hashing, login  # noqa: F401

from storeops.accounts import csrf
from storeops.accounts.permissions import ROLE_PERMISSIONS, Permission, Role
from storeops.api import pricing_api
from storeops.api.app import create_app
from storeops.api.pricing_api import clear_cache
from storeops.common.timeutil import utcnow
from storeops.db.engine import get_engine, unit_of_work
from storeops.pricing.models import PromotionRecord

pytestmark = pytest.mark.usefixtures("fast_hashing")

CART = {"lines": [{"sku": "A1", "qty": 2, "price": "100.00"},
                  {"sku": "B2", "qty": 1, "price": "50.00"}], "member_tier": None}
INLINE = {"promotions": [
    {"id": "D10", "kind": "direct", "skus": ["A1"], "percent": 10,
     "start": "2026-06-18T00:00", "end": "2026-06-19T00:00"},
    {"id": "MJ", "kind": "full_reduction", "skus": "all",
     "tiers": [{"threshold": 199, "off": 30}]}]}


@pytest.fixture
def shop(db_url: str) -> dict[str, Any]:
    clear_cache()
    return {"url": db_url, **seed_channel_store(db_url)}


@pytest.fixture
def api(shop: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(shop["url"], secret_key="test-secret")) as c:
        yield c


def price(api: TestClient, shop: dict[str, Any], body: dict[str, Any],
          role: str = "owner") -> Any:
    return api.post("/api/v1/price", json=body, headers=auth(shop["tokens"][role]))


def add_offer(shop: dict[str, Any], code: str, kind: str, spec: dict[str, Any],
              status: str = "live") -> None:
    with unit_of_work(shop["url"]) as s:
        s.add(PromotionRecord(store_id=shop["store_id"], code=code, kind=kind, status=status,
                              spec_json=json.dumps({"id": code, **spec}), version=1))


def test_inline_offers_price_the_cart_in_the_issue_shape(api: TestClient,
                                                         shop: dict[str, Any]) -> None:
    r = price(api, shop, {"cart": CART, "promotions": INLINE,
                          "at": "2026-06-18T12:00:00"})
    assert r.status_code == 200, r.text
    data = r.json()
    # A1 at 9折: 180.00, B2 50.00 → 230.00 ≥ 199 → −30: payable 200.00 (50.00 off in all).
    assert (data["goods_total"], data["discount_total"], data["payable"]) == (
        "250.00", "50.00", "200.00")
    assert data["applied"] == ["D10", "MJ"]
    assert data["at"] == "2026-06-18T12:00:00+08:00"  # the store's timezone
    assert data["store"] is None  # inline offers: no store needed
    line = data["lines"][0]
    assert {"sku", "qty", "list_amount", "final_amount", "discounts"} <= set(line)
    assert line["discounts"][0]["id"] == "D10" and line["discounts"][0]["amount"] == "20.00"
    # Outside D10's window only 满199减30 applies: 250 − 30 = 220.00.
    r = price(api, shop, {"cart": CART, "promotions": INLINE, "at": "2026-06-20T12:00:00"})
    assert r.json()["payable"] == "220.00"


def test_who_may_price(api: TestClient, shop: dict[str, Any],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"cart": CART, "promotions": INLINE}
    assert api.post("/api/v1/price", json=body).status_code == 401
    r = api.post("/api/v1/price", json=body, headers=auth("sop_not-a-token"))
    assert r.status_code == 401
    # The analyst views promotions; the integration role creates the channel's orders.
    assert price(api, shop, body, "analyst").status_code == 200
    assert price(api, shop, body, "integration").status_code == 200
    # A role with neither permission is refused, and told which it needs.
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.ANALYST, frozenset({Permission.KPI_VIEW}))
    r = price(api, shop, body, "analyst")
    assert r.status_code == 403
    assert "promo.view or order.create" in r.json()["detail"]


@pytest.mark.parametrize(("body", "loc", "code", "detail"), [
    ({"cart": {"lines": [{"sku": "A1", "qty": 1, "price": "1.999"}]}},
     ["body", "cart", "lines", "0", "price"], "pricing.money_decimals",
     "cart: line 1, field price: has more than 2 decimals: 1.999"),
    ({"cart": {"lines": [{"sku": "A1", "qty": 0, "price": "1"}]}},
     ["body", "cart", "lines", "0", "qty"], "pricing.not_int",
     "cart: line 1, field qty: must be a whole number ≥ 1, not 0"),
    ({"cart": CART, "promotions": {"promotions": [
        {"id": "P", "kind": "direct", "skus": ["A1"], "percent": 100}]}},
     ["body", "promotions", "promotions", "0", "percent"], "pricing.bad_percent",
     "promotions: promotion P, field percent: must be a percent off"),
    ({"cart": CART, "promotions": {"coupons": [{"id": "C", "scope": "shop", "off": 5,
                                                "threshold": 3}]}},
     ["body", "promotions", "coupons", "0", "off"], "pricing.off_above_threshold",
     "promotions: coupon C, field off: 5 is more than the threshold 3"),
    ({"cart": CART, "promotions": {"promotions": [
        {"id": "MB", "kind": "multi_buy", "skus": ["A1"],
         "tiers": [{"qty": 3, "percent": 10}, {"qty": 2, "percent": 20}]}]}},
     ["body", "promotions", "promotions", "0", "tiers", "1", "qty"], "pricing.tiers_order",
     "promotions: promotion MB, field tiers[1].qty: tiers must ascend: 2 is not above 3"),
    ({"cart": CART, "at": "tomorrow"}, ["body", "at"], "pricing.bad_at", "at: must be"),
    ({"store": STORE}, ["body", "cart"], None, "cart: Field required"),
    ({"cart": CART, "colour": "red"}, ["body", "colour"], None, "colour: unknown field"),
    ({"cart": CART, "store": 7}, ["body", "store"], None, "store: must be"),
])
def test_bad_input_is_422_naming_the_field(api: TestClient, shop: dict[str, Any],
                                           body: dict[str, Any], loc: list[str],
                                           code: str | None, detail: str) -> None:
    r = price(api, shop, body)
    assert r.status_code == 422, r.text
    data = r.json()
    assert data["errors"][0]["loc"] == loc
    assert data.get("code") == code
    assert data["detail"].startswith(detail), data["detail"]


def test_not_json_and_unknown_store(api: TestClient, shop: dict[str, Any]) -> None:
    r = api.post("/api/v1/price", content=b"{not json",
                 headers={**auth(shop["tokens"]["owner"]), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["type"] == "json_invalid"
    r = price(api, shop, {"store": "别的店", "cart": CART})
    assert r.status_code == 404 and "别的店" in r.json()["detail"]


def test_store_offers_live_scheduled_and_changes(api: TestClient, shop: dict[str, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker would not ask the database again for an hour: every change below is seen
    # because its commit in this process drops the cached offers.
    monkeypatch.setattr(pricing_api, "CACHE_SECONDS", 3600.0)
    now = utcnow()
    add_offer(shop, "MJ", "full_reduction",
              {"kind": "full_reduction", "skus": "all", "tiers": [{"threshold": 199, "off": 30}]})
    add_offer(shop, "DRAFT", "direct", {"kind": "direct", "skus": ["A1"], "price": "1.00"},
              status="draft")
    # Scheduled: 10% off A1 from tomorrow.
    start = (now + timedelta(days=1)).isoformat()
    add_offer(shop, "SOON", "direct", {"kind": "direct", "skus": ["A1"], "percent": 10,
                                       "start": start}, status="scheduled")
    add_offer(shop, "C5", "coupon", {"scope": "shop", "off": "5.00"})
    body = {"store": STORE, "cart": CART}
    # Now: live only. 250.00 − 30 (满199减30) − 5 (the shop coupon) = 215.00; the draft and
    # the scheduled promotion do not count.
    data = price(api, shop, body, "integration").json()
    assert data["payable"] == "215.00" and data["applied"] == ["MJ", "C5"]
    assert data["store"] == STORE
    # In two days the scheduled one has started: A1 180.00 + 50 = 230 − 30 − 5 = 195.00.
    later = (now + timedelta(days=2)).isoformat()
    data = price(api, shop, {**body, "at": later}).json()
    assert data["payable"] == "195.00" and data["applied"] == ["SOON", "MJ", "C5"]
    # The draft goes live (through the ORM, as the promo commands and pages do): the next
    # request sees it at once.
    with unit_of_work(shop["url"]) as s:
        row = s.scalar(select(PromotionRecord).where(PromotionRecord.code == "DRAFT"))
        row.status, row.version = "live", row.version + 1
    data = price(api, shop, body).json()
    # A1 at 1.00: 2.00 + 50.00 = 52.00 < 199, no 满减; coupon −5: 47.00.
    assert data["payable"] == "47.00" and data["applied"] == ["DRAFT", "C5"]
    # An ORM update statement (as a lifecycle job ending promotions would write) too.
    with unit_of_work(shop["url"]) as s:
        s.execute(update(PromotionRecord).where(PromotionRecord.code == "DRAFT")
                  .values(status="ended", version=PromotionRecord.version + 1))
    assert price(api, shop, body).json()["payable"] == "215.00"
    # A change rolled back changes nothing, and does not drop the cached offers.
    generation = pricing_api._generation
    with pytest.raises(RuntimeError), unit_of_work(shop["url"]) as s:
        s.execute(update(PromotionRecord).where(PromotionRecord.code == "C5")
                  .values(status="ended"))
        raise RuntimeError("abandoned")
    assert pricing_api._generation == generation
    assert price(api, shop, body).json()["payable"] == "215.00"
    # Inline offers replace the store's.
    data = price(api, shop, {**body, "promotions": {"promotions": []}}).json()
    assert data["payable"] == "250.00" and data["applied"] == []


def test_a_change_made_elsewhere_is_seen_once_the_cache_is_due(
        api: TestClient, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    add_offer(shop, "C5", "coupon", {"scope": "shop", "off": "5.00"})
    body = {"store": STORE, "cart": CART}
    assert price(api, shop, body).json()["payable"] == "245.00"  # 250 − 5
    # Another process (here: plain SQL, no session) ends the coupon: within the cache's time
    # the worker still answers with its copy …
    monkeypatch.setattr(pricing_api, "CACHE_SECONDS", 3600.0)
    table = PromotionRecord.__table__
    with get_engine(shop["url"]).begin() as conn:
        conn.execute(update(table).where(table.c.code == "C5")
                     .values(status="ended", version=table.c.version + 1))
    assert price(api, shop, body).json()["payable"] == "245.00"
    # … and once it is due, it asks, sees the change and reads the offers again.
    monkeypatch.setattr(pricing_api, "CACHE_SECONDS", 0.0)
    data = price(api, shop, body).json()
    assert data["payable"] == "250.00" and data["applied"] == []


def test_a_logged_in_page_prices_with_its_csrf_token(api: TestClient,
                                                     shop: dict[str, Any]) -> None:
    # The cockpit's session cookie works as the other API routes: with the session's CSRF
    # token; a request without it (another site posting with the cookie) is refused.
    login(api, "analyst-u")
    body = {"cart": CART, "promotions": INLINE, "at": "2026-06-18T12:00:00"}
    r = api.post("/api/v1/price", json=body)
    assert r.status_code == 200 and r.json()["payable"] == "200.00"
    api.headers.pop(csrf.HEADER)
    r = api.post("/api/v1/price", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]


def test_a_large_cart_is_priced_too(api: TestClient, shop: dict[str, Any]) -> None:
    # 25 lines (priced in a thread, not on the event loop) of 10.00: 250.00 ≥ 199 → −30.
    lines = [{"sku": f"S{i:02d}", "qty": 1, "price": "10.00"} for i in range(25)]
    r = price(api, shop, {"cart": {"lines": lines}, "promotions": INLINE})
    assert r.status_code == 200
    data = r.json()
    assert data["payable"] == "220.00" and len(data["lines"]) == 25
    assert sum(Decimal(line["final_amount"]) for line in data["lines"]) == Decimal("220.00")


def test_the_same_inline_offers_are_parsed_once(api: TestClient, shop: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from storeops.pricing import spec

    calls: list[int] = []
    real = spec.parse_offers

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(spec, "parse_offers", counting)
    body = {"cart": CART, "promotions": INLINE, "at": "2026-06-18T12:00:00"}
    for _ in range(3):
        assert price(api, shop, body).json()["payable"] == "200.00"
    assert len(calls) == 1
    # Other offers are parsed (and priced) on their own: without D10, 250 − 30 = 220.00.
    other = {"promotions": INLINE["promotions"][1:]}
    assert price(api, shop, {**body, "promotions": other}).json()["payable"] == "220.00"
    assert len(calls) == 2
