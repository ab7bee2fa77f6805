"""What the SLA board and the overview's card read: open orders due soon or late, and the
on-time shipping rate by day (rules: :mod:`storeops.orders.sla`).

An order's due time is ``orders.due_at`` (set when a paid order arrives); an open paid order
without one (orders imported from files) is due by the store's promise counted from its
payment (cash on delivery: its order time). The rate counts orders with a due time in the
days asked for; an order closed without a shipping time (finished in a file export) is not
counted (its shipping time is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select

from storeops.common.timeutil import day_bounds_utc, local_date
from storeops.orders.sla import (
    DEFAULT_SLA_HOURS,
    DUE_SOON_HOURS,
    MAX_SLA_HOURS,
    DayRate,
    SlaRow,
    due_time,
    due_within,
    is_overdue,
    lateness,
    on_time_rate_by_day,
    overall,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CLOSED = ("shipped", "finished", "cancelled", "locked", "paused")
OPEN_STATUSES = ("wait_stock_out", "wait_delivery")
LIST_LIMIT = 200  # orders shown per list (the counts are whole)
RATE_DAYS = 30
# Open orders due more than this long ago are left off the board (stale rows of old imports;
# JD closes an order long before): the look-up stays on the indexes.
LOOK_BACK_DAYS = 90


@dataclass(frozen=True)
class DueOrder:
    order_id: int
    platform_order_id: str
    stage: str
    channel: str
    paid_at: datetime | None
    due_at: datetime
    left: timedelta  # time left (due soon) or how late (overdue)
    ship_error: str | None
    hold_reason: str | None


@dataclass(frozen=True)
class Board:
    now: datetime
    hours: int  # the store's promise
    due_soon: list[DueOrder]
    overdue: list[DueOrder]
    due_soon_count: int
    overdue_count: int
    days: list[DayRate]
    total: DayRate | None


def store_sla_hours(session: Session, store_id: int) -> int:
    """The store's promise in hours (``review_settings.ship_sla_hours``; 24 when unset)."""
    from storeops.orders.models import ReviewSettings

    hours = session.scalar(select(ReviewSettings.ship_sla_hours)
                           .where(ReviewSettings.store_id == store_id))
    if not hours:
        return DEFAULT_SLA_HOURS
    return min(int(hours), MAX_SLA_HOURS)


def _by_due(store_id: int):  # noqa: ANN202 - a SQL expression
    """The store condition written so that the planner reads the ``due_at`` index rather than
    the store's (SQLite has no statistics and would take the store's index, ~100× slower)."""
    from storeops.orders.models import Order

    return (Order.store_id + 0) == store_id


def _open_orders(session: Session, store_id: int, tz: str, hours: int, now: datetime,
                 within: timedelta) -> list[tuple[object, datetime]]:
    from storeops.orders.models import Order

    horizon = now + within
    since = now - timedelta(days=LOOK_BACK_DAYS)
    columns = (Order.id, Order.platform_order_id, Order.stage, Order.channel, Order.paid_at,
               Order.placed_at, Order.cod, Order.due_at, Order.ship_error, Order.hold_reason)
    still_open = (Order.shipped_at.is_(None), Order.deleted.is_(False),
                  Order.stage.not_in(CLOSED), Order.status.not_in(CLOSED))
    with_due = session.execute(select(*columns).where(
        _by_due(store_id), Order.due_at >= since, Order.due_at <= horizon, *still_open)).all()
    # Paid orders without a due time (imported from files): due ``hours`` after payment (the
    # order time for cash on delivery), read by the store's order-day index.
    first_day = local_date(since - timedelta(hours=MAX_SLA_HOURS), tz)
    without_due = session.execute(select(*columns).where(
        Order.store_id == store_id, Order.placed_date >= first_day, Order.due_at.is_(None),
        Order.status.in_(OPEN_STATUSES), *still_open)).all()
    found = []
    for row in [*with_due, *without_due]:
        due = row.due_at or due_time(row.paid_at, hours, cod=row.cod, placed_at=row.placed_at)
        if due is not None and since <= due <= horizon:
            found.append((row, due))
    found.sort(key=lambda pair: pair[1])
    return found


def _due_order(row: object, due: datetime, left: timedelta) -> DueOrder:
    return DueOrder(row.id, row.platform_order_id, row.stage, row.channel,  # type: ignore[attr-defined]
                    row.paid_at, due, left, row.ship_error, row.hold_reason)  # type: ignore[attr-defined]


def rate_days(session: Session, store_id: int, tz: str, first: date, last: date,
              now: datetime) -> list[DayRate]:
    """The on-time rate of each store-local day from ``first`` to ``last`` (by due day)."""
    from storeops.orders.models import Order

    start, end = day_bounds_utc(first, last, tz)
    rows = session.execute(
        select(Order.due_at, Order.shipped_at)
        .where(_by_due(store_id), Order.due_at >= start, Order.due_at < end,
               Order.deleted.is_(False), Order.stage != "cancelled",
               Order.status != "cancelled",
               # closed without a shipping time: unknown, not late
               or_(Order.shipped_at.is_not(None),
                   and_(Order.stage.not_in(CLOSED), Order.status.not_in(CLOSED))))
    ).all()
    return on_time_rate_by_day([SlaRow(r.due_at, r.shipped_at) for r in rows], tz, now=now,
                               first=first, last=last)


def board(session: Session, store_id: int, tz: str, now: datetime, *,
          days: int = RATE_DAYS) -> Board:
    """Everything the SLA board shows, as of ``now``."""
    hours = store_sla_hours(session, store_id)
    soon, late = [], []
    for row, due in _open_orders(session, store_id, tz, hours, now,
                                 timedelta(hours=DUE_SOON_HOURS)):
        if is_overdue(due, now):
            late.append(_due_order(row, due, lateness(due, now)))
        elif due_within(due, now):
            soon.append(_due_order(row, due, due - now))
    today = local_date(now, tz)
    day_rates = rate_days(session, store_id, tz, today - timedelta(days=days - 1), today, now)
    return Board(now, hours, soon[:LIST_LIMIT], late[:LIST_LIMIT], len(soon), len(late),
                 day_rates, overall(day_rates))


def on_time_total(session: Session, store_id: int, tz: str, now: datetime, *,
                  days: int = RATE_DAYS) -> DayRate | None:
    """The overview's card: the last ``days`` days summed (``late_open``: orders due in them,
    past due and not shipped)."""
    today = local_date(now, tz)
    return overall(rate_days(session, store_id, tz, today - timedelta(days=days - 1), today,
                             now))
