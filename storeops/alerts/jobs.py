"""(stub: filled in by the alert rules' owner) What the background jobs call."""

from __future__ import annotations

from datetime import datetime


def run_due_checks(db_url: str, now: datetime) -> int:
    """Run every store's alert checks that are due at ``now`` (intraday rules every 15
    minutes, daily rules once after the store's day closed); the number of alerts raised."""
    return 0
