"""The background tasks: JD syncs, channel stock pushes, expiry of unpaid orders.

Every task works on its :class:`~storeops.jobs.queue.Jobs`' database. A task never crashes the
consumer: a transient failure (JD rate limiting, a network error or timeout, a busy or lost
database) is raised so that Huey retries it with back-off (30 s, 60 s, 120 s); any other
failure is logged with its traceback and the task ends with ``{"error": …}``.

- ``sync_store(store_id, since=None)``: :func:`storeops.connectors.jd.sync.sync_store` under
  the lock ``jd-sync-<store id>``, so two syncs of one store never overlap, whichever worker
  process runs them; a sync asked for while one runs is not run (answer ``{"store_id": …,
  "busy": True}``: the running one, or the next round, brings the same orders).
- ``schedule_syncs``: every ``sync_minutes`` (``STOREOPS_SYNC_MINUTES``) a sync and a stock
  push of every store with a JD connection. With several workers each scheduler fires it; the
  first claims the round, the others do nothing.
- ``expire_unpaid``: every minute, :func:`storeops.orders.expiry.expire_unpaid`.
- ``push_stock(store_id)``: the store's channel listings whose quantity to publish changed,
  pushed one by one (:func:`storeops.connectors.jd.push.push_stock`) and marked pushed; a
  refused push is recorded on its listing and tried again at the next push.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storeops.jobs.queue import Jobs

logger = logging.getLogger("storeops.jobs")

RETRIES = 3
RETRY_DELAY = 30  # seconds, doubled on each retry
EXPIRE_EVERY_MINUTES = 1


# --- what the tasks call (module attributes, so that tests can put fakes in their place) ---

def run_sync(db_url: str, store_id: int, since: datetime | None = None) -> Any:
    from storeops.connectors.jd.sync import sync_store

    return sync_store(db_url, store_id, since=since)


def run_expiry(db_url: str, now: datetime) -> int:
    from storeops.db.engine import unit_of_work

    try:
        from storeops.orders.expiry import expire_unpaid
    except ModuleNotFoundError as exc:  # a build without the own channel's orders
        if exc.name != "storeops.orders.expiry":
            raise
        return 0
    with unit_of_work(db_url) as session:
        return expire_unpaid(session, now)


def connected_store_ids(db_url: str) -> list[int]:
    from sqlalchemy import select

    from storeops.connectors.jd.models import JdConnection
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as session:
        return list(session.scalars(select(JdConnection.store_id).order_by(
            JdConnection.store_id)))


def run_stock_push(db_url: str, store_id: int) -> dict[str, Any]:
    """Push every JD listing of the store whose quantity to publish changed, each in its own
    transaction (a push JD accepted stays marked pushed whatever comes after it). A refused
    push is recorded on its listing, which stays due; JD being unreachable or over its rate
    ends the run with the error, so that it is retried with back-off."""
    from storeops.catalog.models import Product
    from storeops.connectors.jd.models import JdConnection
    from storeops.connectors.jd.push import push_stock
    from storeops.db.engine import unit_of_work
    from storeops.inventory.channel_sync import mark_pushed, plan_channel_sync
    from storeops.inventory.locking import lock_for_stock_write
    from storeops.inventory.models import ChannelListing

    with unit_of_work(db_url) as session:
        if session.get(JdConnection, store_id) is None:
            return {"store_id": store_id, "not_connected": True}
        lock_for_stock_write(session)  # SQLite: the write lock before reading
        planned = [(listing.id, listing.wanted_qty, session.get(Product, listing.product_id))
                   for listing in plan_channel_sync(session, store_id, "jd")]
        planned = [(lid, qty, product.platform_sku_id) for lid, qty, product in planned
                   if product is not None]
    pushed = failed = 0
    transient: Exception | None = None
    for listing_id, quantity, sku in planned:
        error: str | None = None
        try:
            with unit_of_work(db_url) as session:  # reads the connection only
                push_stock(session, store_id, sku, quantity)
            pushed += 1
        except Exception as exc:
            if not _is_jos_error(exc):
                raise  # the database: the whole run is retried
            failed += 1
            error = str(exc)[:2000]
            logger.warning("stock push of SKU %s (store %s) failed: %s", sku, store_id, exc)
            if is_transient(exc):
                transient = exc
        with unit_of_work(db_url) as session:
            lock_for_stock_write(session)
            listing = session.get(ChannelListing, listing_id)
            if listing is not None:
                mark_pushed(session, listing, quantity, error=error)
    if transient is not None:
        raise transient
    return {"store_id": store_id, "planned": len(planned), "pushed": pushed,
            "failed": failed}


def now() -> datetime:
    """The time a round is taken for (a module attribute: tests fix it)."""
    return datetime.now(UTC)


# --- failures ---------------------------------------------------------------------------------

def _is_jos_error(exc: BaseException) -> bool:
    try:
        from storeops.connectors.jd.client import JosError
    except ImportError:
        return False
    return isinstance(exc, JosError)


def is_transient(exc: BaseException) -> bool:
    """A failure that may pass by itself (JD over its rate or unreachable, the network, a
    busy or lost database): retried with back-off rather than given up. A sync that stopped
    says why in its ``reason``."""
    from storeops.common.errors import StoreopsError
    from storeops.db.engine import DatabaseBusyError

    if isinstance(exc, DatabaseBusyError):
        return True
    reason = exc.params.get("reason") if isinstance(exc, StoreopsError) else None
    if isinstance(reason, BaseException) and reason is not exc and is_transient(reason):
        return True
    try:
        from storeops.connectors.jd.client import JosRateLimited, JosUnavailable
    except ImportError:
        pass
    else:
        if isinstance(exc, JosRateLimited | JosUnavailable):
            return True
    try:
        import httpx
    except ImportError:
        pass
    else:
        if isinstance(exc, httpx.TransportError):
            return True
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or "locked" in str(exc.orig).lower() \
            or type(exc.orig).__name__ in {"OperationalError", "SerializationFailure",
                                           "DeadlockDetected"}
    return isinstance(exc, ConnectionError | TimeoutError)


def _guarded(kind: str, fn: Callable[..., Any], *, retry: bool) -> Callable[..., Any]:
    """``fn`` that logs its failures; transient ones are raised again when ``retry`` (so that
    Huey retries the task), every other one is given up: ``{"error": …}``."""

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        what = " ".join([kind, *map(str, args)])
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if retry and is_transient(exc):
                logger.warning("%s failed, will retry: %s", what, exc)
                raise
            logger.exception("%s failed", what)
            return {"error": f"{type(exc).__name__}: {exc}"}

    return run


def _as_dict(result: Any) -> Any:
    if hasattr(result, "as_json"):
        return result.as_json()
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    return result


def _epoch_minute(ts: datetime) -> int:
    """Minutes since 1970 of Huey's timestamp (naive UTC) or an aware time."""
    aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return int(aware.timestamp() // 60)


def every_minutes(n: int) -> Callable[[datetime], bool]:
    """A Huey periodic schedule: the minutes whose number since 1970 is a multiple of ``n``
    (every ``n`` minutes, whatever ``n``; ``*/7`` in cron would fire twice at the hour)."""

    def due(ts: datetime) -> bool:
        return _epoch_minute(ts) % n == 0

    return due


def run_promotion_advance(db_url: str, now: datetime) -> int:
    """Scheduled promotions whose start passed go live; live ones past their end end."""
    from storeops.db.engine import unit_of_work
    from storeops.pricing.service import advance_due

    with unit_of_work(db_url) as session:
        return len(advance_due(session, now))


def run_alert_checks(db_url: str, now: datetime) -> int:
    from storeops.alerts.jobs import run_due_checks

    return run_due_checks(db_url, now)


def run_deliveries(db_url: str, now: datetime) -> int:
    from storeops.alerts.delivery import send_due

    return send_due(db_url, now)


def run_reports(db_url: str, now: datetime) -> int:
    from storeops.reports.jobs import run_due_reports

    return run_due_reports(db_url, now)


# --- the tasks --------------------------------------------------------------------------------

def register_tasks(jobs: Jobs) -> None:
    """Register storeops' tasks on ``jobs.huey`` (bound to ``jobs.db_url``)."""
    huey = jobs.huey
    db_url = jobs.db_url
    minutes = jobs.sync_minutes
    retrying = {"retries": RETRIES, "retry_delay": RETRY_DELAY, "retry_backoff": 2}

    def sync_store(store_id: int, since: str | None = None) -> Any:
        with jobs.locks.hold(f"jd-sync-{store_id}") as held:
            if not held:
                logger.info("JD sync of store %s skipped: another sync of it is running",
                            store_id)
                return {"store_id": store_id, "busy": True}
            started = time.monotonic()
            result = run_sync(db_url, store_id,
                              datetime.fromisoformat(since) if since else None)
            logger.info("JD sync of store %s done in %.1fs: %s", store_id,
                        time.monotonic() - started, result)
            return _as_dict(result)

    def schedule_syncs() -> int:
        at = now()
        if not jobs.locks.claim(f"round-sync-{_epoch_minute(at) // minutes}",
                                ttl=max(30, minutes * 60 - 10)):
            return 0  # another worker's scheduler has this round
        stores = connected_store_ids(db_url)
        for store_id in stores:
            # The push after the sync, never beside it (one writer at a time on SQLite).
            jobs.huey.enqueue(jobs.sync_store.s(store_id).then(jobs.push_stock, store_id))
        if stores:
            logger.info("queued a JD sync and a stock push of %d store(s)", len(stores))
        return len(stores)

    def once_a_minute(name: str, run: Callable[[str, datetime], int], done: str
                      ) -> Callable[[], int]:
        """A periodic task that runs once a minute whatever the number of workers (the
        round's claim), never beside itself (the lock); ``done`` logs what it did."""
        def task() -> int:
            at = now()
            if not jobs.locks.claim(f"round-{name}-{_epoch_minute(at)}", ttl=50):
                return 0
            with jobs.locks.hold(name) as held:
                if not held:
                    return 0
                count = run(db_url, at)
                if count:
                    logger.info(done, count)
                return count
        return task

    # run_expiry/run_promotion_advance looked up when the task runs (tests replace them).
    expire_unpaid = once_a_minute(
        "expire-unpaid", lambda url, at: run_expiry(url, at),
        "cancelled %d unpaid order(s) past their deadline")
    advance_promotions = once_a_minute(
        "advance-promotions", lambda url, at: run_promotion_advance(url, at),
        "moved %d promotion(s) on their schedule")

    check_alerts = once_a_minute(
        "check-alerts", lambda url, at: run_alert_checks(url, at), "raised %d alert(s)")
    send_notifications = once_a_minute(
        "send-notifications", lambda url, at: run_deliveries(url, at),
        "sent %d notification(s)")
    build_reports = once_a_minute(
        "build-reports", lambda url, at: run_reports(url, at), "built %d report(s)")

    def push_stock(*args: Any, **_sync_answer: Any) -> Any:
        # (store_id,); after a sync (a Huey pipeline) its answer comes too, as extra
        # arguments (keywords when it is a dict): not needed.
        store_id = int(args[0])
        with jobs.locks.hold(f"stock-push-{store_id}") as held:
            if not held:
                return {"store_id": store_id, "busy": True}
            return run_stock_push(db_url, store_id)

    def ping() -> dict[str, int]:
        return {"pid": os.getpid()}

    jobs.tasks["sync_store"] = huey.task(name="sync_store", **retrying)(
        _guarded("JD sync of store", sync_store, retry=True))
    jobs.tasks["push_stock"] = huey.task(name="push_stock", **retrying)(
        _guarded("stock push of store", push_stock, retry=True))
    jobs.tasks["schedule_syncs"] = huey.periodic_task(every_minutes(minutes),
                                                      name="schedule_syncs")(
        _guarded("scheduling syncs", schedule_syncs, retry=False))
    jobs.tasks["expire_unpaid"] = huey.periodic_task(every_minutes(EXPIRE_EVERY_MINUTES),
                                                     name="expire_unpaid")(
        _guarded("expiring unpaid orders", expire_unpaid, retry=False))
    jobs.tasks["advance_promotions"] = huey.periodic_task(every_minutes(1),
                                                          name="advance_promotions")(
        _guarded("moving promotions on their schedule", advance_promotions, retry=False))
    jobs.tasks["check_alerts"] = huey.periodic_task(every_minutes(1), name="check_alerts")(
        _guarded("checking alert rules", check_alerts, retry=False))
    jobs.tasks["send_notifications"] = huey.periodic_task(
        every_minutes(1), name="send_notifications")(
        _guarded("sending notifications", send_notifications, retry=False))
    jobs.tasks["build_reports"] = huey.periodic_task(every_minutes(1), name="build_reports")(
        _guarded("building reports", build_reports, retry=False))
    jobs.tasks["ping"] = huey.task(name="ping")(ping)
