"""``storeops flash …``: flash sales (秒杀)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``storeops flash …`` to the main app."""
