"""The period a view is compared with (its baseline), as 京东商智 offers it.

``prev`` the period of the same length just before (较上期), ``wow`` the same dates one week
earlier (较上周同期), ``yoy`` the same calendar dates one year earlier (同比; 29 February
becomes 28 February). Pure date functions, with :func:`~storeops.metrics.periods.previous_period`'s
error rule: a baseline outside the calendar storeops covers is a PeriodError.
"""

from __future__ import annotations

from datetime import date

from storeops.metrics.periods import (
    FIRST_DAY,
    PeriodError,
    check_day,
    check_range,
    previous_period,
    shift_day,
)

COMPARE_CHOICES = ("prev", "wow", "yoy")
DEFAULT_COMPARE = "prev"
WEEK_DAYS = 7


class ComparisonError(PeriodError):
    """An unknown comparison asked for; ``message_key`` holds the pages' words for it."""

    message_key = "compare.unknown"


def check_compare(compare: str | None, *, empty_is_default: bool = True) -> str:
    """``compare`` when it is a known baseline (None or empty: the default, where
    ``empty_is_default``: a page's form sends an empty choice; the API's enum does not
    allow one), else an error."""
    if compare is None or (not compare and empty_is_default):
        return DEFAULT_COMPARE
    if compare not in COMPARE_CHOICES:
        raise ComparisonError(f"unknown comparison {compare!r}: choose one of "
                              f"{', '.join(COMPARE_CHOICES)}")
    return compare


def same_period_last_week(first: date, last: date) -> tuple[date, date]:
    """The same dates seven days earlier (较上周同期)."""
    check_range(first, last)
    try:
        return shift_day(first, -WEEK_DAYS), shift_day(last, -WEEK_DAYS)
    except PeriodError:
        raise PeriodError(f"the week before {first}..{last} starts before {FIRST_DAY}, "
                          "where the calendar storeops covers begins",
                          key="period.week_before_outside", first=first, last=last,
                          calendar_first=FIRST_DAY) from None


def _year_before(day: date) -> date:
    if day.year - 1 < FIRST_DAY.year:
        raise PeriodError(f"the year before {day} is outside the calendar storeops covers")
    # 29 February has no twin in a common year: the month's last day stands for it.
    leap_day = (day.month, day.day) == (2, 29)
    return check_day(day.replace(year=day.year - 1, day=28 if leap_day else day.day))


def same_period_last_year(first: date, last: date) -> tuple[date, date]:
    """The same calendar dates one year earlier (同比); 29 February → 28 February."""
    check_range(first, last)
    try:
        return _year_before(first), _year_before(last)
    except PeriodError:
        raise PeriodError(f"the year before {first}..{last} starts before {FIRST_DAY}, "
                          "where the calendar storeops covers begins",
                          key="period.year_before_outside", first=first, last=last,
                          calendar_first=FIRST_DAY) from None


def baseline_period(first: date, last: date, compare: str = DEFAULT_COMPARE
                    ) -> tuple[date, date]:
    """The dates ``first..last`` is compared with under ``compare``."""
    choice = check_compare(compare)
    if choice == "wow":
        return same_period_last_week(first, last)
    if choice == "yoy":
        return same_period_last_year(first, last)
    return previous_period(first, last)
