"""Login throttling: after repeated failed password checks, an account or an address must wait.

Failures are rows in the database (not process memory) so that every ``--workers`` process
counts the same ones. While an account or address is throttled its password is not even
checked: a right guess in that time would otherwise still get through.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storeops.accounts.models import LoginFailure
from storeops.common.timeutil import utcnow

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
# Higher per address: a team behind one office NAT shares it, and their typos add up.
ADDRESS_LIMIT = 20


class TooManyAttempts(Exception):
    """Too many failed logins lately; ``retry_after`` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins: try again in {retry_after} s")
        self.retry_after = retry_after


def _keys(username: str | None, address: str | None) -> dict[str, int]:
    keys = {}
    if username and username.strip():
        keys["user:" + username.strip().lower()[:180]] = ACCOUNT_LIMIT
    if address:
        keys["addr:" + address[:180]] = ADDRESS_LIMIT
    return keys


def retry_after(
    session: Session, username: str | None, address: str | None, now: datetime | None = None
) -> int | None:
    """Seconds to wait before this account or address may try again, else None."""
    now = now or utcnow()
    keys = _keys(username, address)
    if not keys:
        return None
    rows = session.execute(
        select(LoginFailure.key, LoginFailure.failed_at)
        .where(LoginFailure.key.in_(keys), LoginFailure.failed_at > now - WINDOW)
        .order_by(LoginFailure.failed_at.desc())
    ).all()
    wait = 0.0
    for key, limit in keys.items():
        times = [t for k, t in rows if k == key]
        if len(times) >= limit:
            # Free again when the failure that made it `limit` leaves the window.
            wait = max(wait, (times[limit - 1] + WINDOW - now).total_seconds())
    return max(1, math.ceil(wait)) if wait > 0 else None


def record_failure(
    session: Session, username: str | None, address: str | None, now: datetime | None = None
) -> None:
    now = now or utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - WINDOW))
    session.add_all(LoginFailure(key=key, failed_at=now) for key in _keys(username, address))
    session.flush()


def clear_account(session: Session, username: str) -> None:
    """A successful login forgets the account's failures (not the address's: an attacker who
    owns one account must not reset the count of guesses at others)."""
    keys = list(_keys(username, None))
    # Read first: a DELETE of nothing still takes SQLite's write lock, on every Basic call.
    if session.scalar(select(LoginFailure.id).where(LoginFailure.key.in_(keys)).limit(1)):
        session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys)))
