"""Options shared by every command."""

from __future__ import annotations

import os
from typing import Annotated

import typer

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
