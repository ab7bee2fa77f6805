"""Users: hashing, password rules, duplicates, login checks, the CLI and the role table."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from storeops.accounts.models import User
from storeops.accounts.passwords import hash_password, verify_password
from storeops.accounts.permissions import Permission, has_permission
from storeops.accounts.users import authenticate, create_user
from storeops.cli import app
from storeops.common.errors import StoreopsError
from storeops.db.engine import unit_of_work


def test_hash_is_argon2_and_verifies_only_the_right_password() -> None:
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$") and "correct horse" not in h
    assert verify_password(h, "correct horse")
    assert not verify_password(h, "correct horsE")
    assert not verify_password(None, "correct horse")
    assert not verify_password("not-a-hash", "correct horse")


def test_create_and_authenticate(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        user = create_user(s, "alice", "s3cret-pass", "operator", "Alice")
        assert user.id and user.is_active and user.role == "operator"
    with unit_of_work(db_url) as s:
        stored = s.query(User).filter_by(username="alice").one()
        assert stored.password_hash != "s3cret-pass"
        assert authenticate(s, "alice", "s3cret-pass").username == "alice"
        assert authenticate(s, "alice", "wrong-pass!") is None
        assert authenticate(s, "nobody", "s3cret-pass") is None
        assert authenticate(s, "alice", "") is None


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("bob", "short", "analyst", "at least 10"),
        ("bob", "nine-char", "analyst", "at least 10"),
        ("bob", "          ", "analyst", "only spaces"),
        ("bob", "1234567890", "analyst", "most common"),
        ("bob", "PassWord123", "analyst", "most common"),  # any case
        ("bob", "qwertyuiop", "analyst", "most common"),
        ("bob.the.builder", "Bob.The.Builder", "analyst", "user name"),
        ("bob", "long-enough", "admin", "unknown role"),
        ("b", "long-enough", "analyst", "bad user name"),
        ("bad name", "long-enough", "analyst", "bad user name"),
    ],
)
def test_bad_input_is_refused(
    sqlite_db_url: str, username: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(StoreopsError, match=message), unit_of_work(sqlite_db_url) as s:
        create_user(s, username, password, role)


def test_duplicate_user_is_refused(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        create_user(s, "carol", "carol-pass-1", "analyst")
    with pytest.raises(StoreopsError, match="already exists"), unit_of_work(db_url) as s:
        create_user(s, "carol", "carol-pass-2", "owner")


def test_inactive_user_cannot_log_in(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        create_user(s, "dave", "dave-pass-1", "owner").is_active = False
    with unit_of_work(db_url) as s:
        assert authenticate(s, "dave", "dave-pass-1") is None


def test_role_permissions() -> None:
    assert all(has_permission("owner", p) for p in Permission)
    assert has_permission("operator", Permission.IMPORT_RUN)
    assert has_permission("operator", Permission.TARGET_EDIT)
    assert not has_permission("operator", Permission.USER_MANAGE)
    assert has_permission("analyst", Permission.KPI_VIEW)
    assert not has_permission("analyst", Permission.IMPORT_RUN)
    assert not has_permission("analyst", Permission.TARGET_EDIT)
    assert not has_permission("ghost", Permission.KPI_VIEW)


def test_cli_user_add(sqlite_db_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["user", "add", "erin", "--role", "owner", "--password", "pass-word-1",
              "--db", sqlite_db_url],
    )
    assert result.exit_code == 0, result.output
    assert "erin" in result.output
    # Prompted twice when --password is left out.
    result = runner.invoke(
        app, ["user", "add", "frank", "--role", "analyst", "--db", sqlite_db_url],
        input="pass-word-2\npass-word-2\n",
    )
    assert result.exit_code == 0, result.output
    with unit_of_work(sqlite_db_url) as s:
        assert authenticate(s, "erin", "pass-word-1").role == "owner"
        assert authenticate(s, "frank", "pass-word-2").role == "analyst"
    dup = runner.invoke(
        app, ["user", "add", "erin", "--role", "owner", "--password", "pass-word-1",
              "--db", sqlite_db_url],
    )
    assert dup.exit_code != 0
    assert isinstance(dup.exception, StoreopsError)


def test_cli_refuses_weak_passwords_before_writing(sqlite_db_url: str) -> None:
    runner = CliRunner()
    for weak, message in (("iloveyou12", "most common"), ("short-1", "at least 10")):
        result = runner.invoke(app, ["user", "add", "gina", "--role", "analyst",
                                     "--password", weak, "--db", sqlite_db_url])
        assert result.exit_code != 0 and message in str(result.exception)
    with unit_of_work(sqlite_db_url) as s:
        assert s.query(User).count() == 0


def test_common_password_list_ships_with_the_package() -> None:
    from storeops.accounts.passwords import common_passwords

    common = common_passwords()
    assert len(common) > 19_000
    assert {"password", "1234567890", "qwertyuiop"} <= common


def test_the_demos_generated_password_satisfies_the_rules() -> None:
    from storeops.accounts.passwords import check_password_rules
    from storeops.sim.demo import new_password

    for _ in range(50):
        check_password_rules(new_password(), "admin")
