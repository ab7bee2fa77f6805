"""The 成交 rule for one order, in plain Python (no Polars, no SQL).

An order is a deal (成交) on the store-local day it was paid; cash on delivery on the day it
was placed. A cancelled order is left out when its cancellation time is unknown (file exports
carry none) or falls on (or before) the day it would count on; one cancelled on a later day
stays in the day it was paid. An unpaid order is never a deal.

The analytics export applies the same rule to whole tables at once, vectorised in Polars
(:func:`storeops.metrics.deal_days.deal_date`); the realtime view (today by hour, read from the
OLTP tables) applies it here, order by order. ``tests/test_realtime_rule.py`` runs both over
every branch and checks they agree, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import date, datetime

from storeops.common.timeutil import local_date
from storeops.orders.states import OrderStatus


def counted_at(*, placed_at: datetime, paid_at: datetime | None, cod: bool) -> datetime | None:
    """The moment an order would count as a deal: placed (cash on delivery) or paid; None
    while unpaid. Whether it counts at all is :func:`deal_day`'s answer."""
    return placed_at if cod else paid_at


def deal_day(
    *, placed_date: date, paid_at: datetime | None, cancelled_at: datetime | None, cod: bool,
    status: str, tz: str,
) -> date | None:
    """The store-local day the order counts as a deal on, or None when it is never one."""
    counts_on = placed_date if cod else (local_date(paid_at, tz) if paid_at else None)
    if counts_on is None:
        return None
    if status == OrderStatus.CANCELLED.value and (
        cancelled_at is None or local_date(cancelled_at, tz) <= counts_on
    ):
        return None
    return counts_on
