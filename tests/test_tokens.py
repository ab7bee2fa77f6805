"""API tokens: created once by the CLI, stored hashed, accepted as Bearer on every API route,
listed without the secret, revoked; missing, wrong and revoked tokens each get a clear 401."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner
from web_seed import PASSWORD, STORE, fast_hashing, login  # noqa: F401

from storeops.accounts import passwords
from storeops.accounts.models import ApiToken
from storeops.accounts.tokens import create_token, revoke_token
from storeops.cli import app as cli_app
from storeops.db.engine import unit_of_work

pytestmark = pytest.mark.usefixtures("fast_hashing")

PERIOD = {"store": STORE, "from": "2026-10-02", "to": "2026-10-31"}
API_GETS = [
    "/api/v1/me", "/api/v1/stores", "/api/v1/kpi/summary", "/api/v1/kpi/series",
    "/api/v1/kpi/compare", "/api/v1/kpi/by/sku", "/api/v1/funnel", "/api/v1/traffic/sources",
    "/api/v1/targets",
]


def new_token(db_url: str, user: str = "analyst", name: str = "script") -> str:
    with unit_of_work(db_url) as s:
        return create_token(s, user, name)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_cli_prints_the_token_once_lists_it_masked_and_revokes_it(
    seeded: tuple[str, int],
) -> None:
    db = seeded[0]
    runner = CliRunner()
    made = runner.invoke(cli_app, ["token", "create", "--user", "owner", "--name", "nightly",
                                   "--json", "--db", db])
    assert made.exit_code == 0, made.output
    token = json.loads(made.stdout)["token"]
    assert token.startswith("sop_") and len(token) >= 40
    plain = runner.invoke(cli_app, ["token", "create", "--user", "owner", "--name", "bi",
                                    "--db", db])
    assert plain.exit_code == 0
    second = plain.stdout.strip().splitlines()[0]
    assert second.startswith("sop_") and second != token

    listed = runner.invoke(cli_app, ["token", "list", "--json", "--db", db])
    rows = json.loads(listed.stdout)
    assert [(r["user"], r["name"]) for r in rows] == [("owner", "nightly"), ("owner", "bi")]
    assert token not in listed.stdout and second not in listed.stdout
    assert rows[0]["token_start"] == token[:12] + "…" and rows[0]["revoked_at"] is None
    table = runner.invoke(cli_app, ["token", "list", "--db", db])
    assert "nightly" in table.stdout and token not in table.stdout

    # Stored as a hash only: the token text is in no column.
    with unit_of_work(db) as s:
        stored = s.scalars(select(ApiToken)).all()
        assert all(token not in (t.token_hash, t.prefix) and len(t.token_hash) == 64
                   for t in stored)

    gone = runner.invoke(cli_app, ["token", "revoke", "--user", "owner", "--name", "nightly",
                                   "--db", db])
    assert gone.exit_code == 0 and "revoked" in gone.stdout
    again = runner.invoke(cli_app, ["token", "revoke", str(rows[0]["id"]), "--db", db])
    assert again.exit_code != 0 and "already revoked" in str(again.exception)
    rows = json.loads(runner.invoke(cli_app, ["token", "list", "--json", "--db", db]).stdout)
    assert rows[0]["revoked_at"] is not None and rows[1]["revoked_at"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "nobody", "--name", "x"], "no user named 'nobody'"),
    (["--user", "owner", "--name", " "], "needs a name"),
])
def test_cli_refuses_bad_tokens(sqlite_db_url: str, args: list[str], message: str) -> None:
    from storeops.accounts.users import create_user

    with unit_of_work(sqlite_db_url) as s:
        create_user(s, "owner", PASSWORD, "owner")
    result = CliRunner().invoke(cli_app, ["token", "create", *args, "--db", sqlite_db_url])
    assert result.exit_code != 0 and message in str(result.exception)


def test_bearer_works_on_every_api_route(client: TestClient, seeded: tuple[str, int]) -> None:
    token = new_token(seeded[0])
    for path in API_GETS:
        r = client.get(path, params=PERIOD, headers=bearer(token))
        assert r.status_code == 200, (path, r.text)
    assert client.get("/api/v1/me", headers=bearer(token)).json()["username"] == "analyst"
    # Scripts may fetch the SKU table's CSV export with it too.
    csv = client.get("/skus.csv", params=PERIOD, headers=bearer(token))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")


def test_bearer_changes_data_without_csrf_even_from_another_origin(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    token = new_token(seeded[0], "operator")
    body = {"month": "2026-10", "targets": {"gmv": "30000"}}
    r = client.put("/api/v1/targets", json=body, params={"store": STORE},
                   headers={**bearer(token), "Origin": "https://elsewhere.example"})
    assert r.status_code == 200, r.text
    got = client.get("/api/v1/targets", params={"store": STORE, "month": "2026-10"},
                     headers=bearer(token))
    assert got.json()["targets"]["gmv"] == "30000"


def test_missing_wrong_and_revoked_tokens_get_clear_401s(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    missing = client.get("/api/v1/me")
    assert missing.status_code == 401
    assert "login required" in missing.json()["detail"]
    assert "Bearer" in missing.json()["detail"]
    # Never a Basic challenge: a browser would ask for a password and remember it.
    assert missing.headers["www-authenticate"] == 'Bearer realm="storeops"'

    wrong = client.get("/api/v1/me", headers=bearer("sop_" + "x" * 43))
    assert wrong.status_code == 401 and "invalid API token" in wrong.json()["detail"]
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert client.get("/api/v1/me", headers=bearer("garbage")).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer "}).status_code == 401

    token = new_token(seeded[0])
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with unit_of_work(seeded[0]) as s:
        revoke_token(s, username="analyst", name="script")
    revoked = client.get("/api/v1/me", headers=bearer(token))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert revoked.headers["www-authenticate"].startswith("Bearer")


def test_a_wrong_token_does_not_fall_back_to_the_session(client: TestClient) -> None:
    login(client, "owner")
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me", headers=bearer("sop_nope")).status_code == 401


def test_tokens_of_a_deactivated_user_stop_working(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    token = new_token(seeded[0])
    result = CliRunner().invoke(cli_app, ["user", "deactivate", "analyst", "--db", seeded[0]])
    assert result.exit_code == 0, result.output
    r = client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 401 and "deactivated" in r.json()["detail"]


def test_token_checks_use_no_password_hash_and_record_last_use(
    client: TestClient, seeded: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = new_token(seeded[0])

    class NoArgon2:
        def verify(self, *_: object) -> bool:
            raise AssertionError("a token check must not run Argon2")

    monkeypatch.setattr(passwords, "_hasher", NoArgon2())
    for _ in range(3):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with unit_of_work(seeded[0]) as s:
        assert s.scalar(select(ApiToken.last_used_at)) is not None


def test_basic_auth_still_works_for_old_scripts(client: TestClient) -> None:
    r = client.get("/api/v1/me", auth=("analyst", PASSWORD))
    assert r.status_code == 200 and r.json()["username"] == "analyst"
    bad = client.get("/api/v1/me", auth=("analyst", "wrong-password"))
    assert bad.status_code == 401 and "Basic" not in bad.headers["www-authenticate"]
