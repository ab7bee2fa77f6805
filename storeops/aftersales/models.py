"""Tables of the after-sales area: refunds.

Conventions: see ``storeops.db.base``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storeops.db.base import Base
from storeops.db.types import UTCDateTime


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
