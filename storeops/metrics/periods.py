"""Report periods: store-local days ``first..last`` inclusive, cut by day, ISO week or month.

Labels: day ``YYYY-MM-DD``, ISO week ``YYYY-Www`` (the ISO year, which differs from the
calendar year around New Year), month ``YYYY-MM``. A week or month at either end of the range
covers only the days inside the range.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from storeops.common.errors import StoreopsError, Term

BY_CHOICES = ("day", "week", "month")

# The calendar a request may name. Far inside date.min..date.max, so that no period arithmetic
# (a previous period, a default 30 days, a quick 90-day link) can overflow into a 500.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2099, 12, 31)
# The longest period each cut may cover, in days: every day of a range costs a calendar row
# and a result row, so an unbounded range is an unbounded amount of memory.
MAX_SPAN_DAYS = 10 * 366  # totals, comparisons, SKU/category/source cuts, funnel, traffic
MAX_DAYS_BY = {"day": 3 * 366, "week": 10 * 366, "month": 10 * 366}
DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_DAY = re.compile(DAY_PATTERN[1:-1])


class PeriodError(StoreopsError, ValueError):
    # The period form's field at fault, "from" or "to", set where a request's dates are read
    # (storeops.api.context.resolve_scope); None: the period as a whole (order, length).
    field: str | None = None


def _check_order(first: date, last: date) -> None:
    if first > last:
        raise PeriodError(f"the period starts after it ends: {first} > {last}",
                          key="period.reversed", first=first, last=last)


def span_limit(by: str | None = None) -> int:
    """Most days a period cut ``by`` (None: a total or a dimension cut) may cover."""
    return MAX_DAYS_BY.get(by or "", MAX_SPAN_DAYS)


def check_range(first: date, last: date, by: str | None = None) -> None:
    """A period a user may ask for: in order, inside the calendar, and no longer than its cut
    allows (by day at most about 3 years, otherwise about 10)."""
    _check_order(first, last)
    for day in (first, last):
        check_day(day)
    limit = span_limit(by)
    length = (last - first).days + 1
    if length > limit:
        cut = f"by {by}" if by in MAX_DAYS_BY else "in one period"
        raise PeriodError(
            f"the period {first}..{last} is {length} days long: at most {limit} days "
            f"(about {limit // 366} years) {cut}",
            key=f"period.too_long_by_{by}" if by in MAX_DAYS_BY else "period.too_long",
            first=first, last=last, length=length, limit=limit, years=limit // 366,
        )


def check_day(day: date, what: str = "date") -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PeriodError(f"{what} {day} is outside the calendar storeops covers "
                          f"({FIRST_DAY}..{LAST_DAY})", key="period.outside_calendar",
                          what=Term(what), day=day, first=FIRST_DAY, last=LAST_DAY)
    return day


def parse_day(text: str, what: str = "date") -> date:
    # Only YYYY-MM-DD: fromisoformat would also take "20261002" or "2026-W40-1".
    try:
        if not _DAY.fullmatch(text.strip()):
            raise ValueError
        day = date.fromisoformat(text.strip())
    except (ValueError, AttributeError, TypeError):
        raise PeriodError(f"bad {what} {text!r}: expected YYYY-MM-DD", key="period.bad_day",
                          what=Term(what), text=text) from None
    return check_day(day, what)


def shift_day(day: date, days_: int) -> date:
    """``day`` plus ``days_`` days, a PeriodError (not an OverflowError) past the calendar."""
    try:
        return check_day(day + timedelta(days=days_))
    except OverflowError:
        raise PeriodError(f"{day} {days_:+d} days is outside the calendar",
                          key="period.shift_outside", day=day, days=days_) from None


def period_label(day: date, by: str) -> str:
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{day.year:04d}-{day.month:02d}"
    raise PeriodError(f"unknown period cut {by!r}: choose one of {', '.join(BY_CHOICES)}",
                      key="period.unknown_cut", by=by, choices=", ".join(BY_CHOICES))


def days(first: date, last: date) -> list[date]:
    _check_order(first, last)  # no span limit: the warehouse's own calendar spans decades
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def calendar_rows(first: date, last: date, by: str) -> list[tuple[date, str]]:
    """(day, period label) for every day in the range: the join table that cuts facts."""
    return [(d, period_label(d, by)) for d in days(first, last)]


def period_labels(first: date, last: date, by: str) -> list[str]:
    """Every period touching the range, in order, each once."""
    check_range(first, last, by)  # a result row per period: bounded like the request
    seen: dict[str, None] = {}
    for _, lab in calendar_rows(first, last, by):
        seen.setdefault(lab, None)
    return list(seen)


def fitting_cut(first: date, last: date) -> str:
    """The finest period cut allowed over ``first..last`` (a chart's trend: day, else week)."""
    length = (last - first).days + 1
    return next((by for by in BY_CHOICES if length <= MAX_DAYS_BY[by]), "month")


def previous_period(first: date, last: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``first``."""
    check_range(first, last)
    length = (last - first).days + 1
    try:
        return shift_day(first, -length), shift_day(first, -1)
    except PeriodError:
        raise PeriodError(f"the period before {first}..{last} starts before {FIRST_DAY}, "
                          "where the calendar storeops covers begins",
                          key="period.previous_outside", first=first, last=last,
                          calendar_first=FIRST_DAY) from None


def parse_month(text: str) -> tuple[date, date]:
    """``YYYY-MM`` → first and last day of that month."""
    try:
        year_s, month_s = text.strip().split("-")
        if len(year_s) != 4 or len(month_s) != 2:
            raise ValueError
        year, month = int(year_s), int(month_s)
        first = date(year, month, 1)
    except (ValueError, AttributeError, TypeError):
        raise PeriodError(f"bad month {text!r}: expected YYYY-MM", key="period.bad_month",
                          text=text) from None
    check_day(first, "month")
    return first, date(year, month, calendar.monthrange(year, month)[1])
