"""What a request is about: the store (``?store=``) and the period (``?from=&to=``).

Left out, the store is the only or first one, and the period is the 30 store-local days ending
on the last day that has data (today where there is none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storeops.api.limits import STORE_NAME_CHARS
from storeops.catalog.models import Store
from storeops.catalog.stores import list_stores, no_store_yet, resolve_store
from storeops.common.timeutil import local_date, utcnow
from storeops.db.engine import session_factory
from storeops.metrics.cache import results
from storeops.metrics.models import TrafficDaily
from storeops.metrics.periods import (
    DAY_PATTERN,
    FIRST_DAY,
    LAST_DAY,
    MAX_DAYS_BY,
    MAX_SPAN_DAYS,
    PeriodError,
    check_range,
    parse_day,
)
from storeops.orders.models import Order

DEFAULT_DAYS = 30
# Declared for the OpenAPI document; parse_day and check_range are the checks (their 422 says
# which limit a request passed).
# Empty means the default, as when the period form is sent with a field cleared.
_DAY_SCHEMA = {"type": "string",
               "anyOf": [{"format": "date", "pattern": DAY_PATTERN}, {"maxLength": 0}]}
_DAY_DOC = ("{which}, YYYY-MM-DD, " + f"{FIRST_DAY}..{LAST_DAY}; a period spans at most "
            f"{MAX_SPAN_DAYS} days (by day: {MAX_DAYS_BY['day']}).")


@dataclass(frozen=True)
class StoreInfo:
    id: int
    name: str
    timezone: str
    currency: str
    platform: str

    @classmethod
    def of(cls, store: Store) -> StoreInfo:
        return cls(store.id, store.name, store.timezone, store.currency, store.platform)


@dataclass(frozen=True)
class Scope:
    """The store and the inclusive period of a request, plus every store for the picker."""

    store: StoreInfo
    first: date
    last: date
    stores: tuple[StoreInfo, ...]
    explicit_period: bool

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def pick_store(session: Session, name: str | None) -> Store:
    """The named store; without a name the only, or else the first, store."""
    if name:
        return resolve_store(session, name)
    stores = list_stores(session)
    if not stores:
        raise no_store_yet()
    return stores[0]


def last_data_day(session: Session, store: Store) -> date | None:
    last_order = session.scalar(
        select(func.max(Order.placed_date)).where(Order.store_id == store.id)
    )
    last_traffic = session.scalar(
        select(func.max(TrafficDaily.day)).where(TrafficDaily.store_id == store.id)
    )
    days = [d for d in (last_order, last_traffic) if d is not None]
    return max(days) if days else None


def _cached_last_data_day(session: Session, store: Store) -> date | None:
    """:func:`last_data_day`, computed once per data_version of the store (every request
    without a period asks for it)."""
    db_url = session.get_bind().url.render_as_string(hide_password=False)
    return results.get_or_compute(db_url, store.id, int(store.data_version or 0),
                                  ("last_data_day",), lambda: last_data_day(session, store))


def default_period(session: Session, store: Store) -> tuple[date, date]:
    last = _cached_last_data_day(session, store) or local_date(utcnow(), store.timezone)
    return last - timedelta(days=DEFAULT_DAYS - 1), last


def _store_rows(session: Session) -> list[Any]:
    """Every store as a plain row of the columns a scope reads, in store order: this runs on
    every request, and ORM objects would cost about twice as much."""
    columns = (Store.id, Store.name, Store.timezone, Store.currency, Store.platform,
               Store.data_version)
    return list(session.connection().execute(select(*columns).order_by(Store.id)))


def _param_day(text: str, what: str, field: str) -> date:
    """:func:`parse_day` whose error names the query parameter (the period form's field)."""
    try:
        return parse_day(text, what)
    except PeriodError as exc:
        exc.field = field
        raise


def resolve_scope(
    session: Session, store_name: str | None, from_text: str | None, to_text: str | None
) -> Scope:
    stores = _store_rows(session)
    # The picker's list holds the store asked for: no second query for it.
    known = [s for s in stores if s.name == store_name] if store_name else stores[:1]
    store = known[0] if known else pick_store(session, store_name)
    first = _param_day(from_text, "from date", "from") if from_text else None
    last = _param_day(to_text, "to date", "to") if to_text else None
    if first is None or last is None:
        default_first, default_last = default_period(session, store)
        if first is None and last is None:
            first, last = default_first, default_last
        elif first is None:
            first = last - timedelta(days=DEFAULT_DAYS - 1)  # type: ignore[operator]
        else:
            last = first + timedelta(days=DEFAULT_DAYS - 1)
    check_range(first, last)
    return Scope(
        store=StoreInfo.of(store),
        first=first,
        last=last,
        stores=tuple(StoreInfo.of(s) for s in stores),
        explicit_period=bool(from_text or to_text),
    )


def scope(
    request: Request,
    store: str | None = Query(None, description="Store name; default: the only/first store.",
                              max_length=STORE_NAME_CHARS),
    from_: str | None = Query(
        None, alias="from", description=_DAY_DOC.format(which="First store-local day"),
        json_schema_extra=_DAY_SCHEMA,
    ),
    to: str | None = Query(None, description=_DAY_DOC.format(
        which="Last store-local day (inclusive)"), json_schema_extra=_DAY_SCHEMA),
) -> Scope:
    """FastAPI dependency: the store and period a request asks about."""
    with session_factory(request.app.state.db_url)() as session:
        return resolve_scope(session, store, from_, to)
