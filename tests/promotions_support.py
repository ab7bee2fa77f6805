"""Rows and files the promotions tests share: a small store with floors, a promotions file,
and a stand-in for the 破价 audit (used where a test is about the guard, not the audit)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from storeops.catalog.models import Product, Store
from storeops.db.engine import unit_of_work

STORE = "促销店"
# sku, category, list price, cost, explicit floor (cents), stock
SKUS = [
    ("A100", "数码", 19900, 10000, 15000, None),  # floor 150.00
    ("A200", "数码", 9900, 5000, 6000, 40),  # floor 60.00, 40 in stock
    ("B300", "家居", 5900, 2000, None, None),  # no explicit floor
]

FILE: dict[str, Any] = {
    "promotions": [
        {"id": "CUT-A100", "kind": "direct", "name": "耳机直降", "skus": ["A100"],
         "price": "179.00", "start": "2026-06-01T00:00:00+08:00",
         "end": "2026-06-20T00:00:00+08:00"},
        {"id": "MJ-199", "kind": "full_reduction", "name": "满199减30", "skus": "all",
         "tiers": [{"threshold": "199.00", "off": "30.00"}],
         "start": "2026-06-10T00:00:00+08:00", "end": "2026-06-19T00:00:00+08:00"},
    ],
    "coupons": [
        {"id": "Q-10", "scope": "shop", "threshold": "99.00", "off": "10.00"},
    ],
}


def promotions_file(**changes: Any) -> dict[str, Any]:
    """FILE with some promotions' fields changed: ``changes={"CUT-A100": {"price": …}}``."""
    data = copy.deepcopy(FILE)
    for entry in data["promotions"] + data["coupons"]:
        entry.update(changes.get(entry["id"].replace("-", "_"), {}))
    return data


def seed_promo_store(db_url: str, name: str = STORE) -> int:
    with unit_of_work(db_url) as s:
        store = Store(name=name, timezone="Asia/Shanghai", currency="CNY", data_version=0)
        s.add(store)
        s.flush()
        for sku, cat, price, cost, floor, stock in SKUS:
            s.add(Product(store_id=store.id, platform_sku_id=sku, title=f"商品{sku}",
                          category=cat, status="on_sale", list_price_cents=price,
                          cost_cents=cost, floor_price_cents=floor, stock=stock))
        return store.id


@dataclass(frozen=True)
class FakeBreach:
    sku: str
    floor: Any
    lowest_unit_price: Any
    stack: tuple[str, ...]
    explanation: str = ""


@dataclass(frozen=True)
class FakeReport:
    breaches: list[FakeBreach]


def fake_audit(session: Any, store_id: int, extra: Any = None) -> FakeReport:
    """Only direct ``price`` cuts against explicit floors: enough for the guard's tests."""
    from storeops.common.money import from_cents
    from storeops.pricing.store import store_offers

    offers = store_offers(session, store_id)
    promos = list(offers.promotions) + (list(extra.promotions) if extra else [])
    floors = session.execute(select(Product.platform_sku_id, Product.category,
                                    Product.floor_price_cents)
                             .where(Product.store_id == store_id)).all()
    out = []
    for p in promos:
        if p.kind.value != "direct" or p.price is None:
            continue
        for sku, cat, floor in floors:
            if floor is not None and p.scope.covers(sku, cat) and p.price < from_cents(floor):
                out.append(FakeBreach(sku, from_cents(floor), p.price, (p.id,)))
    return FakeReport(out)
