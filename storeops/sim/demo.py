"""The demo: a simulated store plus a user to log in with (``storeops demo``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from storeops.accounts.users import create_user, get_user, set_password
from storeops.db.engine import unit_of_work

DEMO_USERNAME = "admin"
DEMO_ROLE = "owner"
DEMO_STORE = "demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    created: bool  # False: the user existed and got this new password


def new_password() -> str:
    """A fresh password for each demo run, printed once (never a default one that is public)."""
    return secrets.token_urlsafe(9)


def ensure_demo_user(
    session: Session, password: str, username: str = DEMO_USERNAME
) -> DemoLogin:
    """Create the demo owner, or give an existing user of that name this password and the
    owner role again, so that running the demo twice always prints a login that works."""
    user = get_user(session, username)
    if user is None:
        create_user(session, username, password, DEMO_ROLE, display_name="演示管理员")
        return DemoLogin(username, password, created=True)
    set_password(session, username, password)  # also ends the sessions of the old password
    user.role = DEMO_ROLE
    user.is_active = True
    session.flush()
    return DemoLogin(username, password, created=False)


def prepare_demo_login(db_url: str, password: str | None = None) -> DemoLogin:
    with unit_of_work(db_url) as session:
        return ensure_demo_user(session, password or new_password())
