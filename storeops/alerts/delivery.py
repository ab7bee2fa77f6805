"""The outbox of messages to channels (``notify_deliveries``) and the in-app inbox.

``enqueue_alert`` / ``enqueue_report`` run inside the caller's transaction: they render the
message once per channel (in the channel's language) and queue it; nothing is sent there, so
a check or a report build never waits on a robot. ``send_due`` (the once-a-minute job,
``storeops notify send``, ``storeops alert check``) sends what is due:

- each delivery is claimed in a short transaction of its own (its ``next_attempt_at`` moved a
  lease ahead, so another worker leaves it alone and a crash mid-send only delays it), sent
  outside any transaction, and its outcome written in another short transaction;
- a failure is written on the delivery (``last_error``, ``attempts``) and on the channel
  (``last_error``, ``last_error_at``), and the delivery is tried again after 1, 2, 4, 8 …
  minutes, capped at an hour; after ``MAX_ATTEMPTS`` tries it is marked ``failed`` but kept,
  listed on the channels page with a "send again" button (:func:`resend`);
- deliveries of a disabled channel wait until it is enabled again; nothing is ever dropped;
- one run sends at most ``PER_CHANNEL_PER_RUN`` messages to a channel (the robots' rate
  limit is about 20 a minute), and after a channel fails, its other messages wait for the
  next run instead of each waiting out a timeout;
- more than ``DIGEST_OVER`` alerts (or resolutions) due to one channel at once go as one
  message listing each with its link (up to ``DIGEST_MAX``; the rest in the next run).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storeops.alerts import render
from storeops.alerts.models import InboxMessage, NotifyChannel, NotifyDelivery

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
MAX_ATTEMPTS = 20  # 1+2+4+8+16+32 minutes then hourly: about 15 hours of trying
BACKOFF_CAP = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=5)  # a claimed delivery is left alone this long
BATCH = 500  # deliveries looked at per call at most (the job runs every minute)
PER_CHANNEL_PER_RUN = 15  # DingTalk and WeCom robots accept about 20 messages a minute
DIGEST_OVER = 5  # more alerts than this due to one channel at once are sent as one message
DIGEST_MAX = 30  # alerts in one such message at most (the rest in the next run)


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed try: 1, 2, 4 … minutes, at most an hour."""
    if attempts < 1:
        return timedelta(0)
    return min(timedelta(minutes=2 ** min(attempts - 1, 10)), BACKOFF_CAP)


def severity_passes(severity: str | None, min_severity: str | None) -> bool:
    if not min_severity:
        return True
    return SEVERITY_RANK.get(severity or "", 0) >= SEVERITY_RANK.get(min_severity, 0)


def _store(session: Session, store_id: int) -> Any:
    from storeops.catalog.models import Store

    return session.get(Store, store_id)


def _channels(session: Session, store_id: int) -> list[NotifyChannel]:
    return list(session.scalars(
        select(NotifyChannel).where(NotifyChannel.store_id == store_id,
                                    NotifyChannel.enabled.is_(True))
        .order_by(NotifyChannel.id)))


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def enqueue_alert(session: Session, alert: Any, *, event: str = "alert") -> int:
    """Queue ``alert`` (an ``Alert`` row, flushed) for every enabled channel of its store
    whose ``min_severity`` it reaches, and put it in the store's inbox; ``event`` is
    ``alert`` or ``resolved``. The number of deliveries queued. Sends nothing itself:
    :func:`send_due` does."""
    if event not in ("alert", "resolved"):
        raise ValueError(f"unknown alert event {event!r}")
    if alert.id is None:
        session.flush()
    store = _store(session, alert.store_id)
    store_name = store.name if store is not None else None
    store_tz = store.timezone if store is not None else None
    queued = 0
    for channel in _channels(session, alert.store_id):
        if not severity_passes(alert.severity, channel.min_severity):
            continue
        msg = render.alert_message(alert, channel.lang, event=event, store_name=store_name,
                                   store_tz=store_tz)
        session.add(NotifyDelivery(
            store_id=alert.store_id, channel_id=channel.id, alert_id=alert.id, kind=event,
            payload_json=_dump(render.payload(channel.kind, msg)), status=PENDING,
            attempts=0, next_attempt_at=None))
        queued += 1
    inbox = render.alert_message(alert, "zh-CN", event=event, store_name=None,
                                 store_tz=store_tz)
    session.add(InboxMessage(
        store_id=alert.store_id, alert_id=alert.id, kind=event, severity=alert.severity,
        title=inbox.title, body="\n".join(inbox.lines), link=f"/alerts/{alert.id}"))
    session.flush()
    return queued


def enqueue_report(session: Session, report: Any) -> int:
    """Queue a built ``Report`` row for every enabled channel of its store (a link to
    ``/reports/<id>``; email gets the XLSX and PDF attached when the files exist at sending
    time) and put it in the inbox. The number of deliveries queued."""
    if report.id is None:
        session.flush()
    store = _store(session, report.store_id)
    store_name = store.name if store is not None else None
    queued = 0
    for channel in _channels(session, report.store_id):
        msg = render.report_message(report, channel.lang, store_name=store_name)
        session.add(NotifyDelivery(
            store_id=report.store_id, channel_id=channel.id, report_id=report.id,
            kind="report", payload_json=_dump(render.payload(channel.kind, msg)),
            status=PENDING, attempts=0, next_attempt_at=None))
        queued += 1
    inbox = render.report_message(report, report.lang or "zh-CN", store_name=store_name)
    session.add(InboxMessage(
        store_id=report.store_id, report_id=report.id, kind="report", severity=None,
        title=inbox.title, body="\n".join(inbox.lines), link=f"/reports/{report.id}"))
    session.flush()
    return queued


def enqueue_test(session: Session, channel: NotifyChannel, store_name: str
                 ) -> NotifyDelivery:
    """A test message for ``channel`` (enabled or not), due at once."""
    msg = render.test_message(channel, channel.lang, store_name=store_name)
    delivery = NotifyDelivery(
        store_id=channel.store_id, channel_id=channel.id, kind="test",
        payload_json=_dump(render.payload(channel.kind, msg)), status=PENDING, attempts=0,
        next_attempt_at=None)
    session.add(delivery)
    session.flush()
    return delivery


# --- sending ------------------------------------------------------------------------------

def _alert_waiting() -> Any:
    """True for a resolution whose alert has not reached that channel yet: it waits, so a
    group never reads "resolved" before the alert."""
    from sqlalchemy.orm import aliased

    earlier = aliased(NotifyDelivery)
    return (select(earlier.id)
            .where(earlier.channel_id == NotifyDelivery.channel_id,
                   earlier.alert_id == NotifyDelivery.alert_id,
                   earlier.id < NotifyDelivery.id,
                   earlier.status == PENDING)
            .exists())


def _due_ids(db_url: str, now: datetime, store_id: int | None = None
             ) -> list[tuple[int, int, str]]:
    """(delivery id, channel id, kind) of what is due, oldest first."""
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as session:
        q = (select(NotifyDelivery.id, NotifyDelivery.channel_id, NotifyDelivery.kind)
             .join(NotifyChannel, NotifyChannel.id == NotifyDelivery.channel_id)
             .where(NotifyDelivery.status == PENDING, NotifyChannel.enabled.is_(True),
                    or_(NotifyDelivery.next_attempt_at.is_(None),
                        NotifyDelivery.next_attempt_at <= now)))
        if store_id is not None:
            q = q.where(NotifyDelivery.store_id == store_id)
        return [(d, c, k) for d, c, k in
                session.execute(q.order_by(NotifyDelivery.id).limit(BATCH))]


def _claim(db_url: str, delivery_id: int, now: datetime) -> bool:
    """Take ``delivery_id`` for this worker (one conditional UPDATE): false when another
    worker took it, it is no longer due, or it is a resolution whose alert has not gone to
    that channel yet."""
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as session:
        result = session.execute(
            update(NotifyDelivery)
            .where(NotifyDelivery.id == delivery_id, NotifyDelivery.status == PENDING,
                   or_(NotifyDelivery.next_attempt_at.is_(None),
                       NotifyDelivery.next_attempt_at <= now),
                   or_(NotifyDelivery.kind != "resolved", ~_alert_waiting()))
            .values(next_attempt_at=now + CLAIM_LEASE)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1


def _load(db_url: str, delivery_id: int) -> tuple[Any, dict[str, Any], str] | None:
    """The channel's decrypted target, the payload and the channel kind."""
    from storeops.alerts.channels import target_of
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as session:
        delivery = session.get(NotifyDelivery, delivery_id)
        if delivery is None:
            return None
        channel = session.get(NotifyChannel, delivery.channel_id)
        if channel is None:
            return None
        store = _store(session, channel.store_id)
        target = target_of(db_url, channel, store_name=store.name if store else "")
        return target, json.loads(delivery.payload_json), channel.kind


def _record(db_url: str, delivery_id: int, now: datetime, error: str | None) -> str:
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as session:
        delivery = session.get(NotifyDelivery, delivery_id)
        if delivery is None:
            return FAILED
        channel = session.get(NotifyChannel, delivery.channel_id)
        delivery.attempts = (delivery.attempts or 0) + 1
        if error is None:
            delivery.status, delivery.sent_at = SENT, now
            delivery.next_attempt_at = None
            if channel is not None:
                channel.last_ok_at = now
            if delivery.alert_id is not None and delivery.kind in ("alert", "resolved"):
                _note_on_alert(session, delivery, channel, now)
            if delivery.report_id is not None:
                _note_on_report(session, delivery.report_id, now)
        else:
            delivery.last_error = error[:2000]
            if delivery.attempts >= MAX_ATTEMPTS or delivery.kind == "test":
                # A test is answered once, at once; it is not tried again by itself.
                delivery.status, delivery.next_attempt_at = FAILED, None
            else:
                delivery.next_attempt_at = now + backoff(delivery.attempts)
            if channel is not None:
                channel.last_error, channel.last_error_at = error[:2000], now
        return delivery.status


def _note_on_alert(session: Session, delivery: NotifyDelivery, channel: Any,
                   at: datetime) -> None:
    from storeops.alerts.lifecycle import record_event
    from storeops.alerts.models import Alert

    alert = session.get(Alert, delivery.alert_id)
    if alert is None:
        return
    record_event(session, alert, "notified", "system",
                 data={"channel": channel.name or channel.kind if channel else None,
                       "kind": channel.kind if channel else None, "event": delivery.kind},
                 at=at)


def _note_on_report(session: Session, report_id: int, at: datetime) -> None:
    from storeops.reports.models import Report

    report = session.get(Report, report_id)
    if report is None:
        return
    if report.sent_at is None:
        report.sent_at = at
    if report.status == "built":
        report.status = "sent"


def send_one(db_url: str, delivery_id: int, now: datetime) -> str | None:
    """Claim, send and record one delivery; its new status, or None when it was not due
    (or another worker has it)."""
    from storeops.alerts.senders import SendError, send

    if not _claim(db_url, delivery_id, now):
        return None
    error: str | None = None
    try:
        loaded = _load(db_url, delivery_id)
        if loaded is None:
            return None
        target, payload, _kind = loaded
        send(target, payload["body"])
    except SendError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never lost
        error = _safe_error(exc)
        log.warning("delivery %s failed: %s", delivery_id, error)
    return _record(db_url, delivery_id, now, error)


def _safe_error(exc: Exception) -> str:
    from storeops.common.errors import StoreopsError

    if isinstance(exc, StoreopsError):
        return str(exc)
    return f"{type(exc).__name__}"


def send_digest(db_url: str, delivery_ids: list[int], now: datetime) -> tuple[int, bool]:
    """Claim ``delivery_ids`` (alerts and resolutions due to one channel) and send them as
    one message; each is recorded as if sent alone. (number sent, whether it failed)."""
    from storeops.alerts.channels import target_of
    from storeops.alerts.senders import SendError, send
    from storeops.db.engine import unit_of_work

    claimed = [i for i in delivery_ids if _claim(db_url, i, now)]
    if not claimed:
        return 0, False
    error: str | None = None
    try:
        with unit_of_work(db_url) as session:
            rows = list(session.scalars(select(NotifyDelivery)
                                        .where(NotifyDelivery.id.in_(claimed))
                                        .order_by(NotifyDelivery.id)))
            channel = session.get(NotifyChannel, rows[0].channel_id)
            store = _store(session, channel.store_id)
            store_name = store.name if store else ""
            target = target_of(db_url, channel, store_name=store_name)
            items = []
            for row in rows:
                payload = json.loads(row.payload_json)
                items.append((str(payload.get("title") or ""), str(payload.get("link") or "")))
            kind, lang = channel.kind, channel.lang
        send(target, render.digest_payload(kind, lang, store_name, items)["body"])
    except SendError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - recorded and retried, never lost
        error = _safe_error(exc)
        log.warning("a digest of %d deliveries failed: %s", len(claimed), error)
    for delivery_id in claimed:
        _record(db_url, delivery_id, now, error)
    return (0, True) if error else (len(claimed), False)


def send_due(db_url: str, now: datetime, *, store_id: int | None = None) -> int:
    """Send the deliveries due at ``now``; a failure is retried later with back-off. The
    number sent."""
    by_channel: dict[int, list[tuple[int, str]]] = {}
    for delivery_id, channel_id, kind in _due_ids(db_url, now, store_id):
        by_channel.setdefault(channel_id, []).append((delivery_id, kind))
    sent = 0
    for items in by_channel.values():
        tried = 0
        alerts = [d for d, kind in items if kind in ("alert", "resolved")]
        if len(alerts) > DIGEST_OVER:
            # A burst (a check that raised many alerts at once) is one message, not one each.
            done, failed = send_digest(db_url, alerts[:DIGEST_MAX], now)
            sent += done
            if failed:
                continue  # the channel failed: the rest waits for the next run
            tried = 1
            items = [(d, k) for d, k in items if k not in ("alert", "resolved")]
        for delivery_id, _kind in items:
            # Robots take about 20 messages a minute; after a failure the channel's other
            # messages wait for the next run (a robot that is down costs a timeout each).
            if tried >= PER_CHANNEL_PER_RUN:
                break
            tried += 1
            status = send_one(db_url, delivery_id, now)
            if status == SENT:
                sent += 1
            elif status is not None:
                break
    return sent


def resend(session: Session, delivery_id: int) -> NotifyDelivery | None:
    """Put a pending or failed delivery back in line, due at once, its back-off started
    afresh (the "send again" button)."""
    delivery = session.get(NotifyDelivery, delivery_id)
    if delivery is None or delivery.status == SENT:
        return delivery
    delivery.status, delivery.attempts, delivery.next_attempt_at = PENDING, 0, None
    return delivery
