"""The database side of a promotion's results: the promotion, its scope and window, the order
lines of the window and of its baseline weeks, and each SKU's list price, cost and commission.
The arithmetic is :mod:`storeops.pricing.results`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from storeops.catalog.models import Product, Store
from storeops.common.errors import StoreopsError
from storeops.common.money import from_cents
from storeops.common.timeutil import utcnow
from storeops.orders.models import Order, OrderLine
from storeops.pricing.model import Scope
from storeops.pricing.models import CategoryCommission, PromotionRecord
from storeops.pricing.results import (
    Results,
    SaleLine,
    SkuTerms,
    baseline_windows,
    promotion_results,
)


class PromoResultsError(StoreopsError):
    pass


def now() -> datetime:
    """The clock that says whether a promotion has ended (tests move it)."""
    return utcnow()


def find_promotion(session: Session, store_id: int, code: str) -> PromotionRecord:
    """The store's promotion whose file ``id`` is ``code``."""
    found = session.scalars(select(PromotionRecord).where(
        PromotionRecord.store_id == store_id, PromotionRecord.code == code)).first()
    if found is None:
        raise PromoResultsError(f"no promotion {code!r} in this store",
                                key="promo_results.not_found", code=code)
    return found


def _spec(record: PromotionRecord) -> dict[str, Any]:
    try:
        data = json.loads(record.spec_json or "{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise PromoResultsError(
            f"promotion {record.code}: spec_json is not a JSON object",
            key="promo_results.bad_spec", code=record.code, field="spec_json")
    return data


def promotion_scope(record: PromotionRecord, tz: str) -> Scope:
    """Which SKUs the promotion (or coupon) covers, read from its entry in the promotions-file
    format by the file's own parser (:mod:`storeops.pricing.spec`); points cover everything."""
    from storeops.pricing import spec

    data = _spec(record)
    source = f"promotion {record.code}"
    if record.kind == "points":
        return Scope()
    if record.kind == "coupon":
        return spec.parse_coupon(data, source, tz).skus
    return spec.parse_promotion(data, source, tz).scope


def promotion_window(record: PromotionRecord, moment: datetime, *,
                     so_far: bool = False) -> tuple[datetime, datetime, bool]:
    """``(start, end, so_far)``: the window the results cover. A promotion has ended when its
    end has passed or its status is ``ended``; one that has not is refused unless ``so_far``
    (then its window is cut at ``moment``)."""
    start, end = record.start_at, record.end_at
    if start is None:
        raise PromoResultsError(f"promotion {record.code} has no start time",
                                key="promo_results.no_window", code=record.code)
    if start >= moment:
        raise PromoResultsError(
            f"promotion {record.code} has not started yet (starts {start.isoformat()})",
            key="promo_results.not_started", code=record.code, start=start.isoformat())
    if end is not None and end <= moment:
        return start, end, False
    if record.status == "ended":
        return start, (end if end is not None and end <= moment else moment), False
    if not so_far:
        raise PromoResultsError(
            f"promotion {record.code} has not ended yet (status {record.status}); "
            "use --so-far for its results up to now",
            key="promo_results.not_ended", code=record.code, status=record.status)
    return start, moment, True


def sku_terms(session: Session, store: Store,
              product_ids: Iterable[int] | None = None) -> dict[str, SkuTerms]:
    """Every SKU's category, list price, cost and commission rate (the category's, else the
    store's, else 0)."""
    rates = dict(session.execute(select(CategoryCommission.category, CategoryCommission.rate)
                                 .where(CategoryCommission.store_id == store.id)).all())
    default = store.commission_rate if store.commission_rate is not None else Decimal("0")
    stmt = select(Product.platform_sku_id, Product.category, Product.list_price_cents,
                  Product.cost_cents, Product.title).where(Product.store_id == store.id)
    if product_ids is not None:
        stmt = stmt.where(Product.id.in_(list(product_ids)))
    return {
        sku: SkuTerms(category=category, list_price=from_cents(price), cost=from_cents(cost),
                      commission_rate=Decimal(rates.get(category, default)) if category
                      else Decimal(default), title=title)
        for sku, category, price, cost, title in session.execute(stmt).all()
    }


def sale_lines(session: Session, store_id: int,
               windows: Sequence[tuple[datetime, datetime]]) -> list[SaleLine]:
    """The store's order lines whose order was paid (cash on delivery: placed) within any of
    ``windows``; which of them are deals is the pure code's question."""
    def within(column: Any) -> Any:
        return or_(*(and_(column >= a, column < b) for a, b in windows))

    stmt = (
        select(Order.id, Order.customer_id, Order.status, Order.cod, Order.placed_at,
               Order.placed_date, Order.paid_at, Order.cancelled_at, Product.platform_sku_id,
               OrderLine.quantity, OrderLine.amount_cents)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Order.store_id == store_id,
               or_(within(Order.paid_at), and_(Order.cod.is_(True), within(Order.placed_at))))
    )
    return [SaleLine(order_id=r[0], customer_id=r[1], status=r[2], cod=bool(r[3]),
                     placed_at=r[4], placed_date=r[5], paid_at=r[6], cancelled_at=r[7],
                     sku=r[8], quantity=int(r[9]), amount=from_cents(int(r[10])))  # type: ignore[arg-type]
            for r in session.execute(stmt).all()]


def results_for(session: Session, record: PromotionRecord, *, so_far: bool = False,
                moment: datetime | None = None) -> Results:
    """What the promotion earned: its window against the 4-week baseline."""
    store = session.get(Store, record.store_id)
    assert store is not None
    scope = promotion_scope(record, store.timezone)
    start, end, cut = promotion_window(record, moment or now(), so_far=so_far)
    windows = ((start, end), *baseline_windows(start, end, store.timezone))
    lines = sale_lines(session, store.id, windows)
    return promotion_results(lines, scope=scope, start=start, end=end, tz=store.timezone,
                             terms=sku_terms(session, store), so_far=cut)
