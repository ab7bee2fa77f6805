"""Timezone-aware times: stored in UTC, shown and cut into days in the store's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storeops.common.errors import StoreopsError

DEFAULT_TIMEZONE = "Asia/Shanghai"


class TimezoneError(StoreopsError, ValueError):
    pass


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimezoneError(f"unknown timezone: {name!r}", key="timezone.unknown",
                            name=name) from exc


def utcnow() -> datetime:
    return datetime.now(UTC)


def localize(naive: datetime, tz: str | ZoneInfo) -> datetime:
    """Attach a store timezone to a naive wall-clock time read from an export."""
    tzinfo = zone(tz) if isinstance(tz, str) else tz
    return naive.replace(tzinfo=tzinfo)


def local_date(moment: datetime, tz: str | ZoneInfo) -> date:
    """The store-local calendar day of an aware moment."""
    tzinfo = zone(tz) if isinstance(tz, str) else tz
    return moment.astimezone(tzinfo).date()


def day_bounds_utc(first: date, last: date, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the store-local days ``first`` .. ``last`` inclusive."""
    tzinfo = zone(tz) if isinstance(tz, str) else tz
    start = datetime.combine(first, datetime.min.time(), tzinfo).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo).astimezone(UTC)
    return start, end
