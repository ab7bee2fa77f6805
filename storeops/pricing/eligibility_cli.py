"""(stub: being written)"""

from __future__ import annotations

import typer


def register(promo: typer.Typer) -> None:
    """Add this module's subcommands to ``storeops promo``."""
