"""Tables of the alerts area: rules, the alerts they raise and their history, the check runs,
the store's notification channels, the delivery outbox and the in-app inbox.

Conventions: see ``storeops.db.base``.
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

import storeops.reports.models  # noqa: F401 - deliveries and the inbox point at reports
from storeops.common.timeutil import utcnow
from storeops.db.base import Base
from storeops.db.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class AlertRule(Base):
    """One rule, as data: what it watches, where, when it fires and how loudly. The whole rule
    (scope, condition, severity, quiet hours, cooldown) is ``spec_json``; the columns beside it
    are what lists and the scheduler filter on."""

    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("store_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(60))
    grain: Mapped[str] = mapped_column(String(10))  # daily | intraday
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)  # one of the shipped defaults
    spec_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Alert(Base):
    """A problem a rule found: open → acknowledged → resolved. One problem (rule + scope) has
    at most one alert that is not resolved."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_store_status", "store_id", "status"),
        Index("ix_alerts_store_rule_scope", "store_id", "rule_code", "scope_key"),
    )
    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"))
    rule_code: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(60))
    scope_key: Mapped[str] = mapped_column(String(200))  # store | sku:… | category:… | source:…
    scope_label: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))  # info | warning | critical
    status: Mapped[str] = mapped_column(String(15))  # open | acknowledged | resolved
    value: Mapped[str | None] = mapped_column(String(40))  # decimal text
    baseline: Mapped[str | None] = mapped_column(String(40))
    period_key: Mapped[str] = mapped_column(String(40))  # the day or time the check looked at
    detail_json: Mapped[str | None] = mapped_column(Text)  # words and figures of the message
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # condition true since
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the check's as-of time
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assignee: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(120))  # None: the condition cleared
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertEvent(Base):
    """The history of an alert: raised, seen again, acknowledged, assigned, noted, notified,
    resolved, reopened; who (a user or ``rule``/``system``), when and why."""

    __tablename__ = "alert_events"
    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    data_json: Mapped[str | None] = mapped_column(Text)


class AlertCheckRun(Base):
    """That the rules of one grain were checked for a store as of a time: the scheduler's
    memory of what is done (a check for the same time is not run twice)."""

    __tablename__ = "alert_check_runs"
    __table_args__ = (UniqueConstraint("store_id", "grain", "as_of"),)
    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    grain: Mapped[str] = mapped_column(String(10))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    raised: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[str | None] = mapped_column(String(20))


class NotifyChannel(Base):
    """Where a store's alerts and reports are sent: a DingTalk or WeCom group robot, an email
    address. The webhook address and the signing secret are encrypted at rest."""

    __tablename__ = "notify_channels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # dingtalk | wecom | email
    name: Mapped[str | None] = mapped_column(String(120))
    target_enc: Mapped[str] = mapped_column(Text)
    target_hint: Mapped[str | None] = mapped_column(String(200))  # masked, for lists
    secret_enc: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(10), default="zh-CN")
    min_severity: Mapped[str | None] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NotifyDelivery(Base):
    """One message to one channel (the outbox): pending until the channel accepts it, tried
    again with back-off, never dropped."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (Index("ix_notify_deliveries_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("notify_channels.id", ondelete="CASCADE"),
                                            index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"),
                                                 index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # alert | resolved | report | test
    payload_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(15))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxMessage(Base):
    """A message in the store's in-app inbox (every user of the store sees it)."""

    __tablename__ = "inbox_messages"
    __table_args__ = (Index("ix_inbox_messages_store_created", "store_id", "created_at"),)
    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str | None] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxRead(Base):
    """That a user has read an inbox message."""

    __tablename__ = "inbox_reads"
    message_id: Mapped[int] = mapped_column(ForeignKey("inbox_messages.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
