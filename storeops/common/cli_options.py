"""Options shared by every command."""

from __future__ import annotations

from typing import Annotated

import typer

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
