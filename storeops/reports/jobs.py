"""What the background jobs call: build and send the reports that are due.

Every store has a schedule (``report_schedules``; a store without a row has the default: the
weekly report on Monday 09:00 and the monthly one on the 1st 09:00, store time, in Chinese,
with the PDF). At each run (the job runs every minute) a report is due when the latest
scheduled moment is past: the Monday's report covers the week before it, the 1st's the month
before it. Each is built once (the ``reports`` row of store, kind, period and language: a
second run finds it and does nothing), kept beside the data, and handed to
:func:`storeops.alerts.delivery.enqueue_report` for the store's channels. A report that failed
is tried again an hour later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select

from storeops.reports.data import month_label, week_label

log = logging.getLogger(__name__)
RETRY_AFTER = timedelta(hours=1)
SCHEDULE_ACTOR = "schedule"


@dataclass(frozen=True)
class Schedule:
    weekly: bool = True
    monthly: bool = True
    hour: int = 9
    minute: int = 0
    lang: str = "zh-CN"
    pdf: bool = True


DEFAULT_SCHEDULE = Schedule()


def schedule_of(row: object | None) -> Schedule:
    if row is None:
        return DEFAULT_SCHEDULE
    return Schedule(bool(row.weekly), bool(row.monthly), int(row.hour),  # type: ignore[attr-defined]
                    int(row.minute), row.lang or "zh-CN", bool(row.pdf))  # type: ignore[attr-defined]


def due_periods(schedule: Schedule, local_now: datetime) -> list[tuple[str, str]]:
    """(kind, period) of the reports whose latest scheduled moment is at or before
    ``local_now`` (store time): the week before the latest Monday at the schedule's time, the
    month before the latest 1st."""
    at = time(schedule.hour, schedule.minute)
    naive = local_now.replace(tzinfo=None)
    out = []
    if schedule.weekly:
        monday = naive.date() - timedelta(days=naive.weekday())
        if datetime.combine(monday, at) > naive:
            monday -= timedelta(days=7)
        out.append(("weekly", week_label(monday - timedelta(days=7))))
    if schedule.monthly:
        first = naive.date().replace(day=1)
        if datetime.combine(first, at) > naive:
            first = (first - timedelta(days=1)).replace(day=1)
        out.append(("monthly", month_label(first - timedelta(days=1))))
    return out


def run_due_reports(db_url: str, now: datetime) -> int:
    """Build and send every store's weekly (Monday) and monthly (1st) report that is due at
    ``now`` in store time and not built yet; the number built."""
    from storeops.alerts.delivery import enqueue_report
    from storeops.catalog.models import Store
    from storeops.common.timeutil import zone
    from storeops.db.engine import session_factory, unit_of_work
    from storeops.reports.models import Report, ReportSchedule
    from storeops.reports.service import build_report, find_report

    with session_factory(db_url)() as session:
        stores = session.execute(select(Store.id, Store.name, Store.timezone)).all()
        schedules = {r.store_id: r for r in session.scalars(select(ReportSchedule))}
        todo = []
        for store_id, name, tz in stores:
            schedule = schedule_of(schedules.get(store_id))
            local_now = now.astimezone(zone(tz or "Asia/Shanghai"))
            for kind, period in due_periods(schedule, local_now):
                found = find_report(session, store_id, kind, period, schedule.lang)
                if found is not None and not (found.status == "failed"
                                              and now - found.built_at >= RETRY_AFTER):
                    continue
                todo.append((store_id, name, kind, period, schedule))
    built = 0
    for store_id, name, kind, period, schedule in todo:
        try:
            report = build_report(db_url, store_id, kind, period, schedule.lang,
                                  pdf=schedule.pdf, built_by=SCHEDULE_ACTOR, now=now)
        except Exception as exc:  # noqa: BLE001 - one store's failure must not stop the others
            log.exception("the %s report %s of store %s failed", kind, period, name)
            with unit_of_work(db_url) as session:
                row = find_report(session, store_id, kind, period, schedule.lang)
                if row is None:
                    row = Report(store_id=store_id, kind=kind, period=period,
                                 lang=schedule.lang)
                    session.add(row)
                row.status, row.error = "failed", str(exc)[:2000]
                row.built_by, row.built_at = SCHEDULE_ACTOR, now
            continue
        built += 1
        try:
            with unit_of_work(db_url) as session:
                row = session.get(Report, report.id)
                enqueue_report(session, row)
        except Exception:  # noqa: BLE001 - the report stands; its sending is the outbox's
            log.exception("could not queue the %s report %s of store %s", kind, period, name)
    return built
