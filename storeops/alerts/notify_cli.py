"""``storeops notify …``: the store's notification channels (DingTalk, WeCom, email)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root ``storeops`` command."""
