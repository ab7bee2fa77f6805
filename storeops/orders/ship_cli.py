"""``storeops ship …``: waybills one at a time or from a file."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``storeops ship …`` to the main app."""
