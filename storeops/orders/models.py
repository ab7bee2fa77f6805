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
    Text,
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
        # The review queue and the orders list filter a store's orders by our step.
        Index("ix_orders_store_stage", "store_id", "stage"),
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

    # --- fulfilment (the ERP side; storeops.orders.lifecycle) ---
    # Our own step: received | under_review | allocated | shipped | finished | cancelled |
    # locked | paused. ``status`` stays JD's state (the figures read it); ``stage`` is ours.
    stage: Mapped[str] = mapped_column(String(20), default="received", server_default="received")
    channel: Mapped[str] = mapped_column(String(20), default="jd", server_default="jd")  # jd|own
    hold_reason: Mapped[str | None] = mapped_column(Text)  # why review holds it for a person
    buyer_remark: Mapped[str | None] = mapped_column(Text)  # 订单备注 (buyer)
    seller_remark: Mapped[str | None] = mapped_column(Text)  # 商家备注
    receiver_name: Mapped[str | None] = mapped_column(String(120))  # masked
    receiver_phone: Mapped[str | None] = mapped_column(String(40))  # masked
    ship_address: Mapped[str | None] = mapped_column(Text)  # province city county + masked rest
    # SHA-256 of the normalised full address: merge and brushing compare it, nobody reads it.
    address_key: Mapped[str | None] = mapped_column(String(64), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # ship deadline
    pay_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)  # unpaid hold ends
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # platform's `modified`
    ship_error: Mapped[str | None] = mapped_column(Text)  # last failed push to the platform


class OrderLine(Base):
    __tablename__ = "order_lines"
    # an index, not a table constraint: a large load drops it and builds it after (0006)
    __table_args__ = (Index("uq_order_lines_order_line", "order_id", "line_no", unique=True),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_e4: Mapped[int] = mapped_column(BigInteger)
    # unit price × quantity less this line's share of the seller discount
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class OrderEvent(Base):
    """One change of an order: what, when, who (user, rule, connector, api, import) and why."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order_at", "order_id", "at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))  # received|stage|status|held|approved|...
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str | None] = mapped_column(String(20))
    actor_kind: Mapped[str] = mapped_column(String(20))  # user|rule|connector|api|import|system
    actor: Mapped[str | None] = mapped_column(String(120))  # user name, rule id, connector …
    reason: Mapped[str | None] = mapped_column(Text)
    data_json: Mapped[str | None] = mapped_column(Text)  # what changed, as JSON


class ReviewSettings(Base):
    """A store's review rules (审单); one row per store, absent: the defaults."""

    __tablename__ = "review_settings"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=True)
    hold_on_remark: Mapped[bool] = mapped_column(Boolean, default=True)
    hold_on_incomplete_address: Mapped[bool] = mapped_column(Boolean, default=True)
    max_amount_cents: Mapped[int | None] = mapped_column(BigInteger)  # hold above
    max_quantity: Mapped[int | None] = mapped_column(Integer)  # hold above (units per order)
    brushing_orders: Mapped[int | None] = mapped_column(Integer)  # N orders to one address …
    brushing_hours: Mapped[int | None] = mapped_column(Integer)  # … within H hours
    ship_sla_hours: Mapped[int] = mapped_column(Integer, default=24)  # 48 at most
    unpaid_hold_minutes: Mapped[int] = mapped_column(Integer, default=30)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BuyerBlacklist(Base):
    __tablename__ = "buyer_blacklist"
    __table_args__ = (UniqueConstraint("store_id", "platform_account"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    platform_account: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Shipment(Base):
    """A parcel: lines of one order (or of several merged orders of one buyer and address),
    from one warehouse. Splitting an order spreads its lines over several shipments."""

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_store_state", "store_id", "state"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    state: Mapped[str] = mapped_column(String(20), default="open")  # open|shipped|cancelled
    carrier_id: Mapped[str | None] = mapped_column(String(20))  # JD logiCoprId, e.g. 467
    waybill: Mapped[str | None] = mapped_column(String(64))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)  # last failed push
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"),
                                             index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)


class ChannelRequest(Base):
    """An ``Idempotency-Key`` of ``POST /api/v1/orders``: the body's hash and the first answer,
    so that a retry gets that answer and creates nothing."""

    __tablename__ = "channel_requests"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_json: Mapped[str] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
