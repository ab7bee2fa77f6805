"""The 24-hour promise as pure rules (storeops.orders.sla): due time, due soon, overdue,
on-time classification and the rate by day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from storeops.common.errors import localise
from storeops.orders.sla import (
    ON_TIME_TARGET,
    SlaError,
    SlaRow,
    check_sla_hours,
    due_time,
    due_within,
    is_overdue,
    lateness,
    on_time_rate_by_day,
    overall,
    shipped_on_time,
)

PAID = datetime(2026, 11, 11, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


def test_due_24_hours_after_payment_by_default() -> None:
    assert due_time(PAID) == PAID + timedelta(hours=24)
    assert due_time(PAID, 48) == PAID + timedelta(hours=48)


def test_unpaid_online_order_is_not_due() -> None:
    assert due_time(None) is None


def test_cod_order_is_due_from_the_order_time() -> None:
    placed = PAID - timedelta(hours=3)
    assert due_time(None, 24, cod=True, placed_at=placed) == placed + timedelta(hours=24)
    # even when a payment time is known (COD is paid at the door), the order time counts
    assert due_time(PAID, 24, cod=True, placed_at=placed) == placed + timedelta(hours=24)


@pytest.mark.parametrize("hours", [49, 72, 0, -1])
def test_promise_over_48_hours_or_not_positive_is_refused(hours: int) -> None:
    with pytest.raises(SlaError) as err:
        due_time(PAID, hours)
    assert "48" in str(err.value)
    assert "48" in localise(err.value, "zh-CN") and "小时" in localise(err.value, "zh-CN")


def test_48_hours_is_the_most_allowed() -> None:
    assert check_sla_hours(48) == 48
    assert check_sla_hours(1) == 1


def test_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        due_time(datetime(2026, 11, 11, 9, 30))


def test_exactly_at_the_due_time_is_not_overdue_and_ships_on_time() -> None:
    due = due_time(PAID)
    assert due is not None
    assert not is_overdue(due, due)
    assert is_overdue(due, due + timedelta(seconds=1))
    assert shipped_on_time(due, due)
    assert not shipped_on_time(due + timedelta(seconds=1), due)
    assert lateness(due, due) == timedelta(0)
    assert lateness(due, due + timedelta(hours=2, minutes=5)) == timedelta(hours=2, minutes=5)


def test_due_within_four_hours() -> None:
    now = PAID + timedelta(hours=20)
    due = due_time(PAID)
    assert due_within(due, now)  # 4 hours left exactly
    assert not due_within(due, now - timedelta(seconds=1))  # 4h + 1s left
    assert due_within(due, due)  # last moment
    assert not due_within(due, due + timedelta(seconds=1))  # late: in the overdue list instead
    assert not due_within(None, now)


def test_rate_by_store_local_day_of_the_due_time() -> None:
    tz = "Asia/Shanghai"
    # due 2026-11-12 09:30 local (01:30 UTC) and 2026-11-12 23:59 local (15:59 UTC)
    due_a = datetime(2026, 11, 12, 1, 30, tzinfo=UTC)
    due_b = datetime(2026, 11, 12, 15, 59, tzinfo=UTC)
    # due 2026-11-13 00:30 local = 2026-11-12 16:30 UTC: another local day
    due_c = datetime(2026, 11, 12, 16, 30, tzinfo=UTC)
    rows = [
        SlaRow(due_a, due_a),  # on time, exactly at the deadline
        SlaRow(due_b, due_b + timedelta(minutes=1)),  # late
        (due_c, due_c - timedelta(hours=5)),  # on time, next local day
    ]
    days = on_time_rate_by_day(rows, tz)
    assert [(d.day, d.shipped, d.on_time, d.rate) for d in days] == [
        (date(2026, 11, 12), 2, 1, Decimal("0.5")),
        (date(2026, 11, 13), 1, 1, Decimal("1")),
    ]
    assert days[0].meets_target is False and days[1].meets_target is True


def test_unshipped_past_due_counts_as_late_and_not_yet_due_is_not_counted() -> None:
    tz = "Asia/Shanghai"
    due = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
    rows = [SlaRow(due, None), SlaRow(due + timedelta(hours=6), None),
            SlaRow(due, due - timedelta(hours=1))]
    now = due + timedelta(hours=1)
    [day] = on_time_rate_by_day(rows, tz, now=now)
    assert (day.shipped, day.on_time, day.late_open, day.due) == (1, 1, 1, 2)
    assert day.rate == Decimal("0.5")
    # without "now" nothing unshipped is counted
    [day] = on_time_rate_by_day(rows, tz)
    assert (day.due, day.rate) == (1, Decimal("1"))


def test_every_day_listed_and_the_target() -> None:
    tz = "Asia/Shanghai"
    due = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
    rows = [SlaRow(due, due)] * 49 + [SlaRow(due, due + timedelta(hours=1))]
    days = on_time_rate_by_day(rows, tz, first=date(2026, 11, 11), last=date(2026, 11, 13))
    assert [d.day for d in days] == [date(2026, 11, 11), date(2026, 11, 12), date(2026, 11, 13)]
    assert days[0].rate is None and days[0].meets_target is None
    assert days[1].rate == Decimal("0.98") == ON_TIME_TARGET and days[1].meets_target
    total = overall(days)
    assert total is not None and (total.due, total.on_time) == (50, 49)
    assert overall([]) is None
