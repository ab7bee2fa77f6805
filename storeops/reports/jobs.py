"""(stub: filled in by the reports' owner) What the background jobs call."""

from __future__ import annotations

from datetime import datetime


def run_due_reports(db_url: str, now: datetime) -> int:
    """Build and send every store's weekly (Monday) and monthly (1st) report that is due at
    ``now`` in store time and not built yet; the number built."""
    return 0
