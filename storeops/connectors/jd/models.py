"""Tables of the JD connector: a store's credentials (encrypted at rest) and its sync runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storeops.common.timeutil import utcnow
from storeops.db.base import Base
from storeops.db.types import UTCDateTime

JD_GATEWAY = "https://api.jd.com/routerjson"


class JdConnection(Base):
    __tablename__ = "jd_connections"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    app_key: Mapped[str] = mapped_column(String(120))
    app_secret_enc: Mapped[str] = mapped_column(Text)  # encrypted (storeops.connectors.jd.secrets)
    access_token_enc: Mapped[str] = mapped_column(Text)
    gateway: Mapped[str] = mapped_column(String(500), default=JD_GATEWAY)
    # Modified-time high-water mark: the next sync starts a little before it (overlap).
    synced_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncRun(Base):
    """One ``storeops jd sync`` (or background sync) of a store, for the connector's page."""

    __tablename__ = "jd_sync_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|done|failed
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # malformed orders
    error: Mapped[str | None] = mapped_column(Text)
    details_json: Mapped[str | None] = mapped_column(Text)  # skipped orders and why
