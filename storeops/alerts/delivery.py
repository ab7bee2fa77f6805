"""(stub: filled in by the notifications' owner) The outbox of messages to channels."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def enqueue_alert(session: Any, alert: Any, *, event: str = "alert") -> int:
    """Queue ``alert`` (an ``Alert`` row, flushed) for every enabled channel of its store and
    put it in the store's inbox; ``event`` is ``alert`` or ``resolved``. The number of
    deliveries queued. Sends nothing itself: :func:`send_due` does."""
    return 0


def enqueue_report(session: Any, report: Any) -> int:
    """Queue a built ``Report`` row for every enabled channel of its store (as a link, or the
    file where the channel can take one) and put it in the inbox."""
    return 0


def send_due(db_url: str, now: datetime) -> int:
    """Send the deliveries due at ``now``; a failure is retried later with back-off. The
    number sent."""
    return 0
