"""API tokens for scripts: ``Authorization: Bearer sop_…``.

A token is shown once when it is created and stored as its SHA-256 hash; a list shows its
first characters only. Revoked tokens stay in the table (marked) so that a script that still
sends one is told it was revoked, not that it is unknown.

A token found good is remembered by the process for :data:`TOKEN_CACHE_S` seconds (keyed by
its SHA-256, never its text), so that a busy integration costs no database read per call.
Revoking a token, deactivating a user or changing a user's role through the ORM in this
process forgets every remembered token at once; in the server's other processes a revoked
token (or a deactivated user's) stops working at the latest ``TOKEN_CACHE_S`` seconds later.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from storeops.accounts.credentials import hash_secret, new_secret
from storeops.accounts.models import ApiToken, User
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import utcnow
from storeops.db.engine import get_engine

TOKEN_PREFIX = "sop_"
SHOWN_CHARS = 8  # of the token, after the prefix, in lists
MAX_NAME = 80
# last_used_at is written at most this often per token: a write per call would cost more than
# the check itself and serialise SQLite writers.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long a process trusts a token it found good without reading it again: the bound on how
# late another process notices a revocation or deactivation.
TOKEN_CACHE_S = 5.0
_CACHE_MAX = 10_000


class TokenError(StoreopsError, ValueError):
    pass


class TokenStatus(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    INACTIVE_USER = "inactive_user"


@dataclass(frozen=True)
class TokenCheck:
    status: TokenStatus
    user_id: int | None = None
    username: str | None = None
    display_name: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    name: str
    shown: str  # "sop_AbCdEfGh…"
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise TokenError(f"no user named {username!r}", key="user.unknown", name=username)
    return user


def create_token(session: Session, username: str, name: str) -> tuple[ApiToken, str]:
    """A new token for an active user; returns the row and the token text (shown once)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise TokenError(f"a token needs a name of 1-{MAX_NAME} characters",
                         key="token.bad_name", limit=MAX_NAME)
    user = _user(session, username)
    if not user.is_active:
        raise TokenError(f"the user {user.username!r} is deactivated", key="user.deactivated",
                         name=user.username)
    taken = session.scalar(select(ApiToken.id).where(
        ApiToken.user_id == user.id, ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    if taken is not None:
        raise TokenError(f"{user.username!r} already has a token named {name!r}: "
                         "revoke it first or choose another name", key="token.taken",
                         user=user.username, name=name)
    token = new_secret(TOKEN_PREFIX)
    row = ApiToken(token_hash=hash_secret(token), prefix=token[: len(TOKEN_PREFIX) + SHOWN_CHARS],
                   user_id=user.id, name=name, created_at=utcnow())
    session.add(row)
    session.flush()
    return row, token


def list_tokens(session: Session, username: str | None = None) -> list[TokenInfo]:
    query = (select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
             .order_by(User.username, ApiToken.id))
    if username:
        query = query.where(User.id == _user(session, username).id)
    return [
        TokenInfo(t.id, uname, t.name, t.prefix + "…", t.created_at, t.last_used_at,
                  t.revoked_at)
        for t, uname in session.execute(query).all()
    ]


def revoke_token(
    session: Session,
    token_id: int | None = None,
    *,
    username: str | None = None,
    name: str | None = None,
) -> ApiToken:
    """Revoke a token by its id, or by user and name; revoking twice is an error."""
    if token_id is not None:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise TokenError(f"no token with id {token_id}", key="token.no_id", id=token_id)
    elif username and name:
        user = _user(session, username)
        row = session.scalar(select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.name == name.strip(),
            ApiToken.revoked_at.is_(None)))
        if row is None:
            raise TokenError(f"{user.username!r} has no live token named {name!r}",
                             key="token.unknown", user=user.username, name=name)
    else:
        raise TokenError("name the token: its id, or --user and --name",
                         key="token.which")
    if row.revoked_at is not None:
        raise TokenError(f"token {row.id} was already revoked", key="token.revoked",
                         id=row.id)
    row.revoked_at = utcnow()
    session.flush()
    return row


_check = (
    select(ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at, User.id, User.username,
           User.display_name, User.role, User.is_active)
    .join(User, User.id == ApiToken.user_id)
)


# (db_url, token hash) → (monotonic expiry, the good check): only OK answers are kept.
_good: dict[tuple[str, str], tuple[float, TokenCheck]] = {}
_good_lock = threading.Lock()


def forget_tokens() -> None:
    """Forget every token this process remembers as good (revoked, user changed)."""
    with _good_lock:
        _good.clear()


def _forget_on_change(target: object, value: object, oldvalue: object,
                      initiator: object) -> None:
    forget_tokens()


# A revocation, deactivation or role change made in this process counts at once (before and
# again after its commit: a check in between may have remembered the old state).
for _attribute in (ApiToken.revoked_at, User.is_active, User.role):
    event.listen(_attribute, "set", _forget_on_change)


@event.listens_for(Session, "after_flush")
def _note_change(session: Session, _context: object) -> None:
    if any(isinstance(obj, (ApiToken, User)) for obj in (*session.dirty, *session.deleted)):
        session.info["storeops_tokens_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    if session.info.pop("storeops_tokens_changed", False):
        forget_tokens()


def remembered(db_url: str, token: str) -> TokenCheck | None:
    """The good check of ``token`` remembered by this process, if still fresh (no I/O: an
    async caller may ask on its event loop before it reads the database in a thread)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    hit = _good.get((db_url, hash_secret(token)))
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return None


def check_token(db_url: str, token: str, now: datetime | None = None) -> TokenCheck:
    """Who a token belongs to, or why it does not count. One indexed query (none for a token
    found good less than TOKEN_CACHE_S seconds ago in this process); a write at most once a
    minute per token (its last use)."""
    if not token.startswith(TOKEN_PREFIX):
        return TokenCheck(TokenStatus.UNKNOWN)
    digest = hash_secret(token)
    hit = _good.get((db_url, digest))
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    now = now or utcnow()
    engine = get_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(_check.where(ApiToken.token_hash == digest)).first()
    if row is None:
        return TokenCheck(TokenStatus.UNKNOWN)
    token_id, revoked_at, last_used, user_id, username, display_name, role, active = row
    if revoked_at is not None:
        return TokenCheck(TokenStatus.REVOKED)
    if not active:
        return TokenCheck(TokenStatus.INACTIVE_USER)
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        with engine.begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == token_id)
                         .values(last_used_at=now))
    good = TokenCheck(TokenStatus.OK, user_id, username, display_name, role)
    with _good_lock:
        if len(_good) >= _CACHE_MAX:
            _good.clear()
        _good[(db_url, digest)] = (time.monotonic() + TOKEN_CACHE_S, good)
    return good
