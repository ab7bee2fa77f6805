"""Shared set-up of the stock tests: a store with SKUs and orders, written directly."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from sqlalchemy import select

from storeops.catalog.models import Product
from storeops.catalog.stores import get_or_create_store
from storeops.orders.models import Order, OrderLine

_numbers = count(1)


def make_store(session, name: str = "旗舰店", skus: tuple[str, ...] = ("A", "B", "C")) -> int:
    """A store (created as imports create them: with its default warehouse) and its SKUs."""
    store, _ = get_or_create_store(session, name)
    for sku in skus:
        session.add(Product(store_id=store.id, platform_sku_id=sku, title=f"商品 {sku}"))
    session.flush()
    return store.id


def make_order(session, store_id: int, lines: dict[str, int], order_id: str | None = None
               ) -> Order:
    """A paid order of the store with ``lines`` (SKU → units)."""
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    order = Order(store_id=store_id, platform_order_id=order_id or f"O{next(_numbers):06d}",
                  status="wait_stock_out", placed_at=now, placed_date=now.date(), paid_at=now,
                  content_hash="x")
    session.add(order)
    session.flush()
    for n, (sku, qty) in enumerate(lines.items(), start=1):
        pid = session.scalar(select(Product.id).where(Product.store_id == store_id,
                                                      Product.platform_sku_id == sku))
        session.add(OrderLine(order_id=order.id, store_id=store_id, line_no=n, product_id=pid,
                              quantity=qty, unit_price_e4=10_000 * 100, amount_cents=100 * qty))
    session.flush()
    return order


def product_stock(session, store_id: int, sku: str) -> int | None:
    return session.scalar(select(Product.stock).where(Product.store_id == store_id,
                                                      Product.platform_sku_id == sku))
