"""``storeops user …`` and ``storeops token …``: the cockpit's users and the API's tokens."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from storeops.common.cli_options import DbOption, JsonOption, database_url

user_app = typer.Typer(help="Users of the cockpit.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for scripts (Authorization: Bearer …).",
                        no_args_is_help=True)

UsernameArg = Annotated[str, typer.Argument(help="Login name.")]
PasswordOption = Annotated[
    str | None,
    typer.Option("--password", help="Password (asked twice when left out).", show_default=False),
]


def _ask_password(password: str | None, username: str | None = None) -> str:
    from storeops.accounts.passwords import check_password_rules

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    check_password_rules(password, username)  # before any database work
    return password


def _when(value: datetime | None) -> str:
    """A stored time as the store timezone's wall clock (the default one: users span stores)."""
    from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

    if value is None:
        return "-"
    return value.astimezone(zone(DEFAULT_TIMEZONE)).strftime("%Y-%m-%d %H:%M")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@user_app.command("add")
def add(
    username: UsernameArg,
    role: Annotated[str, typer.Option("--role", help="owner, operator or analyst.")],
    password: PasswordOption = None,
    display_name: Annotated[str | None, typer.Option("--name", help="Name shown.")] = None,
    db: DbOption = None,
) -> None:
    """Create a user (roles: owner = everything, operator = view/import/targets, analyst =
    view). Passwords: at least 10 characters, not a common one."""
    from storeops.accounts.permissions import parse_role
    from storeops.accounts.users import create_user
    from storeops.db.engine import unit_of_work

    parse_role(role)  # fail before asking for a password
    password = _ask_password(password, username)
    with unit_of_work(database_url(db)) as session:
        user = create_user(session, username, password, role, display_name)
        typer.echo(f"user {user.username!r} created with role {user.role}")


@user_app.command("list")
def list_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every user: name, role, active, last login."""
    from rich.console import Console
    from rich.table import Table

    from storeops.accounts.users import list_users
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        users = list_users(session)
    if as_json:
        typer.echo(json.dumps([
            {"username": u.username, "name": u.display_name, "role": u.role,
             "active": u.active, "last_login": _iso(u.last_login)} for u in users
        ], ensure_ascii=False, indent=2))
        return
    table = Table("user", "name", "role", "active", "last login")
    for u in users:
        table.add_row(u.username, u.display_name or "", u.role, "yes" if u.active else "no",
                      _when(u.last_login))
    Console().print(table)


@user_app.command("passwd")
def passwd(username: UsernameArg, password: PasswordOption = None, db: DbOption = None) -> None:
    """Set a user's password; every session of that user ends at once."""
    from storeops.accounts.users import require_user, set_password
    from storeops.db.engine import unit_of_work

    url = database_url(db)
    with unit_of_work(url) as session:
        require_user(session, username)  # fail before asking for a password
    password = _ask_password(password, username)
    with unit_of_work(url) as session:
        ended = set_password(session, username, password)
    typer.echo(f"password of {username!r} changed; {ended} session(s) ended")


@user_app.command("deactivate")
def deactivate(username: UsernameArg, db: DbOption = None) -> None:
    """Stop a user from logging in: their sessions end and their API tokens stop working."""
    from storeops.accounts.users import set_active
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        ended = set_active(session, username, False)
    typer.echo(f"user {username!r} deactivated; {ended} session(s) ended")


@user_app.command("activate")
def activate(username: UsernameArg, db: DbOption = None) -> None:
    """Let a deactivated user log in again (their unrevoked API tokens work again)."""
    from storeops.accounts.users import set_active
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        set_active(session, username, True)
    typer.echo(f"user {username!r} activated")


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for (e.g. 'nightly "
                                                     "export').")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token and print it once: it is stored hashed and cannot be shown again."""
    from storeops.accounts.tokens import create_token
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        row, token = create_token(session, user, name)
        token_id = row.id
    if as_json:
        typer.echo(json.dumps({"token": token, "id": token_id, "user": user, "name": name},
                              ensure_ascii=False))
        return
    typer.echo(token)
    typer.echo(f"token {token_id} ({name!r} for {user!r}): copy it now, it is not shown again. "
               "Use it as the header `Authorization: Bearer <token>`.", err=True)


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tokens with their owner, name, first characters, creation, last use and revocation
    (never the token itself)."""
    from rich.console import Console
    from rich.table import Table

    from storeops.accounts.tokens import list_tokens
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        tokens = list_tokens(session, user)
    if as_json:
        typer.echo(json.dumps([
            {"id": t.id, "user": t.username, "name": t.name, "token_start": t.shown,
             "created_at": _iso(t.created_at), "last_used_at": _iso(t.last_used_at),
             "revoked_at": _iso(t.revoked_at)} for t in tokens
        ], ensure_ascii=False, indent=2))
        return
    table = Table("id", "user", "name", "token", "created", "last used", "revoked")
    for t in tokens:
        table.add_row(str(t.id), t.username, t.name, t.shown, _when(t.created_at),
                      _when(t.last_used_at), _when(t.revoked_at))
    Console().print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int | None, typer.Argument(help="Id from `storeops token list`.",
                                                   show_default=False)] = None,
    user: Annotated[str | None, typer.Option("--user", help="With --name: the owner.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="With --user: the token's name.")]
    = None,
    db: DbOption = None,
) -> None:
    """Revoke a token at once (by id, or by --user and --name)."""
    from storeops.accounts.tokens import revoke_token
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        row = revoke_token(session, token_id, username=user, name=name)
        typer.echo(f"token {row.id} ({row.name!r}) revoked")


def register(app: typer.Typer) -> None:
    """Add ``storeops user …`` and ``storeops token …`` to the main app."""
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
