"""Tables of the inventory area: warehouses, stock per warehouse and SKU, the movement ledger,
reservations of orders, flash-sale quotas and what each channel publishes.

Invariants (``storeops stock check``): ``on_hand`` = the sum of the movements' ``on_hand_delta``
and ``reserved`` = the sum of their ``reserved_delta``; neither is ever negative; available =
on_hand − reserved − safety_buffer.
"""

from __future__ import annotations

from datetime import datetime

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
from storeops.db.types import UTCDateTime


class Warehouse(Base):
    __tablename__ = "warehouses"
    __table_args__ = (UniqueConstraint("store_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(40))  # "default" for the one made with the store
    name: Mapped[str] = mapped_column(String(120))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # allocation tries lower first
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockLevel(Base):
    """Stock of one SKU in one warehouse."""

    __tablename__ = "stock_levels"
    __table_args__ = (UniqueConstraint("warehouse_id", "product_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)  # paid (or held), not shipped
    safety_buffer: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StockMovement(Base):
    """One change in the ledger. reason: receipt | reservation | release | shipment | return |
    adjustment | count | transfer."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_level", "warehouse_id", "product_id", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(120))  # user, rule, connector, api …
    reference: Mapped[str | None] = mapped_column(String(120))  # order id, transfer id …
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockReservation(Base):
    """Units of one order line held in one warehouse until shipped or released."""

    __tablename__ = "stock_reservations"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="held")  # held|shipped|released
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # unpaid orders only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlashSale(Base):
    """A flash sale (秒杀) of one SKU: ``quota`` units at ``price`` inside [starts_at, ends_at)."""

    __tablename__ = "flash_sales"
    __table_args__ = (Index("ix_flash_sales_store_product", "store_id", "product_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    quota: Mapped[int] = mapped_column(Integer)
    sold: Mapped[int] = mapped_column(Integer, default=0)  # taken by orders that stand
    per_buyer: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlashClaim(Base):
    """Units of a flash sale taken by one order; released when the order fails or goes unpaid."""

    __tablename__ = "flash_claims"
    __table_args__ = (UniqueConstraint("flash_sale_id", "order_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flash_sale_id: Mapped[int] = mapped_column(ForeignKey("flash_sales.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    buyer: Mapped[str | None] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="held")  # held|sold|returned
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelShare(Base):
    """What one channel (jd, own …) publishes of a store's available stock."""

    __tablename__ = "channel_shares"
    __table_args__ = (UniqueConstraint("store_id", "channel"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    channel: Mapped[str] = mapped_column(String(20))
    share_percent: Mapped[int] = mapped_column(Integer, default=100)
    buffer: Mapped[int] = mapped_column(Integer, default=0)


class ChannelListing(Base):
    """The quantity last published for a SKU on a channel, and whether it is listed."""

    __tablename__ = "channel_listings"
    __table_args__ = (UniqueConstraint("store_id", "channel", "product_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    channel: Mapped[str] = mapped_column(String(20))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    published_qty: Mapped[int | None] = mapped_column(Integer)  # None: never pushed
    wanted_qty: Mapped[int] = mapped_column(Integer, default=0)
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
