"""A small store for the own-channel and flash-sale tests: SKUs with stock, one user per role
with an API token, a test client that speaks Bearer."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from storeops.accounts.tokens import create_token
from storeops.accounts.users import create_user
from storeops.catalog.models import Product, Store
from storeops.db.engine import unit_of_work

STORE = "自营店"
PASSWORD = "pass-word-1"
# sku, list price (cents), units in stock
SKUS = [("A1", 19900, 10), ("B2", 5900, 3), ("C3", 1000, 0)]


def seed_channel_store(db_url: str, *, stock: dict[str, int] | None = None) -> dict[str, Any]:
    """Store, SKUs with stock received into the default warehouse, users owner / integration
    / analyst with a token each; returns {"store_id", "tokens": {role: token}}."""
    from storeops.inventory.service import ensure_default_warehouse, receive

    tokens: dict[str, str] = {}
    with unit_of_work(db_url) as s:
        store = Store(name=STORE, timezone="Asia/Shanghai", currency="CNY", data_version=0)
        s.add(store)
        s.flush()
        ensure_default_warehouse(s, store.id)
        for sku, price, units in SKUS:
            s.add(Product(store_id=store.id, platform_sku_id=sku, title=f"商品 {sku}",
                          status="on_sale", list_price_cents=price))
            s.flush()
            units = (stock or {}).get(sku, units)
            if units:
                receive(s, store.id, sku, units, actor="test")
        for role in ("owner", "integration", "analyst"):
            create_user(s, f"{role}-u", PASSWORD, role)
            tokens[role] = create_token(s, f"{role}-u", "channel-test")[1]
        store_id = store.id
    return {"store_id": store_id, "tokens": tokens}


def order_body(channel_order_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store": STORE,
        "channel_order_id": channel_order_id or f"OWN-{uuid.uuid4().hex[:10]}",
        "buyer": {"account": "buyer-1", "name": "张三", "phone": "13812345678",
                  "address": "上海市上海市浦东新区世纪大道100号"},
        "lines": [{"sku": "A1", "qty": 2, "price": "199.00"}],
        "freight": "10",
        "remark": None,
        "paid": True,
    }
    body.update(overrides)
    return body


def auth(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def stock_of(db_url: str, store_id: int, sku: str) -> dict[str, int]:
    """on_hand, reserved, available of a SKU over every warehouse."""
    from storeops.inventory.service import stock_rows

    with unit_of_work(db_url) as s:
        rows = stock_rows(s, store_id, sku)
    return {k: sum(int(r[k]) for r in rows) for k in ("on_hand", "reserved", "available")}


def money(text: str) -> Decimal:
    return Decimal(text)
