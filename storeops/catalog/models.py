"""Tables of the catalog area: the stores and their SKUs.

Conventions: see ``storeops.db.base``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storeops.common.timeutil import utcnow
from storeops.db.base import Base
from storeops.db.types import DecimalText, UTCDateTime


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    platform: Mapped[str] = mapped_column(String(20), default="jd")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    commission_rate: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    # Bumped by every write that changes the store's facts; the warehouse snapshot keys on it.
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Product(Base):
    """A sellable SKU of a store."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("store_id", "platform_sku_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    platform_sku_id: Mapped[str] = mapped_column(String(64))
    seller_code: Mapped[str | None] = mapped_column(String(64))  # 货号
    title: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(120))
    brand: Mapped[str | None] = mapped_column(String(120))
    list_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    cost_cents: Mapped[int | None] = mapped_column(BigInteger)
    # The lowest unit price any promotion stack may reach (破价 floor); None: cost × (1 + the
    # store's minimum margin) after commission.
    floor_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="on_sale")  # on_sale | off_shelf
    stock: Mapped[int | None] = mapped_column(Integer)  # units in stock (库存); None: unknown
    # The store's data_version of the write that last changed this row (incremental refresh).
    row_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
