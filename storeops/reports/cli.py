"""``storeops report weekly|monthly``: the operations reports as XLSX and PDF."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root ``storeops`` command."""
