"""Tables of the ads area: daily spend per campaign.

Conventions: see ``storeops.db.base``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storeops.db.base import Base


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
