"""Where a monthly target applies, and the month's time progress (时间进度).

A monthly target speaks about a view only when the view's period lies inside that one
calendar month (本月, 上月, any days of one month): a year's or 30 days' figures across two
months say nothing about either month's target. The time progress is the share of the
month's days that are over by the view's last day, counting full days only: for the current
month, up to yesterday (today is still partial). GMV at 40% of its target with a time
progress of 50% is behind its pace.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal


def target_month(first: date, last: date) -> tuple[date, date] | None:
    """The calendar month (first day, last day) holding the whole period, else None."""
    if (first.year, first.month) != (last.year, last.month):
        return None
    days_in_month = calendar.monthrange(last.year, last.month)[1]
    return last.replace(day=1), last.replace(day=days_in_month)


def time_progress(first: date, last: date, today: date) -> float | None:
    """The share (0..1) of the target month's days over by ``last``, full days only (never
    past ``today``'s eve); None when the period spans more than one month."""
    month = target_month(first, last)
    if month is None:
        return None
    month_first, month_last = month
    as_of = min(last, today - timedelta(days=1))
    elapsed = max(0, (as_of - month_first).days + 1)
    return elapsed / ((month_last - month_first).days + 1)


def expected_by(target: Decimal, days_in_month: int, days_over: int) -> Decimal:
    """Where a month with GMV ``target`` should be after ``days_over`` full days, to the cent,
    half up (every day the same share): the pace of the overview, the targets page, `target
    show` and the "behind target" alert rule."""
    days = max(0, min(days_over, days_in_month))
    return (target * days / days_in_month).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
