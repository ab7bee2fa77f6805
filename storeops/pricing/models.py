"""Tables of the pricing area: promotions and coupons with their lifecycle and approval, the
history of every promotion and price change, and what the 破价 audit guards against (floor
prices, minimum margin, category commissions).

Conventions: see ``storeops.db.base``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storeops.common.timeutil import utcnow
from storeops.db.base import Base
from storeops.db.types import DecimalText, UTCDateTime


class PromotionRecord(Base):
    """One promotion, coupon or points rule of a store, as the merchant manages it.

    ``spec_json`` is the entry exactly as the promotions file writes it (one item of
    ``promotions``/``coupons``, or the ``points`` object), so that import, export and the
    engine share one format (``storeops.pricing.spec``).
    """

    __tablename__ = "promotions"
    __table_args__ = (UniqueConstraint("store_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(64))  # the file's ``id``
    kind: Mapped[str] = mapped_column(String(20))  # a PromotionKind value, "coupon" or "points"
    name: Mapped[str | None] = mapped_column(String(200))
    # draft → scheduled → live → ended, or cancelled (storeops.pricing.lifecycle)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    spec_json: Mapped[str] = mapped_column(Text)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(120))
    # Set when the audit found a SKU below its floor: the launch then needs an approval.
    breaches_floor: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by: Mapped[str | None] = mapped_column(String(120))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by every change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


Index("ix_promotions_store_status", PromotionRecord.store_id, PromotionRecord.status)


class PricingChange(Base):
    """Who changed what, when: every promotion change (created, edited, scheduled, approved,
    cancelled …) and every price change of a SKU."""

    __tablename__ = "pricing_changes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotions.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(30))  # created|updated|scheduled|…|price
    reason: Mapped[str | None] = mapped_column(Text)
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)


class PriceChange(Base):
    """A SKU's list price from ``effective_at`` on (价保 looks for drops after an order)."""

    __tablename__ = "price_changes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    old_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    new_price_cents: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_price_changes_product_at", PriceChange.product_id, PriceChange.effective_at)


class PricingSettings(Base):
    """A store's pricing guards."""

    __tablename__ = "pricing_settings"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    min_margin: Mapped[Decimal] = mapped_column(DecimalText, default=Decimal("0"))  # 0.10 = 10%
    price_protection_days: Mapped[int] = mapped_column(Integer, default=7)  # 7–15
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CategoryCommission(Base):
    """JD's commission on a category (3C 2–5%, apparel 5–8%, beauty 8–10%); a category not
    listed takes the store's ``commission_rate``."""

    __tablename__ = "category_commissions"
    __table_args__ = (UniqueConstraint("store_id", "category"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    category: Mapped[str] = mapped_column(String(120))
    rate: Mapped[Decimal] = mapped_column(DecimalText)  # 0.05 = 5%
