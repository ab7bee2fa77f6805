"""``storeops jd …``: connect a store, sync its orders, run the JOS simulator."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``storeops jd …`` to the main app."""
