"""``storeops alert …``: rules (import, export), checks and the alerts they raise."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root ``storeops`` command."""
