"""``storeops worker``: run background jobs (Huey consumer)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``storeops worker`` to the main app."""
