"""Small builders of store facts for the metrics tests (no tests of its own).

Writes through the ORM and bumps the store's data version, as importers do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from itertools import count
from typing import Any

from storeops.ads.models import AdSpendDaily
from storeops.aftersales.models import Refund
from storeops.catalog.models import Product, Store
from storeops.catalog.stores import bump_data_version
from storeops.common.timeutil import local_date, localize
from storeops.db.engine import unit_of_work
from storeops.members.models import Customer
from storeops.metrics.models import TrafficDaily
from storeops.orders.models import Order, OrderLine

_ids = count(1)


class Facts:
    def __init__(self, db_url: str, name: str = "shop", tz: str = "Asia/Shanghai") -> None:
        self.db_url = db_url
        self.tz = tz
        with unit_of_work(db_url) as s:
            store = Store(name=name, timezone=tz, currency="CNY", data_version=0)
            s.add(store)
            s.flush()
            self.store_id = store.id
        self.name = name
        self._batch: Any = None

    @contextmanager
    def batch(self) -> Iterator[Facts]:
        """Every fact added inside goes into one transaction (committed at the end) instead of
        one each: the same rows and data version, far fewer commits for a large store."""
        with unit_of_work(self.db_url) as s:
            self._batch = s
            try:
                yield self
            finally:
                self._batch = None

    @contextmanager
    def _session(self) -> Iterator[Any]:
        if self._batch is not None:
            yield self._batch
        else:
            with unit_of_work(self.db_url) as s:
                yield s

    def _add(self, obj):  # noqa: ANN001, ANN202
        with self._session() as s:
            s.add(obj)
            s.flush()
            bump_data_version(s, self.store_id)
            return obj.id

    def product(self, sku: str, category: str | None = "cat", status: str = "on_sale") -> int:
        return self._add(Product(store_id=self.store_id, platform_sku_id=sku, title=f"T{sku}",
                                 category=category, status=status))

    def customer(self, account: str) -> int:
        return self._add(Customer(store_id=self.store_id, platform_account=account))

    def at(self, when: str) -> datetime:
        """Store-local ``YYYY-MM-DD HH:MM`` as an aware time."""
        return localize(datetime.fromisoformat(when), self.tz)

    def order(
        self, when: str, lines: list[tuple[int, int, int]], *, customer: int | None = None,
        status: str = "finished", freight: int = 0, paid: bool | str = True,
        source: str | None = "app", cod: bool = False, cancelled: str | None = None,
    ) -> int:
        """``when`` is store-local ``YYYY-MM-DD HH:MM``; lines are (product, qty, cents).

        ``paid``: True (paid when placed), False (unpaid) or the store-local payment time;
        ``cancelled``: the store-local cancellation time (the status becomes cancelled).
        """
        placed = self.at(when)
        paid_at = placed if paid is True else self.at(paid) if paid else None
        n = next(_ids)
        with self._session() as s:
            order = Order(
                store_id=self.store_id, platform_order_id=f"O{n}",
                status="cancelled" if cancelled else status,
                customer_id=customer, placed_at=placed, placed_date=local_date(placed, self.tz),
                paid_at=paid_at, freight_cents=freight, cod=cod,
                cancelled_at=self.at(cancelled) if cancelled else None,
                goods_cents=sum(c for _, _, c in lines), source=source, content_hash="x",
            )
            s.add(order)
            s.flush()
            for i, (product, qty, cents) in enumerate(lines, 1):
                s.add(OrderLine(order_id=order.id, store_id=self.store_id, line_no=i,
                                product_id=product, quantity=qty, unit_price_e4=0,
                                amount_cents=cents))
            bump_data_version(s, self.store_id)
            return order.id

    def refund(self, when: str, cents: int, *, order: int | None = None,
               product: int | None = None) -> int:
        at = localize(datetime.fromisoformat(when), self.tz)
        return self._add(Refund(
            store_id=self.store_id, platform_refund_id=f"R{next(_ids)}", order_id=order,
            product_id=product, amount_cents=cents, refunded_at=at,
            refund_date=local_date(at, self.tz),
        ))

    def traffic(self, day: str, product: int, source: str = "search", *, uv: int = 0,
                pv: int = 0, exposure: int = 0, clicks: int = 0, cart: int = 0,
                bounce: int = 0) -> int:
        return self._add(TrafficDaily(
            store_id=self.store_id, day=date.fromisoformat(day), product_id=product,
            source=source, uv=uv, pv=pv, exposure=exposure, clicks=clicks, cart_users=cart,
            bounce_visits=bounce,
        ))

    def ad(self, day: str, spend: int, gmv: int, campaign: str = "c1") -> int:
        return self._add(AdSpendDaily(
            store_id=self.store_id, day=date.fromisoformat(day), campaign=campaign,
            spend_cents=spend, attributed_gmv_cents=gmv,
        ))
