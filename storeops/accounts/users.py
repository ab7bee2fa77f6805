"""Creating users and checking their passwords."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from storeops.accounts.passwords import check_password_rules, hash_password, verify_password
from storeops.accounts.permissions import parse_role
from storeops.common.errors import StoreopsError
from storeops.db.models import User

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
            f"bad user name {username!r}: 2-80 letters, digits or . _ @ -"
        )
    check_password_rules(password)
    role_value = parse_role(role).value
    if get_user(session, name) is not None:
        raise UserError(f"a user named {name!r} already exists")
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
