"""Options shared by every command."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LANG_ENV = "STOREOPS_LANG"


def cli_lang() -> str:
    """The terminal's language: zh-CN unless ``STOREOPS_LANG`` starts with ``en``."""
    return "en" if os.environ.get(LANG_ENV, "").lower().startswith("en") else "zh-CN"

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL or SQLite file (default: $STOREOPS_DATABASE_URL, else ./storeops.db).",
        show_default=False,
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store name (may be left out when the database has one store)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def database_url(db: str | None) -> str:
    """The database a command works on (``--db``, else the environment, else ./storeops.db),
    brought to the newest schema first."""
    from storeops.config import resolve_db_url
    from storeops.db.migrate import ensure_schema

    url = resolve_db_url(db)
    ensure_schema(url)
    return url


@contextmanager
def command_unit_of_work(db: str | None) -> Iterator[Session]:
    """One unit of work for a command: committed when the command's block ends, rolled back
    on an error."""
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        yield session


def cli_actor() -> str:
    """Who a change made from the terminal is recorded as: the login name."""
    import getpass

    try:
        return f"user:{getpass.getuser()}"[:120]
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"
