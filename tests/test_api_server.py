"""The session key, `storeops serve` and `storeops user add` wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from web_seed import PASSWORD, fast_hashing, login  # noqa: F401

from storeops.accounts.users import create_user
from storeops.api.app import create_app
from storeops.api.secret import load_secret_key, secret_key_file
from storeops.cli import app as cli_app
from storeops.db.engine import unit_of_work


def test_secret_key_is_generated_once_beside_the_database(
    sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOREOPS_SECRET_KEY", raising=False)
    key = load_secret_key(sqlite_db_url)
    path = secret_key_file(sqlite_db_url)
    assert path.parent == Path(sqlite_db_url.removeprefix("sqlite:///")).parent
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert len(key) >= 40 and load_secret_key(sqlite_db_url) == key
    monkeypatch.setenv("STOREOPS_SECRET_KEY", "from-the-environment")
    assert load_secret_key(sqlite_db_url) == "from-the-environment"


@pytest.mark.usefixtures("fast_hashing")
def test_a_login_survives_a_restart(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREOPS_SECRET_KEY", raising=False)
    with unit_of_work(sqlite_db_url) as s:
        create_user(s, "owner", PASSWORD, "owner")
    with TestClient(create_app(sqlite_db_url)) as first:
        login(first, "owner")
        cookies = dict(first.cookies)
    assert cookies
    with TestClient(create_app(sqlite_db_url), cookies=cookies) as second:
        assert second.get("/api/v1/me").json()["username"] == "owner"
    # A session of a user who was since deactivated no longer counts.
    with unit_of_work(sqlite_db_url) as s:
        from storeops.accounts.users import get_user

        get_user(s, "owner").is_active = False
    with TestClient(create_app(sqlite_db_url), cookies=cookies) as third:
        assert third.get("/api/v1/me").status_code == 401


def test_serve_command_passes_its_options(
    sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    monkeypatch.setattr("storeops.api.server.serve",
                        lambda url, host, port, workers, access_log: calls.append(
                            (url, host, port, workers, access_log)))
    result = CliRunner().invoke(
        cli_app, ["serve", "--db", sqlite_db_url, "--host", "0.0.0.0", "--port", "8123",
                  "--workers", "3", "--no-access-log"])
    assert result.exit_code == 0, result.output
    assert calls == [(sqlite_db_url, "0.0.0.0", 8123, 3, False)]
    assert "8123" in result.output and "3 worker processes" in result.output
    refused = CliRunner().invoke(cli_app, ["serve", "--db", sqlite_db_url, "--workers", "0"])
    assert refused.exit_code == 2 and len(calls) == 1


def test_user_add_refuses_an_unknown_role_before_asking(sqlite_db_url: str) -> None:
    result = CliRunner().invoke(cli_app, ["user", "add", "zed", "--role", "admin",
                                          "--db", sqlite_db_url])
    assert result.exit_code != 0
    assert "unknown role" in str(result.exception)
    assert "Password" not in result.output
