"""An order as a channel hands it in (JD's Open Platform, the own-channel API, a file):
plain data, before it is matched to what is stored. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from storeops.orders.states import OrderStatus


@dataclass
class IncomingLine:
    sku: str
    qty: int
    unit_price: Decimal
    title: str | None = None
    seller_code: str | None = None


@dataclass
class IncomingOrder:
    platform_order_id: str
    channel: str  # "jd" | "own"
    status: OrderStatus
    placed_at: datetime
    paid_at: datetime | None
    lines: list[IncomingLine] = field(default_factory=list)
    freight: Decimal = Decimal(0)
    seller_discount: Decimal = Decimal(0)
    paid_amount: Decimal | None = None
    buyer_account: str | None = None
    buyer_name: str | None = None
    buyer_phone: str | None = None
    address: str | None = None  # the detail (street, building …), or the full address
    province: str | None = None
    city: str | None = None
    county: str | None = None
    buyer_remark: str | None = None
    seller_remark: str | None = None
    source: str | None = None
    cod: bool = False
    cancelled_at: datetime | None = None
    modified_at: datetime | None = None
