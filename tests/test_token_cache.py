"""API tokens found good are remembered for a few seconds per process (no database read per
call); a revocation or deactivation made in this process counts at once, one made elsewhere
(another server process: simulated by a plain SQL update that this process's ORM never sees)
at the latest TOKEN_CACHE_S seconds later."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update

from storeops.accounts import tokens
from storeops.accounts.models import ApiToken, User
from storeops.accounts.tokens import TokenStatus, check_token, create_token, revoke_token
from storeops.accounts.users import create_user, set_active
from storeops.common.timeutil import utcnow
from storeops.db.engine import get_engine, unit_of_work


@pytest.fixture
def token(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(tokens, "TOKEN_CACHE_S", 30.0)
    tokens.forget_tokens()
    with unit_of_work(db_url) as s:
        create_user(s, "robot", "robot-password-2026", "integration")
        return create_token(s, "robot", "sync")[1]


def _queries(db_url: str) -> list[str]:
    seen: list[str] = []
    event.listen(get_engine(db_url), "before_cursor_execute",
                 lambda _c, _cur, sql, *_a: seen.append(sql))
    return seen


def test_a_good_token_is_read_once_then_remembered(db_url: str, token: str) -> None:
    first = check_token(db_url, token)
    seen = _queries(db_url)
    again = [check_token(db_url, token) for _ in range(5)]
    assert first.status is TokenStatus.OK and first.username == "robot"
    assert all(c == first for c in again)
    assert seen == []  # five checks, no query
    # a wrong token is never remembered as good (and a wrong one is read every time)
    assert check_token(db_url, token + "x").status is TokenStatus.UNKNOWN
    assert len(seen) == 1


def test_revoking_or_deactivating_in_this_process_counts_at_once(db_url: str,
                                                                 token: str) -> None:
    assert check_token(db_url, token).status is TokenStatus.OK
    with unit_of_work(db_url) as s:
        set_active(s, "robot", False)
    assert check_token(db_url, token).status is TokenStatus.INACTIVE_USER
    with unit_of_work(db_url) as s:
        set_active(s, "robot", True)
    assert check_token(db_url, token).status is TokenStatus.OK
    with unit_of_work(db_url) as s:
        revoke_token(s, username="robot", name="sync")
    assert check_token(db_url, token).status is TokenStatus.REVOKED


def test_a_revocation_elsewhere_counts_within_the_cache_time(
        db_url: str, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(tokens.time, "monotonic", lambda: clock[0])
    assert check_token(db_url, token).status is TokenStatus.OK  # remembered until 1030
    with get_engine(db_url).begin() as conn:  # another process: no ORM event here
        conn.execute(update(ApiToken).values(revoked_at=utcnow()))
        conn.execute(update(User).where(User.username == "robot").values(role="analyst"))
    clock[0] = 1029.9
    assert check_token(db_url, token).status is TokenStatus.OK  # still within 30 s
    clock[0] = 1030.1
    assert check_token(db_url, token).status is TokenStatus.REVOKED
