"""Tables of the metrics area: daily traffic (京东商智 exports) and monthly targets.

Conventions: see ``storeops.db.base``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storeops.common.timeutil import utcnow
from storeops.db.base import Base
from storeops.db.types import DecimalText, UTCDateTime


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


class TargetPlan(Base):
    """A year's GMV target and how it was split (by last year's shares, or evenly)."""

    __tablename__ = "target_plans"
    __table_args__ = (UniqueConstraint("store_id", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    year: Mapped[int] = mapped_column(Integer)
    gmv: Mapped[Decimal] = mapped_column(DecimalText)
    basis: Mapped[str] = mapped_column(String(20))  # last_year | even
    by_category: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TargetPlanCell(Base):
    """One cell of a year's plan: a quarter, a month, a category (of the year or of a month),
    its GMV and its share of the level above; a month's also UV × conversion × AOV. A pinned
    cell was set by hand: rebalancing moves the others."""

    __tablename__ = "target_plan_cells"
    __table_args__ = (UniqueConstraint("plan_id", "level", "period", "category"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("target_plans.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(20))  # quarter | month | category | month_category
    period: Mapped[str] = mapped_column(String(10))  # YYYY-Qn | YYYY-MM | YYYY
    category: Mapped[str] = mapped_column(String(120), default="")
    gmv: Mapped[Decimal] = mapped_column(DecimalText)
    share: Mapped[Decimal | None] = mapped_column(DecimalText)
    uv: Mapped[Decimal | None] = mapped_column(DecimalText)
    conversion_rate: Mapped[Decimal | None] = mapped_column(DecimalText)
    aov: Mapped[Decimal | None] = mapped_column(DecimalText)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
