"""Tables of the accounts area: server-side sessions, API tokens, login failures, last logins.

Credentials (session ids, API tokens) are kept only as SHA-256 hashes: they are long random
strings, so a hash is enough (no salt or slow hash needed) and a copy of the database does not
let anyone in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storeops.common.timeutil import utcnow
from storeops.db.base import Base
from storeops.db.types import UTCDateTime

HASH_LENGTH = 64  # hex SHA-256


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    display_name: Mapped[str | None] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """One login in a browser; the cookie holds the id whose hash is here."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    address: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A token for scripts (``Authorization: Bearer …``); revoked tokens are kept, marked."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to recognise a token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed password check, under a throttling key (``user:NAME`` or ``addr:IP``).

    In the database rather than in memory so that every ``--workers`` process sees them.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_failed_at", "key", "failed_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LastLogin(Base):
    """When and from where a user last logged in (``storeops user list``)."""

    __tablename__ = "last_logins"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))
