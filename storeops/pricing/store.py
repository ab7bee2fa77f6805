"""A store's offers and pricing history in the database.

``store_offers`` reads the promotions, coupons and points rule of a store (``promotions``
rows, whose ``spec_json`` is the promotions file's entry) as the engine's :class:`Offers`;
``record_change`` writes one line of the history (who, when, what changed, why);
``record_price_change`` changes a SKU's list price and keeps the change for 价保.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storeops.catalog.models import Product
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import utcnow
from storeops.pricing.lifecycle import PromoStatus
from storeops.pricing.model import Coupon, Offers, PointsRule, Promotion
from storeops.pricing.models import PriceChange, PricingChange, PromotionRecord

COUPON = "coupon"
POINTS = "points"
POINTS_CODE = "points"  # the code of a store's points rule (the file has one, without id)


def spec_of(record: PromotionRecord) -> dict[str, Any]:
    return json.loads(record.spec_json)


def source_of(record: PromotionRecord) -> str:
    return f"promotion {record.code} (store {record.store_id})"


def parse_record(record: PromotionRecord) -> Promotion | Coupon | PointsRule:
    """The engine's value of one stored entry."""
    from storeops.pricing import spec

    data = spec_of(record)
    if record.kind == COUPON:
        return spec.parse_coupon(data, source_of(record))
    if record.kind == POINTS:
        return spec.parse_points(data, source_of(record))
    return spec.parse_promotion(data, source_of(record))


def offers_of(records: Iterable[PromotionRecord], at: datetime | None = None) -> Offers:
    """The offers of stored entries (``at``: only those whose window contains it); the
    latest points rule when there are several."""
    promotions: list[Promotion] = []
    coupons: list[Coupon] = []
    points: PointsRule | None = None
    for record in records:
        value = parse_record(record)
        if isinstance(value, PointsRule):
            points = value
        elif isinstance(value, Coupon):
            if value.active_at(at):
                coupons.append(value)
        elif value.active_at(at):
            promotions.append(value)
    return Offers(promotions=tuple(promotions), coupons=tuple(coupons), points=points)


def store_offers(session: Session, store_id: int,
                 statuses: Iterable[str] = (PromoStatus.LIVE, PromoStatus.SCHEDULED),
                 at: datetime | None = None) -> Offers:
    """The store's offers of the given statuses (default: live and scheduled), in the order
    they were added; ``at``: only those running at that moment."""
    wanted = [str(s) for s in statuses]
    records = session.scalars(select(PromotionRecord)
                              .where(PromotionRecord.store_id == store_id,
                                     PromotionRecord.status.in_(wanted))
                              .order_by(PromotionRecord.id))
    return offers_of(records, at)


def _json(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record_change(session: Session, store_id: int, action: str, actor: str | None, *,
                  promotion_id: int | None = None, product_id: int | None = None,
                  before: Mapping[str, Any] | None = None,
                  after: Mapping[str, Any] | None = None,
                  reason: str | None = None, at: datetime | None = None) -> PricingChange:
    """One line of the pricing history: ``action`` (created, updated, scheduled, live, ended,
    cancelled, approved, unscheduled, price …) by ``actor``, with what it was and became."""
    row = PricingChange(store_id=store_id, promotion_id=promotion_id, product_id=product_id,
                        at=at or utcnow(), actor=(actor or None) and actor[:120], action=action,
                        reason=reason or None, before_json=_json(before), after_json=_json(after))
    session.add(row)
    session.flush()
    return row


def record_price_change(session: Session, store_id: int, product_id: int, new_price_cents: int,
                        actor: str | None, reason: str | None,
                        effective_at: datetime | None = None) -> PriceChange:
    """Set a SKU's list price: a ``price_changes`` row (价保 reads them), the history line
    (``price``, before/after in cents) and ``products.list_price_cents``. ``effective_at``
    may date the change back (a price already changed on JD), never ahead: nothing would
    apply it later."""
    product = session.get(Product, product_id)
    if product is None or product.store_id != store_id:
        raise StoreopsError(f"no product {product_id} in store {store_id}",
                            key="promotions.no_product", product=product_id)
    if new_price_cents <= 0:
        raise StoreopsError(f"SKU {product.platform_sku_id}: the price must be above 0",
                            key="promotions.bad_price", sku=product.platform_sku_id)
    now = utcnow()
    when = effective_at or now
    if when > now + timedelta(minutes=1):
        raise StoreopsError(f"SKU {product.platform_sku_id}: a price change takes effect now "
                            f"or earlier, not at {when.isoformat()}",
                            key="promotions.price_in_future", sku=product.platform_sku_id)
    old = product.list_price_cents
    change = PriceChange(store_id=store_id, product_id=product_id, effective_at=when,
                         old_price_cents=old, new_price_cents=new_price_cents,
                         actor=(actor or None) and actor[:120], reason=reason or None)
    session.add(change)
    product.list_price_cents = new_price_cents
    record_change(session, store_id, "price", actor, product_id=product_id,
                  before={"sku": product.platform_sku_id, "price_cents": old},
                  after={"sku": product.platform_sku_id, "price_cents": new_price_cents,
                         "effective_at": when.isoformat()}, reason=reason)
    return change
