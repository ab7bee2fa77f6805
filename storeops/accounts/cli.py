"""``storeops user add``: create a user of the cockpit."""

from __future__ import annotations

from typing import Annotated

import typer

from storeops.common.cli_options import DbOption

user_app = typer.Typer(help="Users of the cockpit.", no_args_is_help=True)


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help="owner, operator or analyst.")],
    password: Annotated[
        str | None,
        typer.Option("--password", help="Password (asked twice when left out).",
                     show_default=False),
    ] = None,
    display_name: Annotated[str | None, typer.Option("--name", help="Name shown.")] = None,
    db: DbOption = None,
) -> None:
    """Create a user (roles: owner = everything, operator = view/import/targets, analyst =
    view)."""
    from storeops.accounts.permissions import parse_role
    from storeops.accounts.users import create_user
    from storeops.config import resolve_db_url
    from storeops.db.engine import unit_of_work
    from storeops.db.migrate import ensure_schema

    parse_role(role)  # fail before asking for a password
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    url = resolve_db_url(db)
    ensure_schema(url)
    with unit_of_work(url) as session:
        user = create_user(session, username, password, role, display_name)
        typer.echo(f"user {user.username!r} created with role {user.role}")


def register(app: typer.Typer) -> None:
    """Add ``storeops user …`` to the main app."""
    app.add_typer(user_app, name="user")
