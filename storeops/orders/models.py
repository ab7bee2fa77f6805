"""Tables of the orders area: orders and their lines.

Conventions: see ``storeops.db.base``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storeops.common.timeutil import utcnow
from storeops.db.base import Base
from storeops.db.types import UTCDateTime


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
