"""破价 audit of a store in the database: its products with their floors, its live and
scheduled offers (plus planned ones), through the pure :func:`storeops.pricing.audit.audit`.

A SKU's floor is its explicit ``floor_price_cents``, else its cost after the store's minimum
margin (``pricing_settings.min_margin``) and JD's commission on its category
(``category_commissions``, else ``stores.commission_rate``): see
:func:`storeops.pricing.audit.sku_floor`. Products without a list price cannot be sold and
are left out (counted in ``AuditReport.unpriced``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from storeops.catalog.models import Product, Store
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import utcnow
from storeops.pricing.audit import HUNDRED, AuditReport, AuditSku, audit, offers_plus, sku_floor
from storeops.pricing.model import Offers
from storeops.pricing.models import CategoryCommission, PricingSettings


def store_skus(session: Session, store_id: int) -> tuple[list[AuditSku], list[str]]:
    """The store's SKUs as the audit sees them, and the SKUs left out for want of a price."""
    store = session.get(Store, store_id)
    if store is None:
        raise StoreopsError(f"store {store_id} does not exist",
                            key="errors.promo_audit.no_store", store=str(store_id))
    settings = session.get(PricingSettings, store_id)
    margin = settings.min_margin if settings is not None else Decimal("0")
    rates = dict(session.execute(
        select(CategoryCommission.category, CategoryCommission.rate)
        .where(CategoryCommission.store_id == store_id)).all())
    rows = session.execute(
        select(Product.platform_sku_id, Product.title, Product.category,
               Product.list_price_cents, Product.cost_cents, Product.floor_price_cents)
        .where(Product.store_id == store_id).order_by(Product.platform_sku_id)).all()
    skus: list[AuditSku] = []
    unpriced: list[str] = []
    for sku, title, category, price, cost, floor in rows:
        if price is None:
            unpriced.append(sku)
            continue
        rate = rates.get(category, store.commission_rate) if category else store.commission_rate
        skus.append(AuditSku(sku=sku, price=Decimal(price) / HUNDRED, category=category,
                             floor=sku_floor(price, cost, floor, rate, margin), title=title))
    return skus, unpriced


def audit_store(session: Session, store_id: int, extra: Offers | None = None,
                at: datetime | None = None) -> AuditReport:
    """Audit the store's SKUs against its live and scheduled offers, with ``extra`` (planned
    offers, not yet in the database) on top; ``at``: the moment the horizon starts (now)."""
    from storeops.pricing.store import store_offers

    moment = at or utcnow()
    skus, unpriced = store_skus(session, store_id)
    offers = offers_plus(store_offers(session, store_id), extra)
    report = audit(skus, offers, moment)
    return replace(report, unpriced=tuple(unpriced))
