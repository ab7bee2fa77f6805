"""Tables of the reports area: the reports built and the store's report schedule.

Conventions: see ``storeops.db.base``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storeops.common.timeutil import utcnow
from storeops.db.base import Base
from storeops.db.types import UTCDateTime


class Report(Base):
    """One built report: a store's week (YYYY-Www) or month (YYYY-MM) in one language, its
    files beside the database and the figures it printed."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("store_id", "kind", "period", "lang"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(10))  # weekly | monthly
    period: Mapped[str] = mapped_column(String(10))
    lang: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(15))  # built | sent | failed
    xlsx_path: Mapped[str | None] = mapped_column(Text)
    pdf_path: Mapped[str | None] = mapped_column(Text)
    figures_json: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    built_by: Mapped[str | None] = mapped_column(String(120))  # a user, or schedule
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReportSchedule(Base):
    """When a store's reports are built and sent (store time); a store without a row has the
    default: weekly on Monday 09:00, monthly on the 1st 09:00, in Chinese."""

    __tablename__ = "report_schedules"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    weekly: Mapped[bool] = mapped_column(Boolean, default=True)
    monthly: Mapped[bool] = mapped_column(Boolean, default=True)
    hour: Mapped[int] = mapped_column(Integer, default=9)
    minute: Mapped[int] = mapped_column(Integer, default=0)
    lang: Mapped[str] = mapped_column(String(10), default="zh-CN")
    pdf: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
