"""The relational model: one schema for every store in the database.

Money columns end in ``_cents`` (integer minor units); unit prices end in ``_e4`` (integer
1/10000 units). Times are aware and stored as UTC; ``*_date`` columns hold the store-local day,
computed when a row is written, so that day cuts never depend on the database's timezone.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storeops.common.timeutil import utcnow
from storeops.db.types import DecimalText, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


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
    status: Mapped[str] = mapped_column(String(20), default="on_sale")  # on_sale | off_shelf
    stock: Mapped[int | None] = mapped_column(Integer)  # units in stock (库存); None: unknown
    # The store's data_version of the write that last changed this row (incremental refresh).
    row_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("store_id", "platform_account"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    platform_account: Mapped[str] = mapped_column(String(120))
    masked_contact: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportBatch(Base):
    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # orders | products | traffic | ads
    source_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|done|failed
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    summary_json: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("store_id", "platform_order_id"),
        Index("ix_orders_store_placed_date", "store_id", "placed_date"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    platform_order_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))  # storeops.orders.states.OrderStatus
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)  # JD "(删除)" prefix
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    placed_date: Mapped[date] = mapped_column(Date)  # store-local day of placed_at
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    goods_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # before seller discount
    seller_discount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    freight_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_cents: Mapped[int | None] = mapped_column(BigInteger)  # what the buyer paid
    source: Mapped[str | None] = mapped_column(String(64))  # 订单来源 / channel
    # Cash on delivery (货到付款): 商智 counts it as sold on the day it was ordered.
    cod: Mapped[bool] = mapped_column(Boolean, default=False)
    # Known from the connector, not from file exports (which only say "cancelled").
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(32))  # re-import skips unchanged orders
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    # The store's data_version of the write that last changed this row (incremental refresh).
    row_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_e4: Mapped[int] = mapped_column(BigInteger)
    # unit price × quantity less this line's share of the seller discount
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class Refund(Base):
    """An after-sales refund, one row per refunded line."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("store_id", "platform_refund_id", "line_no"),
        Index("ix_refunds_store_refund_date", "store_id", "refund_date"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    platform_refund_id: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int] = mapped_column(Integer, default=1)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    platform_order_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int | None] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # positive: money given back
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refund_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(255))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    # The store's data_version of the write that last changed this row (incremental refresh).
    row_version: Mapped[int] = mapped_column(Integer, default=0)


class TrafficDaily(Base):
    """Daily traffic of one SKU from one source, as JD's analytics (京东商智) exports it."""

    __tablename__ = "traffic_daily"
    __table_args__ = (UniqueConstraint("store_id", "day", "product_id", "source"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    day: Mapped[date] = mapped_column(Date)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))  # search | campaign | recommend | category …
    uv: Mapped[int] = mapped_column(Integer, default=0)
    pv: Mapped[int] = mapped_column(Integer, default=0)
    exposure: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    cart_users: Mapped[int] = mapped_column(Integer, default=0)
    bounce_visits: Mapped[int] = mapped_column(Integer, default=0)
    # The store's data_version of the write that last changed this row (incremental refresh).
    row_version: Mapped[int] = mapped_column(Integer, default=0)


class AdSpendDaily(Base):
    __tablename__ = "ad_spend_daily"
    __table_args__ = (UniqueConstraint("store_id", "day", "campaign"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    day: Mapped[date] = mapped_column(Date)
    campaign: Mapped[str] = mapped_column(String(120))
    spend_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    attributed_orders: Mapped[int] = mapped_column(Integer, default=0)
    attributed_gmv_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # The store's data_version of the write that last changed this row (incremental refresh).
    row_version: Mapped[int] = mapped_column(Integer, default=0)


class MonthlyTarget(Base):
    """A month's target for one metric (gmv, uv, conversion_rate, aov)."""

    __tablename__ = "monthly_targets"
    __table_args__ = (UniqueConstraint("store_id", "month", "metric"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    metric: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(DecimalText)  # money in currency units, rates 0..1
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    display_name: Mapped[str | None] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
