"""今日实时's figures (pure core): hours in the store's timezone, yesterday cut at the same
time of day, the 成交 and 下单 rules of the rest of the product, money in cents."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

import pytest

from storeops.common.timeutil import local_date
from storeops.metrics.realtime import Clock, OrderRow, read_window, realtime

TZ = "Asia/Shanghai"
NOW = datetime(2026, 12, 4, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai
_ids = count(1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def row(placed: str, cents: int, *, paid: str | None | bool = True, freight: int = 0,
        customer: int | None = None, status: str = "finished", cod: bool = False,
        cancelled: str | None = None) -> OrderRow:
    """An order at UTC times (``paid=True``: paid when placed; None: unpaid)."""
    placed_at = utc(placed)
    paid_at = placed_at if paid is True else utc(paid) if paid else None
    return OrderRow(order_id=next(_ids), customer_id=customer,
                    status="cancelled" if cancelled or status == "cancelled" else status,
                    cod=cod, placed_at=placed_at, placed_date=local_date(placed_at, TZ),
                    paid_at=paid_at, cancelled_at=utc(cancelled) if cancelled else None,
                    goods_cents=cents, freight_cents=freight)


def scenario() -> list[OrderRow]:
    """Orders around NOW (UTC times; Shanghai is UTC+8)."""
    return [
        # Today (2026-12-04 local).
        row("2026-12-03 23:30", 10000, freight=1000, customer=1),  # 07:30 today, not 23h
        row("2026-12-04 01:50", 5000, paid="2026-12-04 02:05"),  # placed 09:50, paid 10:05
        row("2026-12-03 15:59", 3000, paid="2026-12-03 16:01", customer=1),  # paid 00:01
        row("2026-12-04 01:10", 2000, paid=None, cod=True, customer=2),  # cash on delivery
        row("2026-12-02 03:00", 1500, paid="2026-12-04 00:05", customer=2),  # old order paid
        row("2026-12-04 00:30", 7000, paid=None, status="wait_pay"),  # unpaid: 下单 only
        row("2026-12-04 00:40", 8000, status="cancelled"),  # cancelled today: 下单 only
        # Yesterday (2026-12-03 local), cut at 10:15.
        row("2026-12-03 01:00", 20000, customer=3),  # 09:00
        row("2026-12-03 02:14", 4000, customer=3),  # 10:14: before the cut
        row("2026-12-03 02:16", 50000),  # 10:16: after the cut
        row("2026-12-03 01:30", 6000, cancelled="2026-12-04 01:00"),  # cancelled a day later
        row("2026-12-03 01:40", 9900, cancelled="2026-12-03 01:50"),  # cancelled that day
    ]


def test_an_order_at_2330_utc_is_0730_next_day_in_shanghai() -> None:
    figures = realtime([row("2026-12-03 23:30", 12345)], NOW, TZ)
    assert figures.clock.today == date(2026, 12, 4) and figures.clock.hour == 10
    assert [(h.hour, h.gmv, h.orders) for h in figures.hours if h.orders] == [
        (7, Decimal("123.45"), 1)]
    assert figures.today["gmv"] == Decimal("123.45")
    assert figures.cumulative_yesterday[-1] == Decimal("0.00")  # not yesterday's 23h


def test_cards_compare_today_with_yesterday_up_to_the_same_minute() -> None:
    f = realtime(scenario(), NOW, TZ)
    assert f.clock.yesterday_cut == datetime(2026, 12, 3, 10, 15,
                                             tzinfo=f.clock.now.tzinfo)
    # 成交 today: 110 (with freight) + 50 + 30 + 20 (COD) + 15 (an older order paid today).
    assert f.today["gmv"] == Decimal("225.00")
    assert f.today["orders"] == 5
    assert f.today["buyers"] == 3  # customers 1 and 2, and one guest
    assert f.today["aov"] == Decimal("75.00")
    # 下单 today: every order placed today up to now, unpaid and cancelled ones included.
    assert f.today["placed_amount"] == Decimal("330.00")
    assert f.today["placed_orders"] == 5
    # Yesterday up to 10:15: 200 + 40 + 60 (cancelled only today); 10:16's 500 not yet.
    assert f.yesterday["gmv"] == Decimal("300.00")
    assert f.yesterday["orders"] == 3 and f.yesterday["buyers"] == 2
    assert f.yesterday["placed_amount"] == Decimal("399.00")  # the one cancelled that day too
    assert f.yesterday["placed_orders"] == 4
    assert f.change["gmv"] == pytest.approx(-0.25)
    assert f.change["orders"] == pytest.approx(2 / 3)
    assert f.change["aov"] == pytest.approx(-0.5)


def test_hours_up_to_now_and_the_cumulative_curves() -> None:
    f = realtime(scenario(), NOW, TZ)
    assert [h.hour for h in f.hours] == list(range(11))  # 00 .. 10, the current hour
    busy = {h.hour: (h.gmv, h.orders, h.yesterday_gmv, h.yesterday_orders)
            for h in f.hours if h.orders or h.yesterday_orders}
    assert busy == {
        0: (Decimal("30.00"), 1, Decimal("0.00"), 0),
        7: (Decimal("110.00"), 1, Decimal("0.00"), 0),
        8: (Decimal("15.00"), 1, Decimal("0.00"), 0),
        9: (Decimal("20.00"), 1, Decimal("260.00"), 2),
        10: (Decimal("50.00"), 1, Decimal("40.00"), 1),  # yesterday's 10:16 not yet
    }
    # Today's line stops at the current hour; yesterday's covers the whole day.
    assert f.cumulative_today[10] == Decimal("225.00")
    assert f.cumulative_today[11:] == (None,) * 13
    assert f.cumulative_yesterday[9] == Decimal("260.00")
    assert f.cumulative_yesterday[10] == f.cumulative_yesterday[23] == Decimal("800.00")


def test_a_minute_later_yesterday_grows_by_that_minute() -> None:
    later = realtime(scenario(), utc("2026-12-04 02:16"), TZ)
    assert later.yesterday["gmv"] == Decimal("800.00")
    assert later.today["gmv"] == Decimal("225.00")


def test_the_window_read_is_yesterday_and_today_in_utc() -> None:
    first, last, start, end = read_window(NOW, TZ)
    assert (first, last) == (date(2026, 12, 3), date(2026, 12, 4))
    assert (start, end) == (utc("2026-12-02 16:00"), utc("2026-12-04 16:00"))
    with pytest.raises(ValueError):
        Clock.at(datetime(2026, 12, 4, 10, 15), TZ)  # a naive "now" is refused


def test_nothing_today_is_zero_and_no_change_against_nothing() -> None:
    f = realtime([], NOW, TZ)
    assert f.today["gmv"] == Decimal("0.00") and f.today["aov"] is None
    assert f.change["gmv"] is None
