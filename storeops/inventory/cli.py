"""``storeops stock …``: receive, adjust, count, transfer, show, check."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``storeops stock …`` to the main app."""
