"""The 24-hour promise (domain reference §4): when a paid order must ship, which orders are due
soon or late, and the on-time shipping rate by day against JD's 98% target.

Pure functions over aware datetimes; no database, no clock (callers pass ``now``).

- A paid order is due ``hours`` after payment (a store setting, ``ReviewSettings.ship_sla_hours``:
  24 by default, 48 at most). A cash-on-delivery order is never paid before it ships: it is due
  ``hours`` after it was placed. An unpaid order is not due at all.
- Due at 10:00 and shipped at 10:00 is on time (``shipped_at <= due_at``); it is overdue only
  after its due time has passed.
- The on-time rate of a day counts the orders *due* that store-local day (JD's 应发货订单):
  those shipped, plus those not shipped whose due time has passed (late, still open); orders
  due later that day and not shipped yet are not counted yet. Cancelled orders are left out by
  the caller (nothing is owed for them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from storeops.common.errors import StoreopsError
from storeops.common.timeutil import local_date, zone

DEFAULT_SLA_HOURS = 24
MAX_SLA_HOURS = 48
DUE_SOON_HOURS = 4
ON_TIME_TARGET = Decimal("0.98")


class SlaError(StoreopsError, ValueError):
    """A shipping promise that cannot be set (more than 48 hours, not a whole positive number)."""


def check_sla_hours(hours: int) -> int:
    """The store's shipping promise in hours: a whole number from 1 to 48 (JD's limit outside
    big campaigns); anything else raises :class:`SlaError`."""
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_SLA_HOURS:
        raise SlaError(
            f"the shipping promise must be 1 to {MAX_SLA_HOURS} hours after payment, "
            f"not {hours!r}",
            key="ship.sla_hours", hours=hours, max=MAX_SLA_HOURS)
    return hours


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware: {value!r}")
    return value


def due_time(paid_at: datetime | None, hours: int = DEFAULT_SLA_HOURS, *,
             cod: bool = False, placed_at: datetime | None = None) -> datetime | None:
    """When an order must ship: ``hours`` after payment; for cash on delivery (``cod``) after
    ``placed_at`` (the order time; ``paid_at`` when no order time is given). None when
    there is nothing to count from (an unpaid online order). Raises :class:`SlaError` for a
    promise over 48 hours."""
    check_sla_hours(hours)
    start = (placed_at or paid_at) if cod else paid_at
    if start is None:
        return None
    return _aware(start, "the payment time") + timedelta(hours=hours)


def is_overdue(due_at: datetime | None, now: datetime) -> bool:
    """True once the due time has passed (at exactly the due time it is not late yet)."""
    return due_at is not None and _aware(now, "now") > due_at


def due_within(order_due: datetime | None, now: datetime, hours: int = DUE_SOON_HOURS) -> bool:
    """True when the order is not late yet and must ship within ``hours`` of ``now``."""
    if order_due is None:
        return False
    now = _aware(now, "now")
    return now <= order_due <= now + timedelta(hours=hours)


def lateness(due_at: datetime, now: datetime) -> timedelta:
    """How late an order is at ``now`` (zero when it is not late)."""
    late = _aware(now, "now") - due_at
    return late if late > timedelta(0) else timedelta(0)


def shipped_on_time(shipped_at: datetime, due_at: datetime | None) -> bool:
    """A shipped order is on time when it shipped at or before its due time (no due time: on
    time, nothing was promised)."""
    return due_at is None or _aware(shipped_at, "the shipping time") <= due_at


class DayRate(NamedTuple):
    """One store-local day of the on-time rate: ``shipped`` of the orders due that day were
    shipped, ``on_time`` of them in time; ``due`` = shipped + ``late_open`` (due, not shipped,
    past due); ``rate`` = on_time / due (None when nothing was due)."""

    day: date
    shipped: int
    on_time: int
    rate: Decimal | None
    due: int
    late_open: int

    @property
    def meets_target(self) -> bool | None:
        return None if self.rate is None else self.rate >= ON_TIME_TARGET


@dataclass(frozen=True)
class SlaRow:
    """What the rate needs of one order: its due time and, when shipped, its shipping time."""

    due_at: datetime
    shipped_at: datetime | None = None


def rate(on_time: int, due: int) -> Decimal | None:
    """on_time / due as a Decimal with 4 places (0.9850 = 98.50%); None when nothing was due."""
    if due <= 0:
        return None
    return (Decimal(on_time) / Decimal(due)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def on_time_rate_by_day(
    rows: Iterable[SlaRow | tuple[datetime, datetime | None]],
    tz: str | ZoneInfo,
    *,
    now: datetime | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[DayRate]:
    """The on-time shipping rate per store-local day of the due time, oldest first.

    ``rows`` are (due_at, shipped_at) pairs (or :class:`SlaRow`); shipped_at None = not shipped.
    An unshipped order counts as late once ``now`` is past its due time (without ``now``,
    unshipped orders are not counted). With ``first`` and ``last`` every day between them is
    listed (days outside are dropped, empty days have rate None)."""
    tzinfo = zone(tz) if isinstance(tz, str) else tz
    counts: dict[date, list[int]] = {}  # day -> [shipped, on_time, late_open]
    for row in rows:
        due_at, shipped_at = (row.due_at, row.shipped_at) if isinstance(row, SlaRow) else row
        if due_at is None:
            continue
        day = local_date(_aware(due_at, "the due time"), tzinfo)
        if shipped_at is not None:
            tally = counts.setdefault(day, [0, 0, 0])
            tally[0] += 1
            tally[1] += shipped_on_time(shipped_at, due_at)
        elif now is not None and is_overdue(due_at, now):
            counts.setdefault(day, [0, 0, 0])[2] += 1
    if first is not None and last is not None:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    else:
        days = sorted(counts)
    result = []
    for day in days:
        shipped, on_time, late_open = counts.get(day, (0, 0, 0))
        due = shipped + late_open
        result.append(DayRate(day, shipped, on_time, rate(on_time, due), due, late_open))
    return result


def overall(days: Iterable[DayRate]) -> DayRate | None:
    """The days summed into one figure (its ``day`` = the last day); None for no days."""
    days = list(days)
    if not days:
        return None
    shipped = sum(d.shipped for d in days)
    on_time = sum(d.on_time for d in days)
    late_open = sum(d.late_open for d in days)
    due = shipped + late_open
    return DayRate(days[-1].day, shipped, on_time, rate(on_time, due), due, late_open)
