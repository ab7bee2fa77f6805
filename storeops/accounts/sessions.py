"""Server-side login sessions: the browser's cookie holds a random id, the table its hash.

Ending a row ends the login everywhere at once (logout, a new password, a deactivated user);
a copied cookie is worth nothing after that.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from storeops.accounts.credentials import hash_secret, new_secret
from storeops.accounts.models import User, WebSession
from storeops.common.timeutil import utcnow
from storeops.db.engine import get_engine

SESSION_LIFETIME = timedelta(days=14)

_lookup = (
    select(User.id, User.username, User.display_name, User.role)
    .join(WebSession, WebSession.user_id == User.id)
)


def start_session(
    session: Session, user_id: int, address: str | None = None, now: datetime | None = None
) -> str:
    """A new session for the user; returns the cookie value (shown once, stored hashed)."""
    now = now or utcnow()
    # Expired rows go here, on the rare write, rather than on the per-request read.
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    token = new_secret()
    session.add(WebSession(token_hash=hash_secret(token), user_id=user_id, created_at=now,
                           expires_at=now + SESSION_LIFETIME, address=(address or None)))
    session.flush()
    return token


def session_user(db_url: str, token: str, now: datetime | None = None) -> Row | None:
    """(id, username, display_name, role) of the active user of a live session, else None.

    One indexed query per request (the unique hash), no write.
    """
    if not token:
        return None
    query = _lookup.where(
        WebSession.token_hash == hash_secret(token),
        WebSession.expires_at > (now or utcnow()),
        User.is_active.is_(True),
    )
    with get_engine(db_url).connect() as conn:
        return conn.execute(query).first()


def end_session(session: Session, token: str) -> bool:
    """End one session (logout); True when there was one."""
    result = session.execute(delete(WebSession).where(WebSession.token_hash == hash_secret(token)))
    return bool(result.rowcount)


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every session of a user (new password, deactivation); returns how many."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(result.rowcount or 0)
