"""Server-side sessions: logout, a new password and deactivation end them at once (a copied
cookie stops working); the cookie's flags; user commands; login throttling."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner
from web_seed import PASSWORD, fast_hashing, form_csrf_token, login  # noqa: F401

from storeops.accounts import throttle
from storeops.accounts.models import LoginFailure, WebSession
from storeops.api.app import create_app
from storeops.api.auth import SESSION_COOKIE
from storeops.cli import app as cli_app
from storeops.common.timeutil import utcnow
from storeops.db.engine import unit_of_work

pytestmark = pytest.mark.usefixtures("fast_hashing")
NEW_PASSWORD = "brand-new-secret-7"


def copied(client: TestClient, db_url: str) -> TestClient:
    """Another browser holding a copy of the client's session cookie."""
    other = TestClient(client.app)
    other.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    return other


def test_logout_ends_the_session_for_a_copied_cookie(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    login(client, "owner")
    thief = copied(client, seeded[0])
    assert thief.get("/api/v1/me").status_code == 200
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert thief.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    with unit_of_work(seeded[0]) as s:
        assert s.scalars(select(WebSession)).all() == []


def test_new_password_and_deactivation_end_every_session(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    db = seeded[0]
    login(client, "operator")
    other = TestClient(client.app)
    login(other, "operator")  # a second browser
    runner = CliRunner()
    weak = runner.invoke(cli_app, ["user", "passwd", "operator", "--password", "password123",
                                   "--db", db])
    assert weak.exit_code != 0 and "common" in str(weak.exception)
    assert client.get("/api/v1/me").status_code == 200  # nothing changed
    done = runner.invoke(cli_app, ["user", "passwd", "operator", "--password", NEW_PASSWORD,
                                   "--db", db])
    assert done.exit_code == 0, done.output
    assert "2 session(s) ended" in done.stdout
    assert client.get("/api/v1/me").status_code == 401
    assert other.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", auth=("operator", NEW_PASSWORD)).status_code == 200
    assert client.get("/api/v1/me", auth=("operator", PASSWORD)).status_code == 401

    login(client, "analyst")
    assert runner.invoke(cli_app, ["user", "deactivate", "analyst", "--db", db]).exit_code == 0
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    r = client.post("/login", data={"username": "analyst", "password": PASSWORD})
    assert r.status_code == 401  # cannot log in again either
    assert runner.invoke(cli_app, ["user", "activate", "analyst", "--db", db]).exit_code == 0
    login(client, "analyst")


def test_cookie_is_httponly_lax_and_stored_hashed(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    token = form_csrf_token(client)
    r = client.post("/login", data={"username": "owner", "password": PASSWORD,
                                    "csrf_token": token}, follow_redirects=False)
    cookie = next(c for c in r.headers.get_list("set-cookie")
                  if c.startswith(SESSION_COOKIE + "="))
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags  # plain HTTP by default
    value = client.cookies[SESSION_COOKIE]
    with unit_of_work(seeded[0]) as s:
        row = s.scalar(select(WebSession))
        assert row.token_hash != value and value not in row.token_hash


def test_cookie_is_secure_when_served_over_https(
    seeded: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREOPS_HTTPS", "1")
    with TestClient(create_app(seeded[0], secret_key="k"), base_url="https://testserver") as c:
        page = c.get("/login")
        assert "; secure" in page.headers["set-cookie"].lower()  # the pre-login cookie too
        token = form_csrf_token(c)
        r = c.post("/login", data={"username": "owner", "password": PASSWORD,
                                   "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
        cookies = [x.lower() for x in r.headers.get_list("set-cookie")]
        assert any(x.startswith(SESSION_COOKIE) and "; secure" in x for x in cookies)


def test_expired_sessions_do_not_count(client: TestClient, seeded: tuple[str, int]) -> None:
    login(client, "owner")
    with unit_of_work(seeded[0]) as s:
        s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/v1/me").status_code == 401


def test_user_list_shows_role_active_and_last_login(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    login(client, "owner")
    runner = CliRunner()
    runner.invoke(cli_app, ["user", "deactivate", "analyst", "--db", seeded[0]])
    rows = json.loads(runner.invoke(cli_app, ["user", "list", "--json", "--db", seeded[0]])
                      .stdout)
    by_name = {r["username"]: r for r in rows}
    assert by_name["owner"]["role"] == "owner" and by_name["owner"]["active"] is True
    assert by_name["owner"]["last_login"] is not None
    assert by_name["analyst"]["active"] is False and by_name["analyst"]["last_login"] is None
    table = runner.invoke(cli_app, ["user", "list", "--db", seeded[0]]).stdout
    assert "owner" in table and "last login" in table
    missing = runner.invoke(cli_app, ["user", "deactivate", "ghost", "--db", seeded[0]])
    assert missing.exit_code != 0 and "no user named 'ghost'" in str(missing.exception)


# --- throttling --------------------------------------------------------------------------------

def fail(client: TestClient, username: str) -> int:
    return client.post("/login", data={"username": username, "password": "wrong-password!"}
                       ).status_code


def test_an_account_is_throttled_after_five_failures(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    assert [fail(client, "owner") for _ in range(5)] == [401] * 5
    r = client.post("/login", data={"username": "owner", "password": PASSWORD})
    assert r.status_code == 429  # even the right password waits
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    assert "登录失败次数过多" in r.text
    assert client.get("/api/v1/me", auth=("owner", PASSWORD)).status_code == 429
    # Another account from the same address is not locked out by it.
    login(client, "analyst")
    # The state lives in the database: another server process sees it.
    with TestClient(create_app(seeded[0], secret_key="test-secret")) as worker:
        assert worker.get("/api/v1/me", auth=("owner", PASSWORD)).status_code == 429
    # Once the failures are older than the window, the account may log in.
    with unit_of_work(seeded[0]) as s:
        s.execute(update(LoginFailure).values(failed_at=utcnow() - timedelta(minutes=16)))
    login(client, "owner")


def test_a_success_forgets_the_accounts_failures(client: TestClient) -> None:
    assert [fail(client, "owner") for _ in range(4)] == [401] * 4
    login(client, "owner")
    assert [fail(client, "owner") for _ in range(4)] == [401] * 4
    login(client, "owner")


def test_an_address_is_throttled_across_accounts(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    names = [f"guess{i}" for i in range(throttle.ADDRESS_LIMIT)]
    assert [fail(client, n) for n in names] == [401] * throttle.ADDRESS_LIMIT
    r = client.post("/login", data={"username": "owner", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    basic = client.get("/api/v1/me", auth=("analyst", PASSWORD))
    assert basic.status_code == 429 and "try again" in basic.json()["detail"]
    assert int(basic.headers["retry-after"]) > 0


def test_running_the_demo_again_ends_the_old_demo_sessions(db_url: str) -> None:
    from storeops.accounts.sessions import session_user, start_session
    from storeops.accounts.users import get_user
    from storeops.sim.demo import ensure_demo_user

    with unit_of_work(db_url) as s:
        ensure_demo_user(s, "first-demo-pass-91")
    with unit_of_work(db_url) as s:
        cookie = start_session(s, get_user(s, "admin").id)
    assert session_user(db_url, cookie) is not None
    with unit_of_work(db_url) as s:
        login_again = ensure_demo_user(s, "second-demo-pass-92")
    assert not login_again.created
    assert session_user(db_url, cookie) is None  # the old password's browser is logged out
