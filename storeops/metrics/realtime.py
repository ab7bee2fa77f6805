"""Today so far, by hour, against yesterday up to the same time (the 今日实时 view).

Pure functions over the orders of yesterday and today (:class:`OrderRow`, read by
:mod:`storeops.metrics.realtime_query`) and a given ``now``; no clock and no I/O here, so a
test can freeze time by passing it.

The definitions are the rest of the product's: a deal (成交) is counted by
:func:`storeops.metrics.deal_rule.deal_day` on its store-local day, in the hour it was paid
(cash on delivery: placed); 下单 figures count every order on the day and in the hour it was
placed. Money is the lines' amounts plus the order's freight; the metrics themselves (GMV,
AOV …) are derived by :func:`storeops.metrics.definitions.derive` from the same base facts the
warehouse queries produce.

Yesterday is cut at the same store-local time of day as ``now``: an order paid yesterday at
10:05 is in "yesterday up to 10:04"'s figures only after 10:05 today. Which of yesterday's
orders are deals is the day's rule as known now: one paid at 09:00 and cancelled at 20:00
yesterday is not in yesterday's figures at any time of day (as in the daily figures), one
cancelled today stays. Yesterday's whole day is kept too, by hour, for the chart's curve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from storeops.common.money import from_cents
from storeops.common.timeutil import day_bounds_utc, zone
from storeops.metrics.deal_rule import counted_at, deal_day
from storeops.metrics.definitions import derive
from storeops.metrics.service import change

HOURS = 24
# The cards of the view, in display order: 成交 then 下单 (traffic is daily only).
REALTIME_METRICS = ("gmv", "orders", "buyers", "aov", "placed_amount", "placed_orders")


@dataclass(frozen=True)
class OrderRow:
    """One order as the realtime view needs it (times aware, money in cents)."""

    order_id: int
    customer_id: int | None
    status: str
    cod: bool
    placed_at: datetime
    placed_date: date  # store-local day of placed_at, as stored
    paid_at: datetime | None
    cancelled_at: datetime | None
    goods_cents: int  # the order's lines' amounts
    freight_cents: int


@dataclass(frozen=True)
class Clock:
    """The store-local moments a realtime view is cut at."""

    now: datetime  # store-local
    today: date
    yesterday: date
    yesterday_cut: datetime  # yesterday at now's time of day, store-local
    hour: int  # the current hour, 0..23

    @classmethod
    def at(cls, now: datetime, tz: str) -> Clock:
        if now.tzinfo is None:
            raise ValueError("naive datetime given as now")
        local = now.astimezone(zone(tz))
        yesterday = local.date() - timedelta(days=1)
        cut = datetime.combine(yesterday, local.timetz().replace(tzinfo=None), zone(tz))
        return cls(local, local.date(), yesterday, cut, local.hour)


def read_window(now: datetime, tz: str) -> tuple[date, date, datetime, datetime]:
    """(yesterday, today, start, end): the store-local days a view reads, and the UTC bounds
    [start, end) of their payment times. Whole days, so that a reader may keep the rows until
    the data change (the cut at ``now`` is applied here, not in the query)."""
    clock = Clock.at(now, tz)
    start, end = day_bounds_utc(clock.yesterday, clock.today, tz)
    return clock.yesterday, clock.today, start, end


@dataclass
class _Tally:
    """Base facts of one day up to a moment, and the 成交 figures by hour."""

    goods: int = 0
    freight: int = 0
    orders: int = 0
    customers: set[int] = field(default_factory=set)
    guests: int = 0  # orders without a known customer: each its own buyer
    placed_goods: int = 0
    placed_freight: int = 0
    placed_orders: int = 0
    hour_gmv: list[int] = field(default_factory=lambda: [0] * HOURS)
    hour_orders: list[int] = field(default_factory=lambda: [0] * HOURS)

    def facts(self) -> dict[str, int]:
        return {"goods_gmv": self.goods, "freight": self.freight, "orders": self.orders,
                "buyers": len(self.customers) + self.guests,
                "placed_goods": self.placed_goods, "placed_freight": self.placed_freight,
                "placed_orders": self.placed_orders}


def _tally(orders: Iterable[OrderRow], day: date, until: datetime, tz: str) -> _Tally:
    """The day's figures counting deals made and orders placed up to ``until`` (inclusive)."""
    tzinfo = zone(tz)
    t = _Tally()
    for o in orders:
        if o.placed_date == day and o.placed_at <= until:
            t.placed_goods += o.goods_cents
            t.placed_freight += o.freight_cents
            t.placed_orders += 1
        moment = counted_at(placed_at=o.placed_at, paid_at=o.paid_at, cod=o.cod)
        if moment is None or moment > until or deal_day(
            placed_date=o.placed_date, paid_at=o.paid_at, cancelled_at=o.cancelled_at,
            cod=o.cod, status=o.status, tz=tz,
        ) != day:
            continue
        t.goods += o.goods_cents
        t.freight += o.freight_cents
        t.orders += 1
        if o.customer_id is None:
            t.guests += 1
        else:
            t.customers.add(o.customer_id)
        hour = moment.astimezone(tzinfo).hour
        t.hour_gmv[hour] += o.goods_cents + o.freight_cents
        t.hour_orders[hour] += 1
    return t


@dataclass(frozen=True)
class HourRow:
    """One hour of the table: 成交 of today and of yesterday (up to the same time)."""

    hour: int
    gmv: Decimal
    orders: int
    yesterday_gmv: Decimal
    yesterday_orders: int


@dataclass(frozen=True)
class Realtime:
    clock: Clock
    today: dict[str, Any]  # REALTIME_METRICS of today so far (money Decimal)
    yesterday: dict[str, Any]  # … of yesterday up to the same time of day
    change: dict[str, float | None]  # relative change, as the other pages compute it
    hours: tuple[HourRow, ...]  # hours 0..the current hour
    cumulative_today: tuple[Decimal | None, ...]  # 24 values; None after the current hour
    cumulative_yesterday: tuple[Decimal, ...]  # 24 values, yesterday's whole day


def _money(cents: int) -> Decimal:
    return cast(Decimal, from_cents(cents))  # None only for None


def _cumulative(cents: list[int]) -> list[Decimal]:
    out, running = [], 0
    for c in cents:
        running += c
        out.append(_money(running))
    return out


def realtime(orders: Iterable[OrderRow], now: datetime, tz: str) -> Realtime:
    """Today up to ``now`` against yesterday up to the same time of day, in the store's
    timezone ``tz``; ``orders`` are those of :func:`read_window` (others are ignored)."""
    rows = list(orders)
    clock = Clock.at(now, tz)
    today = _tally(rows, clock.today, clock.now, tz)
    cut = _tally(rows, clock.yesterday, clock.yesterday_cut, tz)
    end_of_yesterday = datetime.combine(clock.today, datetime.min.time(), zone(tz))
    whole = _tally(rows, clock.yesterday, end_of_yesterday - timedelta(microseconds=1), tz)
    now_figures = derive(today.facts(), "day", REALTIME_METRICS)
    then_figures = derive(cut.facts(), "day", REALTIME_METRICS)
    hours = tuple(
        HourRow(h, _money(today.hour_gmv[h]), today.hour_orders[h], _money(cut.hour_gmv[h]),
                cut.hour_orders[h])
        for h in range(clock.hour + 1)
    )
    so_far = _cumulative(today.hour_gmv)
    return Realtime(
        clock=clock,
        today=now_figures,
        yesterday=then_figures,
        change={k: change(now_figures[k], then_figures[k]) for k in REALTIME_METRICS},
        hours=hours,
        cumulative_today=tuple(v if h <= clock.hour else None for h, v in enumerate(so_far)),
        cumulative_yesterday=tuple(_cumulative(whole.hour_gmv)),
    )
