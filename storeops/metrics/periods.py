"""Report periods: store-local days ``first..last`` inclusive, cut by day, ISO week or month.

Labels: day ``YYYY-MM-DD``, ISO week ``YYYY-Www`` (the ISO year, which differs from the
calendar year around New Year), month ``YYYY-MM``. A week or month at either end of the range
covers only the days inside the range.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from storeops.common.errors import StoreopsError

BY_CHOICES = ("day", "week", "month")


class PeriodError(StoreopsError, ValueError):
    pass


def check_range(first: date, last: date) -> None:
    if first > last:
        raise PeriodError(f"the period starts after it ends: {first} > {last}")


def parse_day(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise PeriodError(f"bad {what} {text!r}: expected YYYY-MM-DD") from None


def period_label(day: date, by: str) -> str:
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{day.year:04d}-{day.month:02d}"
    raise PeriodError(f"unknown period cut {by!r}: choose one of {', '.join(BY_CHOICES)}")


def days(first: date, last: date) -> list[date]:
    check_range(first, last)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def calendar_rows(first: date, last: date, by: str) -> list[tuple[date, str]]:
    """(day, period label) for every day in the range: the join table that cuts facts."""
    return [(d, period_label(d, by)) for d in days(first, last)]


def period_labels(first: date, last: date, by: str) -> list[str]:
    """Every period touching the range, in order, each once."""
    seen: dict[str, None] = {}
    for _, lab in calendar_rows(first, last, by):
        seen.setdefault(lab, None)
    return list(seen)


def previous_period(first: date, last: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``first``."""
    check_range(first, last)
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


def parse_month(text: str) -> tuple[date, date]:
    """``YYYY-MM`` → first and last day of that month."""
    try:
        year_s, month_s = text.strip().split("-")
        if len(year_s) != 4 or len(month_s) != 2:
            raise ValueError
        year, month = int(year_s), int(month_s)
        first = date(year, month, 1)
    except (ValueError, AttributeError):
        raise PeriodError(f"bad month {text!r}: expected YYYY-MM") from None
    return first, date(year, month, calendar.monthrange(year, month)[1])
