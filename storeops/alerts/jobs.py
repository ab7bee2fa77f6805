"""What the background jobs call: the alert checks that are due.

:func:`run_due_checks` runs every minute (``storeops/jobs/tasks.py``). Per store:

* **intraday** rules every 15 minutes, as of the quarter hour (``:00``, ``:15``, ``:30``,
  ``:45`` UTC); the same slot also sends the alerts held by quiet hours once those end;
* **daily** rules once the store-local day has closed: at 00:30 store time (the day before is
  then complete) and again at 10:00 (the same day's figures, after the morning's imports of
  traffic and ads; an alert already raised for that day is not raised again).

Each (store, grain, as-of) is claimed in ``alert_check_runs`` before it runs (a unique row),
so a check is never run twice, whatever the number of workers; a slot missed while no worker
ran is not caught up (only the latest slot of each kind is due).
"""

from __future__ import annotations

import logging
import time as _time
from datetime import UTC, datetime, time

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

log = logging.getLogger(__name__)

INTRADAY_MINUTES = 15
DAILY_TIMES = (time(0, 30), time(10, 0))  # store-local


def intraday_slot(now: datetime) -> datetime:
    """The quarter hour ``now`` falls in (UTC)."""
    now = now.astimezone(UTC)
    return now.replace(minute=now.minute - now.minute % INTRADAY_MINUTES, second=0,
                       microsecond=0)


def daily_slot(now: datetime, tz: str) -> datetime | None:
    """The latest daily check time at or before ``now`` on the store-local day of ``now``
    (UTC), or None before the first one."""
    local = now.astimezone(zone(tz))
    due = None
    for at in DAILY_TIMES:
        moment = datetime.combine(local.date(), at, tzinfo=zone(tz))
        if moment <= local:
            due = moment
    return due.astimezone(UTC) if due else None


def _claim(db_url: str, store_id: int, grain: str, as_of: datetime) -> int | None:
    """Insert the run's row; None when another run has it already."""
    from storeops.alerts.models import AlertCheckRun
    from storeops.db.engine import unit_of_work

    try:
        with unit_of_work(db_url) as session:
            found = session.scalars(select(AlertCheckRun.id).where(
                AlertCheckRun.store_id == store_id, AlertCheckRun.grain == grain,
                AlertCheckRun.as_of == as_of)).first()
            if found is not None:
                return None
            run = AlertCheckRun(store_id=store_id, grain=grain, as_of=as_of)
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        return None


def _finish(db_url: str, run_id: int, raised: int, resolved: int, seconds: float) -> None:
    from storeops.alerts.models import AlertCheckRun
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as session:
        session.execute(update(AlertCheckRun).where(AlertCheckRun.id == run_id).values(
            raised=raised, resolved=resolved, seconds=f"{seconds:.3f}"))


def due_slots(db_url: str, now: datetime) -> list[tuple[int, str, datetime]]:
    """(store id, grain, as of) of the checks due at ``now`` and not yet claimed."""
    from storeops.alerts.models import AlertCheckRun
    from storeops.catalog.models import Store
    from storeops.db.engine import unit_of_work

    now = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC)
    out = []
    with unit_of_work(db_url) as session:
        stores = [(s.id, s.timezone or DEFAULT_TIMEZONE)
                  for s in session.scalars(select(Store).order_by(Store.id))]
        for store_id, tz in stores:
            wanted = [("intraday", intraday_slot(now))]
            daily = daily_slot(now, tz)
            if daily is not None:
                wanted.append(("daily", daily))
            for grain, as_of in wanted:
                done = session.scalars(select(AlertCheckRun.id).where(
                    AlertCheckRun.store_id == store_id, AlertCheckRun.grain == grain,
                    AlertCheckRun.as_of == as_of)).first()
                if done is None:
                    out.append((store_id, grain, as_of))
    return out


def run_due_checks(db_url: str, now: datetime) -> int:
    """Run every store's alert checks that are due at ``now`` (intraday rules every 15
    minutes, daily rules once after the store's day closed); the number of alerts raised."""
    from storeops.alerts.service import check_store

    raised = 0
    for store_id, grain, as_of in due_slots(db_url, now):
        run_id = _claim(db_url, store_id, grain, as_of)
        if run_id is None:
            continue
        started = _time.perf_counter()
        try:
            result = check_store(db_url, store_id, as_of, grain=grain)
        except Exception:  # noqa: BLE001 - one store's failure must not stop the others
            log.exception("alert check of store %s (%s, %s) failed", store_id, grain, as_of)
            continue
        raised += len(result.raised)
        _finish(db_url, run_id, len(result.raised), len(result.resolved),
                _time.perf_counter() - started)
    return raised


__all__ = ["DAILY_TIMES", "INTRADAY_MINUTES", "daily_slot", "due_slots", "intraday_slot",
           "run_due_checks"]
