"""``storeops order …``: review and handle orders from the terminal."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``storeops order …`` to the main app."""
