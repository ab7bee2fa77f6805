"""Users: creating them, their passwords, logging in, deactivating, listing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storeops.accounts.models import LastLogin, User
from storeops.accounts.passwords import check_password_rules, hash_password, verify_password
from storeops.accounts.permissions import parse_role
from storeops.accounts.sessions import end_user_sessions
from storeops.accounts.throttle import TooManyAttempts, clear_account, record_failure, retry_after
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")


class UserError(StoreopsError, ValueError):
    pass


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
) -> User:
    """Add an active user; raises StoreopsError on a bad name, weak password, unknown role or
    a name already taken."""
    name = (username or "").strip()
    if not USERNAME_RE.match(name):
        raise UserError(
            f"bad user name {username!r}: 2-80 letters, digits or . _ @ -",
            key="user.bad_name", name=username,
        )
    check_password_rules(password, name)
    role_value = parse_role(role).value
    if get_user(session, name) is not None:
        raise UserError(f"a user named {name!r} already exists", key="user.exists", name=name)
    user = User(
        username=name,
        password_hash=hash_password(password),
        role=role_value,
        display_name=display_name or None,
        is_active=True,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip()))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else None.

    Unknown names still run a hash check so that timing does not tell which names exist.
    """
    user = get_user(session, username or "")
    ok = verify_password(user.password_hash if user else None, password or "")
    if user is None or not ok or not user.is_active:
        return None
    return user


def require_user(session: Session, username: str) -> User:
    user = get_user(session, username or "")
    if user is None:
        raise UserError(f"no user named {username!r}", key="user.unknown", name=username)
    return user


def login_with_password(
    session: Session, username: str, password: str, address: str | None
) -> User | None:
    """``authenticate`` behind the login throttle: raises TooManyAttempts while the account or
    the address must wait (without checking the password), records a failure, and forgets the
    account's failures on success."""
    wait = retry_after(session, username, address)
    if wait is not None:
        raise TooManyAttempts(wait)
    user = authenticate(session, username, password)
    if user is None:
        record_failure(session, username, address)
        return None
    clear_account(session, username)
    return user


def record_login(session: Session, user_id: int, address: str | None) -> None:
    row = session.get(LastLogin, user_id)
    if row is None:
        session.add(LastLogin(user_id=user_id, at=utcnow(), address=address))
    else:
        row.at, row.address = utcnow(), address
    session.flush()


def set_password(session: Session, username: str, password: str) -> int:
    """Give a user a new password and end all their sessions; returns how many ended."""
    user = require_user(session, username)
    check_password_rules(password, user.username)
    user.password_hash = hash_password(password)
    session.flush()
    return end_user_sessions(session, user.id)


def set_active(session: Session, username: str, active: bool) -> int:
    """(De)activate a user; deactivating ends their sessions (their API tokens stop working
    with it). Returns how many sessions ended."""
    user = require_user(session, username)
    user.is_active = active
    session.flush()
    return 0 if active else end_user_sessions(session, user.id)


@dataclass(frozen=True)
class UserInfo:
    username: str
    display_name: str | None
    role: str
    active: bool
    last_login: datetime | None


def list_users(session: Session) -> list[UserInfo]:
    rows = session.execute(
        select(User.username, User.display_name, User.role, User.is_active, LastLogin.at)
        .outerjoin(LastLogin, LastLogin.user_id == User.id)
        .order_by(User.username)
    ).all()
    return [UserInfo(*r) for r in rows]
