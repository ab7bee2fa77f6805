"""An alert's lifecycle: open → acknowledged → resolved, with an assignee and notes; every
change is an event (who, when, why). The check service resolves an alert by itself when its
condition clears (actor ``None``); a person acknowledges, assigns, notes, resolves or reopens.

Pure rules (which move is legal) are :func:`check_move`; the functions below apply a move to
an ``Alert`` row in a session and record its event.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storeops.alerts.models import Alert, AlertEvent
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import utcnow

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED)
SEVERITIES = ("info", "warning", "critical")
SYSTEM = "system"  # the actor of what the check service does by itself

# The moves a person may make, from each status.
_MOVES = {
    "acknowledge": {OPEN},
    "resolve": {OPEN, ACKNOWLEDGED},
    "reopen": {RESOLVED},
    "assign": {OPEN, ACKNOWLEDGED},
    "note": {OPEN, ACKNOWLEDGED, RESOLVED},
}


class AlertMoveError(StoreopsError, ValueError):
    pass


def check_move(status: str, move: str) -> None:
    """Raise :class:`AlertMoveError` unless ``move`` is legal from ``status``."""
    allowed = _MOVES.get(move)
    if allowed is None:
        raise AlertMoveError(f"unknown alert action {move!r}", key="alerts.unknown_move",
                             move=move)
    if status not in allowed:
        raise AlertMoveError(f"an alert that is {status} cannot be {move}d",
                             key="alerts.illegal_move", status=status, move=move)


def record_event(session: Session, alert: Alert, action: str, actor: str | None,
                 note: str | None = None, data: dict[str, Any] | None = None,
                 at: datetime | None = None) -> AlertEvent:
    """Add one event to ``alert``'s history (flushed with the session)."""
    if alert.id is None:
        session.flush()
    event = AlertEvent(alert_id=alert.id, at=at or utcnow(), actor=actor or SYSTEM,
                       action=action, note=note,
                       data_json=json.dumps(data, ensure_ascii=False, default=str)
                       if data else None)
    session.add(event)
    return event


def acknowledge(session: Session, alert: Alert, actor: str, note: str | None = None,
                at: datetime | None = None) -> Alert:
    check_move(alert.status, "acknowledge")
    at = at or utcnow()
    alert.status, alert.acknowledged_at, alert.acknowledged_by = ACKNOWLEDGED, at, actor
    record_event(session, alert, "acknowledged", actor, note, at=at)
    return alert


def assign(session: Session, alert: Alert, actor: str, assignee: str | None,
           at: datetime | None = None) -> Alert:
    check_move(alert.status, "assign")
    before = alert.assignee
    alert.assignee = (assignee or "").strip() or None
    record_event(session, alert, "assigned", actor, data={"from": before, "to": alert.assignee},
                 at=at)
    return alert


def add_note(session: Session, alert: Alert, actor: str, note: str,
             at: datetime | None = None) -> Alert:
    check_move(alert.status, "note")
    text = (note or "").strip()
    if not text:
        raise AlertMoveError("a note cannot be empty", key="alerts.empty_note")
    record_event(session, alert, "noted", actor, text, at=at)
    return alert


def resolve(session: Session, alert: Alert, actor: str | None, note: str | None = None,
            at: datetime | None = None, data: dict[str, Any] | None = None) -> Alert:
    """Resolve ``alert``: by a person (``actor``), or by the check service when the condition
    cleared (``actor`` None, recorded as ``system``)."""
    check_move(alert.status, "resolve")
    at = at or utcnow()
    alert.status, alert.resolved_at, alert.resolved_by = RESOLVED, at, actor
    record_event(session, alert, "resolved", actor, note, data=data, at=at)
    return alert


def reopen(session: Session, alert: Alert, actor: str | None, note: str | None = None,
           at: datetime | None = None) -> Alert:
    check_move(alert.status, "reopen")
    alert.status, alert.resolved_at, alert.resolved_by = OPEN, None, None
    alert.acknowledged_at = alert.acknowledged_by = None
    record_event(session, alert, "reopened", actor, note, at=at)
    return alert
